import type { Endpoint, ScrapedLoad } from '../routing/index.js';

/** One inference endpoint as the gateway sees it: what it is, and the live state routing reads. */
export interface Replica extends Endpoint {
  readonly id: string;
  /** public model name */
  readonly model: string;
  /** the name the replica serves the model under */
  readonly servedModel: string;
  readonly url: string;
  /** the API it speaks: OpenAI-compatible (vLLM's, the default) or Anthropic Messages */
  readonly protocol?: 'openai' | 'anthropic';
  /** requests this gateway sent and has not seen finish */
  inflight: number;
  inflightTokens: number;
  pendingPrefill: number;
  /** the last health probe (or connection) said it serves */
  healthy: boolean;
  /** ejected by outlier detection until this wall-clock ms; 0 = not ejected */
  ejectedUntilMs: number;
  /** an operator is draining it: no new requests, the ones in flight finish */
  draining: boolean;
  /** healthy, not ejected, not draining, its version weighted above 0 (kept current by the registry) */
  routable: boolean;
  /** its version's share of traffic where it is (a rollout's weight); 0 keeps it out of rotation */
  versionWeight: number;
  /** warmed up (or its version needs no warm-up): a rollout may give it traffic */
  warm: boolean;
  /** wall-clock ms of the last health probe it passed since it joined the fleet; 0 = none yet */
  probedAtMs: number;
  scraped: ScrapedLoad | null;
  /** wall-clock ms of the last health verdict */
  checkedAtMs: number;
  /** consecutive failed probes or connection failures */
  consecutiveFailures: number;
}

export interface ReplicaSpec {
  id: string;
  model: string;
  servedModel: string;
  region: string;
  url: string;
  /** default `openai` */
  protocol?: 'openai' | 'anthropic';
  /** the model version it serves (rollouts weigh versions); default the model name */
  version?: string;
  /** default 1; 0 = in the fleet but given no traffic */
  versionWeight?: number;
  /** false when its version has a warm-up still to run (then `markWarm`); default true */
  warm?: boolean;
  /**
   * true: out of rotation until its first health probe passes (one added at run time, whose URL
   * nothing has checked yet); default false, presumed healthy (the configured fleet, probed before
   * the gateway serves, and a replica whose starter has seen it answer)
   */
  awaitProbe?: boolean;
}

/** Regions → models → replicas: the live picture the router decides on. */
export class FleetRegistry {
  readonly #byModel = new Map<string, Replica[]>();
  readonly #byId = new Map<string, Replica>();
  /** the replicas in the fleet now */
  readonly #all: Replica[] = [];
  /** slots are never reused: learned state keyed on a slot must not pass to a newcomer */
  #nextSlot = 0;
  readonly #listeners: Array<(r: Replica, routable: boolean) => void> = [];
  /** bumped whenever a replica is added or removed */
  version = 0;

  add(spec: ReplicaSpec): Replica {
    if (this.#byId.has(spec.id)) throw new RangeError(`a replica named "${spec.id}" is already in the fleet`);
    // A new replica is presumed healthy until a probe or a request says otherwise, unless it is to wait for one.
    const healthy = spec.awaitProbe !== true;
    const weight = spec.versionWeight ?? 1;
    if (!(weight >= 0) || !Number.isFinite(weight)) throw new RangeError(`replica "${spec.id}": versionWeight must be a finite number ≥ 0, got ${weight}`);
    const r: Replica = {
      id: spec.id, model: spec.model, servedModel: spec.servedModel, region: spec.region, url: spec.url, protocol: spec.protocol ?? 'openai',
      version: spec.version ?? spec.model, versionWeight: weight, warm: spec.warm ?? true, probedAtMs: 0,
      slot: this.#nextSlot++, inflight: 0, inflightTokens: 0, pendingPrefill: 0, healthy, ejectedUntilMs: 0, draining: false, routable: healthy && weight > 0,
      scraped: null, checkedAtMs: 0, consecutiveFailures: 0,
    };
    this.#all.push(r);
    this.#byId.set(r.id, r);
    let list = this.#byModel.get(r.model);
    if (!list) this.#byModel.set(r.model, (list = []));
    list.push(r);
    this.version++;
    // it enters rotation (unless weighted 0 or waiting for a probe): whoever counts a model's capacity counts it from now on
    if (r.routable) for (const fn of this.#listeners) fn(r, true);
    for (const fn of this.#joined) fn(r);
    return r;
  }

  readonly #joined: Array<(r: Replica) => void> = [];

  /** Called when a replica joins the fleet (the health prober probes one that waits for it at once). */
  onJoin(fn: (r: Replica) => void): void {
    this.#joined.push(fn);
  }

  /** Takes a replica out of the fleet (drain it first so nothing in flight is cut). */
  remove(r: Replica): void {
    const list = this.#byModel.get(r.model);
    if (list) list.splice(list.indexOf(r), 1);
    this.#all.splice(this.#all.indexOf(r), 1);
    this.#byId.delete(r.id);
    this.version++;
    this.#set(r, () => { r.draining = true; });
  }

  /**
   * Replicas of a model, in a stable order; empty when the model has none. The array is live: it
   * grows and shrinks as replicas are added and removed.
   */
  replicasOf(model: string): readonly Replica[] {
    let list = this.#byModel.get(model);
    if (!list) this.#byModel.set(model, (list = []));
    return list;
  }

  byId(id: string): Replica | undefined {
    return this.#byId.get(id);
  }

  /** Every replica currently in the fleet. */
  get all(): readonly Replica[] {
    return this.#all;
  }

  /** Called when a replica enters or leaves rotation, joining and leaving the fleet included (to forget what it cached, to recount capacity, to log). */
  onRotation(fn: (r: Replica, routable: boolean) => void): void {
    this.#listeners.push(fn);
  }

  /**
   * A replica failed a probe or a connection: out of rotation, until a probe succeeds, once
   * `threshold` failures in a row have come (1, the default: at once). A probe that went unanswered
   * passes the prober's threshold, so one slow answer from a busy replica does not take it out.
   */
  markFailed(r: Replica, nowMs: number, threshold = 1): void {
    r.consecutiveFailures++;
    r.checkedAtMs = nowMs;
    if (r.consecutiveFailures >= threshold) this.#set(r, () => { r.healthy = false; });
  }

  /** A health probe passed (the prober's verdict: a request that merely succeeded is not one). */
  markHealthy(r: Replica, nowMs: number): void {
    r.consecutiveFailures = 0;
    r.checkedAtMs = nowMs;
    // > 0 means probed: a manual clock's time 0 must still count as a probe
    r.probedAtMs = nowMs > 0 ? nowMs : Number.MIN_VALUE;
    this.#set(r, () => { r.healthy = true; });
  }

  /**
   * Its version's share of traffic where it is: a rollout's weight. Weights compare only among the
   * replicas a request may use; 0 takes the replica out of rotation (routing skips it, admission
   * stops counting its capacity) while it stays in the fleet, probed and scraped.
   */
  setVersionWeight(r: Replica, weight: number): void {
    if (!(weight >= 0) || !Number.isFinite(weight)) throw new RangeError(`versionWeight must be a finite number ≥ 0, got ${weight}`);
    if (r.versionWeight === weight) return;
    this.#set(r, () => { r.versionWeight = weight; });
  }

  /** Its warm-up ran: a rollout may now give it traffic. */
  markWarm(r: Replica): void {
    r.warm = true;
  }

  eject(r: Replica, untilMs: number): void {
    this.#set(r, () => { r.ejectedUntilMs = untilMs; });
  }

  readmit(r: Replica): void {
    this.#set(r, () => { r.ejectedUntilMs = 0; });
  }

  setDraining(r: Replica, draining: boolean): void {
    this.#set(r, () => { r.draining = draining; });
  }

  #set(r: Replica, change: () => void): void {
    const was = r.routable;
    change();
    r.routable = r.healthy && r.ejectedUntilMs === 0 && !r.draining && r.versionWeight > 0 && this.#byId.get(r.id) === r;
    if (was !== r.routable) for (const fn of this.#listeners) fn(r, r.routable);
  }
}

/**
 * Whether a rollout may give the replica traffic: a health probe passed since it joined (a
 * presumed-healthy newcomer has proved nothing yet), it is warm, and neither ejected nor draining.
 * Its weight is not asked: it is what this decides.
 */
export function readyForTraffic(r: Replica): boolean {
  return r.probedAtMs > 0 && r.healthy && r.warm && r.ejectedUntilMs === 0 && !r.draining;
}
