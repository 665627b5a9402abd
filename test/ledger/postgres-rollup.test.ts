import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore, type UsageRecord } from '../../src/ledger/index.js';
import { POSTGRES_MIGRATIONS } from '../../src/ledger/schema.js';
import { expectedPeriods, rollupSpec } from './rollup.spec.js';
import { usage } from './store.spec.js';
import { workspacesOfSpec } from './workspaces.spec.js';

// The roll-up specification on the real PostgreSQL, in a schema of its own. If PostgreSQL is
// unreachable these tests fail (never skip): a green run must mean the backend was exercised.
const URL = process.env.SWITCHYARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

async function sql(text: string, args: unknown[] = []): Promise<void> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  try {
    await c.query(text, args);
  } finally {
    await c.end();
  }
}

const schemaName = (what: string) => `sy_rollup_${what}_${process.pid}_${randomBytes(4).toString('hex')}`;

rollupSpec('PostgreSQL', () => {
  const schema = schemaName('spec');
  return {
    open: (clock) => openStore(URL, { schema, clock, maxConnections: 2 }),
    cleanup: () => sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`),
  };
});

workspacesOfSpec('PostgreSQL', () => {
  const schema = schemaName('many');
  return {
    open: (clock) => openStore(URL, { schema, clock, maxConnections: 2 }),
    cleanup: () => sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`),
  };
});

describe('the PostgreSQL roll-up tables', () => {
  it('are back-filled from the records a database held before them, under the empty tier', async () => {
    const schema = schemaName('v4');
    try {
      await sql(`CREATE SCHEMA "${schema}"; SET search_path = "${schema}"; ${POSTGRES_MIGRATIONS.slice(0, 4).join('\n')};
        CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (4);`);
      const at = Date.UTC(2026, 0, 5, 12, 0, 30);
      const old = [
        usage({ startedAt: at, stream: true, ttftMs: 300, latencyMs: 900 }),
        usage({ startedAt: at + 1_000, status: 503, outcome: 'upstream_error' }),
        usage({ startedAt: at + 86_400_000, status: 429, outcome: 'rate_limited', stream: true, ttftMs: null }),
      ];
      for (const r of old) {
        await sql(`INSERT INTO "${schema}".usage_records (request_id, started_at, tenant_id, workspace_id, key_id, model, replica, region, wire, stream, status, outcome,
          input_tokens, cached_input_tokens, output_tokens, ttft_ms, latency_ms, cost_usd) VALUES (${Array.from({ length: 18 }, (_, i) => '$' + (i + 1)).join(', ')})`,
        [r.requestId, r.startedAt, r.tenantId, r.workspaceId, r.keyId, r.model, r.replica, r.region, r.wire, r.stream, r.status, r.outcome,
          r.inputTokens, r.cachedInputTokens, r.outputTokens, r.ttftMs, r.latencyMs, r.costUsd]);
      }
      const s = await openStore(URL, { schema });
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
      } finally {
        await s.close();
      }
    } finally {
      await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('reads one SLO’s history and one tenant’s days from their indexes', async () => {
    const schema = schemaName('plan');
    try {
      await (await openStore(URL, { schema })).close();
      const c = new pg.Client({ connectionString: URL });
      await c.connect();
      try {
        // an empty table is cheapest to scan whole: forbid that, to see whether the indexes fit the queries
        await c.query(`SET search_path = "${schema}"; SET enable_seqscan = off; SET enable_bitmapscan = off`);
        const plan = async (q: string, args: unknown[]) => (await c.query(`EXPLAIN (COSTS OFF) ${q}`, args)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
        expect(await plan('SELECT * FROM usage_minutes WHERE minute >= $1 AND tier = $2 AND model = $3 ORDER BY minute, tier, model', [0, 'pro', 'm']))
          .toMatch(/Index Scan using usage_minutes_tier on usage_minutes/);
        expect(await plan('SELECT * FROM usage_days WHERE day >= $1 AND tenant_id = $2 ORDER BY day, tenant_id, tier, model', [0, 't']))
          .toMatch(/Index Scan using usage_days_tenant on usage_days/);
      } finally {
        await c.end();
      }
    } finally {
      await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });

  it('neither deadlocks nor loses a count when gateways write the same periods at once', async () => {
    const schema = schemaName('race');
    const gateways = await Promise.all([1, 2, 3, 4].map(() => openStore(URL, { schema, maxConnections: 4 })));
    try {
      const at = Date.UTC(2026, 5, 1, 10);
      const tiers = ['free', 'pro', 'team'];
      const tenants = ['ten_a', 'ten_b', 'ten_c', 'ten_d'];
      // every batch touches the same minutes and days in a different order; some records are sent twice (by two gateways)
      const batches: UsageRecord[][] = Array.from({ length: 48 }, (_, b) => Array.from({ length: 60 }, (_, i) => usage({
        requestId: `req_race_${b}_${i}`, startedAt: at + ((i * 7 + b * 13) % 5) * 60_000 + ((b + i) % 2) * 86_400_000,
        tier: tiers[(i + b) % 3], tenantId: tenants[(i * 3 + b) % 4], model: 'race', status: i % 9 === 0 ? 502 : 200,
      })).reverse());
      const dup = batches.map((_, k) => batches[(k + 2) % batches.length].slice(0, 5));
      await Promise.all(gateways.map(async (g, w) => {
        for (let k = w; k < batches.length; k += gateways.length) await Promise.all([g.insertUsage([...batches[k], ...dup[k]]), g.insertUsage(batches[(k + 1) % batches.length].slice(10, 20))]);
      }));
      const written = batches.flat();
      const minutes = await gateways[0].usageMinutes({ since: at, model: 'race' });
      expect(minutes.reduce((n, p) => n + p.requests, 0)).toBe(written.length);
      expect(minutes).toEqual(expectedPeriods(written, 'minute').map((p) => ({ ...p, costUsd: minutes.find((m) => m.at === p.at && m.tier === p.tier)!.costUsd })));
      const days = await gateways[1].usageDays({ since: at, model: 'race' });
      expect(days.map((p) => [p.at, p.tenantId, p.tier, p.requests, p.serverErrors])).toEqual(expectedPeriods(written, 'day').map((p) => [p.at, p.tenantId, p.tier, p.requests, p.serverErrors]));
    } finally {
      await Promise.all(gateways.map((g) => g.close()));
      await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });
});
