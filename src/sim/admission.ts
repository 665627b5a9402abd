import { PoolQueue, type AdmissionPolicy, type Held } from '../admission/index.js';
import type { RunAdmission, TenantClass } from './report/index.js';

// The simulator's side of admission, as gateway/admission.ts is the live one's: a PoolQueue per
// model (the same code decides), fed virtual time and a seeded random draw, with events where the
// gateway has timers. A pool's capacity follows its replicas in and out of rotation.

export interface SimAdmissionInput {
  /** names the run in the report */
  readonly label: string;
  readonly policy: AdmissionPolicy;
  /** each tenant's class, weight and deadline (the tier a live key would carry) */
  readonly tenant: (tenant: string) => TenantAdmission;
  /** the early-shedding draws: a stream of their own, so routing's draws stay where they were */
  readonly random: () => number;
}

export interface TenantAdmission extends TenantClass {
  /** ms from arrival to the first token when sooner than its class's deadline; null = the class's */
  readonly deadlineMs: number | null;
}

/** What admission keeps on a request. */
export interface Admitted {
  readonly model: string;
  readonly arrival: { readonly tenant: string; readonly atS: number };
  /** it holds a slot of its model's pool from dispatch to its end (retries keep it) */
  holdsSlot: boolean;
  /** its place in the queue while it waits */
  held: Held<unknown> | null;
  /** when it left the queue for a replica */
  dispatchS: number;
  firstTokenSeen: boolean;
}

export type Admission =
  | { readonly kind: 'sent' }
  /** waiting; shed at `expireS` if still waiting then, or never (null: the baselines keep their waiters) */
  | { readonly kind: 'held'; readonly expireS: number | null }
  | { readonly kind: 'shed' };

interface Pool<R> {
  readonly queue: PoolQueue<R>;
  readonly replicas: readonly { readonly routable: boolean }[];
  /** routing what the queue hands out; set while a loop runs so nested frees do not start another */
  pumping: boolean;
}

export class SimAdmission<R extends Admitted> {
  readonly #in: SimAdmissionInput;
  readonly #pools = new Map<string, Pool<R>>();
  readonly #send: (req: R) => void;
  readonly #classes = new Map<string, TenantAdmission>();
  #stopped = false;

  /** `send` routes a request that may go now (as the gateway's exchange starts). */
  constructor(input: SimAdmissionInput, replicasByModel: ReadonlyMap<string, readonly { readonly routable: boolean }[]>, send: (req: R) => void) {
    this.#in = input;
    this.#send = send;
    for (const [model, replicas] of replicasByModel) {
      const pool: Pool<R> = { queue: new PoolQueue<R>(input.policy), replicas, pumping: false };
      this.#pools.set(model, pool);
      this.#recount(pool);
    }
  }

  /** What the report needs to know: the discipline, and every tenant seen with its class, by name. */
  summary(): RunAdmission {
    const names = [...this.#classes.keys()].sort();
    const tenants = Object.fromEntries(names.map((t) => {
      const c = this.#classes.get(t)!;
      return [t, { priority: c.priority, weight: c.weight }];
    }));
    return { label: this.#in.label, discipline: this.#in.policy.discipline, tenants };
  }

  /** A request reached the gateway: send it, hold it or shed it. */
  admit(req: R, nowS: number): Admission {
    const c = this.#class(req.arrival.tenant);
    const pool = this.#pools.get(req.model);
    // no pool (no replica serves the model) or none in rotation: waiting cannot help, so the
    // router answers at once, as the live gateway fails fast
    if (pool === undefined || pool.queue.capacity === 0) {
      this.#send(req);
      return { kind: 'sent' };
    }
    // a request may ask for less time than its class allows, not more
    const deadlineMs = Math.min(c.deadlineMs ?? Infinity, this.#in.policy.classes[c.priority].deadlineMs);
    const deadlineAtMs = req.arrival.atS * 1000 + deadlineMs;
    const o = pool.queue.offer(req, { tenant: req.arrival.tenant, weight: c.weight, priority: c.priority, deadlineAtMs, nowMs: nowS * 1000, random: this.#in.random() });
    switch (o.kind) {
      case 'dispatch':
        this.#dispatch(req, nowS);
        return { kind: 'sent' };
      case 'shed':
        return { kind: 'shed' };
      case 'queued':
        req.held = o.handle;
        const expiresAt = pool.queue.expiresAtMs(deadlineAtMs);
        return { kind: 'held', expireS: expiresAt === null ? null : Math.max(nowS, expiresAt / 1000) };
    }
  }

  /** Its deadline came while it waited: out of the queue (true), or it had already left (false). */
  expire(req: R): boolean {
    const pool = this.#pools.get(req.model);
    if (pool === undefined || req.held === null) return false;
    const gone = pool.queue.remove(req.held as Held<R>);
    req.held = null;
    return gone;
  }

  /** Its first token reached the gateway at `atS`: teaches the pool its time to first token. */
  firstToken(req: R, atS: number): void {
    if (!req.holdsSlot || req.firstTokenSeen) return;
    req.firstTokenSeen = true;
    this.#pools.get(req.model)!.queue.firstToken((atS - req.dispatchS) * 1000);
  }

  /** The request ended, however: its slot goes to the next in line. */
  finished(req: R, atS: number): void {
    if (!req.holdsSlot) return;
    req.holdsSlot = false;
    const pool = this.#pools.get(req.model)!;
    pool.queue.finished((atS - req.dispatchS) * 1000);
    this.#pump(pool, atS);
  }

  /** A replica of `model` went in or out of rotation. */
  rotation(model: string, nowS: number): void {
    const pool = this.#pools.get(model);
    if (pool === undefined) return;
    this.#recount(pool);
    this.#pump(pool, nowS);
  }

  /** Requests waiting in every pool's queue. */
  get queued(): number {
    let n = 0;
    for (const p of this.#pools.values()) n += p.queue.queued;
    return n;
  }

  /** The run is over: nothing more leaves the queues. */
  stop(): void {
    this.#stopped = true;
  }

  #class(tenant: string): TenantAdmission {
    let c = this.#classes.get(tenant);
    if (c === undefined) this.#classes.set(tenant, (c = this.#in.tenant(tenant)));
    return c;
  }

  #recount(pool: Pool<R>): void {
    let n = 0;
    for (const r of pool.replicas) if (r.routable) n++;
    pool.queue.setRoutableReplicas(n);
  }

  #pump(pool: Pool<R>, nowS: number): void {
    if (pool.pumping || this.#stopped) return;
    pool.pumping = true;
    for (let req = pool.queue.pull(); req !== null; req = pool.queue.pull()) {
      req.held = null;
      this.#dispatch(req, nowS);
    }
    pool.pumping = false;
  }

  #dispatch(req: R, nowS: number): void {
    req.holdsSlot = true;
    req.dispatchS = nowS;
    this.#send(req);
  }
}
