import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.js';
import { autoscalerPoolSchema } from '../../src/config/schema.js';
import type { FleetHands, PoolName, PoolSignals, ReplicaReport, ScalePlan, ScalingPolicy } from '../../src/control/autoscaler/types.js';
import type { PoolActuator } from '../../src/gateway/autoscaler.js';
import { startPlatform, type Platform } from '../../src/gateway/index.js';
import { createLogger } from '../../src/observe/index.js';
import { eventually, KEY, MODEL, sqliteStore, startEngines, TIMES, type Engine } from './rollouts-rig.js';

// The autoscaler inside a running gateway (real sockets, a SQLite store, simulated replicas): its
// decisions reach /metrics, the admin API (admin token only) and the audit trail; its hands drain a
// replica only once the requests on it have finished. The pool's actuator and policy are fakes the
// spec drives; the loop is ticked by hand.

const ADMIN = 'autoscaler-spec-admin-token';
const POOL = `us-east/${MODEL}`;

/** Reports the replicas it was seeded with as ready; a start appears as starting. */
class FakePool implements PoolActuator {
  readonly plans: ScalePlan[] = [];
  readonly reports: ReplicaReport[];
  constructor(ready: readonly string[]) {
    this.reports = ready.map((id) => ({ id, phase: 'ready', sinceMs: 0, reportedAtMs: null, waiting: 0, running: 0, kvUsage: 0, inflight: 0 }));
  }
  apply(pool: PoolName, plan: ScalePlan): void {
    this.plans.push(plan);
    for (let i = 0; i < plan.start; i++) this.reports.push({ id: `${pool}/f${this.reports.length}`, phase: 'starting', sinceMs: Date.now(), reportedAtMs: null, waiting: 0, running: 0, kvUsage: 0, inflight: 0 });
  }
  replicas(): ReplicaReport[] {
    return this.reports.slice();
  }
  queued(): number {
    return 0;
  }
}

interface Rig {
  platform: Platform;
  seen: PoolSignals[];
  policy: { want: number };
  hands: FleetHands | null;
}

const open: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()!.close();
});

async function start(replicas: Array<{ id: string; url: string; servedModel?: string }>, o: { enabled?: boolean; configure?: (c: Config) => void } = {}): Promise<Rig> {
  const config: Config = loadConfig(undefined, { port: 0 });
  config.fleet.scrapeIntervalMs = 0;
  config.fleet.healthIntervalMs = 100;
  config.rollouts = { ...config.rollouts, ...TIMES };
  // ticked by hand
  config.autoscaler = { ...config.autoscaler, enabled: o.enabled ?? true, tickMs: 600_000, pools: [autoscalerPoolSchema.parse({ model: MODEL, region: 'us-east', min: 1, max: 4 })] };
  o.configure?.(config);
  const seen: PoolSignals[] = [];
  const policy = { want: 2 };
  const rig: Rig = { platform: null as unknown as Platform, seen, policy, hands: null };
  const scripted: ScalingPolicy = { name: 'scripted', decide: (s) => (seen.push(s), { desired: policy.want, reason: 'load', detail: `wants ${policy.want}` }) };
  rig.platform = await startPlatform({
    config, storeUrl: await sqliteStore(), adminToken: ADMIN, log: createLogger('silent'),
    replicas: replicas.map((r) => ({ id: r.id, model: MODEL, servedModel: r.servedModel ?? MODEL, region: 'us-east', url: r.url })),
    autoscaler: {
      actuatorFor: (_pool, hands) => {
        rig.hands = hands;
        return new FakePool(replicas.map((r) => r.id));
      },
      policyFor: () => scripted,
    },
  });
  open.push(rig.platform);
  return rig;
}

async function engines(n: number): Promise<Engine[]> {
  const es = await startEngines(Array.from({ length: n }, (_, i) => ({ id: `e${i}`, version: MODEL })));
  for (const e of es) open.push(e.server);
  return es;
}

function admin(p: Platform, path: string, headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` }): Promise<Response> {
  return fetch(`${p.url}${path}`, { headers });
}

function chat(p: Platform, n: number): Promise<Response> {
  return fetch(`${p.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: `hello ${n}` }], max_tokens: 3 }),
  });
}

describe('the autoscaler in a running gateway', () => {
  it('is fed every request and call end (beside the rollouts), and its decision reaches /metrics, the admin API and the audit trail', async () => {
    const [e0] = await engines(1);
    const { platform: p, seen } = await start([{ id: 'e0', url: e0.server.url, servedModel: 'm' }]);
    // the call report's one sink is a tee: the rollouts still hear every call of a model they watch
    vi.spyOn(p.rollouts, 'watching').mockReturnValue(true);
    const rolloutCalls = vi.spyOn(p.rollouts, 'call').mockImplementation(() => {});
    const statuses = await Promise.all([0, 1, 2, 3].map(async (i) => (await chat(p, i)).status));
    expect(statuses).toEqual([200, 200, 200, 200]);
    p.autoscaler!.tick();
    expect({ arrivals: seen[0].arrivals, calls: seen[0].calls, ready: seen[0].replicas.map((r) => r.phase) }).toEqual({ arrivals: 4, calls: 4, ready: ['ready'] });
    expect(seen[0].promptTokens).toBeGreaterThan(0);
    expect(rolloutCalls).toHaveBeenCalledTimes(4);

    const status = await admin(p, '/admin/v1/autoscaler');
    expect(status.status).toBe(200);
    const body = await status.json() as { enabled: boolean; leading: boolean; pools: Array<Record<string, unknown>> };
    expect({ enabled: body.enabled, leading: body.leading }).toEqual({ enabled: true, leading: true });
    expect(body.pools).toHaveLength(1);
    expect(body.pools[0]).toMatchObject({
      pool: POOL, model: MODEL, region: 'us-east', min: 1, max: 4, scale_to_zero: false, startup_ms: 5_500, slo: { ttft_ms: 2_000, itl_ms: 100 },
      replicas: { starting: 1, ready: 1, draining: 0 }, desired: 2, last_decision: { from: 1, to: 2, reason: 'load', detail: 'wants 2' },
    });
    const decisions = await (await admin(p, `/admin/v1/autoscaler/decisions?pool=${encodeURIComponent(POOL)}&limit=5`)).json() as { data: Array<Record<string, unknown>> };
    expect(decisions.data).toMatchObject([{ type: 'autoscaler_decision', pool: POOL, policy: 'scripted', from: 1, to: 2, reason: 'load', plan: { start: 1, drain: [] } }]);

    const metrics = await (await fetch(`${p.url}/metrics`)).text();
    expect(metrics).toContain(`switchyard_autoscaler_decisions_total{pool="${POOL}",reason="load"} 1`);
    expect(metrics).toContain(`switchyard_autoscaler_scale_events_total{pool="${POOL}",direction="up"} 1`);
    expect(metrics).toContain(`switchyard_autoscaler_desired_replicas{pool="${POOL}"} 2`);
    expect(metrics).toContain(`switchyard_autoscaler_replicas{pool="${POOL}",phase="ready"} 1`);

    const audit = await eventually(async () => {
      const rows = (await (await admin(p, '/admin/v1/audit?action=autoscaler.scale')).json() as { data: Array<Record<string, unknown>> }).data;
      return rows.length > 0 && rows;
    }, 5_000, 'an autoscaler.scale audit record');
    expect(audit).toMatchObject([{ actor: 'autoscaler', action: 'autoscaler.scale', target: POOL, reason: 'wants 2', before: { replicas: 1 }, after: { replicas: 2, reason: 'load' } }]);
  });

  it('answers only the admin token, in the admin error format, and validates the decisions query', async () => {
    const [e0] = await engines(1);
    const { platform: p } = await start([{ id: 'e0', url: e0.server.url, servedModel: 'm' }]);
    const none = await admin(p, '/admin/v1/autoscaler', {});
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const tenant = await admin(p, '/admin/v1/autoscaler', { 'x-api-key': KEY });
    expect(tenant.status).toBe(403);
    expect(await tenant.json()).toMatchObject({ type: 'error', error: { type: 'permission_error', message: expect.stringMatching(/admin token/) } });
    const limit = await admin(p, '/admin/v1/autoscaler/decisions?limit=500');
    expect(limit.status).toBe(400);
    expect(await limit.json()).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringMatching(/^limit: /) } });
    // plain digits only, as every listing takes it
    for (const odd of ['1e2', '0x10', '5.0']) expect((await admin(p, `/admin/v1/autoscaler/decisions?limit=${odd}`)).status).toBe(400);
    const pool = await admin(p, '/admin/v1/autoscaler/decisions?pool=mars%2Fm');
    expect(pool.status).toBe(404);
    expect(await pool.json()).toMatchObject({ error: { type: 'not_found_error', message: expect.stringContaining(POOL) } });
    const post = await fetch(`${p.url}/admin/v1/autoscaler`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect({ status: post.status, allow: post.headers.get('allow') }).toEqual({ status: 405, allow: 'GET' });
  });

  it('says it is off (200, no pools) when the autoscaler is not enabled', async () => {
    const [e0] = await engines(1);
    const { platform: p } = await start([{ id: 'e0', url: e0.server.url, servedModel: 'm' }], { enabled: false });
    expect(p.autoscaler).toBeNull();
    const res = await admin(p, '/admin/v1/autoscaler');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ type: 'autoscaler', enabled: false, leading: false, pools: [] });
  });

  it('hears of the requests admission sheds for want of capacity, counted among the arrivals', async () => {
    const slow = await slowUpstream();
    const { platform: p, seen } = await start([{ id: 'slow-0', url: slow.url }], {
      configure: (c) => {
        c.admission = { ...c.admission, maxInflightPerReplica: 1, maxQueue: 1 };
        // one probe at start only: a probe timing out on a loaded machine would take the one replica's
        // capacity away, and admission would then refuse rather than queue
        c.fleet.healthIntervalMs = 600_000;
      },
    });
    const first = chat(p, 1);
    await eventually(() => p.fleet.byId('slow-0')!.inflight === 1, 5_000, 'the first request in flight');
    // one capacity and one queue place: of two more, at least one is shed — the queue is full, or
    // admission already sheds standard requests to keep the queue's wait on time (which it does
    // sooner on a loaded machine); the other waits in the queue or is shed too
    let settled = 0;
    const more = [chat(p, 2), chat(p, 3)].map((r) => r.then((res) => (settled++, res)));
    await eventually(() => settled >= 1, 5_000, 'a request shed');
    slow.release();
    const statuses = await Promise.all([first, ...more].map(async (r) => (await r).status));
    const shed = statuses.filter((st) => st >= 500).length;
    expect(statuses[0]).toBe(200);
    expect(shed).toBeGreaterThanOrEqual(1);
    p.autoscaler!.tick();
    expect({ arrivals: seen[0].arrivals, shed: seen[0].shed }).toEqual({ arrivals: 3, shed });
  });

  it('drains a replica only once its request in flight has finished (a slow upstream): nothing fails', async () => {
    const slow = await slowUpstream();
    const { platform: p, hands } = await start([{ id: 'slow-0', url: slow.url }]);
    const rep = p.fleet.byId('slow-0')!;
    const pending = chat(p, 1);
    await eventually(() => rep.inflight === 1, 5_000, 'the request in flight on the replica');
    let drained = false;
    const drain = hands!.drain('slow-0').then(() => { drained = true; });
    await new Promise((r) => setTimeout(r, 400));
    // out of the fleet (and its rotation) at once; its request in flight still holds the drain open
    expect({ drained, draining: rep.draining, routable: rep.routable, inFleet: p.fleet.byId('slow-0') !== undefined }).toEqual({ drained: false, draining: true, routable: false, inFleet: false });
    slow.release();
    const res = await pending;
    expect(res.status).toBe(200);
    await drain;
    expect({ drained, inFleet: p.fleet.byId('slow-0') !== undefined }).toEqual({ drained: true, inFleet: false });
  });
});

/** An OpenAI-compatible upstream that holds every completion until released. */
async function slowUpstream(): Promise<{ url: string; release(): void }> {
  const held: ServerResponse[] = [];
  let released = false;
  const answer = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      id: 'c1', object: 'chat.completion', created: 0, model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
    }));
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.url?.startsWith('/health')) return void res.end('ok');
    if (req.method !== 'POST') return void res.writeHead(404).end();
    req.on('end', () => (released ? answer(res) : held.push(res)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({ close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r(undefined)); }) });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    release() {
      released = true;
      for (const res of held.splice(0)) answer(res);
    },
  };
}
