import type { UpstreamChatBody, UpstreamChunk, UpstreamCompletion } from '../api/index.js';
import { dispatched, prefilled, released, type InFlightCounts } from '../fleet/index.js';
import type { RetryBudget } from './retry-policy.js';
import type { UpstreamFailure, UpstreamSink } from './types.js';

// The upstream side of a request in undici's shape: a dispatch sends it, interceptors wrap a
// dispatch with policy (retry, hedge, outlier report), and events travel back up through handler
// objects with methods, each told which call they come from. The base dispatch sends one call to
// the replica routing picks and keeps that replica's in-flight counts.

/** A running call, stopped for backpressure or abandoned. */
export interface CallControl {
  pause(): void;
  resume(): void;
  abort(): void;
}

/** Hears one call to a replica: raw payloads, or chunks and completions already canonical. */
export interface CallSink extends UpstreamSink {
  onChunk(c: UpstreamChunk): void;
  onCompletion(c: UpstreamCompletion): void;
}

/** W3C trace context headers one call carries to its replica. */
export interface CallHeaders {
  readonly traceparent: string;
  readonly tracestate?: string;
}

/** A replica and the way to reach it (the gateway's `Backend`). */
export interface Target {
  readonly replica: InFlightCounts & { readonly servedModel: string };
  /**
   * Null when the body has no form in the replica's protocol: the sink has then already heard why.
   * `headers`: the trace context the call carries, or null (nothing added).
   */
  chat(body: UpstreamChatBody, stream: boolean, sink: CallSink, headers?: CallHeaders | null): CallControl | null;
}

/** A traced request's calls: one span each (`traceReport`), whose context the call carries. */
export interface CallTracer<T extends Target = Target> {
  attempt(target: T, attempt: number): { readonly headers: CallHeaders; end(error?: string, status?: number): void };
}

/** What a dispatch carries: one request, and what its calls need to pick, count and fail. */
export interface UpstreamRequest<T extends Target = Target> {
  readonly body: UpstreamChatBody;
  readonly stream: boolean;
  /** the public model name, for metrics */
  readonly model: string;
  /** prompt plus expected output tokens, for the replica's in-flight counts */
  readonly tokens: number;
  /** the prefill the last pick believes this request owes its replica */
  readonly prefillOwed: number;
  /** calls sent so far, retries and hedges included (the base dispatch counts them) */
  attempts: number;
  /**
   * Set by the interceptor that spends the retry budget on the next call (a retry or a hedge): that
   * call takes the share and holds it until its first byte or its end. Null for a first call.
   */
  budgetShare: RetryBudget | null;
  /** the client has left: a failure is not worth another replica */
  readonly clientGone: boolean;
  /**
   * The trace context the next call carries: the client's own while the request is not traced
   * (passed on as is), its call span's once `traceReport` opened one; absent or null: none.
   */
  callHeaders?: CallHeaders | null;
  /** the request's tracer, when it is traced; absent or null: it is not */
  readonly tracer?: CallTracer<T> | null;
  /** The replica for the next call, or null when none is usable. */
  pick(): T | null;
  /** A throw while handling a call's report or a timer: the request's crash, never undici's (its handler must not throw). */
  crashed(err: unknown, phase: 'routing' | 'upstream'): void;
}

/** A dispatch in flight, as seen by the handler above it. */
export interface DispatchController<T extends Target = Target> extends CallControl {
  /** the replica whose answer reaches the client (or will), or null when the last call failed */
  readonly target: T | null;
}

/**
 * Hears a dispatch. `onStart` comes once per call (before its events); then canonical events, the
 * first chunk or the completion being the first byte; exactly one of onDone / onCompletion /
 * onFailure ends a call. Each method is told the call it is about.
 */
export interface DispatchHandler<T extends Target = Target> {
  onStart(call: DispatchController<T>): void;
  onChunk(call: DispatchController<T>, c: UpstreamChunk): void;
  onDone(call: DispatchController<T>): void;
  onCompletion(call: DispatchController<T>, c: UpstreamCompletion): void;
  onFailure(call: DispatchController<T>, f: UpstreamFailure): void;
}

/** Sends a request; false when there was nowhere to send it (the handler then heard nothing). */
export type Dispatch<T extends Target = Target> = (req: UpstreamRequest<T>, handler: DispatchHandler<T>) => boolean;

export type Interceptor<T extends Target = Target> = (next: Dispatch<T>) => Dispatch<T>;

/** Wraps `dispatch` in the interceptors, the first innermost (undici's order); a null one is skipped. */
export function compose<T extends Target>(dispatch: Dispatch<T>, interceptors: readonly (Interceptor<T> | null)[]): Dispatch<T> {
  let d = dispatch;
  for (const intercept of interceptors) if (intercept !== null) d = intercept(d);
  return d;
}

/**
 * Sends `req` through `next` with a retry-budget share (already acquired) for the call it starts
 * (a retry or a hedge); a share no call took (no replica, or a throw before one was sent) goes back.
 */
export function dispatchWithShare<T extends Target>(next: Dispatch<T>, req: UpstreamRequest<T>, handler: DispatchHandler<T>, budget: RetryBudget): boolean {
  req.budgetShare = budget;
  try {
    return next(req, handler);
  } finally {
    if (req.budgetShare !== null) {
      req.budgetShare = null;
      budget.release();
    }
  }
}

/** The base dispatch: one call to the replica the request picks. */
export function replicaDispatch<T extends Target>(req: UpstreamRequest<T>, handler: DispatchHandler<T>): boolean {
  const target = req.pick();
  if (target === null) return false;
  req.attempts++;
  const c = new ReplicaCall(req, target, handler);
  dispatched(target.replica, req.tokens, c.prefillOwed);
  req.body.model = target.replica.servedModel;
  handler.onStart(c);
  c.call = target.chat(req.body, req.stream, c, req.callHeaders);
  return true;
}

/**
 * One call to one replica: the backend's sink, and the controller of the call. It turns what the
 * replica sent into canonical events (a malformed or error event, or an empty stream, is the call's
 * failure) and keeps the replica's counts and the call's budget share until the call is over.
 */
class ReplicaCall<T extends Target> implements CallSink, DispatchController<T> {
  call: CallControl | null = null;
  /** the prefill this call owes its replica, until its first byte */
  prefillOwed: number;
  #share: RetryBudget | null;
  #answered = false;
  #over = false;

  constructor(readonly req: UpstreamRequest<T>, readonly target: T, readonly handler: DispatchHandler<T>) {
    this.prefillOwed = req.prefillOwed;
    this.#share = req.budgetShare;
    req.budgetShare = null;
  }

  // Each report is guarded: a throw while handling it is the request's crash, never undici's.

  onEvent(data: string): void {
    try {
      if (this.#over) return;
      let chunk: UpstreamChunk;
      try {
        chunk = JSON.parse(data) as UpstreamChunk;
        if (chunk === null || typeof chunk !== 'object') throw new TypeError('not an object');
      } catch {
        return this.#fail({ kind: 'broken', message: 'the replica sent a malformed stream event' });
      }
      this.#chunk(chunk);
    } catch (err) {
      this.req.crashed(err, 'upstream');
    }
  }

  onChunk(c: UpstreamChunk): void {
    try {
      if (!this.#over) this.#chunk(c);
    } catch (err) {
      this.req.crashed(err, 'upstream');
    }
  }

  onDone(): void {
    try {
      if (this.#over) return;
      // An empty stream: nothing reached the client yet, so it may go elsewhere.
      if (!this.#answered) return this.#fail({ kind: 'connect', message: 'the replica ended the stream without sending anything', refused: false });
      this.#end();
      this.handler.onDone(this);
    } catch (err) {
      this.req.crashed(err, 'upstream');
    }
  }

  onBody(body: string): void {
    try {
      if (this.#over) return;
      let up: UpstreamCompletion;
      try {
        up = JSON.parse(body) as UpstreamCompletion;
        if (!Array.isArray(up.choices)) throw new Error('no choices');
      } catch {
        return this.#fail({ kind: 'status', status: 502, body: 'the replica sent a malformed response' });
      }
      this.#completion(up);
    } catch (err) {
      this.req.crashed(err, 'upstream');
    }
  }

  onCompletion(c: UpstreamCompletion): void {
    try {
      if (!this.#over) this.#completion(c);
    } catch (err) {
      this.req.crashed(err, 'upstream');
    }
  }

  onFailure(f: UpstreamFailure): void {
    try {
      this.#fail(f);
    } catch (err) {
      this.req.crashed(err, 'upstream');
    }
  }

  pause(): void {
    this.call?.pause();
  }

  resume(): void {
    this.call?.resume();
  }

  /** Cancels the call, so its replica stops working for nobody; it reports nothing after. */
  abort(): void {
    if (this.#over) return;
    this.call?.abort();
    this.#end();
  }

  #chunk(c: UpstreamChunk): void {
    if (c.error !== undefined) return this.#fail({ kind: 'broken', message: `the replica reported an error mid-stream: ${describeUpstreamError(c.error)}` });
    if (!this.#answered) this.#firstByte();
    this.handler.onChunk(this, c);
  }

  #completion(c: UpstreamCompletion): void {
    this.#firstByte();
    // the replica's work is over before the client is answered: the next request may pick it at once
    this.#end();
    this.handler.onCompletion(this, c);
  }

  /** The prefill is done and the budget share goes back. */
  #firstByte(): void {
    this.#answered = true;
    prefilled(this.target.replica, this.prefillOwed);
    this.prefillOwed = 0;
    this.#releaseShare();
  }

  #fail(f: UpstreamFailure): void {
    if (this.#over) return;
    // A failure found in what was read (a malformed or error event): stop reading, so the replica
    // stops generating for nobody. A failure the call reported itself is already over.
    this.call?.abort();
    this.#end();
    this.handler.onFailure(this, f);
  }

  /** The call is over, whatever its outcome: its replica's counts and its budget share go back. */
  #end(): void {
    this.#over = true;
    released(this.target.replica, this.req.tokens, this.prefillOwed);
    this.prefillOwed = 0;
    this.#releaseShare();
  }

  #releaseShare(): void {
    const s = this.#share;
    if (s !== null) {
      this.#share = null;
      s.release();
    }
  }
}

function describeUpstreamError(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e && typeof (e as { message: unknown }).message === 'string') return (e as { message: string }).message;
  return typeof e === 'string' ? e : 'unknown error';
}
