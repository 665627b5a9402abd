import { describe, expect, it } from 'vitest';
import { Autoscaler, DECISIONS_KEPT, type AutoscalerOptions } from '../../../src/control/autoscaler/driver.js';
import type { Decision, PoolSignals, PoolSpec, ReplicaReport, ScalePlan, ScalingPolicy } from '../../../src/control/autoscaler/types.js';
import { getProfile } from '../../../src/engine/index.js';
import { AgendaClock } from '../../../src/sim/clock.js';
import { Agenda } from '../../../src/sim/events.js';
import { ManualTime } from '../../../src/time/index.js';
import type { Clock, Timers } from '../../../src/time/index.js';

// The autoscaler's loop, shared by the gateway and the simulator. One scripted run (a policy whose
// answers the script sets, a fleet that starts replicas on timers and records what it is asked)
// must give the same decisions on a ManualTime and on the simulator's agenda.

type Ports = { clock: Clock; timers: Timers };

const pool = (name: string, o: Partial<PoolSpec> = {}): PoolSpec => ({
  name, model: name.split('/')[1], region: name.split('/')[0], profile: getProfile('llama-3.1-8b-h100')!, engine: {},
  min: 1, max: 8, scaleToZero: false, startupMs: 2_500, slo: { ttftMs: 1_000, itlMs: 50 }, ...o,
});

/** A policy whose answer the script sets; it keeps the signals it was shown. */
class ScriptedPolicy implements ScalingPolicy {
  readonly name = 'scripted';
  answer: Decision = { desired: 1, reason: 'hold', detail: 'as scripted' };
  throws = false;
  readonly seen: PoolSignals[] = [];
  decide(s: PoolSignals): Decision {
    this.seen.push(s);
    if (this.throws) throw new Error('policy broke');
    return this.answer;
  }
}

interface Replica { id: string; phase: ReplicaReport['phase']; sinceMs: number; inflight: number }

/** A fleet: a start takes startupMs to be ready, a drain 1.5 s to finish; every request is recorded. */
class FakeFleet {
  readonly pools = new Map<string, Replica[]>();
  readonly log: string[] = [];
  queued = 0;
  applyThrows: string | null = null;
  #seq = 0;
  constructor(readonly ports: Ports, readonly startupMs = 2_500) {}

  add(p: string, phase: ReplicaReport['phase'] = 'ready'): Replica {
    const r: Replica = { id: `${p}#${this.#seq++}`, phase, sinceMs: this.ports.clock.nowMs(), inflight: 0 };
    this.pools.set(p, [...(this.pools.get(p) ?? []), r]);
    return r;
  }

  replicas(p: string): ReplicaReport[] {
    const now = this.ports.clock.nowMs();
    return (this.pools.get(p) ?? []).map((r) => ({ ...r, reportedAtMs: r.phase === 'starting' ? null : now, waiting: 0, running: r.inflight, kvUsage: 0 }));
  }

  apply(p: string, plan: ScalePlan): void {
    const at = this.ports.clock.nowMs();
    this.log.push(`${at} ${p} +${plan.start} -[${plan.drain.join(',')}]`);
    if (this.applyThrows === p) throw new Error('actuator broke');
    for (let i = 0; i < plan.start; i++) {
      const r = this.add(p, 'starting');
      this.ports.timers.after(this.startupMs, (x: Replica) => {
        if (x.phase !== 'starting') return;
        x.phase = 'ready';
        x.sinceMs = this.ports.clock.nowMs();
      }, r);
    }
    for (const id of plan.drain) {
      const r = this.pools.get(p)!.find((x) => x.id === id)!;
      r.phase = 'draining';
      r.sinceMs = at;
      this.ports.timers.after(1_500, (x: Replica) => this.pools.set(p, this.pools.get(p)!.filter((y) => y !== x)), r);
    }
  }
}

interface Rig {
  scaler: Autoscaler;
  fleet: FakeFleet;
  policies: Map<string, ScriptedPolicy>;
  decisions: string[];
  errors: string[];
}

function rig(ports: Ports, pools: PoolSpec[], o: Partial<AutoscalerOptions> = {}): Rig {
  const fleet = new FakeFleet(ports);
  const policies = new Map<string, ScriptedPolicy>();
  const decisions: string[] = [];
  const errors: string[] = [];
  const scaler = new Autoscaler({
    ports, pools, tickMs: 1_000, warmupMs: 3_000, latencyWindowMs: 10_000,
    policyFor: (p) => {
      const s = new ScriptedPolicy();
      policies.set(p.name, s);
      return s;
    },
    source: { replicas: (p) => fleet.replicas(p), queued: () => fleet.queued },
    actuator: { apply: (p, plan) => fleet.apply(p, plan) },
    onDecision: (d) => decisions.push(`${d.atMs} ${d.pool} ${d.from}→${d.to} ${d.reason}`),
    onError: (err, p) => errors.push(`${ports.clock.nowMs()} ${p}: ${(err as Error).message}`),
    ...o,
  });
  return { scaler, fleet, policies, decisions, errors };
}

const set = (r: Rig, p: string, desired: number, reason: Decision['reason'] = 'load') => {
  r.policies.get(p)!.answer = { desired, reason, detail: `scripted ${desired}` };
};

/**
 * Two pools with a replica each. Pool a: 3 wanted at 2.5 s, 1 at 9.5 s; pool b: 2 at 4.5 s.
 * A call ends on each of a's replicas every 500 ms once it is ready.
 */
function scripted(ports: Ports): Rig {
  const r = rig(ports, [pool('r/a'), pool('r/b')]);
  r.fleet.add('r/a');
  r.fleet.add('r/b');
  r.scaler.start();
  const steps: Array<[number, () => void]> = [
    [2_500, () => set(r, 'r/a', 3)],
    [4_500, () => set(r, 'r/b', 2)],
    [9_500, () => set(r, 'r/a', 1, 'consolidate')],
  ];
  for (let ms = 250; ms < 15_000; ms += 500) {
    steps.push([ms, () => {
      r.scaler.arrived('r/a', 100);
      for (const x of r.fleet.pools.get('r/a')!) if (x.phase === 'ready') r.scaler.ended('r/a', x.id, { sentAtMs: 0, atMs: 0, failed: false, ttftMs: 100, itlMs: 10, outputTokens: 5 });
    }]);
  }
  for (const [ms, f] of steps) ports.timers.after(ms, (g: () => void) => g(), f);
  return r;
}

const END = 15_000;

function underManual(run: (p: Ports) => Rig): Rig {
  const t = new ManualTime(0);
  const out = run(t.ports(() => 0.5));
  t.advance(END);
  return out;
}

function underAgenda(run: (p: Ports) => Rig): Rig {
  const agenda = new Agenda<0>();
  const clock = new AgendaClock(agenda, 0);
  const out = run({ clock, timers: clock });
  while (agenda.peekTime() <= END / 1000) {
    const e = agenda.pop()!;
    clock.nowS = e.t;
    clock.fire(e.target);
  }
  return out;
}

describe('the autoscaler under both clocks', () => {
  it('gives the same decisions and plans on a ManualTime and on the simulator\'s agenda', () => {
    const manual = underManual(scripted);
    const agenda = underAgenda(scripted);
    expect(agenda.decisions).toEqual(manual.decisions);
    expect(agenda.fleet.log).toEqual(manual.fleet.log);
    expect(agenda.scaler.decisions()).toEqual(manual.scaler.decisions());
    // a tick a second for each pool, in the listed order
    expect(manual.decisions).toHaveLength(2 * 15);
    expect(manual.errors).toEqual([]);
  });

  it('starts what is missing once, and counts what is starting as active', () => {
    const r = underManual(scripted);
    // a goes to 3 at the 3 s tick; b to 2 at 5 s; a back to 1 at 10 s: the two newest drained
    expect(r.fleet.log).toEqual(['3000 r/a +2 -[]', '5000 r/b +1 -[]', '10000 r/a +0 -[r/a#2,r/a#3]']);
    expect(r.decisions.filter((d) => d.startsWith('4000 r/a'))).toEqual(['4000 r/a 3→3 load']);
    expect(r.decisions.filter((d) => d.startsWith('11000 r/a'))).toEqual(['11000 r/a 1→1 consolidate']);
    expect(r.scaler.latest('r/a')).toMatchObject({ atMs: 15_000, from: 1, to: 1, policy: 'scripted', plan: { start: 0, drain: [] } });
  });

  it('hands the policy the counts of each interval and leaves out calls on replicas in their warm-up', () => {
    const r = underManual(scripted);
    const seen = r.policies.get('r/a')!.seen;
    expect(seen.map((s) => s.intervalMs)).toEqual(Array.from({ length: 15 }, () => 1_000));
    expect(seen.every((s) => s.arrivals === 2 && s.promptTokens === 200)).toBe(true);
    // the new replicas are ready at 5.5 s: their calls count from then, as samples only from 8.5 s (3 s warm-up)
    // (and only once a tick has seen them ready: from the 6 s tick)
    const at = (ms: number) => seen.find((s) => s.nowMs === ms)!;
    expect(at(5_000).calls).toBe(2);
    expect(at(7_000).calls).toBe(6);
    expect(at(7_000).latencySamples).toBeLessThan(at(10_000).latencySamples);
    // the first replica was ready from 0: seen so at the 1 s tick, warm from 3 s
    expect(at(3_000).latencySamples).toBe(0);
    expect(at(4_000).latencySamples).toBe(2);
    // by 9 s: the pool grew at 5.5 s, so the first replica's calls before it are forgotten: those from
    // 5.75 s to 8.75 s (7), and each new one's at 8.75 s (1 + 1)
    expect(at(9_000).latencySamples).toBe(7 + 2);
  });
});

describe('a pool that fails', () => {
  it('a throwing policy leaves its pool as it is; the other pools and later ticks go on', () => {
    const t = new ManualTime(0);
    const r = rig(t.ports(() => 0.5), [pool('r/a'), pool('r/b')]);
    r.fleet.add('r/a');
    r.fleet.add('r/b');
    r.scaler.start();
    r.policies.get('r/a')!.throws = true;
    set(r, 'r/a', 5);
    set(r, 'r/b', 2);
    t.advance(2_000);
    expect(r.errors).toEqual(['1000 r/a: policy broke', '2000 r/a: policy broke']);
    expect(r.fleet.log).toEqual(['1000 r/b +1 -[]']);
    expect(r.scaler.decisions('r/a')).toEqual([]);
    r.policies.get('r/a')!.throws = false;
    t.advance(1_000);
    expect(r.fleet.log).toEqual(['1000 r/b +1 -[]', '3000 r/a +4 -[]']);
  });

  it('a throwing actuator is reported; the decision stands and the next tick asks again', () => {
    const t = new ManualTime(0);
    const r = rig(t.ports(() => 0.5), [pool('r/a'), pool('r/b')]);
    r.fleet.applyThrows = 'r/a';
    r.scaler.start();
    set(r, 'r/a', 2);
    set(r, 'r/b', 2);
    t.advance(2_000);
    expect(r.errors).toEqual(['1000 r/a: actuator broke', '2000 r/a: actuator broke']);
    expect(r.fleet.log).toEqual(['1000 r/a +2 -[]', '1000 r/b +2 -[]', '2000 r/a +2 -[]']);
    expect(r.scaler.latest('r/a')).toMatchObject({ from: 0, to: 2, plan: { start: 2, drain: [] } });
  });

  it('a policy answering no number is an error, not a plan', () => {
    const t = new ManualTime(0);
    const r = rig(t.ports(() => 0.5), [pool('r/a')]);
    r.scaler.start();
    set(r, 'r/a', Number.NaN);
    t.advance(1_000);
    expect(r.errors).toEqual(['1000 r/a: policy scripted answered NaN replicas for pool r/a; a number was expected']);
    expect(r.fleet.log).toEqual([]);
  });

  it('a throwing decision sink is reported and changes nothing', () => {
    const t = new ManualTime(0);
    const r = rig(t.ports(() => 0.5), [pool('r/a')], { onDecision: () => { throw new Error('sink broke'); } });
    r.scaler.start();
    set(r, 'r/a', 2);
    t.advance(1_000);
    expect(r.errors).toEqual(['1000 r/a: sink broke']);
    expect(r.fleet.log).toEqual(['1000 r/a +2 -[]']);
    expect(r.scaler.decisions('r/a')).toHaveLength(1);
  });
});

describe('the pool\'s limits', () => {
  const once = (spec: PoolSpec, desired: number) => {
    const t = new ManualTime(0);
    const r = rig(t.ports(() => 0.5), [spec]);
    r.fleet.add(spec.name);
    set(r, spec.name, desired);
    r.scaler.tick();
    return r.scaler.latest(spec.name)!;
  };

  it('hold a policy\'s answer within [min, max], saying so', () => {
    const high = once(pool('r/a', { min: 2, max: 8 }), 1_000);
    expect(high).toMatchObject({ to: 8, reason: 'max', plan: { start: 7, drain: [] } });
    expect(high.detail).toBe('scripted 1000; held to the pool\'s maximum of 8');
    expect(once(pool('r/a', { min: 2, max: 8 }), -5)).toMatchObject({ to: 2, reason: 'min', plan: { start: 1 } });
    expect(once(pool('r/a', { min: 2, max: 8 }), 4)).toMatchObject({ to: 4, reason: 'load' });
  });

  it('allow zero only to a pool that may scale to zero', () => {
    expect(once(pool('r/a', { min: 0, scaleToZero: false }), 0)).toMatchObject({ to: 1, reason: 'min' });
    expect(once(pool('r/a', { min: 0, scaleToZero: true }), 0)).toMatchObject({ to: 0, reason: 'load', plan: { drain: ['r/a#0'] } });
  });

  it('round a fractional answer up', () => {
    expect(once(pool('r/a'), 2.1)).toMatchObject({ to: 3, plan: { start: 2 } });
  });

  it('refuse a pool whose limits make no sense, or a pool listed twice', () => {
    const t = new ManualTime(0);
    expect(() => rig(t.ports(() => 0.5), [pool('r/a', { min: 3, max: 2 })])).toThrow(/pool r\/a: min and max must be integers with 0 ≤ min ≤ max and max ≥ 1, got min 3, max 2/);
    expect(() => rig(t.ports(() => 0.5), [pool('r/a'), pool('r/a')])).toThrow(/pool r\/a is listed twice/);
    expect(() => rig(t.ports(() => 0.5), [pool('r/a')], { tickMs: 0 })).toThrow(/tickMs must be a positive number of ms, got 0/);
  });
});

describe('the record', () => {
  it('keeps the last 200 decisions per pool, newest last', () => {
    const t = new ManualTime(0);
    const r = rig(t.ports(() => 0.5), [pool('r/a'), pool('r/b')]);
    r.scaler.start();
    t.advance(250_000);
    const a = r.scaler.decisions('r/a');
    expect(a).toHaveLength(DECISIONS_KEPT);
    expect(a[0].atMs).toBe((250 - DECISIONS_KEPT + 1) * 1_000);
    expect(a.at(-1)).toBe(r.scaler.latest('r/a'));
    expect(a.every((d, i) => i === 0 || d.atMs > a[i - 1].atMs)).toBe(true);
    const all = r.scaler.decisions();
    expect(all).toHaveLength(2 * DECISIONS_KEPT);
    expect(all.slice(-2).map((d) => d.pool)).toEqual(['r/a', 'r/b']);
    expect(r.scaler.decisions('r/none')).toEqual([]);
    expect(r.scaler.latest('r/none')).toBeNull();
  });

  it('ignores calls and arrivals of a pool it does not scale', () => {
    const t = new ManualTime(0);
    const r = rig(t.ports(() => 0.5), [pool('r/a')]);
    r.scaler.arrived('r/x', 10);
    r.scaler.shed('r/x');
    r.scaler.ended('r/x', 'id', { sentAtMs: 0, atMs: 0, failed: false, ttftMs: 1, itlMs: 1, outputTokens: 1 });
    r.scaler.tick();
    expect(r.policies.get('r/a')!.seen[0]).toMatchObject({ arrivals: 0, shed: 0, calls: 0 });
  });
});

describe('the loop', () => {
  it('ticks every tickMs once started, once however often started, and stops', () => {
    const t = new ManualTime(0);
    const r = rig(t.ports(() => 0.5), [pool('r/a')]);
    r.fleet.add('r/a');
    r.scaler.start();
    r.scaler.start();
    expect(t.armed).toBe(1);
    t.advance(3_000);
    expect(r.policies.get('r/a')!.seen.map((s) => s.nowMs)).toEqual([1_000, 2_000, 3_000]);
    r.scaler.stop();
    expect(t.armed).toBe(0);
    t.advance(3_000);
    expect(r.policies.get('r/a')!.seen).toHaveLength(3);
  });
});
