import { describe, expect, it } from 'vitest';
import { RolloutDriver, type RolloutDriverOptions } from '../../../src/control/rollouts/driver.js';
import { initialState } from '../../../src/control/rollouts/machine.js';
import { rolloutSpecSchema, type RolloutSpecInput } from '../../../src/control/rollouts/spec.js';
import type { Analysis, AnalysisSummary, CallSample, RegionView, RolloutState, RolloutTransition, Side, Verdict } from '../../../src/control/rollouts/types.js';
import { AgendaClock } from '../../../src/sim/clock.js';
import { Agenda } from '../../../src/sim/events.js';
import { ManualTime, type TimePorts } from '../../../src/time/index.js';

// The rollout driver: the loop the gateway's leader and the simulator share. One scripted run
// (a fake analysis whose verdict the script sets, a fake fleet and weight sink that record what they
// are told) must give the same transitions and weights on a ManualTime and on the simulator's agenda.

const none: Verdict = { kind: 'inconclusive', reason: 'too few calls' };
const pass: Verdict = { kind: 'pass', reason: 'enough calls, nothing worse' };
const fail: Verdict = { kind: 'fail', metric: 'errors', reason: 'errors: candidate 50% vs stable 1%' };

/** An analysis whose verdict the script sets; it counts what it was shown and when it was marked. */
class ScriptedAnalysis implements Analysis {
  now: Verdict = none;
  readonly marks: number[] = [];
  readonly calls: Record<Side, number> = { stable: 0, candidate: 0 };
  throws = false;
  observe(side: Side): void {
    this.calls[side]++;
  }
  mark(nowMs: number): void {
    this.marks.push(nowMs);
  }
  readonly shifts: string[] = [];
  shift(region: string, nowMs: number): void {
    this.shifts.push(`${region}@${nowMs}`);
  }
  verdict(): Verdict {
    if (this.throws) throw new Error('analysis broke');
    return this.now;
  }
  summary(): AnalysisSummary {
    return { method: 'scripted', candidateCalls: this.calls.candidate, stableCalls: this.calls.stable, candidateFailures: 0, stableFailures: 0, metrics: [] };
  }
}

const region = (name: string, o: Partial<RegionView> = {}): RegionView => ({
  region: name, stableReplicas: 4, stableReady: 4, candidateReplicas: 2, candidateReady: 2, inflight: 0, perReplicaLimit: 10, ...o,
});

const sample: CallSample = { atMs: 0, region: 'a', stream: true, failed: false, ttftMs: 100, itlMs: 10, promptTokens: 100, cachedTokens: 0, outputTokens: 20, truncated: false, costUsd: 0.001 };

function rollout(over: Partial<RolloutSpecInput>, regions: RegionView[], id = 'rol_1', model = 'm'): RolloutState {
  const spec = rolloutSpecSchema.parse({ model, candidate: 'v2', stable: 'v1', ...over });
  const r = initialState(spec, { id, nowMs: 0, actor: 'alice', reason: '', stable: 'v1', regions });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

interface Rig {
  driver: RolloutDriver;
  analyses: Map<string, ScriptedAnalysis>;
  fleet: { regions: RegionView[] };
  persisted: RolloutTransition[];
  log: string[];
  errors: string[];
}

function rig(ports: TimePorts, o: Partial<RolloutDriverOptions> = {}): Rig {
  const analyses = new Map<string, ScriptedAnalysis>();
  const fleet = { regions: [region('a')] };
  const persisted: RolloutTransition[] = [];
  const log: string[] = [];
  const errors: string[] = [];
  const at = () => ports.clock.nowMs();
  const driver = new RolloutDriver({
    ports, tickMs: 1_000, actor: 'controller',
    view: { regions: () => fleet.regions },
    weights: {
      apply: (model, stable, candidate, w) => log.push(`${at()} apply ${model} ${stable}→${candidate} ${JSON.stringify(w)}`),
      settle: (model, stable) => log.push(`${at()} settle ${model} on ${stable}`),
    },
    analysisFor: (s) => {
      const a = new ScriptedAnalysis();
      analyses.set(s.id, a);
      return a;
    },
    persist: (t) => {
      persisted.push(t);
      if (t.audited) log.push(`${at()} ${t.action} ${t.after.phase} step ${t.after.step} ${JSON.stringify(t.after.weights)}: ${t.reason}`);
    },
    onError: (err, id) => errors.push(`${at()} ${id}: ${(err as Error).message}`),
    ...o,
  });
  return { driver, analyses, fleet, persisted, log, errors };
}

/** The script: candidate ready at 2.5 s; a gate passes at 10.5 s; a 30 s pause; the next gate fails. */
function scripted(ports: TimePorts): Rig {
  const r = rig(ports);
  r.fleet.regions = [region('a', { candidateReady: 0 })];
  r.driver.adopt(rollout({ steps: [{ setWeight: 5 }, { analysis: { minDuration: '5s' } }, { pause: { duration: '30s' } }, { setWeight: 50 }, { analysis: {} }] }, r.fleet.regions));
  r.driver.start();
  const a = () => r.analyses.get('rol_1')!;
  const steps: Array<[number, () => void]> = [
    [2_500, () => (r.fleet.regions = [region('a')])],
    [3_500, () => r.driver.observe('m', 'v2', sample)],
    [10_500, () => (a().now = pass)],
    [12_500, () => (a().now = none)],
    [45_500, () => (a().now = fail)],
  ];
  for (const [ms, f] of steps) ports.timers.after(ms, (g: () => void) => g(), f);
  return r;
}

const END = 60_000;

function underManual<T>(run: (p: TimePorts) => T): T {
  const t = new ManualTime(0);
  const out = run(t.ports(() => 0.5));
  t.advance(END);
  return out;
}

function underAgenda<T>(run: (p: TimePorts) => T): T {
  const agenda = new Agenda<0>();
  const clock = new AgendaClock(agenda, 0);
  const out = run({ clock, timers: clock, rng: () => 0.5 });
  while (agenda.peekTime() <= END / 1000) {
    const e = agenda.pop()!;
    clock.nowS = e.t;
    clock.fire(e.target);
  }
  return out;
}

describe('the rollout driver under both clocks', () => {
  it('gives the same transitions and weights on a ManualTime and on the simulator\'s agenda', () => {
    const manual = underManual(scripted);
    const agenda = underAgenda(scripted);
    const transitions = manual.log.filter((l) => !l.includes(' apply '));
    expect(transitions).toEqual([
      '3000 rollout.ready progressing step 0 {"a":0}: wave 1 of 1 (a): the candidate has ready replicas in every region',
      '3000 rollout.step progressing step 1 {"a":5}: step 1 of 5: setWeight 5%: a 5%',
      '11000 rollout.step progressing step 2 {"a":5}: step 2 of 5: analysis passed after 8s: enough calls, nothing worse',
      '11000 rollout.pause paused step 2 {"a":5}: step 3 of 5: paused for 30s',
      '41000 rollout.resume progressing step 3 {"a":5}: step 3 of 5: the pause ended',
      '41000 rollout.step progressing step 4 {"a":50}: step 4 of 5: setWeight 50%: a 50%',
      '46000 settle m on v1',
      '46000 rollout.rollback rolling_back step 4 {"a":50}: errors: candidate 50% vs stable 1%',
      '46000 rollout.weight rolling_back step 4 {"a":0}: rolling back: a 50% → 0% (stable carries it)',
      '46000 rollout.rolled_back rolled_back step 4 {"a":0}: every region back on v1 after: errors: candidate 50% vs stable 1%',
    ]);
    expect(agenda.log).toEqual(manual.log);
    // each gate is marked when it begins, on the monotonic clock
    expect(manual.analyses.get('rol_1')!.marks).toEqual([3_000, 41_000]);
    expect(agenda.analyses.get('rol_1')!.marks).toEqual([3_000, 41_000]);
    // weights reach the sink on adopt and every tick, the pending wave at 0, until it settles
    expect(manual.log.filter((l) => l.includes(' apply ')).slice(0, 4)).toEqual(['0 apply m v1→v2 {"a":0}', '1000 apply m v1→v2 {"a":0}', '2000 apply m v1→v2 {"a":0}', '3000 apply m v1→v2 {"a":5}']);
    expect(manual.log.filter((l) => l.includes(' apply ')).at(-1)).toBe('45000 apply m v1→v2 {"a":50}');
    expect(manual.driver.states()).toEqual([]);
    expect(manual.driver.watching('m')).toBe(false);
  });

  it('moves on from a 30 s pause step exactly 30 s after it began', () => {
    const r = underManual(scripted);
    const began = r.persisted.find((t) => t.action === 'rollout.pause')!;
    const ended = r.persisted.find((t) => t.action === 'rollout.resume')!;
    expect(began.after.pause).toEqual({ kind: 'step', message: 'step 3 of 5: paused for 30s', untilMs: 41_000 });
    expect(ended.after.updatedAtMs - began.after.updatedAtMs).toBe(30_000);
  });

  it('tells the analysis each time a region\'s share changes, and only then', () => {
    const r = underManual(scripted);
    // 5 % once the candidate is ready (the tick at 3 s), 50 % after the pause (41 s), 0 on the rollback (46 s)
    expect(r.analyses.get('rol_1')!.shifts).toEqual(['a@3000', 'a@41000', 'a@46000']);
  });

  it('persists every transition in order, each starting from the state the last one left, by its actor', () => {
    const { persisted } = underManual(scripted);
    const audited = persisted.filter((t) => t.audited);
    expect(audited.map((t) => t.action)).toEqual(['rollout.ready', 'rollout.step', 'rollout.step', 'rollout.pause', 'rollout.resume', 'rollout.step', 'rollout.rollback', 'rollout.weight', 'rollout.rolled_back']);
    for (let i = 1; i < audited.length; i++) {
      if (audited[i].before !== audited[i - 1].after) {
        // between ticks only the evidence may have moved on
        expect({ ...audited[i].before, evidence: null, updatedAtMs: 0 }).toEqual({ ...audited[i - 1].after, evidence: null, updatedAtMs: 0 });
      }
    }
    expect(new Set(persisted.map((t) => t.actor))).toEqual(new Set(['controller']));
  });
});

describe('evidence refreshes', () => {
  it('are persisted unaudited, at most every evidenceEveryMs, and only when the evidence moved', () => {
    const t = new ManualTime(0);
    const r = rig(t.ports(() => 0.5), { evidenceEveryMs: 10_000 });
    r.driver.adopt(rollout({ steps: [{ setWeight: 5 }, { analysis: {} }] }, r.fleet.regions));
    r.driver.start();
    // a candidate call every 500 ms for 35 s, then none
    for (let ms = 500; ms <= 35_000; ms += 500) t.after(ms, () => r.driver.observe('m', 'v2', sample), null);
    t.advance(60_000);
    const refreshes = r.persisted.filter((p) => !p.audited);
    expect(refreshes.map((p) => p.action)).toEqual(['rollout.evidence', 'rollout.evidence', 'rollout.evidence', 'rollout.evidence']);
    // the gate began at 1 s (the first tick, persisted with its evidence), then every 10 s; the calls
    // stop at 35 s, so the evidence at 51 s is what 41 s persisted: no refresh
    expect(refreshes.map((p) => p.after.updatedAtMs)).toEqual([11_000, 21_000, 31_000, 41_000]);
    expect(refreshes.map((p) => p.after.evidence?.candidateCalls)).toEqual([21, 41, 61, 70]);
    expect(refreshes[1].before).toBe(refreshes[0].after);
    // the held state always carries the latest evidence
    expect(r.driver.states()[0].evidence?.candidateCalls).toBe(70);
  });
});

describe('holding rollouts', () => {
  it('routes a call to its rollout\'s analysis by version; other models and versions are ignored', () => {
    const t = new ManualTime(0);
    const r = rig(t.ports(() => 0.5));
    expect(r.driver.watching('m')).toBe(false);
    r.driver.observe('m', 'v2', sample);
    r.driver.adopt(rollout({}, r.fleet.regions));
    expect(r.driver.watching('m')).toBe(true);
    expect(r.driver.watching('other')).toBe(false);
    for (const [model, version] of [['m', 'v2'], ['m', 'v1'], ['m', 'v1'], ['m', 'v0'], ['other', 'v2']]) r.driver.observe(model, version, sample);
    expect(r.analyses.get('rol_1')!.calls).toEqual({ candidate: 1, stable: 2 });
    expect(r.driver.analysis('rol_1')).toBe(r.analyses.get('rol_1'));
    expect(r.driver.analysis('rol_2')).toBeNull();
  });

  it('keeps a rollout\'s analysis when its state is adopted again (a command), and marks a gate it lands on', () => {
    const t = new ManualTime(0);
    const r = rig(t.ports(() => 0.5));
    const s = rollout({ steps: [{ setWeight: 5 }, { pause: {} }, { analysis: {} }] }, r.fleet.regions);
    r.driver.adopt(s);
    r.driver.start();
    t.advance(1_000);
    const paused = r.driver.states()[0];
    expect(paused.phase).toBe('paused');
    t.advance(500);
    r.driver.adopt({ ...paused, phase: 'progressing', pause: null, step: 2, stepStartedAtMs: 1_500 });
    expect(r.analyses.size).toBe(1);
    expect(r.analyses.get('rol_1')!.marks).toEqual([1_500]);
    // a terminal state settles the model and lets it go
    r.driver.adopt({ ...paused, phase: 'aborted' });
    expect(r.log.at(-1)).toBe('1500 settle m on v1');
    expect(r.driver.states()).toEqual([]);
  });

  it('survives a throwing analysis or sink: that rollout keeps its state, the others go on', () => {
    const t = new ManualTime(0);
    let sinkThrows = false;
    const r = rig(t.ports(() => 0.5), {
      weights: {
        apply: (model) => {
          if (sinkThrows && model === 'n') throw new Error('sink broke');
        },
        settle: () => undefined,
      },
    });
    r.driver.adopt(rollout({ steps: [{ setWeight: 5 }, { analysis: {} }, { setWeight: 10 }, { analysis: {} }] }, r.fleet.regions, 'rol_m', 'm'));
    r.driver.adopt(rollout({ steps: [{ setWeight: 5 }, { analysis: {} }, { setWeight: 10 }, { analysis: {} }] }, r.fleet.regions, 'rol_n', 'n'));
    r.driver.start();
    t.advance(1_000);
    r.analyses.get('rol_m')!.throws = true;
    r.analyses.get('rol_m')!.now = pass;
    r.analyses.get('rol_n')!.now = pass;
    sinkThrows = true;
    const [m, n] = r.driver.states();
    t.advance(2_000);
    expect(r.errors).toEqual(['2000 rol_m: analysis broke', '2000 rol_n: sink broke', '3000 rol_m: analysis broke', '3000 rol_n: sink broke']);
    expect(r.driver.states()).toEqual([m, n]);
    sinkThrows = false;
    r.analyses.get('rol_m')!.throws = false;
    t.advance(1_000);
    expect(r.driver.states().map((s) => s.weights)).toEqual([{ a: 10 }, { a: 10 }]);
  });

  it('decides nothing after clear (lost the lead) and stops its loop on stop', () => {
    const t = new ManualTime(0);
    const r = rig(t.ports(() => 0.5));
    r.driver.adopt(rollout({}, r.fleet.regions));
    r.driver.start();
    r.driver.start();
    expect(t.armed).toBe(1);
    r.driver.clear();
    t.advance(5_000);
    expect(r.persisted).toEqual([]);
    expect(r.driver.watching('m')).toBe(false);
    r.driver.stop();
    expect(t.armed).toBe(0);
  });

  it('refuses a tick that is not a positive number of ms', () => {
    const t = new ManualTime(0);
    expect(() => rig(t.ports(() => 0.5), { tickMs: 0 })).toThrow(/tickMs must be a positive number of ms, got 0/);
  });
});
