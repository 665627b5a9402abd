import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.js';
import { autoscalerPoolSchema } from '../../src/config/schema.js';
import type { FleetHands, PoolName, PoolSignals, ReplicaReport, ScalePlan, ScalingPolicy } from '../../src/control/autoscaler/types.js';
import { FleetRegistry, ModelVersions } from '../../src/fleet/index.js';
import type { ProcessSupervisor } from '../../src/control/supervisor.js';
import { AutoscalerService, teeCalls, type AutoscaledPool, type PoolActuator } from '../../src/gateway/autoscaler.js';
import { replicaStats } from '../../src/gateway/autoscaler/hands.js';
import type { Backend } from '../../src/gateway/backends.js';
import type { NewAuditRecord } from '../../src/ledger/index.js';
import { createMetrics } from '../../src/observe/index.js';
import { ManualTime } from '../../src/time/manual.js';
import type { CallReport, CallReportSink } from '../../src/upstream/index.js';

// The gateway's autoscaler on a manual clock: fake actuators, a scripted policy, a fake store and
// a fake fleet of backends; what it must do with them, tick by tick.

const MODEL = 'llama-3.1-8b';
const TICK = 1_000;

/** A pool's replicas as a fake actuator keeps them: starts appear as `starting`, drains go through the hands. */
class FakePool implements PoolActuator {
  readonly reports: ReplicaReport[] = [];
  readonly plans: ScalePlan[] = [];
  #n = 0;
  constructor(private readonly pool: PoolName, private readonly hands: FleetHands, private readonly time: ManualTime, ready: readonly string[] = []) {
    for (const id of ready) this.reports.push(report(id, 'ready', time.nowMs()));
  }
  apply(_pool: PoolName, plan: ScalePlan): void {
    this.plans.push(plan);
    for (let i = 0; i < plan.start; i++) this.reports.push(report(`${this.pool}/f${this.#n++}`, 'starting', this.time.nowMs()));
    for (const id of plan.drain) {
      const i = this.reports.findIndex((r) => r.id === id);
      this.reports[i] = report(id, 'draining', this.time.nowMs());
      void this.hands.drain(id).then(() => this.reports.splice(this.reports.findIndex((r) => r.id === id), 1));
    }
  }
  replicas(): ReplicaReport[] {
    // a copy, read at the tick: as the real actuators answer
    return this.reports.slice();
  }
  queued(): number {
    return 0;
  }
}

function report(id: string, phase: ReplicaReport['phase'], sinceMs: number): ReplicaReport {
  return { id, phase, sinceMs, reportedAtMs: null, waiting: 0, running: 0, kvUsage: 0, inflight: 0 };
}

/** Answers `want` with `reason`, and keeps every signal it was shown. */
function scripted() {
  const seen: PoolSignals[] = [];
  const p = { want: 1, reason: 'load' as const, seen };
  const policy: ScalingPolicy = { name: 'scripted', decide: (s) => (seen.push(s), { desired: p.want, reason: p.reason, detail: `wants ${p.want}` }) };
  return { p, policy };
}

interface Rig {
  svc: AutoscalerService;
  time: ManualTime;
  fleet: FleetRegistry;
  backends: Map<unknown, Backend>;
  pools: Map<PoolName, FakePool>;
  policies: Map<PoolName, ReturnType<typeof scripted>>;
  audits: NewAuditRecord[];
  logs: Array<{ level: number; msg: string }>;
  metrics: ReturnType<typeof createMetrics>;
  lead: { leading: boolean };
  store: { down: boolean };
  closed: string[];
}

function rig(o: { region?: string; pools: Array<{ region: string; min?: number; max?: number }>; ready?: Record<string, string[]> }): Rig {
  const config: Config = loadConfig(undefined, { port: 0 });
  config.region = o.region ?? 'us-east';
  config.autoscaler = { ...config.autoscaler, enabled: true, tickMs: TICK, pools: o.pools.map((p) => autoscalerPoolSchema.parse({ model: MODEL, min: 1, max: 4, ...p })) };
  const time = new ManualTime(1_800_000_000_000);
  const fleet = new FleetRegistry();
  const backends = new Map<unknown, Backend>();
  const closed: string[] = [];
  const audits: NewAuditRecord[] = [];
  const logs: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s) as { level: number; msg: string }) });
  const store = { down: false };
  const lead = { leading: true };
  const pools = new Map<PoolName, FakePool>();
  const policies = new Map<PoolName, ReturnType<typeof scripted>>();
  let svc: AutoscalerService | null = null;
  const metrics = createMetrics({ replicas: () => [], ledger: () => ({ buffered: 0, written: 0, dropped: 0, failedFlushes: 0 }), autoscaler: () => svc?.gauges() ?? [] });
  svc = new AutoscalerService({
    config, log, metrics, time: time.ports(() => 0.5),
    fleet: {
      fleet, versions: new ModelVersions(config.models), backends: backends as Map<never, Backend>,
      createBackend: (r) => ({ replica: r, client: { close: async () => void closed.push(r.id) } }) as unknown as Backend,
    },
    store: {
      appendAudit: async (e) => {
        if (store.down) throw new Error('store unreachable');
        audits.push(e);
        return { ok: true, value: { id: `a${audits.length}`, at: time.nowMs(), ...e } } as never;
      },
    },
    queued: () => 0,
    leading: () => lead.leading,
    replicaAdded: () => {},
    actuatorFor: (pool, hands) => {
      const f = new FakePool(pool.spec.name, hands, time, o.ready?.[pool.spec.name] ?? []);
      pools.set(pool.spec.name, f);
      return f;
    },
    policyFor: (pool) => {
      const s = scripted();
      policies.set(pool.name, s);
      return s.policy;
    },
  });
  return { svc, time, fleet, backends, pools, policies, audits, logs, metrics, lead, store, closed };
}

/** Lets the promise callbacks queued by a tick run (the audit write, a drain's steps). */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('AutoscalerService on a manual clock', () => {
  it('ticks every tickMs only while this gateway leads', async () => {
    const r = rig({ pools: [{ region: 'us-east' }] });
    await r.svc.start();
    r.lead.leading = false;
    r.time.advance(3 * TICK);
    expect(r.svc.decisions()).toHaveLength(0);
    r.lead.leading = true;
    r.time.advance(2 * TICK);
    expect(r.svc.decisions()).toHaveLength(2);
    r.svc.close();
    r.time.advance(5 * TICK);
    expect(r.svc.decisions()).toHaveLength(2);
  });

  it('counts arrivals and sheds against the model\'s pool in the gateway\'s region, call ends against the replica\'s own pool', async () => {
    const r = rig({ region: 'eu-west', pools: [{ region: 'us-east' }, { region: 'eu-west' }] });
    for (let i = 0; i < 5; i++) r.svc.arrived(MODEL, 100);
    r.svc.shed(MODEL);
    const us = r.fleet.add({ id: 'us-1', model: MODEL, servedModel: MODEL, region: 'us-east', url: 'http://127.0.0.1:1' });
    const call: CallReport = { atMs: 0, sentAtMs: 0, stream: true, failed: false, ttftMs: 50, itlMs: 5, promptTokens: 100, promptEstimate: 100, cachedTokens: 0, outputTokens: 7, truncated: false };
    r.svc.call({ replica: us } as unknown as Backend, call);
    r.svc.tick();
    const eu = r.policies.get('eu-west/' + MODEL)!.p.seen[0];
    const usSeen = r.policies.get('us-east/' + MODEL)!.p.seen[0];
    expect({ arrivals: eu.arrivals, promptTokens: eu.promptTokens, shed: eu.shed, calls: eu.calls }).toEqual({ arrivals: 5, promptTokens: 500, shed: 1, calls: 0 });
    expect({ arrivals: usSeen.arrivals, calls: usSeen.calls, outputTokens: usSeen.outputTokens }).toEqual({ arrivals: 0, calls: 1, outputTokens: 7 });
    expect(r.svc.watching(MODEL)).toBe(true);
    expect(r.svc.watching('llama-3.3-70b')).toBe(false);
  });

  it('records a change of size in the metrics, the log and the audit trail; a hold only in the decisions counter', async () => {
    const pool = 'us-east/' + MODEL;
    const r = rig({ pools: [{ region: 'us-east' }], ready: { [pool]: ['us-east/' + MODEL + '/0'] } });
    r.policies.get(pool)!.p.want = 3;
    r.svc.tick();
    await settle();
    r.svc.tick(); // 3 → 3: a hold
    await settle();
    expect(r.pools.get(pool)!.plans[0]).toEqual({ start: 2, drain: [] });
    expect(r.audits).toEqual([{
      actor: 'autoscaler', action: 'autoscaler.scale', target: pool, tenantId: null, requestId: null, reason: 'wants 3',
      before: { replicas: 1 }, after: { replicas: 3, reason: 'load' },
    }]);
    const text = await r.metrics.registry.metrics();
    expect(text).toContain(`switchyard_autoscaler_decisions_total{pool="${pool}",reason="load"} 2`);
    expect(text).toContain(`switchyard_autoscaler_scale_events_total{pool="${pool}",direction="up"} 1`);
    expect(text).toContain(`switchyard_autoscaler_replicas{pool="${pool}",phase="starting"} 2`);
    expect(text).toContain(`switchyard_autoscaler_replicas{pool="${pool}",phase="ready"} 1`);
    expect(text).toContain(`switchyard_autoscaler_desired_replicas{pool="${pool}"} 3`);
    expect(r.logs.filter((l) => l.msg.startsWith(`${pool}: 1 → 3 replicas (load)`))).toHaveLength(1);
  });

  it('keeps scaling while the store is down, and says so once', async () => {
    const pool = 'us-east/' + MODEL;
    const r = rig({ pools: [{ region: 'us-east' }] });
    r.store.down = true;
    for (const want of [2, 3, 4]) {
      r.policies.get(pool)!.p.want = want;
      r.svc.tick();
      await settle();
    }
    expect(r.pools.get(pool)!.plans.map((p) => p.start)).toEqual([2, 1, 1]);
    expect(r.logs.filter((l) => l.level >= 50 && /audit/.test(l.msg))).toHaveLength(1);
    r.store.down = false;
    r.policies.get(pool)!.p.want = 1;
    r.svc.tick();
    await settle();
    expect(r.audits.map((a) => (a.after as { replicas: number }).replicas)).toEqual([1]);
  });
});

describe('AutoscalerService with the embedded actuator', () => {
  function embedded(o: { processes: boolean }) {
    const config: Config = loadConfig(undefined, { port: 0 });
    config.autoscaler = { ...config.autoscaler, enabled: true, tickMs: TICK, pools: [autoscalerPoolSchema.parse({ model: MODEL, region: 'us-east', startup: 2 })] };
    const time = new ManualTime(1_800_000_000_000);
    const fleet = new FleetRegistry();
    for (const id of ['us-east/llama-3.1-8b/0', 'us-east/llama-3.1-8b/1', 'eu-west/llama-3.1-8b/0']) {
      fleet.add({ id, model: MODEL, servedModel: MODEL, region: id.split('/')[0], url: `http://127.0.0.1:${4000 + fleet.all.length}` });
    }
    const started: Array<{ id: string; args: string[] }> = [];
    const supervisor = { start: (spec: { id: string; args: string[] }) => void started.push(spec) } as unknown as ProcessSupervisor;
    const svc = new AutoscalerService({
      config, log: pino({ level: 'silent' }), time: time.ports(() => 0.5),
      metrics: createMetrics({ replicas: () => [], ledger: () => ({ buffered: 0, written: 0, dropped: 0, failedFlushes: 0 }) }),
      fleet: { fleet, versions: new ModelVersions(config.models), backends: new Map(), createBackend: () => ({}) as Backend },
      store: { appendAudit: async () => ({ ok: true }) as never }, queued: () => 0, leading: () => true, replicaAdded: () => {},
      policyFor: () => ({ name: 'three', decide: () => ({ desired: 3, reason: 'load', detail: 'wants 3' }) }),
      ...(o.processes ? { processes: { supervisor, engineArgs: (pool: AutoscaledPool, port: number) => ['engine', pool.spec.model, pool.profile, String(pool.startup), String(port)] } } : {}),
    });
    return { svc, started };
  }

  it('adopts the demo replicas already in the pool\'s model and region as ready, and starts more with the caller\'s engine arguments', async () => {
    const { svc, started } = embedded({ processes: true });
    await svc.start();
    expect(svc.status().pools[0].replicas).toEqual({ starting: 0, ready: 2, draining: 0 });
    // a start goes to the supervisor (once a port is found) with the pool's own engine arguments
    svc.tick();
    for (let i = 0; i < 200 && started.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    svc.close();
    expect(started).toHaveLength(1);
    expect(started[0].id).toBe('us-east/llama-3.1-8b/as-0');
    expect(started[0].args.slice(0, 4)).toEqual(['engine', MODEL, 'llama-3.1-8b-h100', '2']);
    expect(svc.status().pools[0].replicas).toEqual({ starting: 1, ready: 2, draining: 0 });
  });

  it('adopts only the stable version\'s replicas: a rollout\'s candidate (idle at weight 0) is never counted nor drained', async () => {
    const config: Config = loadConfig(undefined, { port: 0 });
    config.models = config.models.map((m) => (m.id === MODEL ? { ...m, versions: [{ id: 'v1' }, { id: 'v2' }], stable: 'v1' } : m));
    config.autoscaler = { ...config.autoscaler, enabled: true, tickMs: TICK, pools: [autoscalerPoolSchema.parse({ model: MODEL, region: 'us-east' })] };
    const time = new ManualTime(1_800_000_000_000);
    const fleet = new FleetRegistry();
    fleet.add({ id: 'us-east/llama-3.1-8b/0', model: MODEL, servedModel: MODEL, region: 'us-east', url: 'http://127.0.0.1:4000', version: 'v1', versionWeight: 1 });
    fleet.add({ id: 'us-east/llama-3.1-8b/1', model: MODEL, servedModel: MODEL, region: 'us-east', url: 'http://127.0.0.1:4001', version: 'v1', versionWeight: 1 });
    const candidate = fleet.add({ id: 'us-east/llama-3.1-8b/2', model: MODEL, servedModel: MODEL, region: 'us-east', url: 'http://127.0.0.1:4002', version: 'v2', versionWeight: 0 });
    const stopped: string[] = [];
    const supervisor = { start: () => {}, stop: async (id: string) => void stopped.push(id) } as unknown as ProcessSupervisor;
    const svc = new AutoscalerService({
      config, log: pino({ level: 'silent' }), time: time.ports(() => 0.5),
      metrics: createMetrics({ replicas: () => [], ledger: () => ({ buffered: 0, written: 0, dropped: 0, failedFlushes: 0 }) }),
      fleet: { fleet, versions: new ModelVersions(config.models), backends: new Map(), createBackend: () => ({}) as Backend },
      store: { appendAudit: async () => ({ ok: true }) as never }, queued: () => 0, leading: () => true, replicaAdded: () => {},
      policyFor: () => ({ name: 'one', decide: () => ({ desired: 1, reason: 'consolidate', detail: 'wants 1' }) }),
      processes: { supervisor, engineArgs: () => [] },
    });
    await svc.start();
    expect(svc.status().pools[0].replicas).toEqual({ starting: 0, ready: 2, draining: 0 });
    svc.tick();
    const plan = svc.decisions()[0].plan;
    expect(plan.drain).toHaveLength(1);
    expect(plan.drain).not.toContain(candidate.id);
    expect(candidate.draining).toBe(false);
    svc.close();
  });

  it('refuses a pool it has no way to grow, naming what to give it', () => {
    expect(() => embedded({ processes: false })).toThrow(/autoscaler pool us-east\/llama-3.1-8b has no way to add replicas: give it `kubernetes: /);
  });
});

describe('FleetHands', () => {
  it('join puts the replica into the fleet with a backend, at its model\'s stable version', () => {
    const r = rig({ pools: [{ region: 'us-east' }] });
    r.svc.hands.join('us-east/' + MODEL, { id: 'us-east/llama-3.1-8b/as-0', url: 'http://127.0.0.1:9' });
    const rep = r.fleet.byId('us-east/llama-3.1-8b/as-0')!;
    expect({ model: rep.model, region: rep.region, version: rep.version, routable: rep.routable }).toEqual({ model: MODEL, region: 'us-east', version: MODEL, routable: true });
    expect(r.backends.get(rep)?.replica).toBe(rep);
    expect(() => r.svc.hands.join('nowhere/x', { id: 'x', url: 'http://127.0.0.1:9' })).toThrow(/no autoscaled pool/);
  });

  it('drain takes the replica out of the fleet at once (no undrain can bring it back), waits for its requests in flight, then closes its connections', async () => {
    const r = rig({ pools: [{ region: 'us-east' }] });
    const id = 'us-east/llama-3.1-8b/as-0';
    r.svc.hands.join('us-east/' + MODEL, { id, url: 'http://127.0.0.1:9' });
    const rep = r.fleet.byId(id)!;
    rep.inflight = 2;
    let done = false;
    const drained = r.svc.hands.drain(id).then(() => { done = true; });
    expect(rep.routable).toBe(false);
    r.time.advance(1_000);
    await settle();
    expect({ done, inFleet: r.fleet.byId(id) !== undefined, backend: r.backends.has(rep), closed: r.closed }).toEqual({ done: false, inFleet: false, backend: true, closed: [] });
    // its calls still count for the autoscaler while it drains
    expect(replicaStats(r.fleet, r.time, r.svc.hands)(id)?.inflight).toBe(2);
    rep.inflight = 0;
    r.time.advance(100);
    await drained;
    expect({ inFleet: r.fleet.byId(id) !== undefined, backend: r.backends.has(rep), closed: r.closed }).toEqual({ inFleet: false, backend: false, closed: [id] });
  });
});

describe('teeCalls', () => {
  it('hands each call to the sinks that watch its model, and watches what either watches', () => {
    const got: string[] = [];
    const sink = (name: string, model: string): CallReportSink<Backend> => ({ watching: (m) => m === model, call: (t) => void got.push(`${name}:${t.replica.id}`) });
    const tee = teeCalls(sink('rollouts', 'a'), sink('autoscaler', 'b'));
    const target = (id: string, model: string) => ({ replica: { id, model } }) as unknown as Backend;
    const r = {} as CallReport;
    tee.call(target('1', 'a'), r);
    tee.call(target('2', 'b'), r);
    tee.call(target('3', 'c'), r);
    expect(got).toEqual(['rollouts:1', 'autoscaler:2']);
    expect([tee.watching('a'), tee.watching('b'), tee.watching('c')]).toEqual([true, true, false]);
  });
});
