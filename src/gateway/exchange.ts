import type { ServerResponse } from 'node:http';
import type { GatewayError, InferenceRequest, UpstreamChatBody, UpstreamChunk, UpstreamCompletion } from '../api/index.js';
import type { Replica } from '../fleet/index.js';
import type { UsageOutcome } from '../ledger/index.js';
import type { GatewayMetrics, RequestTrace, Tracing } from '../observe/index.js';
import type { Clock, TimePorts, TimerHandle } from '../time/index.js';
import { promptChars } from '../routing/index.js';
import {
  callReport, classify, compose, hedge, outlierReport, replicaDispatch, retry, traceReport,
  type CallHeaders, type CallReportSink, type CallTracer, type Dispatch, type SizedRequest, type DispatchController, type DispatchHandler, type RetryBudget, type RetryMetrics, type RetryRule,
  type UpstreamFailure, type UpstreamRequest,
} from '../upstream/index.js';
import type { Admissible, Admission, Grant } from './admission.js';
import type { Backend } from './backends.js';
import { streamErrorFrame, type Phase } from './boundary.js';
import type { AdmittedContext } from './context.js';
import type { RateLimits } from './rate-limits.js';
import { HeldStream, renderCompletion, SSE_HEAD, StreamRelay } from './relay.js';
import type { Replies } from './replies.js';
import { outcomeOf, type Settlement } from './settle.js';
import type { Upstreams } from './upstreams.js';

/** What an exchange uses of the gateway: built once, shared by every request. */
export interface ExchangeDeps {
  readonly upstreams: Pick<Upstreams, 'pick' | 'answered' | 'failed'>;
  readonly retries: RetryBudget;
  readonly retryRule: RetryRule;
  /** null when hedging is off (the default) */
  readonly hedge: { readonly delayMs: number } | null;
  /** how long a stream's head waits for its first token (server.streamHeadAfterMs); absent: until it comes */
  readonly streamHeadAfterMs?: number;
  readonly metrics: Pick<GatewayMetrics, 'retries' | 'retryOverflow' | 'hedges'>;
  readonly admission: Pick<Admission, 'firstToken' | 'release'>;
  readonly rateLimits: Pick<RateLimits, 'release'>;
  readonly replies: Pick<Replies, 'headersFor' | 'sendJson' | 'sendError' | 'noteInternalError' | 'failInternal'>;
  readonly settlement: Pick<Settlement, 'settle'>;
  readonly time: TimePorts;
  /** where each call is measured while a rollout judges its model; null: nothing is measured */
  readonly calls: CallReportSink<Backend> | null;
  /** the composed upstream side (`upstreamDispatch`), built once per gateway */
  readonly upstream: Dispatch<Backend>;
  /** null or absent when tracing is off: no call is traced, and no trace interceptor is composed */
  readonly tracing?: Tracing | null;
}

/**
 * The upstream side every exchange of a gateway shares: a call to the replica routing picks, with
 * its outcome reported to the fleet (and measured for a rollout), a hedge for a slow first token,
 * and retries around both.
 */
export function upstreamDispatch(d: Omit<ExchangeDeps, 'upstream'>): Dispatch<Backend> {
  const { retries: budget, retryRule: rule, time } = d;
  const metrics = new RetryCounts(d.metrics);
  return compose<Backend>(replicaDispatch, [
    d.tracing == null ? null : traceReport<Backend>(),
    outlierReport(d.upstreams, time.clock),
    d.calls === null ? null : callReport(d.calls, time.clock),
    d.hedge === null ? null : hedge({ delayMs: d.hedge.delayMs, rule, budget, timers: time.timers, metrics }),
    retry({ rule, budget, timers: time.timers, rng: time.rng, metrics }),
  ]);
}

/**
 * One inference request from admission to the last byte: it sends the request upstream (the
 * dispatch picks, retries and hedges), relays the answer to the client, and settles once. It is
 * the request its dispatch carries and the handler that hears the answer.
 */
export class Exchange implements Admissible, UpstreamRequest<Backend>, SizedRequest, DispatchHandler<Backend> {
  readonly res: ServerResponse;
  readonly body: UpstreamChatBody;
  readonly stream: boolean;
  readonly model: string;
  attempts = 0;
  budgetShare: RetryBudget | null = null;
  /** the client's own trace context while untraced (passed on as is); each call's span's once traced */
  callHeaders: CallHeaders | null;
  /** the calls' tracer, when the request is traced */
  readonly tracer: CallTracer<Backend> | null;
  readonly #ireq: InferenceRequest;
  /** the request upstream, once a call went out: pauses, resumes, aborts, and names its replica */
  #upstream: DispatchController<Backend> | null = null;
  /** the stream to the client, once its first token came */
  #relay: StreamRelay | null = null;
  /** a stream's head sent before its first token, and the timer that will send it */
  #held: HeldStream | null = null;
  #hold: TimerHandle | null = null;
  #ttftMs: number | null = null;
  /** -1 until asked */
  #promptTokens = -1;
  #done = false;
  /** the replica whose stream reached the client, once one did */
  #answeredBy: Replica | null = null;
  /** what admission granted it, from dispatch to the end (none when it bypassed admission) */
  #grant: Grant | null = null;
  /** its trace, or null; and when it went to admission (monotonic ms), when traced */
  readonly #trace: RequestTrace | null;
  readonly #admitAt: number;

  constructor(readonly cx: AdmittedContext, readonly deps: ExchangeDeps) {
    this.res = cx.res;
    const ireq = this.#ireq = cx.ireq;
    this.body = ireq.upstream;
    this.stream = ireq.stream;
    this.model = ireq.model;
    if (ireq.stream && deps.streamHeadAfterMs !== undefined) this.#hold = deps.time.timers.after(deps.streamHeadAfterMs, Exchange.#sendHead, this);
    const t = this.#trace = cx.trace;
    if (t === null) {
      this.tracer = null;
      this.#admitAt = 0;
      this.callHeaders = clientTraceContext(cx.req.headers.traceparent, cx.req.headers.tracestate);
    } else {
      this.tracer = new CallSpans(t, deps.time.clock);
      this.#admitAt = deps.time.clock.monoMs();
      this.callHeaders = null;
    }
  }

  // ── admission ──────────────────────────────────────────────────────────────

  /** Admission let it go (with its grant, or none when no replica is in rotation): to a replica now. */
  start(grant: Grant | null): void {
    // already ended (the boundary answered it while admission held it): the grant goes straight back
    if (this.#done) {
      if (grant !== null) this.deps.admission.release(grant);
      return;
    }
    this.#grant = grant;
    if (this.#trace !== null) this.#trace.stage('admission', this.#admitAt, this.deps.time.clock.monoMs());
    this.res.on('close', this.#onClientClose);
    try {
      if (!this.deps.upstream(this, this)) this.#fail(this.#noReplica());
    } catch (err) {
      this.crash(err, 'routing');
    }
  }

  /** Admission turned it away, before or while it waited. */
  refuse(err: GatewayError): void {
    try {
      if (this.#trace !== null) this.#trace.stage('admission', this.#admitAt, this.deps.time.clock.monoMs(), err.kind);
      this.#fail(err);
    } catch (e) {
      this.crash(e, 'admission');
    }
  }

  /** Its client left while it waited for admission. */
  abandon(): void {
    try {
      if (this.#trace !== null) this.#trace.stage('admission', this.#admitAt, this.deps.time.clock.monoMs(), 'cancelled');
      this.#settleUsage(499, 'cancelled', 0, 0, 0);
    } catch (err) {
      this.crash(err, 'admission');
    }
  }

  // ── the request, as its dispatch reads it ──────────────────────────────────

  get tokens(): number {
    return this.cx.ticket.tokens;
  }

  /** the prompt's size as estimated before any call (a failed call's sample is sized by it); asked only while a rollout measures the model */
  get promptTokens(): number {
    if (this.#promptTokens < 0) this.#promptTokens = this.cx.ticket.promptTokens > 0 ? this.cx.ticket.promptTokens : Math.max(1, promptChars(this.body) >> 2);
    return this.#promptTokens;
  }

  get prefillOwed(): number {
    return this.cx.ticket.prefillOwed;
  }

  get clientGone(): boolean {
    return this.res.destroyed;
  }

  pick(): Backend | null {
    return this.deps.upstreams.pick(this.cx.entry, this.cx.ticket);
  }

  crashed(err: unknown, phase: 'routing' | 'upstream'): void {
    this.crash(err, phase);
  }

  // ── what comes back ────────────────────────────────────────────────────────

  onStart(call: DispatchController<Backend>): void {
    this.#upstream = call;
  }

  onChunk(call: DispatchController<Backend>, c: UpstreamChunk): void {
    if (this.#done) return;
    let r = this.#relay;
    if (r === null) {
      this.#answeredBy = call.target?.replica ?? null;
      this.#firstByte();
      const held = this.#held !== null;
      this.#stopHold();
      const head = held ? null : this.deps.replies.headersFor(this.#ireq.wire, this.cx.requestId, SSE_HEAD, this.cx.heads);
      r = this.#relay = new StreamRelay(this.res, this.#ireq, this.cx.requestId, head, this.deps.time, call);
    }
    if (this.#trace !== null) heardChunk(this.#trace, c);
    r.chunk(c);
  }

  onDone(): void {
    if (this.#done) return;
    this.#settle(200, this.#relay!.end());
  }

  onCompletion(_call: DispatchController<Backend>, c: UpstreamCompletion): void {
    if (this.#done) return;
    this.#firstByte();
    if (this.#trace !== null) heardCompletion(this.#trace, c);
    const rendered = renderCompletion(this.#ireq, this.cx.requestId, c, this.deps.time);
    this.deps.replies.sendJson(this.res, this.#ireq.wire, this.cx.requestId, 200, rendered.body, null, this.cx.heads);
    const u = rendered.usage;
    this.#settleUsage(200, 'ok', u.inputTokens, u.cachedInputTokens, u.outputTokens);
  }

  /** A failure the dispatch will not retry: the client hears it. */
  onFailure(_call: DispatchController<Backend>, f: UpstreamFailure): void {
    if (this.#done) return;
    const err = classify(f, this.#ireq.model);
    const r = this.#relay;
    if (r === null) return this.#fail(err);
    r.fail(err);
    this.#settle(200, outcomeOf(err));
  }

  /** The first byte for the client: time to first token, and admission hears its prefill is done. */
  #firstByte(): void {
    const now = this.deps.time.clock.monoMs();
    this.#ttftMs = now - this.cx.t0;
    if (this.#trace !== null) this.#trace.firstByte(now);
    if (this.#grant !== null) this.deps.admission.firstToken(this.#grant);
  }

  #noReplica(): GatewayError {
    const allowed = this.cx.auth.allowedRegions;
    const regions = allowed ? ` in the regions allowed to this key (${allowed.join(', ')})` : '';
    return { kind: 'overloaded', message: `No replica of model ${this.#ireq.model} is available${regions}; try again shortly.`, retryAfterS: 1 };
  }

  // ── endings ────────────────────────────────────────────────────────────────

  #fail(err: GatewayError): void {
    if (this.#held !== null) {
      // the head went out already: the stream's own error event (its status is the head's 200)
      this.#stopHold();
      if (!this.res.writableEnded) this.res.end(streamErrorFrame(this.#ireq.wire, err, this.cx.requestId));
      return this.#settleUsage(200, outcomeOf(err), 0, 0, 0);
    }
    const status = this.deps.replies.sendError(this.res, this.#ireq.wire, err, this.cx.requestId, this.cx.heads);
    this.#settleUsage(status, outcomeOf(err), 0, 0, 0);
  }

  /** Past server.streamHeadAfterMs with no token yet: the head goes out, and keep-alives after it. */
  static #sendHead(x: Exchange): void {
    x.#hold = null;
    if (x.#done || x.#relay !== null || x.res.headersSent || x.res.destroyed) return;
    const head = x.deps.replies.headersFor(x.#ireq.wire, x.cx.requestId, SSE_HEAD, x.cx.heads);
    x.#held = new HeldStream(x.res, x.#ireq.wire, head, x.deps.time.timers);
  }

  #stopHold(): void {
    if (this.#hold !== null) {
      this.deps.time.timers.cancel(this.#hold);
      this.#hold = null;
    }
    this.#held?.stop();
  }

  /** Settles with what the stream relayed so far counted (nothing, before a stream began). */
  #settle(status: number, outcome: UsageOutcome): void {
    const u = this.#relay?.usage;
    this.#settleUsage(status, outcome, u?.inputTokens ?? 0, u?.cachedInputTokens ?? 0, u?.outputTokens ?? 0);
  }

  #settleUsage(status: number, outcome: UsageOutcome, input: number, cached: number, output: number): void {
    if (this.#done) return;
    this.#done = true;
    this.#stopHold();
    const grant = this.#grant;
    this.#grant = null;
    // whatever throws below, the grant goes back: a leaked grant is an admission queue that shrinks for ever
    try {
      this.#settleHeld(status, outcome, input, cached, output);
    } finally {
      if (grant !== null) this.deps.admission.release(grant);
    }
  }

  #settleHeld(status: number, outcome: UsageOutcome, input: number, cached: number, output: number): void {
    const d = this.deps;
    const up = this.#upstream;
    // the replica that answered, even when its stream broke after (the interceptors have let go of it by then)
    const replica = up?.target?.replica ?? this.#answeredBy;
    try {
      // whatever is still running upstream stops, and gives back its replica's counts and budget share
      try {
        up?.abort();
      } finally {
        d.rateLimits.release(this.cx.reservation, input, output, this.attempts > 0);
      }
    } finally {
      // whatever threw above, the request keeps its one record (the boundary finds it settled)
      d.settlement.settle(this.cx, status, outcome, {
        replica, ttftMs: this.#ttftMs, inputTokens: input, cachedInputTokens: cached, outputTokens: output,
      });
    }
    // last (the caller's finally): the next request in line may start at once, and should see this one's replica freed
  }

  /**
   * The error boundary of this request: a throw anywhere in its handling ends it as a 500 (on a
   * stream under way, the API's error event) and settles it once, as `internal_error`, with all
   * it holds given back: its admission grant, its rate-limit reservation, its replica's counts.
   * Its upstream calls are cancelled too, so nothing more is heard from them.
   */
  crash(err: unknown, phase: Phase): void {
    const replies = this.deps.replies;
    replies.noteInternalError(phase, err, this.cx.requestId);
    const status = replies.failInternal(this.res, this.#ireq.wire, this.cx.requestId, this.cx.heads, this.#relay !== null || this.#held !== null);
    if (!this.#done) {
      try {
        this.#settle(status, 'internal_error');
      } catch (e) {
        replies.noteInternalError('settle', e, this.cx.requestId);
        try {
          this.deps.rateLimits.release(this.cx.reservation, 0, 0, this.attempts > 0);
        } catch { /* counted above */ }
      }
    }
    try {
      this.#upstream?.abort();
    } catch { /* it is being dropped */ }
  }

  /** The client went away: cancel the upstream calls so the replicas free their KV. */
  readonly #onClientClose = (): void => {
    if (this.#done) return;
    if (this.res.writableFinished) return;
    try {
      this.#settle(499, 'cancelled');
    } catch (err) {
      this.crash(err, 'client');
    }
  };
}

/** The gateway's retry, hedge and overflow counters, by model. */
class RetryCounts implements RetryMetrics {
  constructor(private readonly m: ExchangeDeps['metrics']) {}

  retried(model: string): void {
    this.m.retries.inc({ model });
  }

  hedged(model: string): void {
    this.m.hedges.inc({ model });
  }

  overflowed(model: string): void {
    this.m.retryOverflow.inc({ model });
  }
}

/** A W3C traceparent of any version but ff: what a proxy that does not take part may pass on. */
const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}(-[^\s]*)?$/;
/** the W3C bound on what a `tracestate` passed on need carry (32 members fit in it) */
const TRACESTATE_MAX = 512;

/**
 * The client's `traceparent` (and `tracestate`), passed on as they came; null (nothing) when it
 * sent none, or a malformed or oversized one: untrusted headers are not relayed to every replica
 * unchecked. A `tracestate` over 512 characters or 32 members is dropped (the W3C allows it).
 */
function clientTraceContext(traceparent: string | string[] | undefined, tracestate: string | string[] | undefined): CallHeaders | null {
  if (typeof traceparent !== 'string' || traceparent.length > 256 || !TRACEPARENT.test(traceparent) || traceparent.startsWith('ff')) return null;
  return typeof tracestate === 'string' && tracestate.length <= TRACESTATE_MAX && members(tracestate) <= 32 ? { traceparent, tracestate } : { traceparent };
}

function members(s: string): number {
  let n = 1;
  for (let i = s.indexOf(','); i !== -1; i = s.indexOf(',', i + 1)) n++;
  return n;
}

/** A traced request's calls to replicas, each a span of its trace timed on the gateway's clock. */
class CallSpans implements CallTracer<Backend> {
  constructor(private readonly trace: RequestTrace, private readonly clock: Clock) {}

  attempt(target: Backend, attempt: number): CallSpan {
    const r = target.replica;
    return new CallSpan(this.trace.attempt({ id: r.id, region: r.region, url: r.url, protocol: r.protocol ?? 'openai', servedModel: r.servedModel }, attempt, this.clock.monoMs()), this.clock);
  }
}

class CallSpan {
  readonly headers: CallHeaders;

  constructor(private readonly a: ReturnType<RequestTrace['attempt']>, private readonly clock: Clock) {
    this.headers = a.headers;
  }

  end(error?: string, status?: number): void {
    this.a.end(this.clock.monoMs(), error, status);
  }
}

/** What a traced request's stream says of its answer: the replica's model, the answer's id, its finish reasons. */
function heardChunk(t: RequestTrace, c: UpstreamChunk): void {
  const choices = c.choices;
  if (choices === undefined || choices.length === 0) return t.answered(c.model, c.id, null);
  for (let i = 0; i < choices.length; i++) t.answered(c.model, c.id, choices[i].finish_reason);
}

function heardCompletion(t: RequestTrace, c: UpstreamCompletion): void {
  if (c.choices.length === 0) return t.answered(c.model, c.id, null);
  for (let i = 0; i < c.choices.length; i++) t.answered(c.model, c.id, c.choices[i].finish_reason);
}
