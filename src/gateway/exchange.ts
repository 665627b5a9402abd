import type { ServerResponse } from 'node:http';
import {
  anthropicStream, openaiStream, renderAnthropicMessage, renderOpenAIChat,
  type GatewayError, type InferenceRequest, type StreamTranscoder, type UpstreamChunk, type UpstreamCompletion,
} from '../api/index.js';
import type { ModelConfig } from '../config/index.js';
import type { UsageOutcome } from '../ledger/index.js';
import type { AuthContext } from '../tenancy/index.js';
import { decideRetry, type UpstreamCall, type UpstreamFailure } from '../upstream/index.js';
import type { Admissible, Slot } from './admission.js';
import type { Backend, ChatSink } from './backends.js';
import type { Gateway, ModelEntry } from './gateway.js';
import type { LimitTicket } from './rate-limits.js';
import type { Stage } from './boundary.js';
import type { RouteTicket } from './routing.js';

const SSE_HEAD = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' };

/**
 * One call to one replica for a request. It is the call's sink and forwards to its exchange with
 * its own identity, so a hedged request can tell its two calls apart.
 */
class Attempt implements ChatSink {
  call: UpstreamCall | null = null;
  /** the router's estimate of the prefill this call owes its replica, until its first byte */
  prefillOwed: number;
  readonly sentAt = performance.now();
  /** this call holds a retry-budget slot (a retry or a hedge) until its first byte */
  budgeted = false;

  constructor(readonly x: Exchange, readonly backend: Backend, prefillOwed: number) {
    this.prefillOwed = prefillOwed;
  }

  onEvent(data: string): void {
    this.#report(this.x.attemptEvent, data);
  }

  onChunk(c: UpstreamChunk): void {
    this.#report(this.x.attemptChunk, c);
  }

  onCompletion(c: UpstreamCompletion): void {
    this.#report(this.x.attemptCompletion, c);
  }

  onDone(): void {
    this.#report(this.x.attemptDone, undefined);
  }

  onBody(body: string): void {
    this.#report(this.x.attemptBody, body);
  }

  onFailure(f: UpstreamFailure): void {
    this.#report(this.x.attemptFailure, f);
  }

  /** Hands a report to the exchange; a throw while handling it is the request's crash, never the pool's. */
  #report<T>(handle: (this: Exchange, a: Attempt, v: T) => void, v: T): void {
    try {
      handle.call(this.x, this, v);
    } catch (err) {
      this.x.crash(err, 'upstream');
    }
  }
}

/**
 * One inference request from routing to the last byte: picks a replica, sends, relays, retries a
 * failure that came before anything reached the client, hedges a slow first token when asked to,
 * and settles the ledger once.
 */
export class Exchange implements Admissible {
  /** the call whose bytes reach the client (or will) */
  #attempt: Attempt | null = null;
  /** a second call racing the first for the first token (hedging), or null */
  #hedge: Attempt | null = null;
  #hedgeTimer: NodeJS.Timeout | null = null;
  #transcoder: StreamTranscoder | null = null;
  #attempts = 0;
  #backoff: NodeJS.Timeout | null = null;
  #lastError: GatewayError | null = null;
  #ttftMs: number | null = null;
  #done = false;
  #corked = false;
  /** its hold on the pool's admission, from dispatch to the end (none when it bypassed admission) */
  #slot: Slot | null = null;
  #started = false;

  constructor(
    private readonly gw: Gateway,
    readonly res: ServerResponse,
    readonly requestId: string,
    private readonly startedAt: number,
    private readonly t0: number,
    private readonly auth: AuthContext,
    private readonly ireq: InferenceRequest,
    private readonly model: ModelConfig,
    private readonly ticket: RouteTicket,
    private readonly limit: LimitTicket,
    private readonly entry: ModelEntry,
  ) {}

  /** Admission let it go (holding `slot`, or with none when no replica is in rotation): to a replica now. */
  start(slot: Slot | null): void {
    // already ended (the boundary answered it while admission held it): the slot goes straight back
    if (this.#done) {
      if (slot !== null) this.gw.admission.release(slot);
      return;
    }
    this.#slot = slot;
    this.#started = true;
    this.gw.retries.started();
    this.res.on('close', this.#onClientClose);
    try {
      this.#sendOrFail(false);
    } catch (err) {
      this.crash(err, 'routing');
    }
  }

  /** Admission turned it away, before or while it waited. */
  refuse(err: GatewayError): void {
    try {
      this.#fail(err);
    } catch (e) {
      this.crash(e, 'admission');
    }
  }

  /** Its client left while it waited for a slot. */
  abandon(): void {
    try {
      this.#settleUsage(499, 'cancelled', 0, 0, 0);
    } catch (err) {
      this.crash(err, 'admission');
    }
  }

  /** Sends the request to the next replica the router picks; false when there was none. */
  #send(budgeted: boolean): boolean {
    const backend = this.gw.pick(this.entry, this.ticket);
    if (backend === null) {
      if (budgeted) this.gw.retries.release();
      return false;
    }
    this.#attempts++;
    const a = new Attempt(this, backend, this.ticket.prefillOwed);
    a.budgeted = budgeted;
    const r = backend.replica;
    r.inflight++;
    r.inflightTokens += this.ticket.tokens;
    r.pendingPrefill += a.prefillOwed;
    const up = this.ireq.upstream;
    up.model = r.servedModel;
    if (this.#attempt === null) this.#attempt = a;
    else this.#hedge = a;
    // null: the body has no form in the replica's protocol, and the attempt has already failed
    a.call = backend.chat(up, this.ireq.stream, a);
    return true;
  }

  /** The first try, or a retry after its backoff. */
  #sendOrFail(budgeted: boolean): void {
    this.#backoff = null;
    if (this.#done) {
      if (budgeted) this.gw.retries.release();
      return;
    }
    if (!this.#send(budgeted)) {
      const regions = this.auth.allowedRegions ? ` in the regions allowed to this key (${this.auth.allowedRegions.join(', ')})` : '';
      // on a retry with nowhere else to go, the client hears what went wrong with the last try
      return this.#fail(this.#lastError ?? { kind: 'overloaded', message: `No replica of model ${this.ireq.model} is available${regions}; try again shortly.`, retryAfterS: 1 });
    }
    if (!this.#done) this.#armHedge();
  }

  /** Streamed requests, when hedging is on: no first token by the delay → a second replica too. */
  #armHedge(): void {
    const h = this.gw.hedge;
    if (h === null || !this.ireq.stream || this.#hedge !== null || this.#attempts >= this.gw.maxAttempts) return;
    if (this.#hedgeTimer !== null) clearTimeout(this.#hedgeTimer);
    this.#hedgeTimer = setTimeout(Exchange.hedgeNow, h.delayMs, this);
  }

  static hedgeNow(x: Exchange): void {
    x.#hedgeTimer = null;
    if (x.#done || x.#transcoder !== null || x.#attempt === null || x.#hedge !== null) return;
    // a hedge is extra load: it spends the retry budget like a retry does
    if (!x.gw.retries.acquire()) return void x.gw.metrics.retryOverflow.inc({ model: x.ireq.model });
    try {
      if (x.#send(true)) x.gw.metrics.hedges.inc({ model: x.ireq.model });
    } catch (err) {
      x.crash(err, 'routing');
    }
  }

  static retry(x: Exchange): void {
    try {
      x.#sendOrFail(true);
    } catch (err) {
      x.crash(err, 'routing');
    }
  }

  // ── what the calls report ──────────────────────────────────────────────────

  attemptEvent(a: Attempt, data: string): void {
    if (this.#done) return;
    let chunk: UpstreamChunk;
    try {
      chunk = JSON.parse(data) as UpstreamChunk;
    } catch {
      return this.attemptFailure(a, { kind: 'broken', message: 'the replica sent a malformed stream event' });
    }
    this.attemptChunk(a, chunk);
  }

  /** One canonical chunk of a call's stream (parsed here, or translated by its backend). */
  attemptChunk(a: Attempt, chunk: UpstreamChunk): void {
    if (this.#done) return;
    if (chunk.error !== undefined) {
      return this.attemptFailure(a, { kind: 'broken', message: `the replica reported an error mid-stream: ${describeUpstreamError(chunk.error)}` });
    }
    let t = this.#transcoder;
    if (t === null) {
      // the first token: this call wins any race, and the other is cancelled
      if (a === this.#hedge) {
        this.#drop(this.#attempt!);
        this.#attempt = a;
        this.#hedge = null;
      } else if (this.#hedge !== null) {
        this.#drop(this.#hedge);
        this.#hedge = null;
      }
      if (this.#hedgeTimer !== null) {
        clearTimeout(this.#hedgeTimer);
        this.#hedgeTimer = null;
      }
      const now = performance.now();
      this.#ttftMs = now - this.t0;
      this.#firstByte(a, now);
      const ctx = { requestId: this.requestId, model: this.ireq.model };
      t = this.#transcoder = this.ireq.wire === 'anthropic' ? anthropicStream(ctx, this.res) : openaiStream(ctx, this.ireq.includeUsage);
      this.res.writeHead(200, this.gw.headersFor(this.ireq.wire, this.requestId, SSE_HEAD));
    }
    const out = t.chunk(chunk);
    if (out.length === 0) return;
    // One upstream read often holds several events: send their frames in one write.
    if (!this.#corked) {
      this.#corked = true;
      this.res.cork();
      process.nextTick(Exchange.uncork, this);
    }
    if (!this.res.write(out)) {
      a.call!.pause();
      this.res.once('drain', this.#onDrain);
    }
  }

  /** Sends what the current tick wrote, in one write. */
  static uncork(x: Exchange): void {
    x.#corked = false;
    x.res.uncork();
  }

  attemptDone(a: Attempt): void {
    if (this.#done) return;
    const t = this.#transcoder;
    if (t === null) {
      // The replica closed an empty stream: nothing reached the client yet, so it may go elsewhere.
      return this.attemptFailure(a, { kind: 'connect', message: 'the replica ended the stream without sending anything' });
    }
    if (t.finished) {
      this.res.end(t.finish());
      return this.#settle(200, 'ok');
    }
    // Cut before a finish_reason: say so in the stream rather than end as if whole.
    this.res.end(t.fail({ kind: 'upstream', message: 'The replica ended the response before it was complete.' }));
    this.#settle(200, 'upstream_error');
  }

  attemptBody(a: Attempt, body: string): void {
    if (this.#done) return;
    let up: UpstreamCompletion;
    try {
      up = JSON.parse(body) as UpstreamCompletion;
      if (!Array.isArray(up.choices)) throw new Error('no choices');
    } catch {
      return this.attemptFailure(a, { kind: 'status', status: 502, body: 'the replica sent a malformed response' });
    }
    this.attemptCompletion(a, up);
  }

  /** A call's whole answer, canonical (parsed here, or translated by its backend). */
  attemptCompletion(a: Attempt, up: UpstreamCompletion): void {
    if (this.#done) return;
    const now = performance.now();
    this.#ttftMs = now - this.t0;
    this.#firstByte(a, now);
    const ctx = { requestId: this.requestId, model: this.ireq.model };
    const rendered = this.ireq.wire === 'anthropic' ? renderAnthropicMessage(ctx, up) : renderOpenAIChat(ctx, up);
    this.gw.sendJson(this.res, this.ireq.wire, this.requestId, 200, rendered.body);
    this.#settleUsage(200, 'ok', rendered.usage.inputTokens, rendered.usage.cachedInputTokens, rendered.usage.outputTokens);
  }

  attemptFailure(a: Attempt, f: UpstreamFailure): void {
    if (this.#done) return;
    // A failure the gateway found in what it read (a malformed or error event): stop reading, so
    // the replica stops generating for nobody. A failure the call reported itself is already over.
    a.call?.abort();
    this.#release(a);
    this.gw.noteUpstreamFailure(a.backend, f, a.sentAt);
    const err = this.gw.classify(f, this.ireq.model);
    if (a === this.#hedge) {
      // the hedge lost; the first call is still running
      this.#hedge = null;
      return;
    }
    if (this.#hedge !== null && this.#transcoder === null) {
      // the first call failed before a byte; the hedge already running takes its place
      this.#attempt = this.#hedge;
      this.#hedge = null;
      this.#lastError = err;
      return;
    }
    this.#attempt = null;
    if (this.#transcoder !== null) {
      // Bytes already reached the client: end the stream with the API's own error event.
      this.res.end(this.#transcoder.fail(err));
      return this.#settle(200, outcomeOf(err));
    }
    if (!this.res.destroyed) {
      const v = decideRetry(this.gw.retryRule, f, this.#attempts, this.gw.retries, Math.random);
      if (v.kind === 'retry') {
        this.#lastError = err;
        this.gw.metrics.retries.inc({ model: this.ireq.model });
        this.#backoff = setTimeout(Exchange.retry, v.waitMs, this);
        return;
      }
      if (v.kind === 'overflow') this.gw.metrics.retryOverflow.inc({ model: this.ireq.model });
    }
    this.#fail(err);
  }

  // ── bookkeeping of calls ───────────────────────────────────────────────────

  /** The call's first byte: a success for outlier detection, its prefill done, its budget slot back. */
  #firstByte(a: Attempt, now: number): void {
    this.gw.noteUpstreamSuccess(a.backend, now - a.sentAt);
    if (this.#slot !== null) this.gw.admission.firstToken(this.#slot);
    a.backend.replica.pendingPrefill -= a.prefillOwed;
    a.prefillOwed = 0;
    if (a.budgeted) {
      a.budgeted = false;
      this.gw.retries.release();
    }
  }

  /** The call is over, whatever its outcome: its replica's counts and its budget slot go back. */
  #release(a: Attempt): void {
    const r = a.backend.replica;
    r.inflight--;
    r.inflightTokens -= this.ticket.tokens;
    r.pendingPrefill -= a.prefillOwed;
    a.prefillOwed = 0;
    if (a.budgeted) {
      a.budgeted = false;
      this.gw.retries.release();
    }
  }

  /** Cancels a call that lost a race, so its replica stops working for nobody. */
  #drop(a: Attempt): void {
    a.call?.abort();
    a.call = null;
    this.#release(a);
  }

  // ── endings ────────────────────────────────────────────────────────────────

  #fail(err: GatewayError): void {
    const status = this.gw.sendError(this.res, this.ireq.wire, err, this.requestId);
    this.#settleUsage(status, outcomeOf(err), 0, 0, 0);
  }

  /** Settles with what the stream relayed so far counted (nothing, before a stream began). */
  #settle(status: number, outcome: UsageOutcome): void {
    const u = this.#transcoder?.usage;
    this.#settleUsage(status, outcome, u?.inputTokens ?? 0, u?.cachedInputTokens ?? 0, u?.outputTokens ?? 0);
  }

  #settleUsage(status: number, outcome: UsageOutcome, input: number, cached: number, output: number): void {
    if (this.#done) return;
    this.#done = true;
    const slot = this.#slot;
    this.#slot = null;
    // whatever throws below, the pool's slot goes back: a leaked slot is a pool that shrinks for ever
    try {
      this.#settleHeld(status, outcome, input, cached, output);
    } finally {
      if (slot !== null) this.gw.admission.release(slot);
    }
  }

  #settleHeld(status: number, outcome: UsageOutcome, input: number, cached: number, output: number): void {
    if (this.#started) this.gw.retries.ended();
    if (this.#backoff !== null) {
      clearTimeout(this.#backoff);
      this.#backoff = null;
      // the retry it was waiting to send held a budget slot
      this.gw.retries.release();
    }
    if (this.#hedgeTimer !== null) {
      clearTimeout(this.#hedgeTimer);
      this.#hedgeTimer = null;
    }
    if (this.#hedge !== null) {
      this.#drop(this.#hedge);
      this.#hedge = null;
    }
    const a = this.#attempt;
    if (a !== null) this.#release(a);
    this.gw.rateLimits.settle(this.limit, input, output, this.#attempts > 0);
    const replica = a?.backend.replica ?? null;
    this.gw.settle({
      requestId: this.requestId,
      startedAt: this.startedAt,
      tenantId: this.auth.tenantId,
      workspaceId: this.auth.workspaceId,
      keyId: this.auth.keyId,
      model: this.ireq.model,
      replica: replica?.id ?? null,
      region: replica?.region ?? null,
      wire: this.ireq.wire,
      stream: this.ireq.stream,
      status,
      outcome,
      inputTokens: input,
      cachedInputTokens: cached,
      outputTokens: output,
      ttftMs: this.#ttftMs === null ? null : Math.round(this.#ttftMs * 1000) / 1000,
      latencyMs: Math.round((performance.now() - this.t0) * 1000) / 1000,
      // prices are per million tokens; rounded to a billionth of a dollar, so no float noise is stored
      costUsd: Math.round((input * this.model.pricing.input + output * this.model.pricing.output) * 1e3) / 1e9,
    });
    this.#attempt = null;
    // last (the caller's finally): the next request in line may start at once, and should see this one's replica freed
  }

  /**
   * The error boundary of this request: a throw anywhere in its handling ends it as a 500 (on a
   * stream under way, the API's error event) and settles it once, as `internal_error`, with all
   * it holds given back: the pool's slot, its rate-limit charge, its replica's counts. Its
   * upstream calls are cancelled after, so their failure reports find it ended.
   */
  crash(err: unknown, stage: Stage): void {
    this.gw.noteInternalError(stage, err, this.requestId);
    const calls = [this.#attempt?.call, this.#hedge?.call];
    const status = this.gw.failInternal(this.res, this.ireq.wire, this.requestId);
    if (!this.#done) {
      try {
        this.#settle(status, 'internal_error');
      } catch (e) {
        this.gw.noteInternalError('settle', e, this.requestId);
        try {
          this.gw.rateLimits.settle(this.limit, 0, 0, this.#attempts > 0);
        } catch { /* counted above */ }
      }
    }
    for (const c of calls) {
      try {
        c?.abort();
      } catch { /* it is being dropped */ }
    }
  }

  readonly #onDrain = (): void => {
    this.#attempt?.call?.resume();
  };

  /** The client went away: cancel the upstream calls so the replicas free their KV. */
  readonly #onClientClose = (): void => {
    if (this.#done) return;
    if (this.res.writableFinished) return;
    try {
      this.#attempt?.call?.abort();
      this.#settle(499, 'cancelled');
    } catch (err) {
      this.crash(err, 'client');
    }
  };
}

/** The ledger outcome of a request that ended in this error. */
export function outcomeOf(e: GatewayError): UsageOutcome {
  switch (e.kind) {
    case 'rate_limited': return 'rate_limited';
    case 'overloaded': return 'overloaded';
    case 'timeout': return 'timeout';
    case 'upstream': return 'upstream_error';
    case 'internal': return 'internal_error';
    default: return 'client_error';
  }
}

function describeUpstreamError(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e && typeof (e as { message: unknown }).message === 'string') return (e as { message: string }).message;
  return typeof e === 'string' ? e : 'unknown error';
}
