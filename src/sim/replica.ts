import { createReplicaModel, type HardwareProfile, type HashedRequest, type ReplicaModel, type ReplicaOptions, type SeqView, type StepResult } from '../engine/index.js';
import type { Endpoint, ScrapedLoad } from '../routing/index.js';

// One simulated replica: the engine model (the same one simengine serves in real time), stepped on
// the virtual clock. Between events it takes decode runs instead of single steps; an arrival in
// the middle of a run cuts it at the step in progress, exactly where a single-stepping replica
// would first see the newcomer. It is also the gateway's view of the replica (an Endpoint).

/** What the simulator tracks per request on a replica; the engine holds it directly. */
export interface SimRequestLike extends HashedRequest {
  seq: SeqView<SimRequestLike> | null;
}

export interface SimReplicaSpec {
  readonly id: string;
  readonly region: string;
  readonly model: string;
  /** the model version it serves; default the model id */
  readonly version?: string;
  readonly profile: HardwareProfile;
  readonly engine: ReplicaOptions;
  readonly costPerGpuHour: number;
}

const MAX_RUN = 1 << 20;

/**
 * A replica's place in its life. A fixed replica is always `ready` (a crash takes its process
 * down, not its place). An autoscaled slot is `off` (not provisioned), `starting` (asked for,
 * charged, loading), `booted` (its engine is up and empty, the gateway's next health probe puts
 * it in rotation), `ready`, or `draining` (out of rotation, finishing what it holds).
 */
export type SlotPhase = 'off' | 'starting' | 'booted' | 'ready' | 'draining';

export class SimReplica implements Endpoint {
  readonly spec: SimReplicaSpec;
  readonly index: number;
  readonly slot: number;
  readonly region: string;
  readonly version: string;
  /** its version's share of the model's traffic where it is (a rollout's weight); 0 = not routable */
  versionWeight = 1;
  model: ReplicaModel<SimRequestLike>;
  /** the gateway's view: requests sent and not finished (fleet/accounting.ts keeps these three) */
  inflight = 0;
  inflightTokens = 0;
  pendingPrefill = 0;
  /** the gateway's view: in rotation */
  healthy = true;
  scraped: ScrapedLoad | null = null;
  /** the process is running (false while crashed) */
  up = true;
  /** step durations are multiplied by this (a slow-replica fault) */
  slowFactor = 1;
  /** errors fault: this share of calls is answered with a 500 */
  errorRate = 0;
  /** long-outputs fault: outputs this many times as long */
  outputFactor = 1;
  /** ttft fault: steps that compute prompt tokens take this many times longer */
  prefillFactor = 1;
  /** stale-telemetry fault: scrapes are not refreshed */
  telemetryFrozen = false;
  /** a scrape came during a step: it is answered when the step ends */
  scrapeDue = false;
  /** bumped whenever the pending step-end event no longer stands */
  stamp = 0;
  /** requests that reached the replica during a step; they join at the next step, as in vLLM */
  readonly inbox: SimRequestLike[] = [];
  /** every request the replica holds (inbox and engine), for a crash */
  readonly holding = new Set<SimRequestLike>();
  /** requests the gateway cancelled (a hedge's loser): dropped from the engine at the next step boundary, as vLLM aborts between steps */
  readonly aborts: SimRequestLike[] = [];
  // the step or run in progress: from startS, `steps` steps (0 = a single step, result pending)
  busy = false;
  runStartS = 0;
  runSteps = 0;
  /** the slow factor the run was planned with (a fault may change it before the run ends) */
  runSlow = 1;
  endS = 0;
  pending: StepResult<SimRequestLike> | null = null;
  // accounting
  busyS = 0;
  upSinceS = 0;
  upS = 0;
  requests = 0;
  // counters of engines lost to crashes, so a restart does not erase them
  readonly lost = { promptTokens: 0, generationTokens: 0, prefixQueries: 0, prefixHits: 0, preemptions: 0 };

  // autoscaling: the slot's life and the provisioned time that is charged for it
  phase: SlotPhase = 'ready';
  /** virtual s it entered its phase (`ready`: when it entered rotation) */
  phaseSinceS = 0;
  /** bumped when a pending start-up no longer stands (the start was cancelled) */
  life = 0;
  /** virtual s of its newest telemetry (a scrape); null: none since its engine came up */
  reportedAtS: number | null = null;
  /** an autoscaled slot: its upTime is the time provisioned (asked for → gone), not the time its process ran */
  readonly autoscaled: boolean;
  provisionedS = 0;
  /** since when it is provisioned; NaN when it is not */
  provisionedSinceS = Number.NaN;

  constructor(spec: SimReplicaSpec, index: number, autoscaled = false) {
    this.spec = spec;
    this.index = index;
    this.slot = index;
    this.region = spec.region;
    this.version = spec.version ?? spec.model;
    this.model = createReplicaModel<SimRequestLike>(spec.profile, spec.engine);
    this.autoscaled = autoscaled;
  }

  /** Its process should be running: not off, not still loading (a crash fault's end restarts only these). */
  get launched(): boolean {
    return this.phase === 'ready' || this.phase === 'draining' || this.phase === 'booted';
  }

  /** An off slot is asked for: charged from now, loading, taking nothing. */
  provision(nowS: number): void {
    this.phase = 'starting';
    this.phaseSinceS = nowS;
    this.provisionedSinceS = nowS;
    this.life++;
  }

  /** Start-up over: its engine (empty, a cold prefix cache) is up; the gateway's next probe puts it in rotation. */
  boot(nowS: number): void {
    this.phase = 'booted';
    this.up = true;
    this.upSinceS = nowS;
    this.healthy = false;
    this.reportedAtS = null;
    this.scraped = null;
  }

  /** The health probe found it: in rotation from now. */
  admit(nowS: number): void {
    this.phase = 'ready';
    this.phaseSinceS = nowS;
  }

  /** Out of rotation from now; what it holds runs to its end. */
  startDrain(nowS: number): void {
    this.phase = 'draining';
    this.phaseSinceS = nowS;
  }

  /**
   * Gone: a start cancelled, or a drain finished (nothing the gateway sent is in flight; what the
   * engine still holds is only calls the gateway cancelled). Its charge stops; the engine is
   * replaced by an empty one, its counters kept.
   */
  retire(nowS: number): void {
    this.#halt(nowS);
    // a crash already kept the counters of the engine it lost
    if (this.up) {
      this.#keepCounters();
      this.upS += nowS - this.upSinceS;
    }
    this.model = createReplicaModel<SimRequestLike>(this.spec.profile, this.spec.engine);
    for (const a of this.holding) a.seq = null;
    this.#empty();
    this.life++;
    this.up = false;
    this.healthy = false;
    this.scraped = null;
    this.scrapeDue = false;
    this.reportedAtS = null;
    this.phase = 'off';
    this.phaseSinceS = nowS;
    if (this.provisionedSinceS === this.provisionedSinceS) this.provisionedS += nowS - this.provisionedSinceS;
    this.provisionedSinceS = Number.NaN;
  }

  /**
   * Plan the next step or run from `nowS` (the replica has work and is not busy). Returns its end.
   * With `coalesce` a stretch of pure decode becomes one run.
   */
  plan(nowS: number, coalesce: boolean): number {
    const m = this.model;
    const k = coalesce ? m.decodeRun(MAX_RUN) : 0;
    this.busy = true;
    this.runStartS = nowS;
    this.runSlow = this.slowFactor;
    if (k >= 2) {
      this.runSteps = k;
      this.pending = null;
      this.endS = this.#boundary(k);
    } else {
      this.runSteps = 0;
      const r = m.step();
      this.pending = r;
      const f = r.prefillTokens > 0 ? this.slowFactor * this.prefillFactor : this.slowFactor;
      this.busyS += r.durationS * f;
      this.endS = nowS + r.durationS * f;
    }
    this.stamp++;
    return this.endS;
  }

  /**
   * Cut a run at the first step boundary after `nowS` (the step in progress finishes with the old
   * batch). Returns the new end when the run was shortened, or -1 when nothing changed.
   */
  cut(nowS: number): number {
    if (!this.busy || this.runSteps === 0 || nowS >= this.endS) return -1;
    const m = this.model;
    let t = this.runStartS;
    let j = 0;
    while (j < this.runSteps) {
      t += m.decodeStepSeconds(j) * this.runSlow;
      j++;
      if (t > nowS) break;
    }
    if (j >= this.runSteps) return -1;
    this.runSteps = j;
    this.endS = t;
    this.stamp++;
    return t;
  }

  /** The step or run that just ended: its result, to be read before the next plan. */
  finish(): StepResult<SimRequestLike> {
    this.busy = false;
    if (this.runSteps === 0) {
      const r = this.pending!;
      this.pending = null;
      return r;
    }
    // step by step, as single steps add up, so both ways give the very same figure
    for (let i = 0; i < this.runSteps; i++) this.busyS += this.model.decodeStepSeconds(i) * this.runSlow;
    const r = this.model.advanceDecode(this.runSteps);
    this.runSteps = 0;
    return r;
  }

  /** A crash: the engine and everything on it is gone; returns what it held. */
  crash(nowS: number): SimRequestLike[] {
    this.#halt(nowS);
    const held = [...this.holding];
    this.#keepCounters();
    this.#empty();
    this.up = false;
    this.upS += nowS - this.upSinceS;
    // the in-flight counts are the gateway's: it releases each call as it hears of its end
    this.scraped = null;
    this.scrapeDue = false;
    return held;
  }

  /** Back from a crash with an empty engine (a cold prefix cache). */
  restart(nowS: number): void {
    this.model = createReplicaModel<SimRequestLike>(this.spec.profile, this.spec.engine);
    this.up = true;
    this.upSinceS = nowS;
  }

  /** ejected by outlier detection until this virtual time (s); 0 = not ejected */
  ejectedUntilS = 0;
  ejections = 0;

  get routable(): boolean {
    return this.healthy && this.ejectedUntilS === 0 && this.versionWeight > 0 && this.phase === 'ready';
  }

  scrape(nowS: number): void {
    this.reportedAtS = nowS;
    const s = this.model.stats();
    this.scraped = { waiting: s.waiting + this.inbox.length, running: s.running, kvUsage: s.kvUsage, atS: nowS, inflightAtScrape: this.inflight };
  }

  /** Time provisioned up to `nowS`: an autoscaled slot's from each ask to its end, a fixed replica's while its process ran. */
  upTime(nowS: number): number {
    if (this.autoscaled) return this.provisionedS + (this.provisionedSinceS === this.provisionedSinceS ? nowS - this.provisionedSinceS : 0);
    return this.upS + (this.up ? nowS - this.upSinceS : 0);
  }

  counters(): { promptTokens: number; generationTokens: number; prefixQueries: number; prefixHits: number; preemptions: number } {
    const s = this.model.stats();
    const l = this.lost;
    return {
      promptTokens: l.promptTokens + s.promptTokens,
      generationTokens: l.generationTokens + s.generationTokens,
      prefixQueries: l.prefixQueries + s.prefixCacheQueries,
      // tokens not recomputed: found in the GPU's prefix cache or loaded from the host tier
      prefixHits: l.prefixHits + s.prefixCacheHits + s.offloadHits,
      preemptions: l.preemptions + s.preemptions,
    };
  }

  /**
   * The engine stops: the steps begun before now are computed (a single step counts at its start),
   * so a run and single steps leave the same counters.
   */
  #halt(nowS: number): void {
    if (this.busy && this.runSteps > 0) {
      this.cut(nowS);
      this.finish();
    }
  }

  /** Nothing held, nothing pending: the step-end event still armed no longer stands. */
  #empty(): void {
    this.holding.clear();
    this.inbox.length = 0;
    this.aborts.length = 0;
    this.busy = false;
    this.pending = null;
    this.runSteps = 0;
    this.stamp++;
  }

  #keepCounters(): void {
    const c = this.counters();
    Object.assign(this.lost, c);
  }

  #boundary(k: number): number {
    const m = this.model;
    let t = this.runStartS;
    for (let i = 0; i < k; i++) t += m.decodeStepSeconds(i) * this.runSlow;
    return t;
  }
}
