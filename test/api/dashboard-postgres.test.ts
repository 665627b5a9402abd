import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/api/admin/caller.js';
import { dashboardViews } from '../../src/api/admin/dashboard.js';
import { FleetRegistry } from '../../src/fleet/index.js';
import { openStore, type Store, type UsageRecord } from '../../src/ledger/index.js';
import { MonthlySpend } from '../../src/limits/index.js';
import { TrafficWindow } from '../../src/observe/traffic.js';
import { ManualTime } from '../../src/time/index.js';

// The spend and daily routes on a PostgreSQL store (a fresh schema; the spec fails, never skips,
// when PostgreSQL is unreachable): month to date from MonthlySpend as the gateway fills it from
// the ledger, days from the PostgreSQL day roll-up.

const PG_URL = process.env.SWITCHYARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `sy_dash_${process.pid}_${randomBytes(4).toString('hex')}`;
const NOW = Date.UTC(2026, 10, 20, 15, 0, 0);
const DAY = 86_400_000;
const ADMIN: Caller = { admin: true };

let store: Store;
const time = new ManualTime(NOW);
const spend = new MonthlySpend();
const ids: string[] = [];
const workspaces: string[] = [];

function rec(i: number, tenant: number, o: Partial<UsageRecord>): UsageRecord {
  return {
    requestId: `req_dash_pg_${i}`, startedAt: NOW - 3_600_000, tenantId: ids[tenant], workspaceId: workspaces[tenant], keyId: 'key_x', tier: 'free',
    model: 'm', replica: 'r', region: 'us-east', wire: 'openai', stream: false, status: 200, outcome: 'ok', inputTokens: 100, cachedInputTokens: 0,
    outputTokens: 10, ttftMs: null, latencyMs: 200, costUsd: 1.5, ...o,
  };
}

beforeAll(async () => {
  store = await openStore(`${PG_URL}?schema=${schema}`, { clock: time });
  for (const [name, tier] of [['pg a', 'free'], ['pg b', 'default']] as const) {
    const t = await store.createTenant({ name, tier });
    if (!t.ok) throw new Error(t.error.message);
    ids.push(t.value.tenant.id);
    workspaces.push(t.value.workspace.id);
  }
  await store.insertUsage([
    rec(1, 0, {}), rec(2, 0, { status: 502, outcome: 'upstream_error', costUsd: 0, outputTokens: 0 }), rec(3, 0, { startedAt: NOW - 2 * DAY, costUsd: 2 }),
    // last month: in the days, not in this month's spend
    rec(4, 0, { startedAt: Date.UTC(2026, 9, 31, 12), costUsd: 100 }),
    rec(5, 1, { status: 429, outcome: 'rate_limited', costUsd: 0 }),
  ]);
  const month = spend.beginRead(NOW);
  spend.endRead(month, await store.spendByWorkspace(month));
}, 30_000);

afterAll(async () => {
  await store?.close();
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
});

function views() {
  return dashboardViews({
    traffic: new TrafficWindow(time), fleet: new FleetRegistry(), store, clock: time, spend: () => spend,
    tiers: { default: { monthlySpendUsd: null }, free: { monthlySpendUsd: 10 } },
  });
}

async function get(path: string, caller: Caller = ADMIN): Promise<{ status: number; json: any }> {
  const u = new URL(path, 'http://x');
  const v = views().find((x) => x.matches(u.pathname))!;
  const r = await v.handle(caller, 'GET', u.pathname, u.searchParams);
  return { status: r.status, json: JSON.parse(r.body) };
}

describe('the dashboard on PostgreSQL', () => {
  it('pages the tenants with this month’s spend against their tier’s limit', async () => {
    const first = await get('/admin/v1/spend?limit=1');
    expect(first.json).toMatchObject({ has_more: true, next_after_id: ids[0] });
    expect(first.json.data).toEqual([{
      tenant_id: ids[0], name: 'pg a', tier: 'free', month_to_date_usd: 3.5, budget_usd: 10, burn_ratio: 0.35, over_budget: false,
      // 3.5 USD over 19 days and 15 hours of a 30-day month
      projected_month_usd: expect.closeTo(3.5 * (30 * 24) / (19 * 24 + 15), 6), workspaces: 1,
    }]);
    const second = await get(`/admin/v1/spend?limit=1&after_id=${first.json.next_after_id}`);
    expect(second.json).toMatchObject({ has_more: false, next_after_id: null, data: [{ tenant_id: ids[1], month_to_date_usd: 0, budget_usd: null, burn_ratio: null }] });
  });

  it('sums the month’s spend of every tenant in the overview', async () => {
    expect((await get('/admin/v1/overview')).json.spend).toEqual({ month_to_date_usd: 3.5, tenants_over_budget: 0 });
  });

  it('reads a tenant’s days from the roll-up, across a month boundary', async () => {
    const r = await get(`/admin/v1/tenants/${ids[0]}/daily?days=21`);
    expect(r.status).toBe(200);
    const byDay = new Map(r.json.data.map((d: any) => [d.day, d]));
    expect(r.json.data).toHaveLength(21);
    expect(byDay.get('2026-11-20')).toEqual({ day: '2026-11-20', requests: 2, server_errors: 1, client_errors: 0, input_tokens: 200, output_tokens: 10, cost_usd: 1.5 });
    expect(byDay.get('2026-11-18')).toMatchObject({ requests: 1, cost_usd: 2 });
    expect(byDay.get('2026-10-31')).toMatchObject({ requests: 1, cost_usd: 100 });
    expect(byDay.get('2026-11-19')).toMatchObject({ requests: 0 });
  });
});
