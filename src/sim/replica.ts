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

  constructor(spec: SimReplicaSpec, index: number) {
    this.spec = spec;
    this.index = index;
    this.slot = index;
    this.region = spec.region;
    this.version = spec.version ?? spec.model;
    this.model = createReplicaModel<SimRequestLike>(spec.profile, spec.engine);
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
    // the engine computed the steps begun before the crash (a single step counts at its start):
    // count them too, so a run and single steps leave the same counters
    if (this.busy && this.runSteps > 0) {
      this.cut(nowS);
      this.finish();
    }
    const held = [...this.holding];
    this.#keepCounters();
    this.holding.clear();
    this.inbox.length = 0;
    this.aborts.length = 0;
    this.busy = false;
    this.pending = null;
    this.runSteps = 0;
    this.stamp++;
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
    return this.healthy && this.ejectedUntilS === 0 && this.versionWeight > 0;
  }

  scrape(nowS: number): void {
    const s = this.model.stats();
    this.scraped = { waiting: s.waiting + this.inbox.length, running: s.running, kvUsage: s.kvUsage, atS: nowS, inflightAtScrape: this.inflight };
  }

  /** Time provisioned up to `nowS`. */
  upTime(nowS: number): number {
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
