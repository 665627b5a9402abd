import { describe, expect, it } from 'vitest';
import { createAutoscalerRoutes, type AutoscalerView } from '../../../src/api/admin/autoscaler.js';
import type { Caller } from '../../../src/api/admin/caller.js';
import type { PoolSpec, ScaleDecision } from '../../../src/control/autoscaler/types.js';
import { getProfile } from '../../../src/engine/index.js';

// /admin/v1/autoscaler over a view of the gateway's autoscaler: the pools, the decisions newest
// first and bounded, and the refusals in the admin format.

const ADMIN: Caller = { admin: true };
const TENANT = { admin: false, auth: { tenantId: 't1' } } as unknown as Caller;
const T0 = Date.UTC(2026, 11, 2, 4, 0, 0);

function spec(name: string): PoolSpec {
  const [region, model] = name.split('/');
  return { name, model, region, profile: getProfile('llama-3.1-8b-h100')!, engine: {}, min: 1, max: 4, scaleToZero: false, startupMs: 5_500, slo: { ttftMs: 2_000, itlMs: 100 } };
}

function decision(pool: string, i: number): ScaleDecision {
  return { atMs: T0 + i * 1_000, pool, policy: 'switchyard', from: i, to: i + 1, reason: 'load', detail: `tick ${i}`, plan: { start: 1, drain: [] } };
}

const pools = ['us-east/a', 'eu-west/a'];
const kept = [...Array.from({ length: 120 }, (_, i) => decision(pools[0], i)), decision(pools[1], 0)].sort((x, y) => x.atMs - y.atMs);
const view: AutoscalerView = {
  status: () => ({ enabled: true, leading: true, pools: pools.map((p) => ({ spec: spec(p), replicas: { starting: 1, ready: 2, draining: 0 }, latest: kept.filter((d) => d.pool === p).at(-1) ?? null })) }),
  decisions: (pool) => (pool === undefined ? kept : kept.filter((d) => d.pool === pool)),
};
const route = createAutoscalerRoutes(view);
const get = (path: string, caller: Caller = ADMIN) => {
  const [p, q = ''] = path.split('?');
  const r = route(caller, 'GET', p, new URLSearchParams(q));
  return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> & { data: Array<Record<string, unknown>>; pools: Array<Record<string, unknown>> } };
};

describe('GET /admin/v1/autoscaler', () => {
  it('shows each pool: its limits, replicas by phase, what it wants and its last decision', () => {
    const r = get('/admin/v1/autoscaler');
    expect(r.status).toBe(200);
    expect(r.body.pools[0]).toEqual({
      pool: 'us-east/a', model: 'a', region: 'us-east', min: 1, max: 4, scale_to_zero: false, startup_ms: 5_500, slo: { ttft_ms: 2_000, itl_ms: 100 },
      replicas: { starting: 1, ready: 2, draining: 0 }, desired: 120,
      last_decision: { at: new Date(T0 + 119_000).toISOString(), from: 119, to: 120, reason: 'load', detail: 'tick 119' },
    });
    expect({ enabled: r.body.enabled, leading: r.body.leading, n: r.body.pools.length }).toEqual({ enabled: true, leading: true, n: 2 });
  });

  it('says it is off, with 200 and no pools, when the gateway runs no autoscaler', () => {
    const r = createAutoscalerRoutes(null)(ADMIN, 'GET', '/admin/v1/autoscaler', new URLSearchParams());
    expect({ status: r.status, body: JSON.parse(r.body) }).toEqual({ status: 200, body: { type: 'autoscaler', enabled: false, leading: false, pools: [] } });
  });
});

describe('GET /admin/v1/autoscaler/decisions', () => {
  it('lists the newest first, 50 unless a limit says otherwise, and says when there are more', () => {
    const r = get('/admin/v1/autoscaler/decisions');
    expect(r.body.data).toHaveLength(50);
    expect(r.body.has_more).toBe(true);
    const times = r.body.data.map((d) => Date.parse(d.at as string));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(r.body.data[0]).toEqual({ type: 'autoscaler_decision', at: new Date(T0 + 119_000).toISOString(), pool: 'us-east/a', policy: 'switchyard', from: 119, to: 120, reason: 'load', detail: 'tick 119', plan: { start: 1, drain: [] } });
  });

  it('filters by pool', () => {
    const r = get('/admin/v1/autoscaler/decisions?pool=eu-west%2Fa&limit=10');
    expect({ pools: [...new Set(r.body.data.map((d) => d.pool))], n: r.body.data.length, more: r.body.has_more }).toEqual({ pools: ['eu-west/a'], n: 1, more: false });
  });

  it.each([
    ['limit=0', 400, /^limit: expected an integer from 1 to 200/],
    ['limit=201', 400, /^limit: /],
    ['limit=ten', 400, /^limit: /],
    ['pool=mars%2Fa', 404, /^pool: no autoscaled pool mars\/a; the pools are us-east\/a, eu-west\/a/],
    // a misspelt or repeated parameter would otherwise be ignored: 50 of every pool, silently
    ['limt=5', 400, /^limt: not a parameter of this route; it takes pool, limit/],
    ['pool=', 400, /^pool: empty; name a pool \(us-east\/a, eu-west\/a\) or leave it out/],
    ['limit=5&limit=6', 400, /^limit: given twice; give it once/],
  ])('refuses %s', (q, status, message) => {
    const r = get(`/admin/v1/autoscaler/decisions?${q}`);
    expect(r.status).toBe(status);
    expect((r.body.error as { message: string }).message).toMatch(message);
  });

  it('refuses a parameter on the status route, which takes none', () => {
    const r = get('/admin/v1/autoscaler?pool=us-east%2Fa');
    expect({ status: r.status, message: (r.body.error as { message: string }).message }).toEqual({ status: 400, message: expect.stringMatching(/^pool: not a parameter of this route; it takes none/) });
  });
});

describe('the autoscaler routes', () => {
  it('are the admin token\'s only: a tenant key is refused with 403', () => {
    for (const path of ['/admin/v1/autoscaler', '/admin/v1/autoscaler/decisions']) {
      const r = get(path, TENANT);
      expect({ status: r.status, type: (r.body.error as { type: string }).type }).toEqual({ status: 403, type: 'permission_error' });
    }
  });

  it('are read-only (405 with Allow) and answer 404 for a path under them they do not serve', () => {
    const post = route(ADMIN, 'POST', '/admin/v1/autoscaler', new URLSearchParams());
    expect({ status: post.status, allow: post.headers?.allow }).toEqual({ status: 405, allow: 'GET' });
    expect(get('/admin/v1/autoscaler/pools').status).toBe(404);
  });
});
