import type { UpstreamChunk, UpstreamCompletion } from '../../api/index.js';
import type { TimerHandle, Timers } from '../../time/index.js';
import { dispatchWithShare, type Dispatch, type DispatchController, type DispatchHandler, type Interceptor, type Target, type UpstreamRequest } from '../dispatch.js';
import { mayHedge, type RetryBudget, type RetryRule } from '../retry-policy.js';
import type { UpstreamFailure } from '../types.js';
import type { RetryMetrics } from './retry.js';

export interface HedgeOptions {
  /** how long the first token may take before a second replica is asked too */
  readonly delayMs: number;
  /** its attempts bound the hedge too: a hedge is a call like a retry */
  readonly rule: RetryRule;
  /** a hedge is extra load: it spends the retry budget like a retry does */
  readonly budget: RetryBudget;
  readonly timers: Timers;
  readonly metrics: RetryMetrics;
}

/**
 * For a streamed request: when the first token is late, a second call to another replica races the
 * first. The first token wins and the other call is aborted; if one call fails before a byte while
 * the other runs, the other takes its place. A request not streamed goes straight through.
 */
export function hedge<T extends Target>(opts: HedgeOptions): Interceptor<T> {
  return (next) => (req, handler) => (req.stream ? new HedgeHandler(next, req, handler, opts).dispatch() : next(req, handler));
}

/** One try of a request and the hedge that may race it: the controller its handler sees. */
class HedgeHandler<T extends Target> implements DispatchHandler<T>, DispatchController<T> {
  /** the call whose bytes reach the client (or will) */
  #primary: DispatchController<T> | null = null;
  /** the second call racing it for the first token, or null */
  #second: DispatchController<T> | null = null;
  #timer: TimerHandle | null = null;
  #started = false;
  #answered = false;
  #over = false;

  constructor(
    private readonly next: Dispatch<T>,
    private readonly req: UpstreamRequest<T>,
    private readonly handler: DispatchHandler<T>,
    private readonly opts: HedgeOptions,
  ) {}

  dispatch(): boolean {
    if (!this.next(this.req, this)) return false;
    // the call may have ended already (a body the replica's protocol cannot carry fails at once)
    if (!this.#over && mayHedge(this.opts.rule, true, this.req.attempts, false)) {
      this.#timer = this.opts.timers.after(this.opts.delayMs, HedgeHandler.fire, this);
    }
    return true;
  }

  get target(): T | null {
    return this.#primary?.target ?? null;
  }

  pause(): void {
    this.#primary?.pause();
  }

  resume(): void {
    this.#primary?.resume();
  }

  abort(): void {
    this.#over = true;
    this.#cancelTimer();
    const second = this.#second;
    this.#second = null;
    second?.abort();
    this.#primary?.abort();
  }

  /** No first token by the delay: a second replica too, if the budget allows. */
  static fire<T extends Target>(h: HedgeHandler<T>): void {
    h.#timer = null;
    if (h.#over || h.#answered || h.#primary === null || h.#second !== null || h.req.clientGone) return;
    const { req, opts } = h;
    if (!opts.budget.acquire()) return void opts.metrics.overflowed(req.model);
    try {
      if (dispatchWithShare(h.next, req, h, opts.budget)) opts.metrics.hedged(req.model);
    } catch (err) {
      req.crashed(err, 'routing');
    }
  }

  onStart(call: DispatchController<T>): void {
    if (this.#primary === null) this.#primary = call;
    else this.#second = call;
    if (this.#started) return;
    this.#started = true;
    this.handler.onStart(this);
  }

  onChunk(call: DispatchController<T>, c: UpstreamChunk): void {
    if (!this.#answered) this.#firstToken(call);
    this.handler.onChunk(this, c);
  }

  onDone(): void {
    this.#over = true;
    this.handler.onDone(this);
  }

  onCompletion(call: DispatchController<T>, c: UpstreamCompletion): void {
    this.#firstToken(call);
    this.#over = true;
    this.handler.onCompletion(this, c);
  }

  onFailure(call: DispatchController<T>, f: UpstreamFailure): void {
    if (call === this.#second) {
      // the hedge lost; the first call is still running
      this.#second = null;
      return;
    }
    if (this.#second !== null && !this.#answered) {
      // the first call failed before a byte; the hedge already running takes its place
      this.#primary = this.#second;
      this.#second = null;
      return;
    }
    this.#primary = null;
    this.#over = true;
    this.#cancelTimer();
    this.handler.onFailure(this, f);
  }

  /** The first token: its call wins the race, and the other is aborted. */
  #firstToken(call: DispatchController<T>): void {
    this.#answered = true;
    this.#cancelTimer();
    const loser = call === this.#primary ? this.#second : this.#primary;
    this.#primary = call;
    this.#second = null;
    loser?.abort();
  }

  #cancelTimer(): void {
    if (this.#timer !== null) {
      this.opts.timers.cancel(this.#timer);
      this.#timer = null;
    }
  }
}
