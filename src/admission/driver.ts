import type { Clock, Rng, TimerHandle, Timers } from '../time/index.js';
import type { AdmissionPolicy, Priority } from './policy.js';
import { AdmissionQueue, type Held, type ShedReason } from './admission-queue.js';

// The code around the admission queues that the gateway and the simulator share: an admission
// queue per model, its capacity recounted from the replicas in rotation, the loop that hands out
// freed capacity, deadline expiry on the Timers port, and the first-token and end observations that
// teach each queue. The gateway adds sockets and metrics, the simulator its records; both drive
// this over their own Clock, Timers and Rng, so a change here is measured where it runs.

/** A dispatched request's hold on its model's admission queue, handed back through `release`. */
export interface Grant {
  readonly model: string;
  /** monotonic ms when it was dispatched */
  readonly dispatchedAt: number;
  firstToken: boolean;
}

/** What a request asks of admission. */
export interface AdmissionAsk {
  readonly model: string;
  readonly tenant: string;
  readonly weight: number;
  readonly priority: Priority;
  /** ms from now by which its first token is due, when it asks for less than its class; null = its class's */
  readonly deadlineMs: number | null;
}

/** Why a request was turned away. */
export interface Shed {
  /** `expired`: it waited until its deadline without a free replica */
  readonly reason: ShedReason | 'expired';
  readonly model: string;
  readonly priority: Priority;
  readonly predictedMs: number;
  readonly retryAfterMs: number;
}

/** A request held in a queue, as `admit` returns it (to `leave` with, if its client goes first). */
export interface Waiter<Job> {
  readonly job: Job;
  readonly priority: Priority;
  /** monotonic ms when it began to wait */
  readonly queuedAt: number;
  /** set by the owner: called once when it leaves the queue, however (the gateway detaches its close listener) */
  onLeave: (() => void) | null;
}

/** What the driver tells its owner to do. */
export interface AdmissionHooks<Job> {
  /** Send it to a replica now, holding `grant` (null: it took none, no replica is in rotation); `waited`: its wait, if it waited. */
  start(job: Job, grant: Grant | null, waited: Waiter<Job> | null): void;
  /** Answer it without a replica: shed on arrival, or its deadline passed while it waited. */
  shed(job: Job, why: Shed): void;
}

export interface AdmissionDriverOptions<Job> {
  readonly policy: AdmissionPolicy;
  /** a model's replicas, whose `routable` flags give its queue's capacity */
  readonly replicasOf: (model: string) => readonly { readonly routable: boolean }[];
  readonly hooks: AdmissionHooks<Job>;
  readonly clock: Clock;
  readonly timers: Timers;
  /** the early-shedding draws */
  readonly rng: Rng;
}

interface Waiting<Job> extends Waiter<Job> {
  readonly queue: Queue<Job>;
  readonly deadlineAtMs: number;
  handle: Held<Waiting<Job>> | null;
  timer: TimerHandle | null;
}

interface Queue<Job> {
  readonly model: string;
  /** for the timer callback, which gets only the entry */
  readonly driver: AdmissionDriver<Job>;
  readonly pq: AdmissionQueue<Waiting<Job>>;
  routable: number;
  /** handing out capacity; a release inside the loop does not start another */
  pumping: boolean;
}

/**
 * The first token is due `deadlineMs` after arrival: the class's deadline, or less when the
 * request asks for less (never more). The one place the rule lives.
 */
export function deadlineMs(policy: Pick<AdmissionPolicy, 'classes'>, priority: Priority, askedMs: number | null): number {
  const cls = policy.classes[priority].deadlineMs;
  return askedMs === null ? cls : Math.min(cls, askedMs);
}

export class AdmissionDriver<Job> {
  readonly #o: AdmissionDriverOptions<Job>;
  readonly #queues = new Map<string, Queue<Job>>();
  #stopped = false;

  constructor(o: AdmissionDriverOptions<Job>) {
    this.#o = o;
  }

  get policy(): AdmissionPolicy {
    return this.#o.policy;
  }

  /** Send the request, hold it (returned, to `leave` with) or shed it; the hooks say which. */
  admit(job: Job, ask: AdmissionAsk): Waiter<Job> | null {
    const q = this.#queue(ask.model);
    const { clock, hooks } = this.#o;
    // no replica in rotation: waiting cannot help, the router answers at once (and says why)
    if (q.routable === 0) {
      hooks.start(job, null, null);
      return null;
    }
    // the common case, with nothing to allocate and no draw
    if (q.pq.tryDispatch(ask.priority)) {
      hooks.start(job, this.#grant(q.model), null);
      return null;
    }
    const now = clock.nowMs();
    const deadlineAtMs = now + deadlineMs(this.#o.policy, ask.priority, ask.deadlineMs);
    const e: Waiting<Job> = { job, priority: ask.priority, queuedAt: clock.monoMs(), onLeave: null, queue: q, deadlineAtMs, handle: null, timer: null };
    const o = q.pq.offer(e, { tenant: ask.tenant, weight: ask.weight, priority: ask.priority, deadlineAtMs, nowMs: now, random: this.#o.rng() });
    switch (o.kind) {
      case 'dispatch':
        hooks.start(job, this.#grant(q.model), null);
        return null;
      case 'shed':
        hooks.shed(job, { reason: o.reason, model: q.model, priority: ask.priority, predictedMs: o.predictedMs, retryAfterMs: o.retryAfterMs });
        return null;
      case 'queued': {
        e.handle = o.handle;
        const expiresAt = q.pq.expiresAtMs(deadlineAtMs);
        if (expiresAt !== null) e.timer = this.#o.timers.after(Math.max(0, expiresAt - now), AdmissionDriver.#expire, e);
        return e;
      }
    }
  }

  /** A waiting request left (its client went away): true if it was still waiting, and is now gone. */
  leave(w: Waiter<Job>): boolean {
    const e = w as Waiting<Job>;
    if (e.handle === null || !e.queue.pq.remove(e.handle)) return false;
    this.#clear(e);
    return true;
  }

  /** The dispatched request's first token reached the gateway (at `atMs`, monotonic; default now). */
  firstToken(g: Grant, atMs = this.#o.clock.monoMs()): void {
    if (g.firstToken) return;
    g.firstToken = true;
    this.#queues.get(g.model)?.pq.firstToken(atMs - g.dispatchedAt);
  }

  /** The dispatched request ended, however: its capacity goes to the next in line. */
  release(g: Grant): void {
    const q = this.#queues.get(g.model);
    if (q === undefined) return;
    q.pq.finished(this.#o.clock.monoMs() - g.dispatchedAt);
    this.#pump(q);
  }

  /** A replica of `model` went in or out of rotation: its queue's capacity follows. */
  recount(model: string): void {
    const q = this.#queues.get(model);
    if (q !== undefined) this.#recount(q);
  }

  /** Hand out whatever capacity `model`'s queue has free. */
  pump(model: string): void {
    const q = this.#queues.get(model);
    if (q !== undefined) this.#pump(q);
  }

  /** Every waiting request, out of its queue (the owner answers them). */
  close(): Job[] {
    const out: Job[] = [];
    for (const q of this.#queues.values()) {
      for (const e of q.pq.takeAll()) {
        this.#clear(e);
        out.push(e.job);
      }
    }
    return out;
  }

  /** Nothing leaves a queue from now on (the simulator's run is over). */
  stop(): void {
    this.#stopped = true;
  }

  /** Requests waiting in every queue. */
  get queued(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.pq.queued;
    return n;
  }

  snapshot(): Array<{ model: string; queued: number; inflight: number; capacity: number }> {
    return [...this.#queues.values()].map((q) => ({ model: q.model, queued: q.pq.queued, inflight: q.pq.inflight, capacity: q.pq.capacity }));
  }

  static #expire<J>(e: Waiting<J>): void {
    e.timer = null;
    e.queue.driver.#expired(e);
  }

  #expired(e: Waiting<Job>): void {
    const q = e.queue;
    if (e.handle === null || !q.pq.remove(e.handle)) return;
    this.#clear(e);
    this.#o.hooks.shed(e.job, { reason: 'expired', model: q.model, priority: e.priority, predictedMs: 0, retryAfterMs: 1_000 });
  }

  #queue(model: string): Queue<Job> {
    let q = this.#queues.get(model);
    if (q === undefined) {
      q = { model, driver: this, pq: new AdmissionQueue<Waiting<Job>>(this.#o.policy), routable: 0, pumping: false };
      this.#queues.set(model, q);
      this.#recount(q);
    }
    return q;
  }

  #recount(q: Queue<Job>): void {
    let n = 0;
    for (const r of this.#o.replicasOf(q.model)) if (r.routable) n++;
    q.routable = n;
    q.pq.setRoutableReplicas(n);
  }

  #pump(q: Queue<Job>): void {
    if (q.pumping || this.#stopped) return;
    q.pumping = true;
    try {
      for (let e = q.pq.pull(); e !== null; e = q.pq.pull()) {
        this.#clear(e);
        this.#o.hooks.start(e.job, this.#grant(q.model), e);
      }
    } finally {
      q.pumping = false;
    }
  }

  #grant(model: string): Grant {
    return { model, dispatchedAt: this.#o.clock.monoMs(), firstToken: false };
  }

  #clear(e: Waiting<Job>): void {
    e.handle = null;
    if (e.timer !== null) this.#o.timers.cancel(e.timer);
    e.timer = null;
    const leave = e.onLeave;
    e.onLeave = null;
    if (leave !== null) leave();
  }
}
