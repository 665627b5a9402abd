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
  /** healthy, not ejected, not draining (kept current by the registry) */
  routable: boolean;
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
  versionWeight?: number;
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
    // A new replica is presumed healthy until a probe or a request says otherwise.
    const r: Replica = {
      id: spec.id, model: spec.model, servedModel: spec.servedModel, region: spec.region, url: spec.url, protocol: spec.protocol ?? 'openai',
      version: spec.version ?? spec.model, versionWeight: spec.versionWeight ?? 1,
      slot: this.#nextSlot++, inflight: 0, inflightTokens: 0, pendingPrefill: 0, healthy: true, ejectedUntilMs: 0, draining: false, routable: true,
      scraped: null, checkedAtMs: 0, consecutiveFailures: 0,
    };
    this.#all.push(r);
    this.#byId.set(r.id, r);
    let list = this.#byModel.get(r.model);
    if (!list) this.#byModel.set(r.model, (list = []));
    list.push(r);
    this.version++;
    // it enters rotation: whoever counts a model's capacity counts it from now on
    for (const fn of this.#listeners) fn(r, true);
    return r;
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

  /** A replica failed a probe or a connection: out of rotation until a probe succeeds. */
  markFailed(r: Replica, nowMs: number): void {
    r.consecutiveFailures++;
    r.checkedAtMs = nowMs;
    this.#set(r, () => { r.healthy = false; });
  }

  markHealthy(r: Replica, nowMs: number): void {
    r.consecutiveFailures = 0;
    r.checkedAtMs = nowMs;
    this.#set(r, () => { r.healthy = true; });
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
    r.routable = r.healthy && r.ejectedUntilMs === 0 && !r.draining && this.#byId.get(r.id) === r;
    if (was !== r.routable) for (const fn of this.#listeners) fn(r, r.routable);
  }
}
