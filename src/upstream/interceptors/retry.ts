import type { UpstreamChunk, UpstreamCompletion } from '../../api/index.js';
import type { Rng, TimerHandle, Timers } from '../../time/index.js';
import { dispatchWithShare, type Dispatch, type DispatchController, type DispatchHandler, type Interceptor, type Target, type UpstreamRequest } from '../dispatch.js';
import { decideRetry, type RetryBudget, type RetryRule } from '../retry-policy.js';
import type { UpstreamFailure } from '../types.js';

/** What the retry and hedge interceptors count, by public model name. */
export interface RetryMetrics {
  /** a failed call is sent again, to another replica */
  retried(model: string): void;
  /** a second call raced a slow first token */
  hedged(model: string): void;
  /** a retry or hedge was due, but the retry budget was spent (Envoy's retry_overflow) */
  overflowed(model: string): void;
}

export interface RetryOptions {
  readonly rule: RetryRule;
  /** the fleet's retry budget; this interceptor also counts the requests active against it */
  readonly budget: RetryBudget;
  readonly timers: Timers;
  /** the backoff's jitter */
  readonly rng: Rng;
  readonly metrics: RetryMetrics;
}

/**
 * Retries a call that failed before its first byte reached the client, on another replica (the
 * request's pick remembers the ones tried), after a jittered backoff, within the rule's attempts
 * and the retry budget. A failure after the first byte, or once the client has left, goes through.
 */
export function retry<T extends Target>(opts: RetryOptions): Interceptor<T> {
  return (next) => (req, handler) => new RetryHandler(next, req, handler, opts).dispatch();
}

/**
 * One request's tries. It is the controller its handler sees throughout, whichever call is
 * running (undici's RetryController), and the handler of each call it sends.
 */
class RetryHandler<T extends Target> implements DispatchHandler<T>, DispatchController<T> {
  /** the dispatch running now, or null in a backoff and after a failure */
  #inner: DispatchController<T> | null = null;
  #backoff: TimerHandle | null = null;
  #lastFailure: UpstreamFailure | null = null;
  #started = false;
  #answered = false;
  #over = false;

  constructor(
    private readonly next: Dispatch<T>,
    private readonly req: UpstreamRequest<T>,
    private readonly handler: DispatchHandler<T>,
    private readonly opts: RetryOptions,
  ) {}

  dispatch(): boolean {
    this.opts.budget.started();
    let sent = false;
    try {
      sent = this.next(this.req, this);
    } finally {
      if (!sent) this.#finish();
    }
    return sent;
  }

  get target(): T | null {
    return this.#inner?.target ?? null;
  }

  pause(): void {
    this.#inner?.pause();
  }

  resume(): void {
    this.#inner?.resume();
  }

  abort(): void {
    if (this.#backoff !== null) {
      this.opts.timers.cancel(this.#backoff);
      this.#backoff = null;
      // the retry it was waiting to send held a budget share
      this.opts.budget.release();
    }
    this.#finish();
    this.#inner?.abort();
  }

  onStart(call: DispatchController<T>): void {
    this.#inner = call;
    if (this.#started) return;
    this.#started = true;
    this.handler.onStart(this);
  }

  onChunk(_call: DispatchController<T>, c: UpstreamChunk): void {
    this.#answered = true;
    this.handler.onChunk(this, c);
  }

  onDone(): void {
    this.#finish();
    this.handler.onDone(this);
  }

  onCompletion(_call: DispatchController<T>, c: UpstreamCompletion): void {
    this.#answered = true;
    this.#finish();
    this.handler.onCompletion(this, c);
  }

  onFailure(_call: DispatchController<T>, f: UpstreamFailure): void {
    if (this.#over) return;
    this.#inner = null;
    if (!this.#answered && !this.req.clientGone) {
      const v = decideRetry(this.opts.rule, f, this.req.attempts, this.opts.budget, this.opts.rng);
      if (v.kind === 'retry') {
        this.#lastFailure = f;
        this.opts.metrics.retried(this.req.model);
        this.#backoff = this.opts.timers.after(v.waitMs, RetryHandler.resend, this);
        return;
      }
      if (v.kind === 'overflow') this.opts.metrics.overflowed(this.req.model);
    }
    this.#finish();
    this.handler.onFailure(this, f);
  }

  /** The backoff is over: the next call, holding the budget share the verdict took. */
  static resend<T extends Target>(h: RetryHandler<T>): void {
    h.#backoff = null;
    const { req, opts } = h;
    if (h.#over) return void opts.budget.release();
    let sent = false;
    try {
      sent = dispatchWithShare(h.next, req, h, opts.budget);
    } catch (err) {
      return req.crashed(err, 'routing');
    }
    if (sent) return;
    // nowhere else to go: the client hears what went wrong with the last try (from a timer, so a
    // throw in the handler is the request's crash here, as in every other callback)
    h.#finish();
    try {
      h.handler.onFailure(h, h.#lastFailure!);
    } catch (err) {
      req.crashed(err, 'upstream');
    }
  }

  /** The request is over here: it stops counting as active against the budget. */
  #finish(): void {
    if (this.#over) return;
    this.#over = true;
    this.opts.budget.ended();
  }
}
