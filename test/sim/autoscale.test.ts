import { describe, expect, it } from 'vitest';
import { getProfile } from '../../src/engine/index.js';
import { resolveProfile } from '../../src/routing/index.js';
import { oscillations, simulate, type Fault, type SimAutoscaleInput, type SimulationInput } from '../../src/sim/index.js';
import { summarize } from '../../src/sim/report/summarize.js';
import { mix, poisson, seededRandom } from '../../src/sim/workload/index.js';
import type { PoolSignals, PoolSpec, ScaleDecision, ScalingPolicy } from '../../src/control/autoscaler/types.js';

// The simulator runs the autoscaler: slots that are asked for, load, enter rotation at a health
// probe, serve, drain and go, charged from the ask to the end. The policies here are small scripted
// ones, so each spec says what the simulator does with a decision, not what a policy decides.

const H100_8B = getProfile('llama-3.1-8b-h100')!;
const POOL = 'us-east/m';

/** Load in steps: [from s, to s, req/s]. */
type Steps = readonly (readonly [number, number, number])[];

interface Setup {
  steps: Steps;
  durationS: number;
  policy: (pool: PoolSpec) => ScalingPolicy;
  initial?: number;
  max?: number;
  startupS?: number;
  tickS?: number;
  faults?: Partial<Fault>[];
  sampleS?: number;
  staleAfterS?: number;
  min?: number;
}

function input(s: Setup): SimulationInput {
  const replicas = [{ id: 'us-east/m/0', region: 'us-east', model: 'm', profile: H100_8B, engine: {}, costPerGpuHour: 2 }];
  const parts = s.steps.map(([from, to, rate], i) => poisson({
    ratePerS: rate, startS: from, durationS: to - from, seed: 11 + i,
    prompt: { kind: 'uniform', min: 200, max: 800 }, output: { kind: 'uniform', min: 40, max: 160 },
  }));
  const autoscale: SimAutoscaleInput = {
    pools: [{
      name: POOL, region: 'us-east', model: 'm', profile: H100_8B, engine: {}, min: s.min ?? 1, max: s.max ?? 4, scaleToZero: s.min === 0,
      startupMs: (s.startupS ?? 20) * 1000, slo: { ttftMs: 2000, itlMs: 100 }, initial: s.initial ?? 1,
    }],
    policyFor: s.policy, tickS: s.tickS ?? 5,
    ...(s.staleAfterS !== undefined ? { staleAfterS: s.staleAfterS } : {}),
  };
  return {
    policyName: 'least-outstanding', profile: resolveProfile('least-outstanding'), regionOrder: (h) => [h],
    prefixBlockTokens: 64, prefixMaxBlocks: 256, outlier: null, replicas, workload: mix(parts),
    network: { latencyS: () => 0.0005 }, tenants: () => ({ region: 'us-east', allowedRegions: null }),
    defaultModel: 'm', durationS: s.durationS, drainLimitS: 300,
    faults: (s.faults ?? []).map((f) => ({ forS: null, replica: null, region: null, ...f }) as Fault),
    random: seededRandom(3), sampleS: s.sampleS ?? 1, scrapeIntervalS: 1, probeIntervalS: 2, maxAttempts: 3, coalesce: true,
    autoscale,
  };
}

/** Replicas for the arrival rate of the last tick, `perReplica` req/s each. */
const byRate = (perReplica: number) => (): ScalingPolicy => ({
  name: 'by-rate',
  decide: (s: PoolSignals) => {
    const rate = s.intervalMs > 0 ? (s.arrivals * 1000) / s.intervalMs : 0;
    return { desired: Math.max(1, Math.ceil(rate / perReplica)), reason: 'load', detail: `${rate.toFixed(1)} req/s` };
  },
});

/** Never fewer than the policy's highest answer so far. */
const ratchet = (inner: () => ScalingPolicy) => (): ScalingPolicy => {
  const p = inner();
  let high = 0;
  return {
    name: `ratchet(${p.name})`,
    decide: (s: PoolSignals) => {
      const d = p.decide(s);
      high = Math.max(high, d.desired);
      return { ...d, desired: high };
    },
  };
};

/** The desired count as a function of the clock: [from s, replicas], the last one that began. */
const scripted = (plan: readonly (readonly [number, number])[]) => (): ScalingPolicy => ({
  name: 'scripted',
  decide: (s: PoolSignals) => {
    let n = plan[0][1];
    for (const [at, k] of plan) if (s.nowMs >= at * 1000) n = k;
    return { desired: n, reason: 'hold', detail: `script says ${n}` };
  },
});

const ups = (ds: readonly ScaleDecision[]) => ds.filter((d) => d.plan.start > 0);
const downs = (ds: readonly ScaleDecision[]) => ds.filter((d) => d.plan.drain.length > 0);

describe('a pool under a step of load', () => {
  const run = simulate(input({ steps: [[0, 60, 3], [60, 150, 14]], durationS: 150, policy: ratchet(byRate(4)), startupS: 20 }));
  const rec = run.autoscale!;

  it('grows: the decisions start replicas after the step, and more of them serve', () => {
    const first = ups(rec.decisions)[0];
    expect(first).toBeDefined();
    expect(first.atMs).toBeGreaterThanOrEqual(60_000);
    expect(Math.max(...rec.replicasOverTime.map((s) => s.ready))).toBeGreaterThanOrEqual(3);
    const served = new Set(run.requests.map((r) => r.replica));
    expect(served.size).toBeGreaterThanOrEqual(3);
  });

  it('gives a new replica no request before its start-up is over, and charges it from the ask', () => {
    const first = ups(rec.decisions)[0];
    const askedS = first.atMs / 1000;
    // slot 1 is the first off slot, so the first start takes it
    const slot = run.replicas.find((r) => r.id === 'us-east/m/1')!;
    const onIt = run.requests.filter((r) => r.replica === slot.id);
    expect(onIt.length).toBeGreaterThan(0);
    // no admission, no retry: a request is sent as it arrives
    expect(Math.min(...onIt.map((r) => r.arrivalS))).toBeGreaterThanOrEqual(askedS + 20);
    const end = Math.max(...run.requests.map((r) => r.finishS));
    // never drained (the ratchet): provisioned from the ask to the end of the run
    expect(downs(rec.decisions)).toEqual([]);
    expect(slot.upS).toBeGreaterThan(end - askedS - 1);
    expect(slot.upS).toBeLessThanOrEqual(end - askedS + 1e-9 + 10);
    // while it loads the samples count it as starting, not ready
    const loading = rec.replicasOverTime.filter((s) => s.atS > askedS && s.atS < askedS + 20);
    expect(loading.length).toBeGreaterThan(0);
    for (const s of loading) expect(s.starting).toBeGreaterThanOrEqual(1);
  });

  it('serves every request (a start-up takes nothing, so nothing fails on it)', () => {
    expect(run.requests.every((r) => r.outcome === 'ok')).toBe(true);
  });
});

describe('a quiet pool', () => {
  // three replicas busy, then the script asks for one while they still hold requests
  const run = simulate(input({ steps: [[0, 60, 16], [60, 180, 1]], durationS: 180, policy: scripted([[0, 3], [58, 1]]), initial: 3, startupS: 5 }));
  const rec = run.autoscale!;

  it('shrinks, and no request fails across the scale-down', () => {
    const down = downs(rec.decisions);
    expect(down.length).toBeGreaterThan(0);
    expect(down[0].plan.drain.length).toBe(2);
    expect(rec.replicasOverTime.at(-1)!.ready).toBe(1);
    expect(run.requests.length).toBeGreaterThan(500);
    for (const r of run.requests) expect(r.outcome).toBe('ok');
  });

  it('lets a drained replica finish what it held before it goes, and sends it nothing new', () => {
    const d = downs(rec.decisions)[0];
    const atS = d.atMs / 1000;
    for (const id of d.plan.drain) {
      const slot = run.replicas.find((r) => r.id === id)!;
      // provisioned from 0 until its last call ended, after the drain began
      expect(slot.upS).toBeGreaterThan(atS);
      const lastEnd = Math.max(...run.requests.filter((r) => r.replica === id).map((r) => r.finishS));
      expect(slot.upS).toBeGreaterThanOrEqual(lastEnd - 0.01);
      expect(run.requests.filter((r) => r.replica === id && r.arrivalS > atS + 0.001)).toEqual([]);
    }
  });
});

describe('GPU-hours of an autoscaled pool', () => {
  it('are the integral of provisioned replicas, 1 → 3 → 1, and the report follows', () => {
    const run = simulate(input({ steps: [[0, 150, 6]], durationS: 150, policy: scripted([[0, 1], [30, 3], [100, 1]]), startupS: 10, sampleS: 0.25, tickS: 2 }));
    const rec = run.autoscale!;
    const s = rec.replicasOverTime;
    let integral = 0;
    for (let i = 1; i < s.length; i++) integral += (s[i - 1].starting + s[i - 1].ready + s[i - 1].draining) * (s[i].atS - s[i - 1].atS);
    const end = Math.max(...run.requests.map((r) => r.finishS));
    integral += (s.at(-1)!.starting + s.at(-1)!.ready + s.at(-1)!.draining) * Math.max(0, end - s.at(-1)!.atS);
    const gpuS = rec.gpuHours * 3600;
    // each of 4 changes of the count is placed to within one sample period
    expect(Math.abs(gpuS - integral)).toBeLessThan(4 * 0.25 + 0.5);
    // 1 replica all along, 2 more from the ask at 30 s to about 100 s
    expect(gpuS).toBeGreaterThan(end + 2 * 69);
    expect(gpuS).toBeLessThan(end + 2 * 75);
    expect(summarize(run, { ttftS: 2, tpotS: 0.1 }).gpuHours).toBeCloseTo(rec.gpuHours, 9);
  });
});

describe('a stale-telemetry fault on one replica', () => {
  it('does not freeze scaling: the pool still grows and shrinks, and the silent replica is drained first', () => {
    const run = simulate(input({
      steps: [[0, 40, 6], [40, 120, 14], [120, 200, 4]], durationS: 200, policy: scripted([[0, 2], [40, 4], [120, 2]]), initial: 2, startupS: 5, staleAfterS: 10,
      faults: [{ kind: 'stale-telemetry', atS: 5, forS: null, replica: 'us-east/m/1' }],
    }));
    const rec = run.autoscale!;
    const up = ups(rec.decisions);
    expect(up.map((d) => d.atMs)).toEqual([40_000]);
    expect(Math.max(...rec.replicasOverTime.map((s) => s.ready))).toBe(4);
    const down = downs(rec.decisions);
    expect(down.map((d) => d.atMs)).toEqual([120_000]);
    // the ready replica whose telemetry went silent is the first to go
    expect(down[0].plan.drain[0]).toBe('us-east/m/1');
    expect(run.replicas.find((r) => r.id === 'us-east/m/1')!.requests).toBeGreaterThan(0);
    for (const r of run.requests) expect(r.outcome).toBe('ok');
  });
});

describe('a pool that scales to zero', () => {
  // one replica while anything arrives or is in flight, none otherwise
  const onDemand = (): ScalingPolicy => ({
    name: 'on-demand',
    decide: (s: PoolSignals) => {
      const busy = s.arrivals > 0 || s.replicas.some((r) => r.inflight > 0);
      return { desired: busy ? 1 : 0, reason: busy ? 'load' : 'idle', detail: '' };
    },
  });
  // two bursts with a quiet minute between: up from zero, down to zero, up again
  const run = simulate(input({ steps: [[20, 50, 4], [110, 140, 4]], durationS: 140, policy: onDemand, min: 0, initial: 0, startupS: 10, tickS: 5 }));
  const rec = run.autoscale!;

  it('costs nothing until asked, rejects what finds no replica as a fixed fleet would, and serves once one is in rotation', () => {
    const [ask, again] = ups(rec.decisions).map((d) => d.atMs / 1000);
    expect(ask).toBeGreaterThanOrEqual(20);
    expect(again).toBeGreaterThanOrEqual(110);
    const rejected = run.requests.filter((r) => r.outcome === 'rejected');
    const served = run.requests.filter((r) => r.outcome === 'ok');
    expect(rejected.length + served.length).toBe(run.requests.length);
    expect(served.length).toBeGreaterThan(0);
    // rejected: only while loading or awaiting the probe (every 2 s) after each ask
    for (const r of rejected) expect((r.arrivalS < ask + 12) || (r.arrivalS >= 110 && r.arrivalS < again + 12)).toBe(true);
    for (const r of served) expect(r.arrivalS >= ask + 10 && (r.arrivalS < 50 || r.arrivalS >= again + 10)).toBe(true);
    // provisioned from each ask to the drain after it (it held nothing then), and to the end
    const down = downs(rec.decisions).map((d) => d.atMs / 1000);
    expect(down.length).toBe(1);
    expect(down[0]).toBeGreaterThan(50);
    expect(down[0]).toBeLessThan(110);
    const end = Math.max(...served.map((r) => r.finishS));
    expect(run.replicas[0].upS).toBeCloseTo(down[0] - ask + (end - again), 1);
    expect(run.replicas.slice(1).every((r) => r.upS === 0)).toBe(true);
  });
});

describe('a draining replica that crashes', () => {
  it('hands its calls to the retry rule, goes at once, and is not brought back when the fault ends', () => {
    const run = simulate(input({
      steps: [[0, 90, 16]], durationS: 90, policy: scripted([[0, 2], [30, 1]]), initial: 2, startupS: 5,
      faults: [{ kind: 'crash', atS: 30.05, forS: 10, region: 'us-east' }],
    }));
    const d = downs(run.autoscale!.decisions)[0];
    expect(d.atMs).toBe(30_000);
    const gone = run.replicas.find((r) => r.id === d.plan.drain[0])!;
    // charged from 0 to the crash, when nothing was left in flight on it
    expect(gone.upS).toBeCloseTo(30.05, 2);
    expect(run.requests.filter((r) => r.replica === gone.id && r.arrivalS > 30.001)).toEqual([]);
    // the kept replica came back from the crash and served to the end
    const kept = run.replicas.find((r) => r.id !== gone.id && r.upS > 0)!;
    expect(run.requests.some((r) => r.replica === kept.id && r.arrivalS > 45 && r.outcome === 'ok')).toBe(true);
    expect(run.autoscale!.replicasOverTime.at(-1)).toMatchObject({ ready: 1, draining: 0 });
  });
});

describe('oscillations', () => {
  const d = (atS: number, from: number, to: number): ScaleDecision => ({ atMs: atS * 1000, pool: POOL, policy: 'p', from, to, reason: 'load', detail: '', plan: { start: 0, drain: [] } });

  it('count a change of direction within ten minutes of the previous scale event, holds aside', () => {
    expect(oscillations([d(0, 1, 2), d(60, 2, 2), d(120, 2, 1), d(200, 1, 2)])).toBe(2);
    expect(oscillations([d(0, 1, 2), d(700, 2, 1)])).toBe(0);
    expect(oscillations([d(0, 1, 2), d(100, 2, 3), d(200, 3, 4)])).toBe(0);
  });
});

describe('without autoscale', () => {
  it('has no autoscale record, and a fixed replica is charged only while its process runs', () => {
    const base = input({ steps: [[0, 30, 4]], durationS: 30, policy: byRate(4), faults: [{ kind: 'crash', atS: 10, forS: 5, replica: 'us-east/m/0' }] });
    const run = simulate({ ...base, autoscale: null });
    expect(run.autoscale).toBeUndefined();
    const end = Math.max(...run.requests.filter((r) => r.outcome === 'ok').map((r) => r.finishS));
    expect(run.replicas[0].upS).toBeLessThan(end - 4.9);
  });
});
