import { PRIORITIES, type AdmissionPolicy, type Priority } from './policy.js';

// One model's admission queue: how many requests it runs at once, who waits, who goes next and
// who is turned away. Pure: the owner hands in the time, the random draw and what it observed, and does
// the sending, timing and answering itself (admission/driver.ts, on the gateway's or the simulator's
// clock). Start-time fair queueing (Goyal et al., 1996) inside each priority class: a request's tag is
// max(class virtual time, its tenant's last finish tag), a tenant's tags advance by 1 / weight,
// and the smallest tag goes next — so a tenant sending ten times its share waits behind its own
// backlog, not in front of everyone else's.

export interface Entrant {
  readonly tenant: string;
  /** the tenant's share of the queue's capacity relative to others (tier weight) */
  readonly weight: number;
  readonly priority: Priority;
  /** ms epoch (or virtual ms) by which the first token is due */
  readonly deadlineAtMs: number;
  readonly nowMs: number;
  /** uniform in [0, 1): the early-shedding draw (seeded in the simulator) */
  readonly random: number;
}

export type ShedReason = 'deadline' | 'early' | 'queue-full';

export type Offer<T> =
  /** capacity is free and nobody of its class or above waits: send it now (it holds its share until `finished`) */
  | { readonly kind: 'dispatch' }
  /** held; `pull` hands it out when capacity frees. Pass the handle to `remove` if it leaves first. */
  | { readonly kind: 'queued'; readonly handle: Held<T>; readonly predictedMs: number }
  | { readonly kind: 'shed'; readonly reason: ShedReason; readonly predictedMs: number; readonly retryAfterMs: number };

/** A held request. Opaque to the owner but for `item`. */
export interface Held<T> {
  readonly item: T;
}

interface Queued<T> extends Held<T> {
  readonly tag: number;
  readonly seq: number;
  readonly lane: Lane<T>;
  live: boolean;
}

/** One tenant's requests in one class, in arrival order (tags rise along it). */
interface Lane<T> {
  readonly tenant: string;
  readonly cls: number;
  weight: number;
  readonly items: Queued<T>[];
  head: number;
  /** live entries */
  queued: number;
  lastFinish: number;
  /** its recent share of its class's dispatches (a moving average over them) */
  share: number;
}

interface ClassQueue<T> {
  readonly lanes: Map<string, Lane<T>>;
  virtualTime: number;
  queued: number;
}

const FCFS_LANE = '';
const DISPATCH = { kind: 'dispatch' } as const;
/** a class or tenant is never assumed to drain slower than this share of the queue's capacity */
const MIN_SHARE = 0.05;
/** weight of the newest dispatch in the moving averages of shares (about the last hundred) */
const SHARE_RATE = 0.01;

export class AdmissionQueue<T> {
  readonly #policy: AdmissionPolicy;
  readonly #fair: boolean;
  readonly #classes: ClassQueue<T>[] = PRIORITIES.map(() => ({ lanes: new Map(), virtualTime: 0, queued: 0 }));
  #capacity = 0;
  #inflight = 0;
  #queued = 0;
  #seq = 0;
  #serviceMs: number;
  #firstTokenMs: number;
  /** each class's recent share of all dispatches: what a higher class keeps taking from a lower one's queue */
  readonly #share = new Float64Array(PRIORITIES.length);

  constructor(policy: AdmissionPolicy) {
    this.#policy = policy;
    this.#fair = policy.discipline === 'fair';
    this.#serviceMs = policy.prior.serviceMs;
    this.#firstTokenMs = policy.prior.firstTokenMs;
  }

  get inflight(): number {
    return this.#inflight;
  }

  get queued(): number {
    return this.#queued;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Requests the queue lets run at once: its model's routable replicas × maxInflightPerReplica. */
  setCapacity(requests: number): void {
    this.#capacity = Math.max(0, requests);
  }

  /** Capacity from the model's routable replicas, each running `maxInflightPerReplica`. */
  setRoutableReplicas(n: number): void {
    this.setCapacity(n * this.#policy.maxInflightPerReplica);
  }

  /**
   * When a held request due its first token at `deadlineAtMs` is shed if still waiting: a learned
   * first-token time earlier, so the token can still come in time. null under the baselines, which
   * keep a waiter however late.
   */
  expiresAtMs(deadlineAtMs: number): number | null {
    return this.#fair ? deadlineAtMs - this.#firstTokenMs : null;
  }

  /** What the queue has learned: ms from dispatch to last and to first token. */
  get estimates(): { readonly serviceMs: number; readonly firstTokenMs: number } {
    return { serviceMs: this.#serviceMs, firstTokenMs: this.#firstTokenMs };
  }

  /**
   * The common case first, with nothing to allocate: capacity is free and nobody of this priority
   * or above waits, so it goes now (holding its share until `finished`). False: `offer` it.
   */
  tryDispatch(priority: Priority): boolean {
    const cls = this.#fair ? PRIORITIES.indexOf(priority) : 0;
    if (this.#inflight >= this.#capacity || this.#queuedUpTo(cls) !== 0) return false;
    this.#inflight++;
    this.#dispatched(cls);
    return true;
  }

  offer(item: T, a: Entrant): Offer<T> {
    if (this.tryDispatch(a.priority)) return DISPATCH;
    const cls = this.#fair ? PRIORITIES.indexOf(a.priority) : 0;
    const q = this.#classes[cls];
    const lane = this.#lane(cls, a.tenant, a.weight);
    const tag = this.#fair ? Math.max(q.virtualTime, lane.lastFinish) : this.#seq;
    const waitMs = this.#predictWait(cls, lane, tag);
    const predictedMs = waitMs + this.#firstTokenMs;
    const retryAfterMs = Math.max(1_000, Math.ceil(waitMs / 1_000) * 1_000);
    if (this.#queued >= this.#policy.maxQueue) return { kind: 'shed', reason: 'queue-full', predictedMs, retryAfterMs };
    if (this.#fair) {
      const leftMs = a.deadlineAtMs - a.nowMs;
      if (predictedMs >= leftMs) return { kind: 'shed', reason: 'deadline', predictedMs, retryAfterMs };
      const ramp = this.#policy.classes[a.priority].shed;
      if (ramp !== null && a.random < (waitMs - ramp.fromMs) / (ramp.toMs - ramp.fromMs)) return { kind: 'shed', reason: 'early', predictedMs, retryAfterMs };
    }
    const e: Queued<T> = { item, tag, seq: this.#seq++, lane, live: true };
    lane.items.push(e);
    lane.queued++;
    lane.lastFinish = tag + 1 / lane.weight;
    q.queued++;
    this.#queued++;
    return { kind: 'queued', handle: e, predictedMs };
  }

  /** The next held request to send now, or null (no free capacity, or nobody waits). It holds its share until `finished`. */
  pull(): T | null {
    if (this.#inflight >= this.#capacity || this.#queued === 0) return null;
    for (const q of this.#classes) {
      if (q.queued === 0) continue;
      let best: Queued<T> | null = null;
      for (const lane of q.lanes.values()) {
        const e = this.#head(lane);
        if (e !== null && (best === null || e.tag < best.tag || (e.tag === best.tag && e.seq < best.seq))) best = e;
      }
      if (best === null) continue;
      const lane = best.lane;
      lane.head++;
      this.#take(q, best);
      this.#dispatched(lane.cls);
      for (const l of q.lanes.values()) l.share += SHARE_RATE * ((l === lane ? 1 : 0) - l.share);
      q.virtualTime = Math.max(q.virtualTime, best.tag);
      if (lane.queued === 0 && lane.lastFinish <= q.virtualTime) q.lanes.delete(lane.tenant);
      this.#inflight++;
      return best.item;
    }
    return null;
  }

  /** A held request left before it was sent (its deadline passed, or its client went away). */
  remove(h: Held<T>): boolean {
    const e = h as Queued<T>;
    if (!e.live) return false;
    this.#take(this.#classes[e.lane.cls], e);
    return true;
  }

  /** Every held request, removed (the queue is closing: the owner answers them). */
  takeAll(): T[] {
    const out: T[] = [];
    for (const q of this.#classes) {
      for (const lane of q.lanes.values()) {
        for (const e of lane.items) {
          if (!e.live) continue;
          e.live = false;
          out.push(e.item);
        }
      }
      q.lanes.clear();
      q.queued = 0;
    }
    this.#queued = 0;
    return out;
  }

  /** A dispatched request ended (however it ended): its share is free. `serviceMs` teaches the estimate. */
  finished(serviceMs?: number): void {
    if (this.#inflight > 0) this.#inflight--;
    if (serviceMs !== undefined && serviceMs >= 0) this.#serviceMs += this.#policy.learningRate * (serviceMs - this.#serviceMs);
  }

  /** A dispatched request's first token came `ms` after it was sent. */
  firstToken(ms: number): void {
    if (ms >= 0) this.#firstTokenMs += this.#policy.learningRate * (ms - this.#firstTokenMs);
  }

  #take(q: ClassQueue<T>, e: Queued<T>): void {
    e.live = false;
    e.lane.queued--;
    q.queued--;
    this.#queued--;
  }

  /** The lane's first live entry; dead ones (removed) are dropped on the way. */
  #head(lane: Lane<T>): Queued<T> | null {
    while (lane.head < lane.items.length && !lane.items[lane.head].live) lane.head++;
    if (lane.head === lane.items.length) {
      lane.items.length = 0;
      lane.head = 0;
      return null;
    }
    return lane.items[lane.head];
  }

  #lane(cls: number, tenant: string, weight: number): Lane<T> {
    const q = this.#classes[cls];
    const key = this.#fair ? tenant : FCFS_LANE;
    let lane = q.lanes.get(key);
    if (lane === undefined) q.lanes.set(key, (lane = { tenant: key, cls, weight, items: [], head: 0, queued: 0, lastFinish: 0, share: 0 }));
    else lane.weight = weight;
    return lane;
  }

  #queuedUpTo(cls: number): number {
    let n = 0;
    for (let c = 0; c <= cls; c++) n += this.#classes[c].queued;
    return n;
  }

  /**
   * ms until a request tagged `tag` in class `cls` would be sent: the requests ahead of it (all of
   * the classes above, and those of its own class with smaller tags — about (tag − V)·w of each
   * other backlogged tenant, all of its own tenant's) each take serviceMs of one unit of capacity,
   * plus the wait for the first unit to free; and the units are those the higher classes, and for
   * a backlogged tenant the other tenants, have been leaving it (their recent shares of
   * dispatches), since their requests keep arriving and going first while it waits.
   */
  #predictWait(cls: number, own: Lane<T>, tag: number): number {
    let ahead = 0;
    for (let c = 0; c < cls; c++) ahead += this.#classes[c].queued;
    const q = this.#classes[cls];
    if (!this.#fair) ahead += q.queued;
    else {
      for (const lane of q.lanes.values()) {
        if (lane === own) ahead += lane.queued;
        else if (lane.queued > 0) ahead += Math.min(lane.queued, Math.floor((tag - q.virtualTime) * lane.weight) + 1);
      }
    }
    if (this.#capacity === 0) return Infinity;
    // the higher classes keep arriving while it waits: its class drains at what they leave
    let higher = 0;
    for (let c = 0; c < cls; c++) higher += this.#share[c];
    const left = this.#capacity * Math.max(MIN_SHARE, 1 - higher);
    const wait = ((ahead + 1) * this.#serviceMs) / left;
    if (!this.#fair || own.queued === 0) return wait;
    // a tenant with a backlog drains at the share of its class it has been getting (the others'
    // requests keep arriving and go first), never less than its weight's among the tenants present
    let weights = 0;
    for (const lane of q.lanes.values()) weights += lane.weight;
    const share = Math.max(own.share, own.weight / weights, MIN_SHARE);
    return Math.max(wait, ((own.queued + 1) * this.#serviceMs) / (left * share));
  }

  #dispatched(cls: number): void {
    for (let c = 0; c < this.#share.length; c++) this.#share[c] += SHARE_RATE * ((c === cls ? 1 : 0) - this.#share[c]);
  }
}
