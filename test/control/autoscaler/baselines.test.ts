import { describe, expect, it } from 'vitest';
import { KEDA_DEFAULTS, KPA_DEFAULTS, fixedPolicy, kedaPolicy, kpaPolicy } from '../../../src/control/autoscaler/baselines.js';
import type { Decision, PoolSignals, PoolSpec, ReplicaReport, ScalingPolicy } from '../../../src/control/autoscaler/types.js';
import { getProfile } from '../../../src/engine/index.js';

// The baselines: a fixed fleet, KEDA's queue rule through the HPA, Knative's KPA as AIBrix ships it.
// Each is fed signals directly; a little loop plays the fleet, whose replicas are ready at once.

const pool = (o: Partial<PoolSpec> = {}): PoolSpec => ({
  name: 'r/m', model: 'm', region: 'r', profile: getProfile('llama-3.1-8b-h100')!, engine: {},
  min: 1, max: 20, scaleToZero: false, startupMs: 60_000, slo: { ttftMs: 1_000, itlMs: 50 }, ...o,
});

/** `n` ready replicas sharing `inflight` and `waiting` evenly (the first ones take the remainder) */
function replicas(n: number, load: { inflight?: number; waiting?: number } = {}): ReplicaReport[] {
  const share = (total: number, i: number) => Math.floor(total / n) + (i < total % n ? 1 : 0);
  return Array.from({ length: n }, (_, i) => ({
    id: `r${i}`, phase: 'ready' as const, sinceMs: 0, reportedAtMs: 0, running: 0, kvUsage: 0,
    inflight: share(load.inflight ?? 0, i), waiting: share(load.waiting ?? 0, i),
  }));
}

const signals = (nowMs: number, rs: ReplicaReport[], queued = 0): PoolSignals => ({
  pool: 'r/m', nowMs, intervalMs: 1_000, arrivals: 0, promptTokens: 0, outputTokens: 0, calls: 0, shed: 0, queued,
  ttftP99Ms: null, itlP99Ms: null, latencySamples: 0, replicas: rs,
});

interface Step { atMs: number; from: number; ready: number; decision: Decision }

/**
 * Decides every `everyMs` from 0 to `endMs`. The fleet does as decided: a replica asked for is
 * ready `startupMs` later (the load is shared by the ready ones), one let go leaves at once.
 */
function play(policy: ScalingPolicy, start: number, everyMs: number, endMs: number, load: (ms: number) => { inflight?: number; waiting?: number }, startupMs = 0): Step[] {
  let fleet: number[] = Array.from({ length: start }, () => 0);
  const out: Step[] = [];
  for (let ms = 0; ms <= endMs; ms += everyMs) {
    const ready = fleet.filter((at) => at <= ms).length;
    const rs = [...replicas(ready, load(ms)), ...fleet.filter((at) => at > ms).map((at, i) => ({ ...replicas(1)[0], id: `s${i}`, phase: 'starting' as const, sinceMs: at - startupMs }))];
    const decision = policy.decide(signals(ms, rs));
    out.push({ atMs: ms, from: fleet.length, ready, decision });
    // newest first out, as planScale drains
    if (decision.desired < fleet.length) fleet = fleet.slice(0, decision.desired);
    while (fleet.length < decision.desired) fleet.push(ms + startupMs);
  }
  return out;
}

describe('the fixed fleet', () => {
  it('never moves, whatever the load', () => {
    const p = fixedPolicy(pool(), 6);
    const steps = play(p, 2, 1_000, 60_000, (ms) => ({ inflight: ms % 7_000 === 0 ? 900 : 0, waiting: ms / 100 }));
    expect(new Set(steps.map((s) => s.decision.desired))).toEqual(new Set([6]));
    expect(new Set(steps.map((s) => s.decision.reason))).toEqual(new Set(['fixed']));
    expect(p.name).toBe('fixed');
  });

  it('refuses a count that is not a whole number', () => {
    expect(() => fixedPolicy(pool(), 2.5)).toThrow(/pool r\/m: a fixed fleet needs a whole number of replicas ≥ 0, got 2.5/);
  });
});

describe('the KEDA rule', () => {
  const target = KEDA_DEFAULTS.queuePerReplica;

  it('waits for its poll: between polls it repeats its last answer', () => {
    const p = kedaPolicy(pool());
    const steps = play(p, 2, 5_000, 60_000, (ms) => ({ waiting: ms < 10_000 ? 0 : 10 * target }));
    const at = (ms: number) => steps.find((s) => s.atMs === ms)!.decision;
    // the burst is there from 10 s; the poll at 0 answered; the next poll is at 30 s
    for (const ms of [10_000, 15_000, 25_000]) expect(at(ms)).toBe(at(0));
    expect(at(30_000)).toMatchObject({ desired: 10, reason: 'queue' });
    expect(at(55_000)).toBe(at(30_000));
    expect(p.name).toBe('keda');
  });

  it('scales up at once, and down only to the highest recommendation of its cooldown', () => {
    const p = kedaPolicy(pool());
    // a queue of 10 replicas' worth at 0, 6 replicas' worth at 60 s, then empty
    const steps = play(p, 10, KEDA_DEFAULTS.pollMs, 600_000, (ms) => ({ waiting: ms === 0 ? 10 * target : ms === 60_000 ? 6 * target : 0 }));
    const desired = (ms: number) => steps.find((s) => s.atMs === ms)!.decision;
    expect(desired(30_000)).toMatchObject({ desired: 10, reason: 'stabilising' });
    expect(desired(60_000)).toMatchObject({ desired: 10, reason: 'stabilising' });
    expect(desired(270_000)).toMatchObject({ desired: 10, reason: 'stabilising' });
    // 300 s after the recommendation of 10, the highest left is 60 s's 6; 300 s after that, the minimum
    expect(desired(300_000)).toMatchObject({ desired: 6, reason: 'queue' });
    expect(desired(330_000)).toMatchObject({ desired: 6, reason: 'stabilising' });
    expect(desired(360_000)).toMatchObject({ desired: 1, reason: 'queue' });
    expect(desired(600_000)).toMatchObject({ desired: 1, reason: 'hold' });
  });

  it('holds its cooldown from the replicas it found (the HPA starts its window with them)', () => {
    const p = kedaPolicy(pool());
    const first = p.decide(signals(0, replicas(4)));
    expect(first).toMatchObject({ desired: 4, reason: 'stabilising' });
    expect(p.decide(signals(KEDA_DEFAULTS.cooldownMs, replicas(4)))).toMatchObject({ desired: 1 });
  });

  it('changes nothing within its tolerance of the target', () => {
    const p = () => kedaPolicy(pool(), { pollMs: 1 });
    expect(p().decide(signals(0, replicas(4, { waiting: 21 })))).toMatchObject({ desired: 4, reason: 'hold' });
    expect(p().decide(signals(0, replicas(4, { waiting: 23 })))).toMatchObject({ desired: 5, reason: 'queue' });
  });

  it('counts the gateway\'s queue with the engines\', and is held to the pool\'s maximum', () => {
    const p = kedaPolicy(pool({ max: 8 }));
    expect(p.decide(signals(0, replicas(1, { waiting: 5 }), 20))).toMatchObject({ desired: 5, reason: 'queue' });
    const q = kedaPolicy(pool({ max: 8 }));
    expect(q.decide(signals(0, replicas(1), 500))).toMatchObject({ desired: 8, reason: 'max' });
  });

  it('goes to zero on an empty queue only in a pool that may, and wakes on the first request', () => {
    const zero = kedaPolicy(pool({ scaleToZero: true, min: 1 }), { cooldownMs: 0 });
    expect(zero.decide(signals(0, replicas(2)))).toMatchObject({ desired: 0 });
    expect(zero.decide(signals(30_000, [], 1))).toMatchObject({ desired: 1, reason: 'queue' });
    const keep = kedaPolicy(pool({ scaleToZero: false, min: 0 }), { cooldownMs: 0 });
    expect(keep.decide(signals(0, replicas(2)))).toMatchObject({ desired: 1 });
    expect(keep.decide(signals(30_000, []))).toMatchObject({ desired: 1, reason: 'min' });
  });

  it('refuses options out of range', () => {
    expect(() => kedaPolicy(pool(), { queuePerReplica: 0 })).toThrow(/queuePerReplica must be a number > 0, got 0/);
    expect(() => kedaPolicy(pool(), { cooldownMs: -1 })).toThrow(/cooldownMs must be a number of ms ≥ 0, got -1/);
  });
});

describe('the KPA rule', () => {
  const target = 10;
  const kpa = (o = {}, spec = pool()) => kpaPolicy(spec, { targetConcurrency: target, ...o });

  it('panics on a 3× burst and never scales down while panicking', () => {
    // 2 replicas at target; from 20 s to 40 s three times as much; then a trickle. Starts take 30 s.
    const load = (ms: number) => ({ inflight: ms >= 20_000 && ms < 40_000 ? 3 * 2 * target : ms < 20_000 ? 2 * target : 2 });
    const steps = play(kpa({ scaleDownDelayMs: 0 }), 2, 1_000, 200_000, load, 30_000);
    const panicking = steps.filter((s) => s.decision.detail.includes('panicking'));
    expect(steps.filter((s) => s.atMs < 20_000).every((s) => s.decision.desired === 2 && s.decision.reason === 'hold')).toBe(true);
    const first = panicking[0];
    // the panic window (10 s) sees it within a few samples, long before the stable window (60 s) would
    expect(first.atMs).toBeGreaterThanOrEqual(20_000);
    expect(first.atMs).toBeLessThan(20_000 + KPA_DEFAULTS.panicWindowMs);
    expect(first.decision).toMatchObject({ reason: 'panic' });
    expect(first.decision.desired).toBeGreaterThan(first.from);
    for (const s of panicking) expect(s.decision.desired).toBeGreaterThanOrEqual(s.from);
    // at most 2× the ready replicas per decision (AIBrix's rate)
    for (const s of steps) expect(s.decision.desired).toBeLessThanOrEqual(Math.max(s.from, Math.ceil(Math.max(1, s.ready) * KPA_DEFAULTS.maxScaleUpRate)));
    // the panic ends a stable window after its last trigger (the burst ended at 40 s), then the pool shrinks
    const last = panicking.at(-1)!;
    expect(last.atMs).toBeGreaterThan(40_000);
    expect(last.atMs).toBeLessThanOrEqual(40_000 + 2 * KPA_DEFAULTS.stableWindowMs);
    const after = steps.filter((s) => s.atMs > last.atMs);
    expect(after.some((s) => s.decision.desired < s.from)).toBe(true);
    expect(steps.at(-1)!.decision.desired).toBe(1);
  });

  it('follows the stable window when there is no burst', () => {
    const steps = play(kpa({ scaleDownDelayMs: 0 }), 4, 1_000, 120_000, (ms) => ({ inflight: ms < 1_000 ? 4 * target : 5 * target }));
    // a quarter more than the target: never a panic, one more replica once the stable average says so
    expect(steps.some((s) => s.decision.detail.includes('panicking'))).toBe(false);
    expect(steps.at(-1)!.decision).toMatchObject({ desired: 5 });
    expect(steps.find((s) => s.decision.desired === 5)!.decision.reason).toBe('load');
  });

  it('holds a lower answer for its scale-down delay', () => {
    const delay = 120_000;
    const steps = play(kpa({ scaleDownDelayMs: delay, stableWindowMs: 10_000, panicWindowMs: 5_000 }), 4, 5_000, 300_000, (ms) => ({ inflight: ms < 20_000 ? 4 * target : 0 }));
    const shrink = steps.find((s) => s.decision.desired < 4)!;
    expect(steps.filter((s) => s.atMs > 20_000 && s.atMs < shrink.atMs).every((s) => s.decision.reason === 'stabilising')).toBe(true);
    // the last answer of 4 was at 15 s (the 10 s stable window still held the load)
    expect(shrink.atMs).toBe(15_000 + delay);
    // and at most halving per decision
    expect(shrink.decision.desired).toBe(2);
  });

  it('keeps each decision within the rate limits', () => {
    const up = kpa({ maxScaleUpRate: 1000, scaleDownDelayMs: 0 });
    expect(up.decide(signals(0, replicas(1, { inflight: 95 })))).toMatchObject({ desired: 10 });
    const slow = kpa({ scaleDownDelayMs: 0 });
    expect(slow.decide(signals(0, replicas(1, { inflight: 95 })))).toMatchObject({ desired: 2 });
    const down = kpa({ scaleDownDelayMs: 0 });
    expect(down.decide(signals(0, replicas(8)))).toMatchObject({ desired: 4, reason: 'load' });
  });

  it('scales to zero after a stable window without traffic, only in a pool that may', () => {
    const o = { scaleDownDelayMs: 0 };
    const zero = play(kpa(o, pool({ scaleToZero: true })), 1, 1_000, 70_000, (ms) => ({ inflight: ms < 5_000 ? 5 : 0 }));
    expect(zero.find((s) => s.decision.desired === 0)!.atMs).toBeGreaterThanOrEqual(5_000 + KPA_DEFAULTS.stableWindowMs - 1_000);
    const keep = play(kpa(o, pool({ scaleToZero: false, min: 0 })), 1, 1_000, 70_000, (ms) => ({ inflight: ms < 5_000 ? 5 : 0 }));
    expect(keep.every((s) => s.decision.desired === 1)).toBe(true);
  });

  it('takes AIBrix\'s defaults where they differ from Knative\'s', () => {
    expect(KPA_DEFAULTS).toMatchObject({ stableWindowMs: 60_000, panicWindowMs: 10_000, panicThreshold: 2, maxScaleUpRate: 2, maxScaleDownRate: 2, scaleDownDelayMs: 1_800_000 });
    expect(kpaPolicy(pool()).name).toBe('kpa');
    expect(() => kpaPolicy(pool(), { maxScaleDownRate: 0.5 })).toThrow(/maxScaleDownRate must be a number > /);
  });
});
