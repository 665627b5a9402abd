import type { RolloutSpec } from './spec.js';
import { TERMINAL_PHASES, type RegionView, type RolloutCommand, type RolloutState, type RolloutStoreResult, type Verdict } from './types.js';

// A rollout's state machine: pure functions from (state, what the fleet and the analysis say now)
// to the next state and the transitions that got it there. No clock, no I/O: the driver hands in
// the time, so the gateway and the simulator run the same decisions.
//
// Two safety rules shape it. The candidate never gets traffic it cannot carry (a region with no
// ready candidate replica gets 0; a share is capped by the ready replicas' capacity), and a rollback
// never shifts more onto stable than stable's ready replicas can carry (it ramps back instead).
// `stepStartedAtMs` is the time the current step began; while rolling back, the time of the latest
// gradual move (set one interval back on entry, so the first move is due at once).

export interface StartContext {
  id: string;
  nowMs: number;
  actor: string;
  reason: string;
  /** the version it replaces, resolved by the caller (the spec's, or the model's stable version) */
  stable: string;
  regions: readonly RegionView[];
}

export interface TickInput {
  nowMs: number;
  regions: readonly RegionView[];
  verdict: Verdict;
  dryRun: boolean;
}

/** One change, and the state right after it (the last one's is `Step.state`). */
export interface StepTransition {
  action: string;
  reason: string;
  after: RolloutState;
}

export interface Step {
  state: RolloutState;
  transitions: StepTransition[];
}

type Result<T> = RolloutStoreResult<T>;
const invalid = <T>(message: string): Result<T> => ({ ok: false, error: { kind: 'invalid', message } });
const conflict = <T>(message: string): Result<T> => ({ ok: false, error: { kind: 'conflict', message } });

// ── the fleet, read defensively ────────────────────────────────────────────────

interface Load {
  readonly stableReplicas: number;
  readonly stableReady: number;
  readonly candidateReplicas: number;
  readonly candidateReady: number;
  readonly inflight: number;
  readonly limit: number;
}

/** a count from a view: anything not a finite number ≥ 0 reads as 0, so a broken view gives no weight */
const count = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : 0);

function loadOf(regions: readonly RegionView[], region: string): Load | null {
  for (const v of regions) {
    if (v === null || typeof v !== 'object' || v.region !== region) continue;
    return {
      stableReplicas: count(v.stableReplicas), stableReady: count(v.stableReady),
      candidateReplicas: count(v.candidateReplicas), candidateReady: count(v.candidateReady),
      inflight: count(v.inflight), limit: count(v.perReplicaLimit),
    };
  }
  return null;
}

/** what `ready` replicas may run at once at the spec's headroom */
const carry = (ready: number, l: Load, headroom: number): number => ready * l.limit * headroom;

/** the largest share (%) the candidate can take: share × inflight ≤ its capacity; Infinity with nothing in flight */
function capacityShare(l: Load | null, headroom: number): number {
  if (l === null || l.candidateReady < 1) return 0;
  if (l.inflight === 0) return Infinity;
  return (100 * carry(l.candidateReady, l, headroom)) / l.inflight;
}

/** the capacity share as a whole % weight */
const capOf = (share: number): number => Math.max(0, Math.min(100, Math.floor(share + 1e-9)));

/** between steps a share up to this much over the capacity cap stays: headroom keeps a margin, and load jitter should not move it every tick */
const SLACK = 0.1;

const pct = (w: number): string => `${Math.round(w * 100) / 100}%`;
const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

function fmtMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

// ── start ──────────────────────────────────────────────────────────────────────

/** Validates the spec against the fleet and resolves the waves. */
export function initialState(spec: RolloutSpec, ctx: StartContext): Result<RolloutState> {
  if (typeof ctx.id !== 'string' || ctx.id === '') return invalid('id: a rollout needs an id');
  if (!Number.isFinite(ctx.nowMs)) return invalid('nowMs: the start time must be a finite number of ms');
  if (typeof ctx.stable !== 'string' || ctx.stable === '') return invalid(`stable: no stable version of ${spec.model} to roll out from`);
  if (ctx.stable === spec.candidate) return invalid(`candidate: the candidate must differ from the stable version "${ctx.stable}"`);
  const regions = Array.isArray(ctx.regions) ? ctx.regions : [];
  const loads = regions.map((v) => [v?.region, loadOf(regions, v?.region)] as const)
    .filter((e): e is readonly [string, Load] => typeof e[0] === 'string' && e[1] !== null);
  if (!loads.some(([, l]) => l.candidateReplicas > 0)) {
    return invalid(`candidate: version "${spec.candidate}" of ${spec.model} has no replica in any region; add replicas before starting`);
  }
  for (const [i, step] of spec.steps.entries()) {
    if ('analysis' in step && step.analysis.minDuration > step.analysis.maxDuration) {
      return invalid(`steps[${i}].analysis: minDuration (${fmtMs(step.analysis.minDuration)}) must not exceed maxDuration (${fmtMs(step.analysis.maxDuration)})`);
    }
  }
  let waves: string[][];
  if (spec.waves !== undefined) {
    for (const [i, wave] of spec.waves.entries()) {
      for (const [j, region] of wave.entries()) {
        const l = loadOf(regions, region);
        if (l === null || l.stableReplicas + l.candidateReplicas === 0) {
          return invalid(`waves[${i}][${j}]: region "${region}" has no replica of ${spec.model}`);
        }
      }
    }
    // a region left out would flip from stable to the candidate all at once when the rollout succeeds
    const named = new Set(spec.waves.flat());
    const left = loads.find(([r, l]) => l.stableReplicas > 0 && !named.has(r));
    if (left !== undefined) return invalid(`waves: region "${left[0]}" has replicas of ${ctx.stable} but is in no wave; add it to one`);
    waves = spec.waves.map((w) => [...w]);
  } else {
    // fewest stable replicas first: the smallest blast radius learns first
    waves = loads.filter(([, l]) => l.stableReplicas > 0)
      .sort(([a, la], [b, lb]) => la.stableReplicas - lb.stableReplicas || (a < b ? -1 : a > b ? 1 : 0))
      .map(([r]) => [r]);
    if (waves.length === 0) return invalid(`stable: version "${ctx.stable}" of ${spec.model} has no replica in any region`);
  }
  const weights: Record<string, number> = {};
  for (const w of waves) for (const r of w) weights[r] = 0;
  return {
    ok: true,
    value: {
      id: ctx.id, spec, model: spec.model, stable: ctx.stable, candidate: spec.candidate, waves,
      phase: 'pending', pause: null, wave: 0, step: 0, stepStartedAtMs: ctx.nowMs, weights,
      failure: null, evidence: null, createdBy: ctx.actor, createdAtMs: ctx.nowMs, updatedAtMs: ctx.nowMs,
    },
  };
}

/** the weight the wave's current step asks for (the latest setWeight at or before `step`, 0 before any) */
export function desiredWeight(s: RolloutState): number {
  for (let i = Math.min(s.step, s.spec.steps.length - 1); i >= 0; i--) {
    const step = s.spec.steps[i];
    if ('setWeight' in step) return step.setWeight;
  }
  return 0;
}

// ── a tick ─────────────────────────────────────────────────────────────────────

interface Ctx {
  st: RolloutState;
  readonly out: StepTransition[];
  readonly nowMs: number;
  readonly regions: readonly RegionView[];
}

function emit(c: Ctx, patch: Partial<RolloutState>, action: string, reason: string): void {
  c.st = { ...c.st, ...patch, updatedAtMs: c.nowMs };
  c.out.push({ action, reason, after: c.st });
}

const stepLabel = (s: RolloutState): string =>
  s.step < s.spec.steps.length ? `step ${s.step + 1} of ${s.spec.steps.length}` : `the end of ${waveLabel(s, s.wave)}`;
const waveLabel = (s: RolloutState, i: number): string => `wave ${i + 1} of ${s.waves.length} (${s.waves[i].join(', ')})`;

export function advance(s: RolloutState, t: TickInput): Step {
  if (TERMINAL_PHASES.has(s.phase)) return { state: s, transitions: [] };
  const c: Ctx = { st: s, out: [], nowMs: t.nowMs, regions: Array.isArray(t.regions) ? t.regions : [] };
  // a verdict that is not one reads as no evidence: it neither passes nor fails anything
  const v: Verdict = t.verdict !== null && typeof t.verdict === 'object' && (t.verdict.kind === 'pass' || t.verdict.kind === 'fail') && typeof t.verdict.reason === 'string'
    ? t.verdict : { kind: 'inconclusive', reason: typeof t.verdict?.reason === 'string' ? t.verdict.reason : 'no verdict' };
  let passed = v.kind === 'pass';
  // Outlier detection may eject a failing candidate before the analysis has its evidence; an
  // ejected replica serves nothing to judge, so "every candidate replica that had traffic is
  // ejected while stable serves" is itself the failure (else the rollout would only hold).
  const ejected = v.kind === 'fail' ? null : ejectedEverywhere(s, c.regions);
  const fail = v.kind === 'fail' ? { metric: String(v.metric), reason: v.reason } : ejected === null ? null : { metric: 'outliers', reason: ejected };
  if (fail !== null && s.phase !== 'rolling_back') {
    const failure = { ...fail, atMs: t.nowMs };
    const v = fail;
    if (t.dryRun !== true) {
      emit(c, { phase: 'rolling_back', pause: null, failure, stepStartedAtMs: t.nowMs - s.spec.rollback.stepInterval }, 'rollout.rollback', v.reason);
      rollBack(c);
      return { state: c.st, transitions: c.out };
    }
    // a dry run records the first failure and carries on as if the analysis had passed
    if (s.failure === null) emit(c, { failure }, 'rollout.analysis_failed', `dry run, not rolled back: ${v.reason}`);
    passed = true;
  }
  // every move ends at a step that waits or moves on; the bound only guards against a loop
  for (let i = 0, n = 3 * (s.spec.steps.length + 2) * (s.waves.length + 1); i < n; i++) {
    if (!move(c, s, passed, v.reason)) break;
  }
  if (c.st.phase === 'rolling_back') rollBack(c);
  else reconcile(c);
  return { state: c.st, transitions: c.out };
}

/** why every candidate replica of the regions rolled so far is ejected while stable's serve; null when not so */
function ejectedEverywhere(s: RolloutState, regions: readonly RegionView[]): string | null {
  if (s.phase === 'pending' || desiredWeight(s) <= 0) return null;
  const out: string[] = [];
  // the regions the candidate has been given (its weight there may already be 0: ejected replicas are not ready)
  for (const r of s.waves.slice(0, s.wave + 1).flat()) {
    const v = regions.find((x) => x !== null && typeof x === 'object' && x.region === r);
    if (v === undefined) return null;
    const ejected = count(v.candidateEjected);
    const replicas = count(v.candidateReplicas);
    if (replicas === 0 || ejected < replicas || count(v.stableReady) === 0) return null;
    out.push(`${r}: ${plural(ejected, 'candidate replica')} of ${replicas}`);
  }
  return out.length === 0 ? null : `outlier detection ejected every candidate replica serving a share (${out.join('; ')}) while stable's serve`;
}

/** one move of the current phase; false when it waits */
function move(c: Ctx, start: RolloutState, passed: boolean, why: string): boolean {
  const st = c.st;
  if (st.phase === 'pending') {
    const wave = st.waves[st.wave];
    const waiting = wave.filter((r) => (loadOf(c.regions, r)?.candidateReady ?? 0) < 1);
    if (waiting.length > 0) return false;
    emit(c, { phase: 'progressing', pause: null, step: 0, stepStartedAtMs: c.nowMs }, 'rollout.ready',
      `${waveLabel(st, st.wave)}: the candidate has ready replicas in every region`);
    return true;
  }
  if (st.phase === 'paused') return unpause(c);
  if (st.phase !== 'progressing') return false;
  const steps = st.spec.steps;
  if (st.step >= steps.length) return completeWave(c);
  const step = steps[st.step];
  if ('setWeight' in step) {
    const want = Math.min(step.setWeight, st.spec.maxShare);
    const { weights, notes } = waveWeights(c, want, Infinity, 0);
    emit(c, { weights, step: st.step + 1, stepStartedAtMs: c.nowMs }, 'rollout.step', `${stepLabel(st)}: setWeight ${pct(step.setWeight)}: ${notes.join('; ')}`);
    return true;
  }
  if ('pause' in step) {
    const d = step.pause.duration;
    const message = d === undefined ? `${stepLabel(st)}: paused until promoted` : `${stepLabel(st)}: paused for ${fmtMs(d)}`;
    emit(c, { phase: 'paused', pause: { kind: 'step', message, untilMs: d === undefined ? null : c.nowMs + d } }, 'rollout.pause', message);
    return true;
  }
  const elapsed = c.nowMs - st.stepStartedAtMs;
  // the verdict was judged before this tick: a gate entered during the tick has not been marked yet
  const judged = start.phase === 'progressing' && start.wave === st.wave && start.step === st.step && start.stepStartedAtMs === st.stepStartedAtMs;
  if (judged && passed && elapsed >= step.analysis.minDuration) {
    emit(c, { step: st.step + 1, stepStartedAtMs: c.nowMs }, 'rollout.step', `${stepLabel(st)}: analysis passed after ${fmtMs(elapsed)}: ${why}`);
    return true;
  }
  if (elapsed >= step.analysis.maxDuration) {
    const message = `${stepLabel(st)}: no verdict after ${fmtMs(step.analysis.maxDuration)} (${why}); promote to go on, or abort`;
    emit(c, { phase: 'paused', pause: { kind: 'inconclusive', message } }, 'rollout.pause', message);
  }
  return false;
}

function unpause(c: Ctx): boolean {
  const st = c.st;
  const p = st.pause;
  if (p?.kind === 'step' && p.untilMs !== null && c.nowMs >= p.untilMs) {
    emit(c, { phase: 'progressing', pause: null, step: st.step + 1, stepStartedAtMs: c.nowMs }, 'rollout.resume', `${stepLabel(st)}: the pause ended`);
    return true;
  }
  if (p?.kind === 'capacity' && shortfall(c).length === 0) {
    emit(c, { phase: 'progressing', pause: null }, 'rollout.resume', `${waveLabel(st, st.wave)}: the candidate can now carry every region`);
    return true;
  }
  return false;
}

/** why the candidate cannot take each region of the wave at 100 % (empty: it can) */
function shortfall(c: Ctx): string[] {
  const st = c.st;
  const headroom = st.spec.rollback.headroom;
  const out: string[] = [];
  for (const r of st.waves[st.wave]) {
    const l = loadOf(c.regions, r);
    if (l === null || l.candidateReady < 1) {
      out.push(`${r} has no ready candidate replica`);
      continue;
    }
    if (l.inflight <= carry(l.candidateReady, l, headroom)) continue;
    if (l.limit === 0) {
      out.push(`${r}: its replicas may run nothing at once (perReplicaLimit 0)`);
      continue;
    }
    const lacks = Math.max(1, Math.ceil(l.inflight / (l.limit * headroom) - 1e-9) - l.candidateReady);
    out.push(`${r} lacks ${plural(lacks, 'ready candidate replica')} to carry ${l.inflight} in flight (${l.candidateReady} ready, ${l.limit} each at ${pct(headroom * 100)} headroom)`);
  }
  return out;
}

function completeWave(c: Ctx): boolean {
  const st = c.st;
  const short = shortfall(c);
  if (short.length > 0) {
    const message = `${waveLabel(st, st.wave)}: waiting for capacity before 100%: ${short.join('; ')}`;
    emit(c, { phase: 'paused', pause: { kind: 'capacity', message } }, 'rollout.pause', message);
    return false;
  }
  const weights = { ...st.weights };
  for (const r of st.waves[st.wave]) weights[r] = 100;
  if (st.wave + 1 >= st.waves.length) {
    emit(c, { phase: 'succeeded', pause: null, weights }, 'rollout.succeed', `every region at 100%: ${st.candidate} is the stable version of ${st.model}`);
    return false;
  }
  emit(c, { phase: 'pending', pause: null, weights, wave: st.wave + 1, step: 0, stepStartedAtMs: c.nowMs }, 'rollout.wave',
    `${waveLabel(st, st.wave)} at 100%; next ${waveLabel(st, st.wave + 1)}`);
  return true;
}

/**
 * The current wave's weights toward `want`, capped by readiness and capacity (a share within
 * `slack` over the cap is kept), raised by at most `rise` (0: never up, Infinity: free); the notes
 * say what each region got and why.
 */
function waveWeights(c: Ctx, want: number, rise: number, slack: number): { weights: Record<string, number>; notes: string[]; changed: boolean } {
  const st = c.st;
  const headroom = st.spec.rollback.headroom;
  const weights = { ...st.weights };
  const notes: string[] = [];
  let changed = false;
  for (const r of st.waves[st.wave]) {
    const l = loadOf(c.regions, r);
    const cur = st.weights[r] ?? 0;
    const share = capacityShare(l, headroom);
    const cap = capOf(share);
    let w = Math.max(0, Math.min(want, cap, cur + rise));
    if (w < cur && cur <= want && share > 0 && cur <= share * (1 + slack)) w = cur;
    weights[r] = w;
    if (w !== cur) changed = true;
    if (l === null || l.candidateReady < 1) notes.push(`${r} ${pct(w)} (no ready candidate replica)`);
    else if (w < want && cap < want) notes.push(`${r} ${pct(w)} (capped by capacity: ${plural(l.candidateReady, 'ready replica')} carry ${pct(cap)} of ${l.inflight} in flight)`);
    else notes.push(`${r} ${pct(w)}`);
  }
  return { weights, notes, changed };
}

/** Between steps: follow the capacity cap and readiness; a person's hold (manual, inconclusive) never raises. */
function reconcile(c: Ctx): void {
  const st = c.st;
  if (st.phase !== 'progressing' && st.phase !== 'paused') return;
  const held = st.phase === 'paused' && (st.pause === null || st.pause.kind === 'manual' || st.pause.kind === 'inconclusive');
  const { weights, notes, changed } = waveWeights(c, Math.min(desiredWeight(st), st.spec.maxShare), held ? 0 : Infinity, SLACK);
  if (changed) emit(c, { weights }, 'rollout.weight', `at ${stepLabel(st)}, ${pct(desiredWeight(st))} asked: ${notes.join('; ')}`);
}

/** Moves each region back toward 0 as far as stable can carry; at once where it can take it all. */
function rollBack(c: Ctx): void {
  const st = c.st;
  const { headroom, stepInterval } = st.spec.rollback;
  const due = c.nowMs - st.stepStartedAtMs >= stepInterval;
  const weights = { ...st.weights };
  const notes: string[] = [];
  let gradual = false;
  for (const [r, w] of Object.entries(st.weights)) {
    if (!(w > 0)) continue;
    const l = loadOf(c.regions, r);
    if (l === null) {
      weights[r] = 0;
      notes.push(`${r} ${pct(w)} → 0% (no replica left)`);
      continue;
    }
    const stableCap = carry(l.stableReady, l, headroom);
    if (l.inflight <= stableCap) {
      weights[r] = 0;
      notes.push(`${r} ${pct(w)} → 0% (stable carries it)`);
      continue;
    }
    if (!due) continue;
    // the candidate keeps what stable cannot take: share ≥ 1 − stableCap / inflight
    const keep = Math.min(w, Math.max(0, Math.ceil(100 * (1 - stableCap / l.inflight) - 1e-9)));
    if (keep >= w) continue;
    weights[r] = keep;
    gradual = true;
    notes.push(`${r} ${pct(w)} → ${pct(keep)} (stable's ${plural(l.stableReady, 'ready replica')} carry ${pct(100 - keep)} of ${l.inflight} in flight)`);
  }
  if (notes.length > 0) emit(c, gradual ? { weights, stepStartedAtMs: c.nowMs } : { weights }, 'rollout.weight', `rolling back: ${notes.join('; ')}`);
  if (Object.values(c.st.weights).every((w) => !(w > 0))) {
    if (c.st.failure !== null) emit(c, { phase: 'rolled_back' }, 'rollout.rolled_back', `every region back on ${st.stable} after: ${c.st.failure.reason}`);
    else emit(c, { phase: 'aborted' }, 'rollout.aborted', `every region back on ${st.stable}`);
  }
}

// ── a person's hand ────────────────────────────────────────────────────────────

const ENDED: Readonly<Record<string, string>> = { succeeded: 'already succeeded', rolled_back: 'already rolled back', aborted: 'already been aborted' };

/** The message of a manual pause: the operator's words, or "paused by hand" when they gave none. */
const pauseMessage = (c: RolloutCommand): string => {
  const r = c.kind === 'pause' ? c.reason : undefined;
  return typeof r === 'string' && r.trim() !== '' ? r : 'paused by hand';
};

/** One command, one transition; the moves it calls for (a rollback's ramp) happen at the driver's next tick. */
export function applyCommand(s: RolloutState, c: RolloutCommand, nowMs: number, regions: readonly RegionView[]): Result<Step> {
  const id = `rollout ${s.id}`;
  if (TERMINAL_PHASES.has(s.phase)) return conflict(`${id} has ${ENDED[s.phase]}; start a new rollout`);
  const kind = (c as { kind?: unknown } | null)?.kind;
  const one = (patch: Partial<RolloutState>, action: string, reason: string): Result<Step> => {
    const after: RolloutState = { ...s, ...patch, updatedAtMs: nowMs };
    return { ok: true, value: { state: after, transitions: [{ action, reason, after }] } };
  };
  const step = s.spec.steps[s.step];
  const atGate = step !== undefined && 'analysis' in step;
  const pauseKind = s.pause?.kind ?? 'manual';
  switch (kind) {
    case 'pause':
      if (s.phase === 'pending' || s.phase === 'progressing') {
        const message = pauseMessage(c);
        return one({ phase: 'paused', pause: { kind: 'manual', message } }, 'rollout.pause', message);
      }
      if (s.phase === 'paused') return conflict(`${id} is already paused (${s.pause?.message ?? 'by hand'})`);
      return conflict(`${id} is rolling back; it cannot be paused`);
    case 'resume':
      if (s.phase !== 'paused') return conflict(`${id} is not paused (it is ${s.phase.replace('_', ' ')})`);
      if (pauseKind === 'step' || pauseKind === 'inconclusive') {
        return one({ phase: 'progressing', pause: null, step: s.step + 1, stepStartedAtMs: nowMs }, 'rollout.resume', `resumed by hand past ${stepLabel(s)}`);
      }
      if (pauseKind === 'capacity') return one({ phase: 'progressing', pause: null }, 'rollout.resume', 'resumed by hand: retrying the wave at 100%');
      // a wave that had not begun waits for its candidate again; a gate starts its clock afresh
      if (s.step === 0) return one({ phase: 'pending', pause: null, stepStartedAtMs: nowMs }, 'rollout.resume', `resumed by hand; ${waveLabel(s, s.wave)} begins when the candidate is ready`);
      return one({ phase: 'progressing', pause: null, stepStartedAtMs: nowMs }, 'rollout.resume', `resumed by hand at ${stepLabel(s)}`);
    case 'promote': {
      if (s.phase === 'rolling_back') return conflict(`${id} is rolling back; start a new rollout to try the candidate again`);
      if ((c as { full?: unknown }).full === true) {
        const all = s.waves.flat();
        for (const r of all) {
          if ((loadOf(regions, r)?.candidateReady ?? 0) < 1) return invalid(`promote: region "${r}" has no ready replica of ${s.candidate}; promote when it has one, or roll out by waves`);
        }
        const weights = { ...s.weights };
        for (const r of all) weights[r] = 100;
        return one({ phase: 'succeeded', pause: null, weights, wave: s.waves.length - 1, step: s.spec.steps.length }, 'rollout.promote',
          `promoted in full by hand: every region at 100%; ${s.candidate} is the stable version of ${s.model}`);
      }
      const past = s.phase === 'paused' ? pauseKind === 'step' || pauseKind === 'inconclusive' || (pauseKind === 'manual' && atGate) : s.phase === 'progressing' && atGate;
      if (past) return one({ phase: 'progressing', pause: null, step: s.step + 1, stepStartedAtMs: nowMs }, 'rollout.promote', `promoted by hand past ${stepLabel(s)}`);
      if (s.phase === 'pending') return conflict(`${id} is waiting for ready candidate replicas in ${s.waves[s.wave].join(', ')}; there is no step to promote past`);
      if (pauseKind === 'capacity') return conflict(`${id} is waiting for candidate capacity (${s.pause?.message}); add replicas, or promote in full`);
      return conflict(`${id} is not at a pause or an analysis step; there is nothing to promote past`);
    }
    case 'abort':
      if (s.phase === 'rolling_back') return conflict(`${id} is already rolling back`);
      return one({ phase: 'rolling_back', pause: null, failure: null, stepStartedAtMs: nowMs - s.spec.rollback.stepInterval }, 'rollout.abort', 'aborted by hand');
    default:
      return invalid('command: kind must be pause, resume, promote or abort');
  }
}
