import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/ledger/index.js';
import { seedTenants, seedUsage } from '../helpers/seed-ledger.js';

// The seeding helper other tests and benchmarks build on: its records must look like traffic (a
// status mix, streaming, latencies) and go through insertUsage, so the roll-up agrees with them.

const DAY = 86_400_000;
const until = Date.UTC(2026, 5, 8);
const since = until - 7 * DAY;

describe('seeding a ledger with realistic usage', () => {
  it('writes the rows asked for, across the window, with a realistic status mix, and the roll-up agrees', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      const tenants = await seedTenants(store, { count: 6, tiers: ['free', 'pro'] });
      expect(tenants.map((t) => t.tier)).toEqual(['free', 'pro', 'free', 'pro', 'free', 'pro']);
      expect((await store.listTenants()).length).toBe(6);
      await seedUsage(store, { rows: 20_000, tenants, models: ['small', 'large'], since, until, seed: 7, batch: 3_000 });

      const days = await store.usageDays({ since });
      const sum = (f: (p: (typeof days)[number]) => number) => days.reduce((n, p) => n + f(p), 0);
      expect(sum((p) => p.requests)).toBe(20_000);
      expect(new Set(days.map((p) => p.at)).size).toBe(7);
      expect(Math.min(...days.map((p) => p.at))).toBeGreaterThanOrEqual(since);
      expect(sum((p) => p.serverErrors) / 20_000).toBeGreaterThan(0.002);
      expect(sum((p) => p.serverErrors) / 20_000).toBeLessThan(0.02);
      expect(sum((p) => p.clientErrors) / 20_000).toBeGreaterThan(0.02);
      expect(sum((p) => p.clientErrors) / 20_000).toBeLessThan(0.06);
      expect(sum((p) => p.streamed) / sum((p) => p.succeeded)).toBeGreaterThan(0.6);
      // most successful requests end within 30 s, and not all within 250 ms
      const within = (i: number) => sum((p) => p.latencyWithin[i]) / sum((p) => p.succeeded);
      expect(within(0)).toBeLessThan(0.5);
      expect(within(6)).toBeGreaterThan(0.95);

      // the heaviest tenant (the first) sends more than the lightest, and its records agree with its days
      const first = await store.usageSummary({ tenantId: tenants[0].tenantId });
      const last = await store.usageSummary({ tenantId: tenants[5].tenantId });
      expect(first.requests).toBeGreaterThan(2 * last.requests);
      const mine = days.filter((p) => p.tenantId === tenants[0].tenantId);
      expect(mine.reduce((n, p) => n + p.requests, 0)).toBe(first.requests);
      expect(mine.reduce((n, p) => n + p.outputTokens, 0)).toBe(first.outputTokens);
      expect(mine.every((p) => p.tier === 'free')).toBe(true);

      // the same seed again adds nothing (the same request ids); an incident adds 5xx where it says
      await seedUsage(store, { rows: 20_000, tenants, models: ['small', 'large'], since, until, seed: 7 });
      expect((await store.usageDays({ since })).reduce((n, p) => n + p.requests, 0)).toBe(20_000);
      const hour = { since: until - 3_600_000, until };
      await seedUsage(store, { rows: 2_000, tenants, models: ['small'], ...hour, seed: 8, incidents: [{ ...hour, errorRatio: 0.5 }] });
      const burn = (await store.usageMinutes({ since: hour.since, model: 'small' })).reduce((a, p) => [a[0] + p.serverErrors, a[1] + p.requests], [0, 0]);
      expect(burn[0] / burn[1]).toBeGreaterThan(0.4);
    } finally {
      await store.close();
    }
  });
});
