import type { ServerResponse } from 'node:http';
import {
  anthropicStream, openaiStream, renderAnthropicMessage, renderOpenAIChat,
  type GatewayError, type InferenceRequest, type StreamTranscoder, type UpstreamChunk, type UpstreamCompletion,
} from '../api/index.js';
import type { ModelConfig } from '../config/index.js';
import type { UsageOutcome } from '../ledger/index.js';
import type { AuthContext } from '../tenancy/index.js';
import type { UpstreamCall, UpstreamFailure, UpstreamSink } from '../upstream/index.js';
import type { Backend } from './backends.js';
import type { Gateway, ModelEntry } from './gateway.js';

const SSE_HEAD = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' };

/**
 * One inference request from routing to the last byte: picks a replica, sends, relays, retries a
 * failure that came before anything reached the client, and settles the ledger once.
 */
export class Exchange implements UpstreamSink {
  #backend: Backend | null = null;
  #call: UpstreamCall | null = null;
  #transcoder: StreamTranscoder | null = null;
  #tried: number[] | null = null;
  #attempts = 0;
  #ttftMs: number | null = null;
  #done = false;
  #corked = false;
  #entry: ModelEntry | null = null;

  constructor(
    private readonly gw: Gateway,
    private readonly res: ServerResponse,
    readonly requestId: string,
    private readonly startedAt: number,
    private readonly t0: number,
    private readonly auth: AuthContext,
    private readonly ireq: InferenceRequest,
    private readonly model: ModelConfig,
  ) {}

  start(entry: ModelEntry): void {
    this.#entry = entry;
    this.res.on('close', this.#onClientClose);
    this.#send();
  }

  #send(): void {
    const entry = this.#entry!;
    const i = this.gw.pick(entry, this.auth.allowedRegions, this.#tried);
    if (i < 0) {
      const regions = this.auth.allowedRegions ? ` in the regions allowed to this key (${this.auth.allowedRegions.join(', ')})` : '';
      return this.#fail(this.#attempts === 0
        ? { kind: 'overloaded', message: `No replica of model ${this.ireq.model} is available${regions}; try again shortly.`, retryAfterS: 1 }
        : { kind: 'upstream', message: `Every replica of model ${this.ireq.model} tried failed; try again shortly.` });
    }
    const backend = entry.backends[i];
    (this.#tried ??= []).push(i);
    this.#attempts++;
    this.#backend = backend;
    backend.replica.inflight++;
    const up = this.ireq.upstream;
    up.model = backend.replica.servedModel;
    this.#call = backend.pool.post(backend.chatPath, JSON.stringify(up), this.ireq.stream, this);
  }

  // ── UpstreamSink ────────────────────────────────────────────────────────────

  onEvent(data: string): void {
    if (this.#done) return;
    let chunk: UpstreamChunk;
    try {
      chunk = JSON.parse(data) as UpstreamChunk;
    } catch {
      return this.onFailure({ kind: 'broken', message: 'the replica sent a malformed stream event' });
    }
    if (chunk.error !== undefined) {
      return this.onFailure({ kind: 'broken', message: `the replica reported an error mid-stream: ${describeUpstreamError(chunk.error)}` });
    }
    let t = this.#transcoder;
    if (t === null) {
      this.#ttftMs = performance.now() - this.t0;
      const ctx = { requestId: this.requestId, model: this.ireq.model };
      t = this.#transcoder = this.ireq.wire === 'anthropic' ? anthropicStream(ctx) : openaiStream(ctx, this.ireq.includeUsage);
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
      this.#call!.pause();
      this.res.once('drain', this.#onDrain);
    }
  }

  /** Sends what the current tick wrote, in one write. */
  static uncork(x: Exchange): void {
    x.#corked = false;
    x.res.uncork();
  }

  onDone(): void {
    const t = this.#transcoder;
    if (t === null) {
      // The replica closed an empty stream: nothing reached the client yet, so it may go elsewhere.
      return this.onFailure({ kind: 'connect', message: 'the replica ended the stream without sending anything' });
    }
    if (t.finished) {
      this.res.end(t.finish());
      return this.#settle(200, 'ok', t);
    }
    // Cut before a finish_reason: say so in the stream rather than end as if whole.
    this.res.end(t.fail({ kind: 'upstream', message: 'The replica ended the response before it was complete.' }));
    this.#settle(200, 'upstream_error', t);
  }

  onBody(body: string): void {
    let up: UpstreamCompletion;
    try {
      up = JSON.parse(body) as UpstreamCompletion;
      if (!Array.isArray(up.choices)) throw new Error('no choices');
    } catch {
      return this.onFailure({ kind: 'status', status: 502, body: 'the replica sent a malformed response' });
    }
    this.#ttftMs = performance.now() - this.t0;
    const ctx = { requestId: this.requestId, model: this.ireq.model };
    const rendered = this.ireq.wire === 'anthropic' ? renderAnthropicMessage(ctx, up) : renderOpenAIChat(ctx, up);
    this.gw.sendJson(this.res, this.ireq.wire, this.requestId, 200, rendered.body);
    this.#settleUsage(200, 'ok', rendered.usage.inputTokens, rendered.usage.cachedInputTokens, rendered.usage.outputTokens);
  }

  onFailure(f: UpstreamFailure): void {
    if (this.#done) return;
    const backend = this.#backend!;
    backend.replica.inflight--;
    // A failure the gateway found in what it read (a malformed or error event): stop reading, so
    // the replica stops generating for nobody. A failure the call reported itself is already over.
    this.#call?.abort();
    this.#call = null;
    this.gw.noteUpstreamFailure(backend, f);
    const err = this.gw.classify(f, this.ireq.model);
    if (this.#transcoder !== null) {
      // Bytes already reached the client: end the stream with the API's own error event.
      this.#backend = null;
      this.res.end(this.#transcoder.fail(err));
      return this.#settle(200, outcomeOf(err), this.#transcoder);
    }
    this.#backend = null;
    if (isRetryable(f) && this.#attempts < this.gw.maxAttempts && !this.res.destroyed) {
      this.gw.metrics.retries.inc({ model: this.ireq.model });
      return this.#send();
    }
    this.#fail(err);
  }

  // ── endings ────────────────────────────────────────────────────────────────

  #fail(err: GatewayError): void {
    const status = this.gw.sendError(this.res, this.ireq.wire, err, this.requestId);
    this.#settleUsage(status, outcomeOf(err), 0, 0, 0);
  }

  #settle(status: number, outcome: UsageOutcome, t: StreamTranscoder): void {
    const u = t.usage;
    this.#settleUsage(status, outcome, u.inputTokens, u.cachedInputTokens, u.outputTokens);
  }

  #settleUsage(status: number, outcome: UsageOutcome, input: number, cached: number, output: number): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#backend !== null) {
      this.#backend.replica.inflight--;
    }
    const replica = this.#backend?.replica ?? null;
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
      costUsd: (input * this.model.pricing.input + output * this.model.pricing.output) / 1e6,
    });
    this.#backend = null;
  }

  readonly #onDrain = (): void => {
    this.#call?.resume();
  };

  /** The client went away: cancel the upstream call so the replica frees its KV. */
  readonly #onClientClose = (): void => {
    if (this.#done) return;
    if (this.res.writableFinished) return;
    this.#call?.abort();
    this.#call = null;
    const t = this.#transcoder;
    this.#settleUsage(499, 'cancelled', t?.usage.inputTokens ?? 0, t?.usage.cachedInputTokens ?? 0, t?.usage.outputTokens ?? 0);
  };
}

function isRetryable(f: UpstreamFailure): boolean {
  // Only failures where the replica cannot have started the work, or refused it for its own reasons.
  return f.kind === 'connect' || (f.kind === 'timeout' && f.phase === 'connect') || (f.kind === 'status' && (f.status === 502 || f.status === 503 || f.status === 500));
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
