import type { ServerResponse } from 'node:http';
import { AdmissionDriver, type AdmissionPolicy, type Grant, type Priority, type Shed, type Waiter } from '../admission/index.js';
import type { GatewayError } from '../api/index.js';
import type { FleetRegistry } from '../fleet/index.js';
import { wall, type TimePorts } from '../time/index.js';
import type { Counter, Histogram } from 'prom-client';

// The gateway's side of admission: the shared driver (an admission queue per model, on the wall's
// clock, timers and draws) plus what only a live gateway has: clients who leave while they wait,
// the error each refusal is answered with, and metrics. The simulator runs the same driver.

/** What admission needs of a request's exchange: start it, or answer it without a replica. */
export interface Admissible {
  readonly res: ServerResponse;
  /** send it to a replica now; `grant` (null: it took none) goes back through `release` when it ends */
  start(grant: Grant | null): void;
  /** answer it with an error (shed, or its deadline passed while it waited) */
  refuse(err: GatewayError): void;
  /** its client left while it waited */
  abandon(): void;
}

export type { Grant };
export interface AdmissionRequest {
  readonly model: string;
  readonly tenant: string;
  readonly weight: number;
  readonly priority: Priority;
  /** ms from now: at most its class's deadline (the driver applies the rule again, so either side may) */
  readonly deadlineMs: number;
}

export interface AdmissionMetrics {
  readonly shed: Counter<'model' | 'priority' | 'reason'>;
  readonly wait: Histogram<'model' | 'priority'>;
}

export class Admission {
  readonly #driver: AdmissionDriver<Admissible>;
  readonly #metrics: AdmissionMetrics;

  /** `onShed`: told of every request shed for want of capacity (the autoscaler's demand) */
  constructor(policy: AdmissionPolicy, fleet: FleetRegistry, metrics: AdmissionMetrics, ports: TimePorts = wall, onShed: ((model: string) => void) | null = null) {
    this.#metrics = metrics;
    this.#driver = new AdmissionDriver<Admissible>({
      policy, replicasOf: (model) => fleet.replicasOf(model), clock: ports.clock, timers: ports.timers, rng: ports.rng,
      hooks: {
        start: (job, grant, waited) => {
          if (grant !== null && waited !== null) metrics.wait.labels(grant.model, waited.priority).observe((ports.clock.monoMs() - waited.queuedAt) / 1000);
          job.start(grant);
        },
        shed: (job, why) => {
          this.#metrics.shed.labels(why.model, why.priority, why.reason === 'expired' ? 'deadline' : why.reason).inc();
          onShed?.(why.model);
          job.refuse(refusal(why));
        },
      },
    });
    // a replica in or out of rotation changes its queue's capacity; one back in may let waiters go,
    // once whoever changed the fleet has finished (a replica joining gets its backend after `add`)
    fleet.onRotation((r) => {
      this.#driver.recount(r.model);
      queueMicrotask(() => this.#driver.pump(r.model));
    });
  }

  /** Requests waiting and running per model, for the metrics and the fleet view. */
  snapshot(): Array<{ model: string; queued: number; inflight: number; capacity: number }> {
    return this.#driver.snapshot();
  }

  admit(job: Admissible, a: AdmissionRequest): void {
    const w = this.#driver.admit(job, a);
    if (w === null) return;
    const onClose = (): void => this.#leave(w);
    w.onLeave = () => job.res.off('close', onClose);
    job.res.once('close', onClose);
  }

  /** The dispatched request's first byte came. */
  firstToken(grant: Grant): void {
    this.#driver.firstToken(grant);
  }

  /** The dispatched request ended, however: its capacity goes to the next in line. */
  release(grant: Grant): void {
    this.#driver.release(grant);
  }

  /** The gateway is closing: whoever still waits is told to go elsewhere. */
  close(): void {
    for (const job of this.#driver.close()) {
      job.refuse({ kind: 'overloaded', retryAfterS: 1, message: 'The gateway is shutting down; retry on another instance.' });
    }
  }

  #leave(w: Waiter<Admissible>): void {
    if (!this.#driver.leave(w)) return;
    w.job.abandon();
  }
}

/** The client's answer to a shed: what happened, and when to come back. */
function refusal(s: Shed): GatewayError {
  if (s.reason === 'expired') {
    return { kind: 'overloaded', retryAfterS: 1, message: `${s.model} is overloaded: this request waited until its deadline without a free replica. Retry shortly.` };
  }
  const why = s.reason === 'queue-full' ? 'its queue is full' : s.reason === 'deadline' ? `the wait (about ${Math.ceil(s.predictedMs / 1000)} s) would miss this request's deadline` : `it is shedding ${s.priority} requests to keep higher priorities on time`;
  return { kind: 'overloaded', retryAfterS: s.retryAfterMs / 1000, message: `${s.model} is overloaded: ${why}. Retry after ${Math.ceil(s.retryAfterMs / 1000)} s.` };
}
