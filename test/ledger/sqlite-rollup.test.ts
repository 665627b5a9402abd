import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/ledger/index.js';
import { SQLITE_MIGRATIONS } from '../../src/ledger/schema.js';
import { expectedPeriods, rollupSpec } from './rollup.spec.js';
import { usage } from './store.spec.js';
import { workspacesOfSpec } from './workspaces.spec.js';

rollupSpec('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-rollup-'));
  const file = join(dir, 'switchyard.db');
  return {
    open: (clock) => openStore(`sqlite:${file}`, { clock }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

workspacesOfSpec('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-many-'));
  return {
    open: (clock) => openStore(`sqlite:${join(dir, 'switchyard.db')}`, { clock }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('the SQLite roll-up tables', () => {
  it('are back-filled from the records a database held before them, under the empty tier', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-rollup-'));
    try {
      const file = join(dir, 'v4.db');
      const db = new Database(file);
      db.exec(SQLITE_MIGRATIONS.slice(0, 4).join('\n'));
      db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (4);');
      const at = Date.UTC(2026, 0, 5, 12, 0, 30);
      const old = [
        usage({ startedAt: at, stream: true, ttftMs: 300, latencyMs: 900 }),
        usage({ startedAt: at + 1_000, status: 503, outcome: 'upstream_error' }),
        usage({ startedAt: at + 86_400_000, status: 429, outcome: 'rate_limited', stream: true, ttftMs: null }),
      ];
      const insert = db.prepare(`INSERT INTO usage_records (request_id, started_at, tenant_id, workspace_id, key_id, model, replica, region, wire, stream, status, outcome,
        input_tokens, cached_input_tokens, output_tokens, ttft_ms, latency_ms, cost_usd) VALUES (${Array(18).fill('?').join(', ')})`);
      for (const r of old) {
        insert.run(r.requestId, r.startedAt, r.tenantId, r.workspaceId, r.keyId, r.model, r.replica, r.region, r.wire, r.stream ? 1 : 0, r.status, r.outcome,
          r.inputTokens, r.cachedInputTokens, r.outputTokens, r.ttftMs, r.latencyMs, r.costUsd);
      }
      db.close();
      const s = await openStore(file);
      try {
        const untiered = old.map((r) => ({ ...r, tier: '' }));
        expect(await s.usageMinutes({ since: 0 })).toEqual(expectedPeriods(untiered, 'minute'));
        expect(await s.usageDays({ since: 0 })).toEqual(expectedPeriods(untiered, 'day'));
        // after the upgrade: a new record adds to a back-filled period, and an old one sent again (a spill replayed) adds nothing
        const later = [usage({ requestId: 'req_after_upgrade', startedAt: at + 2_000, tier: '', stream: true, ttftMs: 250, latencyMs: 250 }), old[0], old[2]];
        await s.insertUsage(later);
        const all = [...untiered, ...later];
        expect(await s.usageMinutes({ since: 0 })).toEqual(expectedPeriods(all, 'minute'));
        expect(await s.usageDays({ since: 0 })).toEqual(expectedPeriods(all, 'day'));
        expect((await s.usageMinutes({ since: at, before: at + 1 }))[0]).toMatchObject({ requests: 3, streamed: 2, serverErrors: 1 });
        expect((await s.queryUsage({ tenantId: 'ten_x' })).map((r) => r.tier)).toEqual(['', '', '', '']);
      } finally {
        await s.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads one SLO’s history and one tenant’s days each from one index range', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-rollup-'));
    try {
      const file = join(dir, 'plan.db');
      await (await openStore(file)).close();
      const db = new Database(file);
      const plan = (sql: string, ...args: unknown[]) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((p) => p.detail).join('; ');
      expect(plan('SELECT * FROM usage_minutes WHERE minute >= ? AND tier = ? AND model = ? ORDER BY minute, tier, model', 0, 'pro', 'm'))
        .toMatch(/^SEARCH usage_minutes USING INDEX usage_minutes_tier \(tier=\? AND model=\? AND minute>\?\)$/);
      expect(plan('SELECT * FROM usage_minutes WHERE minute >= ? ORDER BY minute, tier, model', 0)).toMatch(/^SEARCH usage_minutes USING PRIMARY KEY \(minute>\?\)$/);
      expect(plan('SELECT * FROM usage_days WHERE day >= ? AND tenant_id = ? ORDER BY day, tenant_id, tier, model', 0, 't'))
        .toMatch(/^SEARCH usage_days USING INDEX usage_days_tenant \(tenant_id=\? AND day>\?\)/);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
