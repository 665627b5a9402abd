/** One inference endpoint as the gateway sees it. `inflight` and `healthy` are live state. */
export interface Replica {
  readonly id: string;
  /** public model name */
  readonly model: string;
  /** the name the replica serves the model under */
  readonly servedModel: string;
  readonly region: string;
  readonly url: string;
  /** requests sent and not yet finished, counted by this gateway */
  inflight: number;
  healthy: boolean;
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
}

/** Regions → models → replicas: the live picture the router decides on. */
export class FleetRegistry {
  readonly #byModel = new Map<string, Replica[]>();
  readonly #all: Replica[] = [];

  add(spec: ReplicaSpec): Replica {
    // A new replica is presumed healthy until a probe or a request says otherwise.
    const r: Replica = { ...spec, inflight: 0, healthy: true, checkedAtMs: 0, consecutiveFailures: 0 };
    this.#all.push(r);
    let list = this.#byModel.get(r.model);
    if (!list) this.#byModel.set(r.model, (list = []));
    list.push(r);
    return r;
  }

  /** Replicas of a model, in a stable order; empty when the model has none. */
  replicasOf(model: string): readonly Replica[] {
    return this.#byModel.get(model) ?? EMPTY;
  }

  get all(): readonly Replica[] {
    return this.#all;
  }

  /** A replica failed a probe or a connection: out of rotation until a probe succeeds. */
  markFailed(r: Replica, nowMs: number): void {
    r.consecutiveFailures++;
    r.healthy = false;
    r.checkedAtMs = nowMs;
  }

  markHealthy(r: Replica, nowMs: number): void {
    r.consecutiveFailures = 0;
    r.healthy = true;
    r.checkedAtMs = nowMs;
  }
}

const EMPTY: readonly Replica[] = Object.freeze([]);
