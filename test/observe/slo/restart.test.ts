import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type UsageRecord } from '../../../src/ledger/index.js';
import { ensureDemoTenant } from '../../../src/tenancy/index.js';
import { availability, MINUTE, record, rig, SECOND, T0 } from './rig.js';

// A restart against a real ledger (SQLite): the requests an earlier run wrote are read back from
// the minute roll-up, so the new tracker's budget and burn rates are the ones the old one had.

const dir = mkdtempSync(join(tmpdir(), 'sy-slo-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('an SLO\'s budget across a restart', () => {
  it('is the same after the restart as the requests in the ledger make it', async () => {
    const store = await openStore(`sqlite:${join(dir, 'db.sqlite')}`);
    try {
      const demo = await ensureDemoTenant(store, 'sk-sy-slo-restart-test-key-0000000000000000');
      const ids = { tenantId: demo.tenant.id, workspaceId: demo.workspace.id, keyId: demo.key.id, tier: demo.tenant.tier };
      const before = T0 + 60 * MINUTE;
      // the earlier run: an hour of requests, one a second, every 100th failing, some refused as the client's
      const earlier = rig([availability()], {}, T0);
      const records: UsageRecord[] = [];
      for (let i = 0; i < 3_600; i++) {
        earlier.time.advance(SECOND);
        const status = i % 100 === 99 ? 503 : i % 250 === 0 ? 429 : 200;
        const r = record(status, { ...ids, requestId: `req_${i}`, startedAt: earlier.time.nowMs() - 500 });
        records.push(r);
        earlier.tracker.settled(r, ids.tier);
      }
      await store.insertUsage(records);
      const old = earlier.tracker.status()[0];

      // the restart, 20 s into the next minute
      const later = rig([availability()], { history: store }, before + 20 * SECOND);
      await later.tracker.ready;
      expect(later.lines.filter((l) => l.level === 'error')).toEqual([]);
      const now = later.tracker.status()[0];
      expect(now.valid).toBe(old.valid);
      expect(now.good).toBe(old.good);
      expect(now.errorBudgetRemaining).toBeCloseTo(old.errorBudgetRemaining, 10);
      expect(now.burnRates['6h']).toBeCloseTo(old.burnRates['6h'], 10);
      expect(now.burnRates['1h']).toBeGreaterThan(9);
    } finally {
      await store.close();
    }
  });
});
