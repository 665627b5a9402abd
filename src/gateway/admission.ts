import type { ServerResponse } from 'node:http';
import { PoolQueue, type AdmissionPolicy, type Held, type Priority } from '../admission/index.js';
import type { GatewayError } from '../api/index.js';
import type { FleetRegistry, Replica } from '../fleet/index.js';
import type { Counter, Histogram } from 'prom-client';

// The gateway's side of admission: a PoolQueue per model, fed the wall clock and Math.random, with
// real timers for deadlines and real sockets for clients who leave while they wait. The decisions
// are the PoolQueue's (the simulator runs the same one); this file only does what they say.

/** What admission needs of a request's exchange: start it, or answer it without a replica. */
export interface Admissible {
  readonly res: ServerResponse;
  /** send it to a replica now; `slot` (null: it took none) goes back through `release` when it ends */
  start(slot: Slot | null): void;
  /** answer it with an error (shed, or its deadline passed while it waited) */
  refuse(err: GatewayError): void;
  /** its client left while it waited */
  abandon(): void;
}

/** A dispatched request's hold on its pool, handed back when it ends. */
export interface Slot {
  readonly pool: string;
  readonly dispatchedAt: number;
  firstToken: boolean;
}

export interface AdmissionRequest {
  readonly model: string;
  readonly tenant: string;
  readonly weight: number;
  readonly priority: Priority;
  /** ms from now */
  readonly deadlineMs: number;
}

export interface AdmissionMetrics {
  readonly shed: Counter<'model' | 'priority' | 'reason'>;
  readonly wait: Histogram<'model' | 'priority'>;
}

/** A slot of the model's pool, held from now. */
function slotIn(model: string): Slot {
  return { pool: model, dispatchedAt: performance.now(), firstToken: false };
}

interface Waiting {
  readonly job: Admissible;
  readonly priority: Priority;
  readonly queuedAt: number;
  timer: NodeJS.Timeout | null;
  readonly onClose: () => void;
  handle: Held<Waiting> | null;
}

interface Pool {
  readonly model: string;
  readonly queue: PoolQueue<Waiting>;
  routable: number;
}

export class Admission {
  readonly #policy: AdmissionPolicy;
  readonly #fleet: FleetRegistry;
  readonly #metrics: AdmissionMetrics;
  readonly #pools = new Map<string, Pool>();

  constructor(policy: AdmissionPolicy, fleet: FleetRegistry, metrics: AdmissionMetrics) {
    this.#policy = policy;
    this.#fleet = fleet;
    this.#metrics = metrics;
    // a replica in or out of rotation changes its pool's capacity; one back in may let waiters go,
    // once whoever changed the fleet has finished (a replica joining gets its backend after `add`)
    fleet.onRotation((r) => {
      const p = this.#pools.get(r.model);
      if (p === undefined) return;
      this.#recount(p);
      queueMicrotask(() => this.#pull(p));
    });
  }

  /** Requests waiting and running per model and priority, for the metrics and the fleet view. */
  snapshot(): Array<{ model: string; queued: number; inflight: number; capacity: number }> {
    return [...this.#pools.values()].map((p) => ({ model: p.model, queued: p.queue.queued, inflight: p.queue.inflight, capacity: p.queue.capacity }));
  }

  admit(job: Admissible, a: AdmissionRequest): void {
    const pool = this.#pool(a.model);
    // no replica in rotation at all: waiting cannot help, the exchange fails fast (and says why)
    if (pool.routable === 0) return job.start(null);
    if (pool.queue.tryDispatch(a.priority)) return job.start(slotIn(a.model));
    const now = Date.now();
    const w: Waiting = { job, priority: a.priority, queuedAt: performance.now(), timer: null, onClose: () => this.#leave(pool, w), handle: null };
    const o = pool.queue.offer(w, { tenant: a.tenant, weight: a.weight, priority: a.priority, deadlineAtMs: now + a.deadlineMs, nowMs: now, random: Math.random() });
    switch (o.kind) {
      case 'dispatch':
        return job.start(slotIn(a.model));
      case 'shed': {
        this.#metrics.shed.labels(a.model, a.priority, o.reason).inc();
        const why = o.reason === 'queue-full' ? 'its queue is full' : o.reason === 'deadline' ? `the wait (about ${Math.ceil(o.predictedMs / 1000)} s) would miss this request's deadline` : `it is shedding ${a.priority} requests to keep higher priorities on time`;
        return job.refuse({ kind: 'overloaded', retryAfterS: o.retryAfterMs / 1000, message: `${a.model} is overloaded: ${why}. Retry after ${Math.ceil(o.retryAfterMs / 1000)} s.` });
      }
      case 'queued':
        w.handle = o.handle;
        const expiresAt = pool.queue.expiresAtMs(now + a.deadlineMs);
        if (expiresAt !== null) w.timer = setTimeout(() => this.#expire(pool, w), Math.max(0, expiresAt - now));
        job.res.once('close', w.onClose);
        return;
    }
  }

  /** The dispatched request's first byte came. */
  firstToken(slot: Slot): void {
    if (slot.firstToken) return;
    slot.firstToken = true;
    this.#pools.get(slot.pool)?.queue.firstToken(performance.now() - slot.dispatchedAt);
  }

  /** The dispatched request ended, however: its slot goes to the next in line. */
  release(slot: Slot): void {
    const p = this.#pools.get(slot.pool);
    if (p === undefined) return;
    p.queue.finished(performance.now() - slot.dispatchedAt);
    this.#pull(p);
  }

  /** The gateway is closing: whoever still waits is told to go elsewhere. */
  close(): void {
    for (const p of this.#pools.values()) {
      for (const w of p.queue.takeAll()) {
        this.#clear(w);
        w.job.refuse({ kind: 'overloaded', retryAfterS: 1, message: 'The gateway is shutting down; retry on another instance.' });
      }
    }
  }

  #pool(model: string): Pool {
    let p = this.#pools.get(model);
    if (p === undefined) {
      p = { model, queue: new PoolQueue<Waiting>(this.#policy), routable: 0 };
      this.#pools.set(model, p);
      this.#recount(p);
    }
    return p;
  }

  #recount(p: Pool): void {
    let n = 0;
    for (const r of this.#fleet.replicasOf(p.model) as readonly Replica[]) if (r.routable) n++;
    p.routable = n;
    p.queue.setRoutableReplicas(n);
  }

  #pull(p: Pool): void {
    for (let w = p.queue.pull(); w !== null; w = p.queue.pull()) {
      this.#clear(w);
      this.#metrics.wait.labels(p.model, w.priority).observe((performance.now() - w.queuedAt) / 1000);
      w.job.start(slotIn(p.model));
    }
  }

  #expire(p: Pool, w: Waiting): void {
    w.timer = null;
    if (w.handle === null || !p.queue.remove(w.handle)) return;
    this.#clear(w);
    this.#metrics.shed.labels(p.model, w.priority, 'deadline').inc();
    w.job.refuse({ kind: 'overloaded', retryAfterS: 1, message: `${p.model} is overloaded: this request waited until its deadline without a free replica. Retry shortly.` });
  }

  #leave(p: Pool, w: Waiting): void {
    if (w.handle === null || !p.queue.remove(w.handle)) return;
    this.#clear(w);
    w.job.abandon();
  }

  #clear(w: Waiting): void {
    if (w.timer !== null) clearTimeout(w.timer);
    w.timer = null;
    w.job.res.off('close', w.onClose);
  }
}
