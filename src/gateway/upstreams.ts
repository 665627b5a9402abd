import type { FleetRegistry, FleetWatch, Replica } from '../fleet/index.js';
import type { GatewayMetrics, Logger } from '../observe/index.js';
import { wallClock, type Clock } from '../time/index.js';
import { blamesReplica, unreachable, type UpstreamFailure, type UpstreamHealth } from '../upstream/index.js';
import type { Backend } from './backends.js';
import type { ModelEntry } from './context.js';
import type { GatewayRouter, RouteTicket } from './routing.js';

export interface UpstreamsDeps {
  readonly routing: GatewayRouter;
  readonly backends: ReadonlyMap<Replica, Backend>;
  readonly fleet: FleetRegistry;
  /** null in tests that drive the fleet by hand */
  readonly watch: FleetWatch | null;
  readonly metrics: Pick<GatewayMetrics, 'upstreamFailures'>;
  readonly log: Logger;
  readonly clock?: Clock;
}

/**
 * The gateway's hands on its replicas: which one an attempt goes to, and what a call's outcome
 * tells the fleet (passive health and outlier detection).
 */
export class Upstreams implements UpstreamHealth<Backend> {
  readonly #d: UpstreamsDeps;
  readonly #clock: Clock;

  constructor(d: UpstreamsDeps) {
    this.#d = d;
    this.#clock = d.clock ?? wallClock;
  }

  /** The replica for one attempt of a request, or null when none is usable (the ticket records it as tried). */
  pick(entry: ModelEntry, ticket: RouteTicket): Backend | null {
    const i = this.#d.routing.pick(entry.replicas, ticket);
    return i < 0 ? null : this.backendOf(entry.replicas[i]);
  }

  /** Any usable replica of the entry (for work that is not inference: counting tokens). */
  pickAny(entry: ModelEntry, allowedRegions: readonly string[] | null): Backend | null {
    return this.pick(entry, this.#d.routing.bareTicket(allowedRegions));
  }

  backendOf(r: Replica): Backend {
    return this.#d.backends.get(r)!;
  }

  /**
   * A call failed (the outlier report's `failed`, and count_tokens'): passive health and outlier
   * detection. `sentAt`: when it was sent (monotonic ms), so a replica is not blamed for calls older than its recovery.
   */
  failed(b: Backend, f: UpstreamFailure, sentAt?: number): void {
    const d = this.#d;
    d.metrics.upstreamFailures.inc({ replica: b.replica.id, kind: f.kind === 'timeout' ? `timeout_${f.phase}` : f.kind });
    // Passive health: a replica that refuses connections leaves rotation until a probe passes.
    if (unreachable(f)) {
      if (b.replica.healthy) d.log.warn({ replica: b.replica.id, reason: f.kind === 'connect' ? f.message : 'connect timeout' }, 'replica out of rotation');
      d.fleet.markFailed(b.replica, this.#clock.nowMs());
    }
    // Outlier detection counts what is the replica's fault: not a request it rightly refused (4xx)
    if (blamesReplica(f)) d.watch?.failure(b.replica, sentAt === undefined ? undefined : this.#clock.nowMs() - (this.#clock.monoMs() - sentAt));
  }

  /** The replica answered (its first byte): a success for outlier detection, with its latency. */
  answered(b: Backend, latencyMs: number): void {
    this.#d.watch?.success(b.replica, latencyMs);
  }
}
