import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApi } from '../../../src/api/index.js';
import { createCostRoutes, type CostsLiveView, type LiveCosts } from '../../../src/api/admin/costs.js';
import type { Caller } from '../../../src/api/admin/caller.js';
import { profileWeights, splitCost } from '../../../src/control/economics/index.js';
import { openStore, type ReplicaTimeRecord, type Store, type UsageRecord } from '../../../src/ledger/index.js';
import { createAuthenticator, type Authenticator } from '../../../src/tenancy/index.js';
import { ManualTime } from '../../../src/time/index.js';

// /admin/v1/costs over a real SQLite store: per-day cost rows by model, pool, region or tenant with
// utilisation beside each and idle cost as its own row; its query refused parameter by parameter;
// and /admin/v1/costs/live over the gateway's meter. Admin token only.

const ADMIN_TOKEN = 'admin-token-for-costs';
const ADMIN: Caller = { admin: true };
const TENANT = { admin: false, auth: { tenantId: 't1' } } as unknown as Caller;
/** 2026-12-02 10:00 UTC: the default window is 2026-11-26 … 2026-12-02 */
const NOW = Date.UTC(2026, 11, 2, 10, 0, 0);

let store: Store;
let auth: Authenticator;
let tenantKey: string;
const weights = profileWeights();
const clock = new ManualTime(NOW);

function time(day: string, replica: string, region: string, model: string, upS: number, busyS: number, gpus = 1, usdPerGpuHour = 2): ReplicaTimeRecord {
  return { day, replica, pool: `${region}/${model}`, region, model, profile: 'llama-3.1-8b-h100', gpu: 'H100-SXM-80GB', gpus, usdPerGpuHour, upS, busyS };
}

let n = 0;
function usage(startedAt: number, tenantId: string, replica: string, region: string, model: string, input: number, cached: number, output: number): UsageRecord {
  return {
    requestId: `req_costs_${n++}`, startedAt, tenantId, workspaceId: 'w', keyId: 'k', tier: 'default', model, replica, region, wire: 'openai', stream: false,
    status: 200, outcome: 'ok', inputTokens: input, cachedInputTokens: cached, outputTokens: output, ttftMs: null, latencyMs: 1, costUsd: 0,
  };
}

const live: CostsLiveView = {
  live: (): LiveCosts => ({
    leading: true, windowS: 3_600, tenants: [{ tenant: 'ten_a', usd: 1, inputTokens: 10, cachedInputTokens: 0, outputTokens: 5, inputUsdPerM: 20_000, outputUsdPerM: 160_000 }],
    pools: [{
      pool: 'us-east/m', model: 'm', region: 'us-east', replicas: 2, gpus: 2, usdPerHour: 5.98, usd: 1, upS: 7_200, busyS: 1_800, utilisation: 0.25,
      inputTokens: 10, cachedInputTokens: 0, outputTokens: 5, inputUsdPerM: 20_000, outputUsdPerM: 160_000,
      hardware: [{ profile: null, gpu: null, gpus: 1, usdPerGpuHour: 2.5, priceFrom: 'fallback', replicas: 2 }],
    }],
  }),
};
const route = (): ReturnType<typeof createCostRoutes> => createCostRoutes({ store, clock, weights, live });

async function get(path: string, caller: Caller = ADMIN, method = 'GET') {
  const u = new URL(path, 'http://gw');
  const r = await route()(caller, method, u.pathname, u.searchParams);
  return { status: r.status, body: JSON.parse(r.body) as { data: Array<Record<string, unknown>>; error?: { message: string } } & Record<string, unknown> };
}

beforeAll(async () => {
  store = await openStore('sqlite::memory:');
  auth = createAuthenticator(store);
  await auth.ready;
  const t = await store.createTenant({ name: 'acme' });
  if (!t.ok) throw new Error(t.error.message);
  const k = await store.createKey({ tenantId: t.value.tenant.id, name: 'k' });
  if (!k.ok) throw new Error(k.error.message);
  tenantKey = k.value.secret;
  const d1 = Date.UTC(2026, 11, 1);
  await store.addReplicaTime([
    // up 2 h, busy 30 min, 2 GPUs at 2.99: 11.96 USD, a quarter of it busy
    time('2026-12-01', 'us-east/m/0', 'us-east', 'm', 7_200, 1_800, 2, 2.99),
    // an idle replica: its cost has no tokens to go to
    time('2026-12-01', 'eu-west/m/0', 'eu-west', 'm', 3_600, 0),
    time('2026-11-25', 'us-east/m/0', 'us-east', 'm', 3_600, 3_600),
    time('2026-11-26', 'us-east/m/0', 'us-east', 'm', 3_600, 3_600),
  ]);
  await store.insertUsage([
    usage(d1 + 3_600_000, 'ten_a', 'us-east/m/0', 'us-east', 'm', 3_000_000, 1_000_000, 500_000),
    usage(d1 + 7_200_000, 'ten_b', 'us-east/m/0', 'us-east', 'm', 1_000_000, 0, 1_500_000),
  ]);
});
afterAll(async () => {
  auth.close();
  await store.close();
});

describe('GET /admin/v1/costs', () => {
  it('gives each day and model its GPU cost with utilisation beside it, its idle cost, tokens and cost per million', async () => {
    const r = await get('/admin/v1/costs?by=model&since=2026-12-01&until=2026-12-01');
    expect(r.status).toBe(200);
    expect({ type: r.body.type, by: r.body.by, since: r.body.since, until: r.body.until }).toEqual({ type: 'costs', by: 'model', since: '2026-12-01', until: '2026-12-01' });
    expect(r.body.data).toHaveLength(1);
    const row = r.body.data[0];
    const usdA = 2 * 2 * 2.99;
    const usdB = 1 * 1 * 2;
    expect(row.day).toBe('2026-12-01');
    expect(row.key).toBe('m');
    expect(row.usd).toBeCloseTo(usdA + usdB, 9);
    expect(row.utilisation).toBeCloseTo(1_800 / (7_200 + 3_600), 9);
    expect(row.idle_usd).toBeCloseTo(usdA * 0.75 + usdB, 9);
    expect(row.gpu_hours).toBeCloseTo(2 * 2 + 1, 9);
    expect({ input: row.input_tokens, cached: row.cached_input_tokens, output: row.output_tokens, requests: row.requests })
      .toEqual({ input: 4_000_000, cached: 1_000_000, output: 2_000_000, requests: 2 });
    // the served replica's cost split by the engine model's phase weights (the idle replica's cost too, all to output: it served nothing)
    const split = splitCost(usdA, { inputTokens: 4_000_000, cachedInputTokens: 1_000_000, outputTokens: 2_000_000 }, weights('llama-3.1-8b-h100'));
    expect(row.input_usd_per_m).toBeCloseTo(split.inputUsd / 4, 6);
    expect((row.input_usd as number) + (row.output_usd as number)).toBeCloseTo(row.usd as number, 6);
    expect(r.body.total_usd).toBeCloseTo(usdA + usdB, 9);
  });

  it('by tenant: each tenant\'s share of the replica it used, and the idle replica\'s cost as the `(idle)` row', async () => {
    const r = await get('/admin/v1/costs?by=tenant&since=2026-12-01&until=2026-12-01');
    expect(r.body.data.map((x) => x.key)).toEqual(['(idle)', 'ten_a', 'ten_b']);
    const total = r.body.data.reduce((s, x) => s + (x.usd as number), 0);
    expect(total).toBeCloseTo(2 * 2 * 2.99 + 2, 6);
    expect(r.body.data[0].usd).toBeCloseTo(2, 9);
  });

  it('by pool and by region key the rows by the record\'s pool and region', async () => {
    const pools = await get('/admin/v1/costs?by=pool&since=2026-12-01&until=2026-12-01');
    const regions = await get('/admin/v1/costs?by=region&since=2026-12-01&until=2026-12-01');
    expect(pools.body.data.map((x) => [x.key, x.utilisation])).toEqual([['eu-west/m', 0], ['us-east/m', 0.25]]);
    expect(regions.body.data.map((x) => x.key)).toEqual(['eu-west', 'us-east']);
  });

  it('defaults to by model over the last 7 UTC days, today included', async () => {
    const r = await get('/admin/v1/costs');
    expect({ by: r.body.by, since: r.body.since, until: r.body.until }).toEqual({ by: 'model', since: '2026-11-26', until: '2026-12-02' });
    expect(r.body.data.map((x) => x.day)).toEqual(['2026-11-26', '2026-12-01']);
  });

  it('takes until as inclusive and since alone up to today', async () => {
    const r = await get('/admin/v1/costs?since=2026-11-25&until=2026-11-26');
    expect(r.body.data.map((x) => x.day)).toEqual(['2026-11-25', '2026-11-26']);
    const s = await get('/admin/v1/costs?since=2026-11-30');
    expect([s.body.since, s.body.until]).toEqual(['2026-11-30', '2026-12-02']);
  });

  it.each([
    ['by=replica', /^by: expected one of model, pool, region, tenant, got 'replica'/],
    ['since=2026-02-30', /^since: expected a UTC day as YYYY-MM-DD/],
    ['until=2026-12-1', /^until: expected a UTC day as YYYY-MM-DD/],
    ['since=yesterday', /^since: /],
    ['since=2026-12-02&until=2026-12-01', /^since: 2026-12-02 is after until \(2026-12-01\)/],
    ['since=2020-01-01&until=2026-01-01', /^since: the window is \d+ days; ask for at most 366/],
    // since alone runs to today: one far back is a window too long, not a scan of the whole ledger
    ['since=1970-01-01', /^since: the window is \d+ days; ask for at most 366/],
    ['since=', /^since: expected a UTC day as YYYY-MM-DD/],
    ['until=2026-12-01T00:00:00Z', /^until: expected a UTC day as YYYY-MM-DD/],
    ['by=model&by=pool', /^by: given twice/],
    ['day=2026-12-01', /^day: not a parameter of this route; it takes by, since, until/],
  ])('refuses %s with a 400 naming the parameter', async (q, message) => {
    const r = await get(`/admin/v1/costs?${q}`);
    expect(r.status).toBe(400);
    expect(r.body.error?.message).toMatch(message);
  });

  it('answers tenant keys 403, other methods 405 and mistyped paths 404', async () => {
    expect((await get('/admin/v1/costs', TENANT)).status).toBe(403);
    // the live view lists every tenant's share: no tenant key may read it either
    expect((await get('/admin/v1/costs/live', TENANT)).status).toBe(403);
    expect((await get('/admin/v1/costs?by=tenant', TENANT)).status).toBe(403);
    expect((await get('/admin/v1/costs', ADMIN, 'POST')).status).toBe(405);
    expect((await get('/admin/v1/costs/daily')).status).toBe(404);
  });
});

describe('GET /admin/v1/costs/live', () => {
  it('shows the meter\'s trailing hour per pool, with unknown hardware said to be unknown', async () => {
    const r = await get('/admin/v1/costs/live');
    expect(r.status).toBe(200);
    const pools = r.body.pools as Array<Record<string, unknown> & { hardware: Array<Record<string, unknown>> }>;
    expect(pools[0]).toMatchObject({ pool: 'us-east/m', replicas: 2, gpus: 2, usd_per_hour: 5.98, utilisation: 0.25, input_usd_per_m: 20_000, output_usd_per_m: 160_000 });
    expect(pools[0].hardware[0]).toMatchObject({ profile: null, gpus: 1, usd_per_gpu_hour: 2.5, price_from: 'fallback' });
    expect(pools[0].hardware[0].note).toMatch(/hardware unknown/);
    expect((r.body.tenants as unknown[]).length).toBe(1);
  });

  it('takes no parameters, and says the meter is off when the gateway runs none', async () => {
    expect((await get('/admin/v1/costs/live?by=pool')).status).toBe(400);
    const off = await createCostRoutes({ store, clock, weights, live: null })(ADMIN, 'GET', '/admin/v1/costs/live', new URLSearchParams());
    expect(JSON.parse(off.body)).toMatchObject({ enabled: false, pools: [] });
  });
});

describe('through the admin API', () => {
  const errors: Error[] = [];
  const api = () => createAdminApi({ store, authenticator: auth, adminToken: ADMIN_TOKEN, onError: (e) => errors.push(e), costs: route() });

  it('wants credentials (401), the admin token (403 for a tenant key), and passes other routes on', async () => {
    const a = api();
    const q = new URLSearchParams('since=2026-12-01&until=2026-12-01');
    expect((await a.handle('GET', '/admin/v1/costs', q, {}, Buffer.alloc(0))).status).toBe(401);
    expect((await a.handle('GET', '/admin/v1/costs', q, { 'x-api-key': tenantKey }, Buffer.alloc(0))).status).toBe(403);
    const ok = await a.handle('GET', '/admin/v1/costs', q, { authorization: `Bearer ${ADMIN_TOKEN}` }, Buffer.alloc(0));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).data).toHaveLength(1);
    expect((await a.handle('GET', '/admin/v1/tenants', new URLSearchParams(), { authorization: `Bearer ${ADMIN_TOKEN}` }, Buffer.alloc(0))).status).toBe(200);
  });

  it('answers a store failure with a 500 naming the request, and hands the error on', async () => {
    const broken = createCostRoutes({ store: { replicaTime: async () => { throw new Error('disk gone'); }, tokensByDay: async () => [] }, clock, weights, live });
    const a = createAdminApi({ store, authenticator: auth, adminToken: ADMIN_TOKEN, onError: (e) => errors.push(e), costs: broken });
    const r = await a.handle('GET', '/admin/v1/costs', new URLSearchParams(), { authorization: `Bearer ${ADMIN_TOKEN}` }, Buffer.alloc(0), 'req_x');
    expect(r.status).toBe(500);
    expect(r.body).toContain('req_x');
    expect(errors.at(-1)?.message).toBe('disk gone');
  });
});

// the window's edges are UTC midnights: a day is in it by its date, whatever the hour now
it('counts today as the window\'s last day at any hour', async () => {
  const late = new ManualTime(Date.UTC(2026, 11, 2, 23, 59, 59));
  const r = await createCostRoutes({ store, clock: late, weights, live })(ADMIN, 'GET', '/admin/v1/costs', new URLSearchParams());
  expect(JSON.parse(r.body)).toMatchObject({ since: '2026-11-26', until: '2026-12-02' });
});
