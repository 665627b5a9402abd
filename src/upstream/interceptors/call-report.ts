import type { UpstreamChunk, UpstreamCompletion } from '../../api/index.js';
import type { Clock } from '../../time/index.js';
import { blamesReplica } from '../classify.js';
import type { DispatchController, DispatchHandler, Interceptor, Target } from '../dispatch.js';
import type { UpstreamFailure } from '../types.js';

/**
 * One call to a replica as it was measured: what a rollout's analysis compares between versions.
 * The gateway adds what only it knows (the replica's region, the call's cost).
 */
export interface CallReport {
  /** monotonic ms when the call ended */
  readonly atMs: number;
  /** monotonic ms when the call was sent */
  readonly sentAtMs: number;
  readonly stream: boolean;
  /** the replica's fault: a 5xx, a broken stream, a timeout, a refused connection */
  readonly failed: boolean;
  /** sent → first chunk; null when failed or not streamed */
  readonly ttftMs: number | null;
  /** streamed: first → last chunk per token after the first; not streamed: duration per output token; null when failed or unknown */
  readonly itlMs: number | null;
  /** as the replica reported them; null when it reported none (a failed call) */
  readonly promptTokens: number | null;
  /** the gateway's estimate of the prompt's size before the call (0 when it made none): what sizes a failed call */
  readonly promptEstimate: number;
  readonly cachedTokens: number;
  readonly outputTokens: number;
  /** finish reason `length` */
  readonly truncated: boolean;
}

/** A request that knows its prompt's size before any call is made (the gateway's estimate). */
export interface SizedRequest {
  readonly promptTokens: number;
}

/** Where measured calls go (the gateway's rollouts), and which models it wants them for. */
export interface CallReportSink<T extends Target = Target> {
  /** cheap: called once per request; false means its calls are not measured at all */
  watching(model: string): boolean;
  call(target: T, r: CallReport): void;
}

/**
 * Measures every call of a request whose model the sink watches; put it innermost beside the
 * outlier report, so hedges and retries are each seen once. A call the gateway cancelled (a hedge
 * that lost, a client gone) ends with no event here and so is no sample; nor is a 4xx, which is
 * the request's fault, not the version's.
 */
export function callReport<T extends Target>(sink: CallReportSink<T>, clock: Clock): Interceptor<T> {
  return (next) => (req, handler) => (sink.watching(req.model) ? next(req, new MeasureHandler(handler, sink, clock, req.stream, estimateOf(req))) : next(req, handler));
}

function estimateOf(req: object): number {
  const n = (req as Partial<SizedRequest>).promptTokens;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
}

class MeasureHandler<T extends Target> implements DispatchHandler<T> {
  #target: T | null = null;
  /** monotonic: sent, first chunk, latest chunk carrying a choice */
  #sentAt = 0;
  #firstAt = -1;
  #lastAt = 0;
  /** chunks carrying a choice: the output's length when the replica reports no usage */
  #chunks = 0;
  #usage: UpstreamChunk['usage'] = null;
  #finish: string | null = null;

  constructor(
    private readonly handler: DispatchHandler<T>,
    private readonly sink: CallReportSink<T>,
    private readonly clock: Clock,
    private readonly stream: boolean,
    private readonly estimate: number,
  ) {}

  onStart(call: DispatchController<T>): void {
    this.#target = call.target;
    this.#sentAt = this.clock.monoMs();
    this.handler.onStart(call);
  }

  onChunk(call: DispatchController<T>, c: UpstreamChunk): void {
    const now = this.clock.monoMs();
    if (this.#firstAt < 0) this.#firstAt = now;
    const choice = c.choices?.[0];
    if (choice !== undefined) {
      this.#lastAt = now;
      this.#chunks++;
      if (typeof choice.finish_reason === 'string') this.#finish = choice.finish_reason;
    }
    if (c.usage != null) this.#usage = c.usage;
    this.handler.onChunk(call, c);
  }

  onDone(call: DispatchController<T>): void {
    this.#report(this.clock.monoMs());
    this.handler.onDone(call);
  }

  onCompletion(call: DispatchController<T>, c: UpstreamCompletion): void {
    const now = this.clock.monoMs();
    this.#usage = c.usage ?? null;
    const choice = c.choices[0];
    this.#finish = typeof choice?.finish_reason === 'string' ? choice.finish_reason : null;
    this.#report(now);
    this.handler.onCompletion(call, c);
  }

  onFailure(call: DispatchController<T>, f: UpstreamFailure): void {
    if (this.#target !== null && blamesReplica(f)) {
      this.sink.call(this.#target, {
        atMs: this.clock.monoMs(), sentAtMs: this.#sentAt, stream: this.stream, failed: true, ttftMs: null, itlMs: null,
        promptTokens: reported(this.#usage?.prompt_tokens), promptEstimate: this.estimate, cachedTokens: count(this.#usage?.prompt_tokens_details?.cached_tokens),
        outputTokens: count(this.#usage?.completion_tokens), truncated: false,
      });
    }
    this.handler.onFailure(call, f);
  }

  #report(now: number): void {
    if (this.#target === null) return;
    const u = this.#usage;
    const output = u != null && Number.isFinite(u.completion_tokens) ? count(u.completion_tokens) : this.#chunks;
    let ttft: number | null = null;
    let itl: number | null = null;
    if (this.stream) {
      if (this.#firstAt >= 0) ttft = this.#firstAt - this.#sentAt;
      if (output >= 2 && this.#firstAt >= 0) itl = (this.#lastAt - this.#firstAt) / (output - 1);
    } else if (output >= 1) {
      itl = (now - this.#sentAt) / output;
    }
    this.sink.call(this.#target, {
      atMs: now, sentAtMs: this.#sentAt, stream: this.stream, failed: false, ttftMs: ttft, itlMs: itl,
      promptTokens: reported(u?.prompt_tokens), promptEstimate: this.estimate, cachedTokens: count(u?.prompt_tokens_details?.cached_tokens),
      outputTokens: output, truncated: this.#finish === 'length',
    });
  }
}

function reported(n: unknown): number | null {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.floor(n) : null;
}

/** A token count as the replica reported it: a nonnegative integer, or 0 when absent or malformed. */
function count(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}
