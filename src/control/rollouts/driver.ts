import type { TimePorts, TimerHandle } from '../../time/index.js';
import { advance } from './machine.js';
import { TERMINAL_PHASES, type Analysis, type AnalysisSummary, type CallSample, type FleetView, type RolloutState, type RolloutTransition, type WeightSink } from './types.js';

// The loop around the machine, on the time ports: each tick reads the fleet and the analysis,
// advances every held rollout, applies its weights and persists what changed. The gateway's leader
// and the simulator run this same class, so what the simulator measures is what production does.

export interface RolloutDriverOptions {
  /** clock (nowMs for state times, monoMs for the analysis), timers */
  readonly ports: TimePorts;
  readonly view: FleetView;
  readonly weights: WeightSink;
  /** a fresh one when a rollout is adopted */
  analysisFor(state: RolloutState): Analysis;
  /** each change, in order (the gateway writes it to the store, the simulator records it) */
  persist(t: RolloutTransition): void;
  readonly tickMs: number;
  /** who the driver's own transitions name, e.g. `controller` */
  readonly actor: string;
  /** evidence-only refreshes are persisted at most this often (unaudited), default 10 s */
  readonly evidenceEveryMs?: number;
  /** a throw in an analysis, the view or the sink: the rollout keeps its state and the loop goes on */
  onError?(err: unknown, id: string): void;
}

interface Held {
  state: RolloutState;
  readonly analysis: Analysis;
  /** the latest state handed to persist (or adopted) */
  persisted: RolloutState;
  /** the analysis gate last marked: wave/step/started, null when not at one */
  gate: string | null;
  evidenceAtMs: number;
}

const tickOf = (d: RolloutDriver): void => d.tick();

/** tells the analysis which regions' shares just changed (calls already running there were drawn under the old ones) */
function shifted(a: Analysis, before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>, monoMs: number): void {
  if (before === after) return;
  for (const r of Object.keys(after)) if ((before[r] ?? 0) !== after[r]) a.shift(r, monoMs);
  for (const r of Object.keys(before)) if (!(r in after) && before[r] !== 0) a.shift(r, monoMs);
}

/** the gate a state is judging, or null: a new key means the analysis must be marked */
function gateOf(s: RolloutState): string | null {
  const step = s.spec.steps[s.step];
  return s.phase === 'progressing' && step !== undefined && 'analysis' in step ? `${s.wave}/${s.step}/${s.stepStartedAtMs}` : null;
}

const sameEvidence = (a: AnalysisSummary | null, b: AnalysisSummary | null): boolean => JSON.stringify(a) === JSON.stringify(b);

export class RolloutDriver {
  readonly #o: RolloutDriverOptions;
  readonly #evidenceEveryMs: number;
  readonly #byId = new Map<string, Held>();
  /** one rollout per model: the lookup `observe` makes on every call */
  readonly #byModel = new Map<string, Held>();
  #timer: TimerHandle | null = null;

  constructor(o: RolloutDriverOptions) {
    if (!(Number.isFinite(o.tickMs) && o.tickMs > 0)) throw new RangeError(`tickMs must be a positive number of ms, got ${o.tickMs}`);
    const every = o.evidenceEveryMs ?? 10_000;
    if (!(Number.isFinite(every) && every >= 0)) throw new RangeError(`evidenceEveryMs must be a number of ms ≥ 0, got ${every}`);
    this.#o = o;
    this.#evidenceEveryMs = every;
  }

  /** Decide this rollout from now on (replaces the held state of the same id: a reload, a manual command). */
  adopt(state: RolloutState): void {
    const prior = this.#byId.get(state.id) ?? null;
    const other = this.#byModel.get(state.model);
    if (other !== undefined && other.state.id !== state.id) this.drop(other.state.id);
    if (TERMINAL_PHASES.has(state.phase)) {
      this.drop(state.id);
      this.#guard(state.id, () => this.#settle(state));
      return;
    }
    this.#guard(state.id, () => {
      // the same rollout keeps its evidence across a command; a new one (or a reload) starts afresh
      const analysis = prior?.analysis ?? this.#o.analysisFor(state);
      const h: Held = { state, analysis, persisted: state, gate: prior?.gate ?? null, evidenceAtMs: this.#o.ports.clock.nowMs() };
      this.#byId.set(state.id, h);
      this.#byModel.set(state.model, h);
      this.#mark(h);
      this.#o.weights.apply(state.model, state.stable, state.candidate, state.weights);
      if (prior !== null) shifted(analysis, prior.state.weights, state.weights, this.#o.ports.clock.monoMs());
    });
  }

  drop(id: string): void {
    const h = this.#byId.get(id);
    if (h === undefined) return;
    this.#byId.delete(id);
    if (this.#byModel.get(h.state.model) === h) this.#byModel.delete(h.state.model);
  }

  /** Lost the lead: decide nothing (the weights stay as set until the next leader's). */
  clear(): void {
    this.#byId.clear();
    this.#byModel.clear();
  }

  /** fast: is a rollout of this model being judged (the gateway skips sampling otherwise) */
  watching(model: string): boolean {
    return this.#byModel.has(model);
  }

  /** a call served by `version` of `model`: routed to that rollout's analysis as stable or candidate; others ignored */
  observe(model: string, version: string, s: CallSample): void {
    const h = this.#byModel.get(model);
    if (h === undefined) return;
    const side = version === h.state.candidate ? 'candidate' : version === h.state.stable ? 'stable' : null;
    if (side === null) return;
    try {
      h.analysis.observe(side, s);
    } catch (err) {
      this.#o.onError?.(err, h.state.id);
    }
  }

  /** synchronous: verdict → advance → apply weights → persist, each rollout on its own */
  tick(): void {
    if (this.#byId.size === 0) return;
    const nowMs = this.#o.ports.clock.nowMs();
    const monoMs = this.#o.ports.clock.monoMs();
    for (const h of [...this.#byId.values()]) this.#guard(h.state.id, () => this.#tickOne(h, nowMs, monoMs));
  }

  start(): void {
    if (this.#timer === null) this.#timer = this.#o.ports.timers.every(this.#o.tickMs, tickOf, this);
  }

  stop(): void {
    this.#o.ports.timers.cancel(this.#timer);
    this.#timer = null;
  }

  states(): readonly RolloutState[] {
    return [...this.#byId.values()].map((h) => h.state);
  }

  analysis(id: string): Analysis | null {
    return this.#byId.get(id)?.analysis ?? null;
  }

  #tickOne(h: Held, nowMs: number, monoMs: number): void {
    const s = h.state;
    const regions = this.#o.view.regions(s.model, s.stable, s.candidate);
    const verdict = h.analysis.verdict(monoMs);
    const evidence = h.analysis.summary();
    const step = advance({ ...s, evidence }, { nowMs, regions, verdict, dryRun: s.spec.analysis.dryRun });
    const next = step.state;
    const ended = TERMINAL_PHASES.has(next.phase);
    // the sink first: if it throws, nothing is committed and the next tick decides again
    if (ended) this.#settle(next);
    else this.#o.weights.apply(next.model, next.stable, next.candidate, next.weights);
    shifted(h.analysis, s.weights, next.weights, monoMs);
    h.state = next;
    if (ended) this.drop(next.id);
    else this.#mark(h, monoMs);
    if (step.transitions.length > 0) {
      let before = s;
      for (const t of step.transitions) {
        this.#o.persist({ actor: this.#o.actor, action: t.action, reason: t.reason, before, after: t.after, audited: true });
        before = t.after;
      }
      h.persisted = next;
      h.evidenceAtMs = nowMs;
      return;
    }
    if (nowMs - h.evidenceAtMs < this.#evidenceEveryMs || sameEvidence(h.persisted.evidence, evidence)) return;
    const after: RolloutState = { ...next, updatedAtMs: nowMs };
    this.#o.persist({ actor: this.#o.actor, action: 'rollout.evidence', reason: 'evidence refreshed', before: h.persisted, after, audited: false });
    h.state = after;
    h.persisted = after;
    h.evidenceAtMs = nowMs;
  }

  /** a new analysis gate begins: its verdict counts evidence from now */
  #mark(h: Held, monoMs = this.#o.ports.clock.monoMs()): void {
    const gate = gateOf(h.state);
    if (gate !== null && gate !== h.gate) h.analysis.mark(monoMs);
    h.gate = gate;
  }

  #settle(s: RolloutState): void {
    this.#o.weights.settle(s.model, s.phase === 'succeeded' ? s.candidate : s.stable);
  }

  #guard(id: string, f: () => void): void {
    try {
      f();
    } catch (err) {
      this.#o.onError?.(err, id);
    }
  }
}
