import {
  applyShares, initialState, intervalThresholdAnalysis, mannWhitneyAnalysis, regionViews, RolloutDriver, sequentialAnalysis, settleShares,
  type Analysis, type AnalysisSummary, type CallSample, type FleetView, type RegionView, type ReplicaStates, type RolloutSpec, type RolloutState,
  type RolloutTransition, type Side, type Verdict, type WeightSink,
} from '../control/rollouts/index.js';
import type { Clock, Timers } from '../time/index.js';
import type { SimReplica } from './replica.js';
import { seededRandom } from './workload/index.js';

// A rollout in the simulator: the gateway's own driver, machine and analysis on the agenda's
// ports. The fleet it reads and the weights it sets are the simulated replicas; every call a
// replica ends becomes a CallSample handed to the driver, as the live gateway's proxy does. Other
// analyses may watch the same samples without deciding anything (`shadow`), so methods can be
// judged on the very same runs.

/** Analysis methods a run can judge by; the first decides (the driver's), the others only watch. */
export const METHODS = ['sequential', 'interval-threshold', 'mann-whitney'] as const;
export type Method = (typeof METHODS)[number];

export interface SimRolloutInput {
  /** virtual seconds at which the rollout is started */
  readonly atS: number;
  readonly spec: RolloutSpec;
  /** the driver's tick */
  readonly tickS: number;
  /** the candidate serves beside stable until the start (warm caches); false: it idles until then */
  readonly warm: boolean;
  /** analyses fed the same samples and judged each tick, deciding nothing: their first failure is recorded */
  readonly shadow: readonly Method[];
  /** what one replica may run at once (the admission policy's maxInflightPerReplica) */
  readonly perReplicaLimit: number;
  /** seeds the driver's and the analysis's draws */
  readonly seed: number;
}

/** A transition as the run's result keeps it. */
export interface RolloutStep {
  readonly atS: number;
  readonly action: string;
  readonly reason: string;
  readonly phase: string;
  readonly weights: Readonly<Record<string, number>>;
}

/** When an analysis first said `fail`, and what the candidate had served by then (counted from the rollout's start). */
export interface Detection {
  readonly method: Method;
  /** virtual seconds; null: it never failed */
  readonly atS: number | null;
  readonly metric: string | null;
  readonly reason: string | null;
  readonly candidateCalls: number;
  readonly candidateFailures: number;
  readonly stableCalls: number;
}

export interface RolloutRecord {
  readonly model: string;
  readonly stable: string;
  readonly candidate: string;
  readonly startS: number;
  /** set when the rollout could not start (the spec did not fit the fleet) */
  readonly error: string | null;
  /** audited transitions, in order */
  readonly transitions: readonly RolloutStep[];
  /** the phase at the end of the run */
  readonly phase: string;
  /** the deciding analysis first, then the shadows */
  readonly detections: readonly Detection[];
  /** calls each side ended from the rollout's start to the end of the run */
  readonly calls: { readonly stable: number; readonly candidate: number; readonly stableFailures: number; readonly candidateFailures: number };
  /** the deciding analysis's last summary */
  readonly evidence: AnalysisSummary | null;
}

/** A replica's capacity for the driver when the run has no admission (admission's default maxInflightPerReplica). */
export const DEFAULT_PER_REPLICA_LIMIT = 96;

/** Nominal list prices (USD per million tokens) for a call's cost: the simulator has no price sheet, only the ratio matters. */
const PRICE = { input: 0.2, cached: 0.05, output: 0.8 };

export function callCost(promptTokens: number, cachedTokens: number, outputTokens: number): number {
  return ((promptTokens - cachedTokens) * PRICE.input + cachedTokens * PRICE.cached + outputTokens * PRICE.output) / 1e6;
}

/** Watches the samples a method's analysis sees and records its first failure. */
class Watched {
  readonly method: Method;
  readonly analysis: Analysis;
  detection: Detection | null = null;

  constructor(method: Method, analysis: Analysis) {
    this.method = method;
    this.analysis = analysis;
  }
}

/** The driver's analysis: the deciding one, with the shadows fed alongside and judged when it is. */
class Judged implements Analysis {
  readonly #all: readonly Watched[];
  readonly #counts: SimRollout;
  readonly #nowS: () => number;

  constructor(all: readonly Watched[], counts: SimRollout, nowS: () => number) {
    this.#all = all;
    this.#counts = counts;
    this.#nowS = nowS;
  }

  observe(side: Side, s: CallSample): void {
    this.#counts.count(side, s.failed);
    for (const w of this.#all) w.analysis.observe(side, s);
  }

  mark(nowMs: number): void {
    for (const w of this.#all) w.analysis.mark(nowMs);
  }

  shift(region: string, nowMs: number): void {
    for (const w of this.#all) w.analysis.shift(region, nowMs);
  }

  verdict(nowMs: number): Verdict {
    let first: Verdict | null = null;
    for (const w of this.#all) {
      const v = w.analysis.verdict(nowMs);
      first ??= v;
      if (v.kind === 'fail' && w.detection === null) w.detection = this.#counts.detection(w.method, this.#nowS(), v.metric, v.reason);
    }
    return first!;
  }

  summary(): AnalysisSummary {
    return this.#all[0].analysis.summary();
  }
}

export function analysisOf(method: Method, spec: RolloutSpec, seed: number): Analysis {
  switch (method) {
    case 'sequential': return sequentialAnalysis(spec.analysis, seededRandom(seed ^ 0x5e9));
    case 'interval-threshold': return intervalThresholdAnalysis({});
    case 'mann-whitney': return mannWhitneyAnalysis({});
  }
}

export interface SimRolloutHooks {
  /** the agenda's ports, and its time in seconds */
  readonly clock: Clock & Timers & { readonly nowS: number };
  /** a replica went in or out of rotation (its weight moved to or from 0): admission recounts */
  rotation(r: SimReplica): void;
}

/** One rollout over a simulated fleet: started at `atS`, run by the driver on the agenda. */
export class SimRollout {
  readonly #in: SimRolloutInput;
  readonly #replicas: readonly SimReplica[];
  readonly #hooks: SimRolloutHooks;
  readonly #driver: RolloutDriver;
  readonly #model: string;
  readonly #stable: string;
  readonly #candidate: string;
  readonly #steps: RolloutStep[] = [];
  #watched: Watched[] = [];
  #phase = 'not started';
  #error: string | null = null;
  #evidence: AnalysisSummary | null = null;
  readonly #calls = { stable: 0, candidate: 0, stableFailures: 0, candidateFailures: 0 };

  constructor(input: SimRolloutInput, replicas: readonly SimReplica[], hooks: SimRolloutHooks) {
    this.#in = input;
    this.#model = input.spec.model;
    this.#replicas = replicas.filter((r) => r.spec.model === this.#model);
    this.#hooks = hooks;
    this.#candidate = input.spec.candidate;
    this.#stable = input.spec.stable ?? this.#replicas.find((r) => r.version !== this.#candidate)?.version ?? this.#model;
    // before the rollout only the stable version serves: the candidate's replicas idle, their caches cold
    if (!input.warm) for (const r of this.#replicas) if (r.version !== this.#stable) r.versionWeight = 0;
    const clock = hooks.clock;
    this.#driver = new RolloutDriver({
      ports: { clock, timers: clock, rng: seededRandom(input.seed ^ 0x7011) },
      view: this.#view(),
      weights: this.#sink(),
      analysisFor: (state) => this.#analysisFor(state),
      persist: (t) => this.#persist(t),
      tickMs: input.tickS * 1000,
      actor: 'controller',
    });
  }

  /** Arms the start on the agenda. */
  arm(): void {
    this.#hooks.clock.after(this.#in.atS * 1000, SimRollout.#begin, this);
  }

  static #begin(self: SimRollout): void {
    self.#start();
  }

  #start(): void {
    const clock = this.#hooks.clock;
    const nowMs = clock.nowMs();
    const started = initialState(this.#in.spec, {
      id: 'rol_sim', nowMs, actor: 'scenario', reason: 'the scenario starts it', stable: this.#stable,
      regions: this.#view().regions(this.#model, this.#stable, this.#candidate),
    });
    if (!started.ok) {
      this.#error = started.error.message;
      return;
    }
    this.#record(started.value, 'rollout.start', 'the scenario starts it');
    this.#driver.adopt(started.value);
    this.#driver.start();
  }

  /** A call `r` ended (not a 4xx, nor one the gateway cancelled): the driver routes it to its side. */
  observe(r: SimReplica, s: CallSample): void {
    if (r.spec.model !== this.#model) return;
    this.#driver.observe(this.#model, r.version, s);
  }

  count(side: Side, failed: boolean): void {
    const c = this.#calls;
    if (side === 'candidate') {
      c.candidate++;
      if (failed) c.candidateFailures++;
    } else {
      c.stable++;
      if (failed) c.stableFailures++;
    }
  }

  detection(method: Method, atS: number, metric: string, reason: string): Detection {
    const c = this.#calls;
    return { method, atS, metric, reason, candidateCalls: c.candidate, candidateFailures: c.candidateFailures, stableCalls: c.stable };
  }

  record(): RolloutRecord {
    const detections = this.#methods().map((m) => this.#watched.find((w) => w.method === m)?.detection
      ?? { method: m, atS: null, metric: null, reason: null, candidateCalls: this.#calls.candidate, candidateFailures: this.#calls.candidateFailures, stableCalls: this.#calls.stable });
    return {
      model: this.#model, stable: this.#stable, candidate: this.#candidate, startS: this.#in.atS, error: this.#error,
      transitions: this.#steps, phase: this.#phase, detections, calls: { ...this.#calls },
      evidence: this.#watched[0]?.analysis.summary() ?? this.#evidence,
    };
  }

  /** the deciding analysis first, then the shadows */
  #methods(): Method[] {
    return ['sequential', ...this.#in.shadow.filter((m) => m !== 'sequential')];
  }

  #analysisFor(state: RolloutState): Analysis {
    this.#watched = this.#methods().map((m) => new Watched(m, analysisOf(m, state.spec, this.#in.seed)));
    return new Judged(this.#watched, this, () => this.#hooks.clock.nowS);
  }

  #persist(t: RolloutTransition): void {
    this.#phase = t.after.phase;
    if (t.after.evidence !== null) this.#evidence = t.after.evidence;
    if (t.audited) this.#record(t.after, t.action, t.reason);
  }

  #record(s: RolloutState, action: string, reason: string): void {
    this.#phase = s.phase;
    this.#steps.push({ atS: this.#hooks.clock.nowS, action, reason, phase: s.phase, weights: { ...s.weights } });
  }

  #view(): FleetView {
    const replicas = this.#replicas;
    const limit = this.#in.perReplicaLimit;
    return { regions: (model, stable, candidate) => regionViews(replicas.filter((r) => r.spec.model === model), stable, candidate, limit, SIM_STATES) };
  }

  #sink(): WeightSink {
    const set = (r: SimReplica, w: number): void => {
      if (w === r.versionWeight) return;
      const was = r.versionWeight > 0;
      r.versionWeight = w;
      if (was !== w > 0) this.#hooks.rotation(r);
    };
    const of = (model: string) => this.#replicas.filter((r) => r.spec.model === model);
    return {
      // the gateway's rule: the candidate's share to its ready replicas, the rest to stable
      apply: (model, stable, candidate, weights) => applyShares(of(model), stable, candidate, weights, SIM_STATES.ready, set),
      settle: (model, stable) => settleShares(of(model), stable, set),
    };
  }
}

/** A simulated replica's states: it serves when its process is up and the gateway has it in rotation. */
const SIM_STATES: ReplicaStates<SimReplica> = {
  inService: (r) => r.up && r.healthy && r.ejectedUntilS === 0,
  ready: (r) => r.up && r.healthy && r.ejectedUntilS === 0,
  ejected: (r) => r.ejectedUntilS > 0,
};
