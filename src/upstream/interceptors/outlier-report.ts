import type { UpstreamChunk, UpstreamCompletion } from '../../api/index.js';
import type { Clock } from '../../time/index.js';
import type { DispatchController, DispatchHandler, Interceptor, Target } from '../dispatch.js';
import type { UpstreamFailure } from '../types.js';

/**
 * Where calls' outcomes go: the gateway's passive health (a replica that cannot be reached, see
 * `unreachable`, leaves rotation) and its outlier detector (which counts what `blamesReplica`).
 */
export interface UpstreamHealth<T extends Target = Target> {
  /** the call's first byte came `latencyMs` after it was sent: a success for the outlier detector */
  answered(target: T, latencyMs: number): void;
  /**
   * The call failed. `sentAtMs` (monotonic) is when it was sent, so a replica is not blamed for
   * calls older than its recovery.
   */
  failed(target: T, f: UpstreamFailure, sentAtMs: number): void;
}

/** Reports each call's outcome to `health`; put it innermost, so every call (hedges too) is seen once. */
export function outlierReport<T extends Target>(health: UpstreamHealth<T>, clock: Clock): Interceptor<T> {
  return (next) => (req, handler) => next(req, new ReportHandler(handler, health, clock));
}

class ReportHandler<T extends Target> implements DispatchHandler<T> {
  #target: T | null = null;
  /** monotonic */
  #sentAt = 0;
  #answered = false;

  constructor(private readonly handler: DispatchHandler<T>, private readonly health: UpstreamHealth<T>, private readonly clock: Clock) {}

  onStart(call: DispatchController<T>): void {
    this.#target = call.target;
    this.#sentAt = this.clock.monoMs();
    this.handler.onStart(call);
  }

  onChunk(call: DispatchController<T>, c: UpstreamChunk): void {
    if (!this.#answered) this.#firstByte();
    this.handler.onChunk(call, c);
  }

  onDone(call: DispatchController<T>): void {
    this.handler.onDone(call);
  }

  onCompletion(call: DispatchController<T>, c: UpstreamCompletion): void {
    this.#firstByte();
    this.handler.onCompletion(call, c);
  }

  onFailure(call: DispatchController<T>, f: UpstreamFailure): void {
    if (this.#target !== null) this.health.failed(this.#target, f, this.#sentAt);
    this.handler.onFailure(call, f);
  }

  #firstByte(): void {
    this.#answered = true;
    if (this.#target !== null) this.health.answered(this.#target, this.clock.monoMs() - this.#sentAt);
  }
}
