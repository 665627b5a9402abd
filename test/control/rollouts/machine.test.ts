import { describe, expect, it } from 'vitest';
import { advance, applyCommand, desiredWeight, initialState, type Step } from '../../../src/control/rollouts/machine.js';
import { rolloutSpecSchema, type RolloutSpecInput } from '../../../src/control/rollouts/spec.js';
import type { RegionView, RolloutCommand, RolloutPhase, RolloutState, Verdict } from '../../../src/control/rollouts/types.js';

// The rollout state machine as a specification: each scenario is a table of ticks (or commands),
// each row what the fleet and the analysis say at that moment, what must follow, and why.

const S = 1_000;
const T0 = 1_700_000_000_000;

const spec = (over: Partial<RolloutSpecInput> = {}) => rolloutSpecSchema.parse({ model: 'm', candidate: 'v2', stable: 'v1', ...over });

/** a region with 4 ready stable and 2 ready candidate replicas of 10 each, nothing in flight */
const region = (name: string, o: Partial<RegionView> = {}): RegionView => ({
  region: name, stableReplicas: 4, stableReady: 4, candidateReplicas: 2, candidateReady: 2, inflight: 0, perReplicaLimit: 10, ...o,
});

function start(over: Partial<RolloutSpecInput>, regions: RegionView[]): RolloutState {
  const r = initialState(spec(over), { id: 'rol_1', nowMs: T0, actor: 'alice', reason: 'ship it', stable: 'v1', regions });
  if (!r.ok) throw new Error(r.error.message);
  return deepFreeze(r.value);
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

const none: Verdict = { kind: 'inconclusive', reason: '0 of 200 candidate calls since the step began' };
const pass: Verdict = { kind: 'pass', reason: '240 candidate calls, nothing worse' };
const fail: Verdict = { kind: 'fail', metric: 'errors', reason: 'errors: candidate 48% vs stable 1.1% of calls' };

interface Row {
  /** ms after the start */
  at: number;
  fleet?: RegionView[];
  verdict?: Verdict;
  dryRun?: boolean;
  cmd?: RolloutCommand;
  phase?: RolloutPhase;
  weights?: Record<string, number>;
  /** the transitions' actions, in order ([] = nothing changed) */
  actions?: string[];
  step?: number;
  wave?: number;
  pause?: string | null;
  /** matched against the transitions' reasons joined */
  reason?: RegExp;
  /** the command is refused with this kind and message */
  refused?: [kind: string, message: RegExp];
  why: string;
}

/** Plays the rows in order from `s`, each on the fleet of the row before unless it names one. */
function play(s: RolloutState, fleet: RegionView[], rows: Row[]): RolloutState {
  for (const row of rows) {
    fleet = row.fleet ?? fleet;
    const now = T0 + row.at;
    let step: Step;
    if (row.cmd !== undefined) {
      const r = applyCommand(s, row.cmd, now, fleet);
      if (row.refused !== undefined) {
        expect(r.ok, row.why).toBe(false);
        if (!r.ok) {
          expect(r.error.kind, row.why).toBe(row.refused[0]);
          expect(r.error.message, row.why).toMatch(row.refused[1]);
        }
        continue;
      }
      if (!r.ok) throw new Error(`${row.why}: refused: ${r.error.message}`);
      step = r.value;
      expect(step.transitions, row.why).toHaveLength(1);
    } else {
      step = advance(s, { nowMs: now, regions: fleet, verdict: row.verdict ?? none, dryRun: row.dryRun ?? false });
    }
    const next = step.state;
    if (row.actions !== undefined) expect(step.transitions.map((t) => t.action), row.why).toEqual(row.actions);
    if (row.phase !== undefined) expect(next.phase, row.why).toBe(row.phase);
    if (row.weights !== undefined) expect(next.weights, row.why).toEqual(row.weights);
    if (row.step !== undefined) expect(next.step, row.why).toBe(row.step);
    if (row.wave !== undefined) expect(next.wave, row.why).toBe(row.wave);
    if (row.pause !== undefined) expect(next.pause?.kind ?? null, row.why).toBe(row.pause);
    if (row.reason !== undefined) expect(step.transitions.map((t) => t.reason).join(' | '), row.why).toMatch(row.reason);
    // a transition's state is the one after it; the last one's is the result; a change stamps the time
    if (step.transitions.length > 0) {
      expect(step.transitions.at(-1)!.after, row.why).toBe(next);
      expect(next.updatedAtMs, row.why).toBe(now);
    } else {
      expect(next, row.why).toBe(s);
    }
    s = deepFreeze(next);
  }
  return s;
}

describe('starting a rollout', () => {
  it('rolls one region per wave, fewest stable replicas first, ties by name', () => {
    const s = start({}, [region('b', { stableReplicas: 4 }), region('a', { stableReplicas: 4 }), region('c', { stableReplicas: 2 }), region('d', { stableReplicas: 0, stableReady: 0 })]);
    // d has only candidate replicas: nothing of stable's to move there
    expect(s.waves).toEqual([['c'], ['a'], ['b']]);
    expect(s.phase).toBe('pending');
    expect(s.weights).toEqual({ a: 0, b: 0, c: 0 });
    expect([s.createdBy, s.createdAtMs, s.updatedAtMs, s.stable, s.candidate]).toEqual(['alice', T0, T0, 'v1', 'v2']);
  });

  it('keeps the waves the spec names', () => {
    expect(start({ waves: [['b', 'a'], ['c']] }, [region('a'), region('b'), region('c')]).waves).toEqual([['b', 'a'], ['c']]);
  });

  const refusals: Array<[why: string, over: Partial<RolloutSpecInput>, regions: RegionView[], stable: string, message: RegExp]> = [
    ['a wave names a region with no replica of the model', { waves: [['a'], ['x']] }, [region('a')], 'v1', /^waves\[1\]\[0\]: region "x" has no replica of m/],
    ['a wave names a region listed with no replica at all', { waves: [['a', 'z']] }, [region('a'), region('z', { stableReplicas: 0, stableReady: 0, candidateReplicas: 0, candidateReady: 0 })], 'v1', /^waves\[0\]\[1\]/],
    ['the waves leave out a region stable serves', { waves: [['a']] }, [region('a'), region('b')], 'v1', /^waves: region "b" has replicas of v1 but is in no wave; add it to one/],
    ['the candidate has no replica anywhere', {}, [region('a', { candidateReplicas: 0, candidateReady: 0 })], 'v1', /^candidate: version "v2" of m has no replica in any region/],
    ['stable and candidate are the same version', { stable: undefined }, [region('a')], 'v2', /^candidate: the candidate must differ from the stable version "v2"/],
    ['a gate whose minimum exceeds its maximum', { steps: [{ setWeight: 5 }, { analysis: { minDuration: '10m', maxDuration: '5m' } }] }, [region('a')], 'v1', /^steps\[1\]\.analysis: minDuration \(10m\) must not exceed maxDuration \(5m\)/],
    ['stable has no replica to roll from', {}, [region('a', { stableReplicas: 0, stableReady: 0 })], 'v1', /^stable: version "v1" of m has no replica/],
  ];
  it.each(refusals)('is invalid when %s', (_why, over, regions, stable, message) => {
    const r = initialState(spec(over), { id: 'rol_1', nowMs: T0, actor: 'alice', reason: '', stable, regions });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('invalid');
      expect(r.error.message).toMatch(message);
    }
  });
});

describe('waiting for the candidate (pending)', () => {
  const steps = [{ setWeight: 5 }, { analysis: { minDuration: '1m' } }];

  it('gives the wave nothing until every region of it has a ready candidate replica, then starts at once', () => {
    const unready = [region('a', { candidateReady: 0 }), region('b')];
    play(start({ steps, waves: [['a', 'b']] }, unready), unready, [
      { at: 0, phase: 'pending', actions: [], weights: { a: 0, b: 0 }, why: 'a has replicas, none ready: no traffic reaches them' },
      { at: S, verdict: pass, phase: 'pending', actions: [], why: 'a passing verdict does not start a wave whose candidate is not ready' },
      { at: 2 * S, fleet: [region('a'), region('b')], phase: 'progressing', step: 1, actions: ['rollout.ready', 'rollout.step'], weights: { a: 5, b: 5 },
        why: 'ready everywhere: the first step runs in the same tick' },
    ]);
  });
});

describe('steps (progressing)', () => {
  it('sets each region to min(step weight, maxShare) and moves straight on', () => {
    const fleet = [region('a')];
    play(start({ steps: [{ setWeight: 50 }, { analysis: {} }], maxShare: 20 }, fleet), fleet, [
      { at: 0, weights: { a: 20 }, step: 1, reason: /setWeight 50%: a 20%/, why: 'maxShare 20 caps a 50 % step' },
    ]);
  });

  it('caps a share by the candidate\'s capacity, and raises it as capacity allows', () => {
    // 1 ready × 10 per replica × 0.8 headroom = 8 of 100 in flight
    const thin = [region('a', { candidateReady: 1, inflight: 100 })];
    play(start({ steps: [{ setWeight: 25 }, { analysis: {} }] }, thin), thin, [
      { at: 0, weights: { a: 8 }, reason: /a 8% \(capped by capacity: 1 ready replica carry 8% of 100 in flight\)/, why: '25 % of 100 in flight would need 25 slots; 1 replica offers 8' },
      { at: S, actions: [], weights: { a: 8 }, why: 'nothing changed: no transition' },
      { at: 1500, fleet: [region('a', { candidateReady: 1, inflight: 105 })], actions: [], weights: { a: 8 }, why: '8 slots of 105 is 7.6 %: within the 10 % dead band, it stays (load jitter does not move it)' },
      { at: 1600, fleet: [region('a', { candidateReady: 1, inflight: 120 })], actions: ['rollout.weight'], weights: { a: 6 }, reason: /a 6% \(capped by capacity/, why: '8 of 120 is 6.7 %: 8 is past the dead band, down to 6' },
      { at: 2 * S, fleet: [region('a', { candidateReady: 2, inflight: 100 })], actions: ['rollout.weight'], weights: { a: 16 }, why: 'a second replica: up to 16, still capped' },
      { at: 3 * S, fleet: [region('a', { candidateReady: 4, inflight: 100 })], actions: ['rollout.weight'], weights: { a: 25 }, why: 'capacity for 32: back to the step\'s 25' },
      { at: 4 * S, fleet: [region('a', { candidateReady: 0, inflight: 100 })], actions: ['rollout.weight'], weights: { a: 0 }, reason: /no ready candidate replica/, why: 'its replicas went unready: no traffic to them' },
      { at: 5 * S, fleet: [region('a', { candidateReady: 4, inflight: 0 })], weights: { a: 25 }, why: 'nothing in flight: no cap' },
    ]);
  });

  it('holds a timed pause step, then moves on when it ends', () => {
    const fleet = [region('a')];
    play(start({ steps: [{ setWeight: 5 }, { pause: { duration: '30s' } }, { setWeight: 10 }, { analysis: {} }] }, fleet), fleet, [
      { at: 0, phase: 'paused', pause: 'step', actions: ['rollout.ready', 'rollout.step', 'rollout.pause'], weights: { a: 5 }, why: 'step 2 pauses for 30 s' },
      { at: 29_999, phase: 'paused', actions: [], why: 'not yet' },
      { at: 30_000, phase: 'progressing', step: 3, actions: ['rollout.resume', 'rollout.step'], weights: { a: 10 }, why: 'the pause ended: on to 10 %' },
    ]);
  });

  it('holds a pause step with no duration until promoted', () => {
    const fleet = [region('a')];
    play(start({ steps: [{ setWeight: 5 }, { pause: {} }, { setWeight: 10 }, { analysis: {} }] }, fleet), fleet, [
      { at: 0, phase: 'paused', pause: 'step', why: 'held' },
      { at: 3_600_000, actions: [], phase: 'paused', why: 'an hour later, still held: only a person moves it' },
      { at: 3_600_001, cmd: { kind: 'promote', full: false }, phase: 'progressing', step: 2, actions: ['rollout.promote'], why: 'promoted past the pause' },
      { at: 3_601_000, weights: { a: 10 }, step: 3, why: 'the next tick runs the next step' },
    ]);
  });

  it('an analysis gate: no data holds (never passes), a pass before minDuration holds, after it moves on', () => {
    const fleet = [region('a')];
    play(start({ steps: [{ setWeight: 5 }, { analysis: { minDuration: '1m', maxDuration: '10m' } }, { setWeight: 20 }, { analysis: {} }] }, fleet), fleet, [
      { at: 0, verdict: pass, step: 1, why: 'the gate began in this tick: a verdict judged before its mark does not pass it' },
      { at: 30 * S, verdict: pass, step: 1, actions: [], why: 'passing, but only 30 s of the 1 m minimum' },
      { at: 5 * 60 * S, verdict: none, step: 1, actions: [], phase: 'progressing', why: 'no data after 5 m: inconclusive holds, it never passes' },
      { at: 5 * 60 * S + 1, verdict: pass, step: 3, actions: ['rollout.step', 'rollout.step'], weights: { a: 20 }, reason: /step 2 of 4: analysis passed after 300001ms: 240 candidate calls/, why: 'pass after the minimum: next step, 20 %' },
    ]);
  });

  it('an analysis gate with no verdict by maxDuration pauses for a person', () => {
    const fleet = [region('a')];
    const s = play(start({ steps: [{ setWeight: 5 }, { analysis: { maxDuration: '10m' } }, { setWeight: 20 }] }, fleet), fleet, [
      { at: 0, step: 1, why: 'at the gate' },
      { at: 10 * 60 * S - 1, actions: [], why: 'still within its 10 m' },
      { at: 10 * 60 * S, phase: 'paused', pause: 'inconclusive', actions: ['rollout.pause'], reason: /no verdict after 10m \(0 of 200 candidate calls since the step began\); promote to go on, or abort/, why: '10 m without a pass' },
      { at: 11 * 60 * S, verdict: pass, phase: 'paused', actions: [], why: 'a person decides: a later pass does not move it' },
      { at: 11 * 60 * S, fleet: [region('a', { inflight: 50, candidateReady: 0 })], phase: 'paused', weights: { a: 0 }, why: 'held, but it still drops a region whose candidate went unready' },
    ]);
    expect(applyCommand(s, { kind: 'promote', full: false }, T0 + 12 * 60 * S, fleet).ok).toBe(true);
  });

  it('after the last step takes the wave to 100 only when the candidate can carry it, retrying each tick', () => {
    // 2 ready × 10 × 0.8 = 16 slots for 40 in flight: 3 more replicas needed (5 × 8 = 40)
    const thin = [region('a', { inflight: 40 }), region('b')];
    play(start({ steps: [{ setWeight: 10 }] }, thin), thin, [
      { at: 0, phase: 'paused', pause: 'capacity', wave: 0, weights: { a: 10, b: 0 }, reason: /a lacks 3 ready candidate replicas to carry 40 in flight/, why: 'the candidate cannot take all of a' },
      { at: S, phase: 'paused', actions: [], why: 'still short: no new transition' },
      { at: 2 * S, fleet: [region('a', { inflight: 40, candidateReady: 5 }), region('b')], phase: 'succeeded', weights: { a: 100, b: 100 },
        actions: ['rollout.resume', 'rollout.wave', 'rollout.ready', 'rollout.step', 'rollout.succeed'],
        reason: /wave 1 of 2 \(a\) at 100%; next wave 2 of 2 \(b\)/, why: 'five replicas carry 40: a at 100, and b (ready, nothing in flight) runs its wave in the same tick' },
    ]);
  });

  it('completes every wave in order and succeeds with every region at 100', () => {
    const fleet = [region('a'), region('b', { stableReplicas: 8 })];
    const s = play(start({ steps: [{ setWeight: 10 }, { analysis: {} }] }, fleet), fleet, [
      { at: 0, wave: 0, weights: { a: 10, b: 0 }, why: 'a (fewer stable replicas) first' },
      { at: S, verdict: pass, actions: ['rollout.step', 'rollout.wave', 'rollout.ready', 'rollout.step'], wave: 1, weights: { a: 100, b: 10 }, why: 'a done; b begins at once (ready)' },
      { at: 2 * S, verdict: pass, actions: ['rollout.step', 'rollout.succeed'], phase: 'succeeded', weights: { a: 100, b: 100 }, why: 'b done: the last wave' },
    ]);
    expect(advance(s, { nowMs: T0 + 3 * S, regions: fleet, verdict: fail, dryRun: false }).transitions).toEqual([]);
  });
});

describe('a failing analysis', () => {
  const fleet = [region('a'), region('b')];
  const at = (phase: string, rows: Row[]): [string, Row[]] => [phase, rows];
  const cases = [
    at('pending', [{ at: 0, fleet: [region('a', { candidateReady: 0 }), region('b')], phase: 'pending', why: 'waiting' }]),
    at('progressing', [{ at: 0, phase: 'progressing', why: 'at the gate' }]),
    at('paused by hand', [{ at: 0, why: '' }, { at: S, cmd: { kind: 'pause' }, phase: 'paused', why: 'paused' }]),
    at('paused at a step', [{ at: 0, why: '' }, { at: S, verdict: pass, phase: 'paused', pause: 'step', why: 'paused at step 3' }]),
  ];
  it.each(cases)('rolls back from %s, with the verdict\'s reason', (_phase, rows) => {
    const s = play(start({ steps: [{ setWeight: 5 }, { analysis: {} }, { pause: {} }], waves: [['a', 'b']] }, fleet), fleet, rows);
    play(s, fleet, [
      { at: 2 * S, fleet, verdict: fail, phase: 'rolled_back', reason: /^errors: candidate 48% vs stable 1\.1% of calls/,
        actions: [...(Object.values(s.weights).some((w) => w > 0) ? ['rollout.rollback', 'rollout.weight'] : ['rollout.rollback']), 'rollout.rolled_back'],
        weights: { a: 0, b: 0 }, why: 'stable carries everything: straight back to 0, and done' },
    ]);
  });

  it('rolls back when outlier detection has ejected every candidate replica with a share, while stable serves', () => {
    const steps = { steps: [{ setWeight: 5 }, { analysis: {} }], waves: [['a', 'b']] };
    play(start(steps, fleet), fleet, [
      { at: 0, weights: { a: 5, b: 5 }, why: 'at the gate' },
      { at: S, fleet: [region('a', { candidateEjected: 1, candidateReady: 1 }), region('b')], phase: 'progressing', actions: [], why: 'one of two ejected: the analysis judges what the other serves' },
      { at: 2 * S, fleet: [region('a', { candidateEjected: 2, candidateReady: 0 }), region('b', { candidateEjected: 2, candidateReady: 0, stableReady: 0 })], phase: 'progressing', why: 'b has no stable replica serving: not the version\'s fault alone' },
      { at: 3 * S, fleet: [region('a', { candidateEjected: 2, candidateReady: 0 }), region('b', { candidateEjected: 2, candidateReady: 0 })], phase: 'rolled_back', reason: /outlier detection ejected every candidate replica/, weights: { a: 0, b: 0 }, why: 'it serves nothing to judge: the ejections are the evidence' },
    ]);
  });

  it('in a dry run records the first failure once and carries on as if it passed', () => {
    const s = play(start({ steps: [{ setWeight: 5 }, { analysis: {} }, { setWeight: 10 }, { analysis: {} }], analysis: { dryRun: true } }, fleet), fleet, [
      { at: 0, why: 'at the gate' },
      { at: S, verdict: fail, dryRun: true, actions: ['rollout.analysis_failed', 'rollout.step', 'rollout.step'], phase: 'progressing', step: 3, reason: /dry run, not rolled back: errors/, why: 'recorded, and the gate passes' },
      { at: 2 * S, verdict: fail, dryRun: true, actions: ['rollout.step', 'rollout.wave', 'rollout.ready', 'rollout.step'], why: 'recorded once: the failure is already set' },
    ]);
    expect(s.failure?.metric).toBe('errors');
  });

  it('never fails on inconclusive, however long', () => {
    play(start({ steps: [{ setWeight: 5 }, { analysis: { maxDuration: '100h' } }] }, fleet), fleet, [
      { at: 0, why: '' },
      { at: 99 * 3_600_000, verdict: none, phase: 'progressing', actions: [], why: 'no data is not a failure' },
      { at: 99 * 3_600_000 + 1, verdict: { kind: 'maybe' } as unknown as Verdict, phase: 'progressing', actions: [], why: 'a malformed verdict reads as no evidence' },
    ]);
  });
});

describe('rolling back', () => {
  it('steps back only as far as a shrunk stable can carry, at most once per interval, never up', () => {
    // b finished at 100; its stable pool shrank to 2 ready (2 × 10 × 0.8 = 16 of 40 in flight)
    const fleet = [region('a'), region('b')];
    const s = play(start({ steps: [{ setWeight: 100 }, { analysis: {} }], waves: [['a', 'b']] }, fleet), fleet, [
      { at: 0, phase: 'progressing', weights: { a: 100, b: 100 }, why: 'both at 100 at the gate' },
    ]);
    play(s, fleet, [
      { at: S, fleet: [region('a', { stableReady: 2, inflight: 40 }), region('b', { inflight: 10 })], verdict: fail, phase: 'rolling_back', actions: ['rollout.rollback', 'rollout.weight'],
        weights: { a: 60, b: 0 }, reason: /a 100% → 60% \(stable's 2 ready replicas carry 40% of 40 in flight\); b 100% → 0% \(stable carries it\)/, why: 'b back at once; a down to what 2 stable replicas carry' },
      { at: 2 * S, fleet: [region('a', { stableReady: 3, inflight: 40 }), region('b')], actions: [], weights: { a: 60, b: 0 }, why: 'stable grew, but the next move is due only 10 s after the last' },
      { at: 11 * S, actions: ['rollout.weight'], weights: { a: 40, b: 0 }, why: '10 s on: down to 40 (3 × 8 = 24 of 40)' },
      { at: 30 * S, fleet: [region('a', { stableReady: 1, inflight: 40 }), region('b')], actions: [], weights: { a: 40, b: 0 }, why: 'stable shrank again: never back up' },
      { at: 31 * S, fleet: [region('a', { stableReady: 5, inflight: 40 }), region('b')], phase: 'rolled_back', actions: ['rollout.weight', 'rollout.rolled_back'], weights: { a: 0, b: 0 }, why: '5 × 8 = 40 carries it all: 0 at once, between intervals too' },
    ]);
  });
});

describe('commands', () => {
  const fleet = [region('a'), region('b')];
  const steps = [{ setWeight: 5 }, { analysis: { maxDuration: '10m' } }, { pause: { duration: '1h' } }, { setWeight: 10 }];
  /** the rollout in each phase it can be in, from a fresh start on `fleet` */
  const phases: Array<[string, Row[]]> = [
    ['pending', [{ at: 0, fleet: [region('a', { candidateReady: 0 }), region('b')], phase: 'pending', why: '' }]],
    ['progressing', [{ at: 0, phase: 'progressing', why: '' }]],
    ['paused by hand', [{ at: 0, why: '' }, { at: S, cmd: { kind: 'pause' }, pause: 'manual', why: '' }]],
    ['paused inconclusive', [{ at: 0, why: '' }, { at: 600 * S, pause: 'inconclusive', why: '' }]],
    ['paused at a step', [{ at: 0, why: '' }, { at: S, verdict: pass, pause: 'step', why: '' }]],
    ['paused for capacity', [{ at: 0, why: '' }, { at: S, verdict: pass, why: '' }, { at: 3_601 * S, fleet: [region('a', { inflight: 100 }), region('b')], pause: 'capacity', why: '' }]],
  ];
  const reach = (rows: Row[]) => play(start({ steps }, fleet), fleet, rows);

  it.each(phases)('aborts from %s: back to stable, then aborted', (_p, rows) => {
    const s = reach(rows);
    const after = play(s, fleet, [{ at: 4_000 * S, cmd: { kind: 'abort' }, phase: 'rolling_back', actions: ['rollout.abort'], why: 'abort starts the way back' }]);
    expect(after.failure).toBeNull();
    play(after, fleet, [{ at: 4_001 * S, fleet, phase: 'aborted', weights: { a: 0, b: 0 }, why: 'stable carries it: everything back, and it ends aborted (not rolled back)' }]);
    expect(applyCommand(after, { kind: 'abort' }, T0, fleet)).toMatchObject({ ok: false, error: { kind: 'conflict', message: 'rollout rol_1 is already rolling back' } });
  });

  it('refuses every command on a finished rollout, naming how it ended', () => {
    const done = play(start({ steps: [{ setWeight: 5 }] }, [region('a')]), [region('a')], [{ at: 0, phase: 'succeeded', why: '' }]);
    const rolled = play(start({ steps: [{ setWeight: 5 }, { analysis: {} }] }, [region('a')]), [region('a')], [{ at: 0, why: '' }, { at: S, verdict: fail, phase: 'rolled_back', why: '' }]);
    const aborted = play(reach([{ at: 0, why: '' }]), fleet, [{ at: S, cmd: { kind: 'abort' }, why: '' }, { at: 2 * S, phase: 'aborted', why: '' }]);
    const all: RolloutCommand[] = [{ kind: 'pause' }, { kind: 'resume' }, { kind: 'promote', full: false }, { kind: 'promote', full: true }, { kind: 'abort' }];
    for (const [s, how] of [[done, 'already succeeded'], [rolled, 'already rolled back'], [aborted, 'already been aborted']] as const) {
      for (const c of all) {
        expect(applyCommand(s, c, T0, fleet), `${c.kind} on ${s.phase}`).toEqual({ ok: false, error: { kind: 'conflict', message: `rollout rol_1 has ${how}; start a new rollout` } });
      }
    }
  });

  it('pause and resume', () => {
    const s = reach([{ at: 0, why: '' }]);
    play(s, fleet, [
      { at: S, cmd: { kind: 'resume' }, refused: ['conflict', /^rollout rol_1 is not paused \(it is progressing\)/], why: 'nothing to resume' },
      { at: S, cmd: { kind: 'pause' }, phase: 'paused', pause: 'manual', actions: ['rollout.pause'], why: 'a person holds it' },
      { at: S, cmd: { kind: 'pause' }, refused: ['conflict', /already paused \(paused by hand\)/], why: 'already held' },
      { at: 700 * S, verdict: pass, actions: [], why: 'held by hand: neither a pass nor the 10 m gate limit moves it' },
      { at: 701 * S, cmd: { kind: 'resume' }, phase: 'progressing', step: 1, actions: ['rollout.resume'], why: 'back at its gate' },
      { at: 1_300 * S, verdict: none, step: 1, actions: [], why: 'the gate restarted on resume: 20 min since it began, but 10 m since the resume' },
      { at: 1_301 * S, verdict: none, pause: 'inconclusive', why: 'its 10 m counted from the resume' },
    ]);
    // resuming a held gate restarts its clock, so a long hold does not time it out
    const resumed = applyCommand(play(s, fleet, [{ at: S, cmd: { kind: 'pause' }, why: '' }]), { kind: 'resume' }, T0 + 701 * S, fleet);
    expect(resumed.ok && resumed.value.state.stepStartedAtMs).toBe(T0 + 701 * S);
  });

  it.each([
    ['a step pause', 'paused at a step', 3, 'progressing'],
    ['an inconclusive pause', 'paused inconclusive', 2, 'progressing'],
    ['a capacity pause', 'paused for capacity', 4, 'progressing'],
    ['a pause by hand while pending', 'pending', 0, 'pending'],
  ] as const)('resume from %s', (_w, phase, step, next) => {
    let rows = phases.find(([p]) => p === phase)![1];
    if (phase === 'pending') rows = [...rows, { at: S, cmd: { kind: 'pause' }, why: '' }];
    // a step or inconclusive pause moves on; a capacity pause retries the wave's end; a wave not yet begun waits for its candidate again
    play(reach(rows), fleet, [{ at: 4_000 * S, cmd: { kind: 'resume' }, phase: next, step, pause: null, actions: ['rollout.resume'], why: '' }]);
  });

  it('promote: past the current gate, not while waiting or rolling back', () => {
    play(reach(phases[0][1]), fleet, [{ at: S, cmd: { kind: 'promote', full: false }, refused: ['conflict', /waiting for ready candidate replicas in a/], why: 'no step to pass' }]);
    play(reach(phases[5][1]), fleet, [{ at: 4_000 * S, cmd: { kind: 'promote', full: false }, refused: ['conflict', /waiting for candidate capacity .* add replicas, or promote in full/], why: 'nothing to pass' }]);
    play(reach(phases[1][1]), fleet, [
      { at: S, cmd: { kind: 'promote', full: false }, step: 2, phase: 'progressing', why: 'past the analysis step' },
      { at: 2 * S, cmd: { kind: 'abort' }, why: '' },
      { at: 2 * S, cmd: { kind: 'promote', full: true }, refused: ['conflict', /is rolling back/], why: 'too late' },
      { at: 2 * S, cmd: { kind: 'pause' }, refused: ['conflict', /is rolling back; it cannot be paused/], why: 'too late' },
    ]);
  });

  it('promote in full: every region to 100 at once, unless a region has no ready candidate', () => {
    play(reach(phases[1][1]), fleet, [
      { at: S, fleet: [region('a'), region('b', { candidateReady: 0 })], cmd: { kind: 'promote', full: true }, refused: ['invalid', /^promote: region "b" has no ready replica of v2/], why: 'b would get traffic nothing can serve' },
      { at: S, fleet, cmd: { kind: 'promote', full: true }, phase: 'succeeded', weights: { a: 100, b: 100 }, actions: ['rollout.promote'], why: 'done' },
    ]);
  });

  it('refuses an unknown command as invalid', () => {
    const r = applyCommand(reach(phases[1][1]), { kind: 'ship' } as unknown as RolloutCommand, T0, fleet);
    expect(r).toEqual({ ok: false, error: { kind: 'invalid', message: 'command: kind must be pause, resume, promote or abort' } });
  });
});

describe('desiredWeight', () => {
  const s = start({ steps: [{ analysis: {} }, { setWeight: 5 }, { pause: {} }, { setWeight: 30 }] }, [region('a')]);
  it.each([
    [0, 0, 'no setWeight yet'],
    [1, 5, 'the step itself'],
    [2, 5, 'the latest before it'],
    [3, 30, ''],
    [4, 30, 'after the last step: the last setWeight'],
  ])('at step %i is %i (%s)', (step, w) => {
    expect(desiredWeight({ ...s, step })).toBe(w);
  });
});

describe('the message of a pause by hand', () => {
  const fleet = [region('a')];
  const running = () => play(start({ steps: [{ setWeight: 5 }, { analysis: {} }] }, fleet), fleet, [{ at: 0, phase: 'progressing', why: '' }]);

  it('is the operator\'s reason when they give one, and the refusal of a second pause repeats it', () => {
    const r = applyCommand(running(), { kind: 'pause', reason: 'p99 looks odd' }, T0 + S, fleet);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.state.pause).toEqual({ kind: 'manual', message: 'p99 looks odd' });
    expect(r.value.transitions.map((t) => [t.action, t.reason])).toEqual([['rollout.pause', 'p99 looks odd']]);
    expect(applyCommand(r.value.state, { kind: 'pause' }, T0 + 2 * S, fleet)).toEqual({ ok: false, error: { kind: 'conflict', message: 'rollout rol_1 is already paused (p99 looks odd)' } });
  });

  it.each([
    ['no reason', { kind: 'pause' } as const],
    ['a blank reason', { kind: 'pause', reason: '  ' } as const],
  ])('is "paused by hand" with %s', (_why, cmd) => {
    const r = applyCommand(running(), cmd, T0 + S, fleet);
    expect(r.ok && r.value.state.pause).toEqual({ kind: 'manual', message: 'paused by hand' });
  });
});
