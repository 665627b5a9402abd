import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/ledger/index.js';
import { SQLITE_MIGRATIONS } from '../../src/ledger/schema.js';
import { tokensSelect } from '../../src/ledger/costs-common.js';
import { SQLITE_DAY } from '../../src/ledger/sqlite-costs.js';
import { costSpec } from './costs.spec.js';

costSpec('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-costs-'));
  const file = join(dir, 'switchyard.db');
  return {
    open: (clock) => openStore(`sqlite:${file}`, { clock }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('the SQLite cost tables', () => {
  it('upgrades a database made before unit economics in place, counting the tokens it already held', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-costs-'));
    try {
      const file = join(dir, 'v3.db');
      const db = new Database(file);
      db.exec(SQLITE_MIGRATIONS.slice(0, 3).join('\n'));
      db.exec(`CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (3);
        INSERT INTO usage_records (request_id, started_at, tenant_id, workspace_id, key_id, model, replica, region, wire, stream, status, outcome,
          input_tokens, cached_input_tokens, output_tokens, ttft_ms, latency_ms, cost_usd)
        VALUES ('req_old', ${Date.UTC(2026, 0, 5, 12)}, 'ten_old', 'wrk_old', 'key_old', 'm', 'r0', 'us', 'openai', 0, 200, 'ok', 10, 4, 3, NULL, 5, 0);`);
      db.close();
      const s = await openStore(file);
      try {
        const jan5 = { since: Date.UTC(2026, 0, 5), before: Date.UTC(2026, 0, 6) };
        expect(await s.tokensByDay(jan5)).toEqual([
          { day: '2026-01-05', replica: 'r0', region: 'us', tenantId: 'ten_old', model: 'm', requests: 1, inputTokens: 10, cachedInputTokens: 4, outputTokens: 3 },
        ]);
        const r = { day: '2026-01-05', replica: 'r0', pool: 'us/m', region: 'us', model: 'm', profile: null, gpu: null, gpus: 1, usdPerGpuHour: 1, upS: 1, busyS: 0 };
        await s.addReplicaTime([r]);
        expect(await s.replicaTime(jan5)).toEqual([r]);
      } finally {
        await s.close();
      }
      const after = new Database(file);
      expect(after.prepare('SELECT version FROM schema_version').all()).toEqual([{ version: SQLITE_MIGRATIONS.length }]);
      after.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sums a window of tokens from one range of the day index alone, already in group order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-costs-'));
    try {
      const file = join(dir, 'plan.db');
      await (await openStore(file)).close();
      const db = new Database(file);
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${tokensSelect(SQLITE_DAY, () => '?')}`).all(0, 1, 0, 1) as Array<{ detail: string }>).map((p) => p.detail);
      db.close();
      expect(plan).toEqual([expect.stringMatching(/^SEARCH usage_records USING COVERING INDEX usage_day_tokens \(<expr>>\? AND <expr><\?\)$/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
