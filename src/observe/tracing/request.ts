import { SpanKind, TraceFlags, type Attributes, type SpanContext } from '@opentelemetry/api';
import type { IdGenerator, ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ERROR_STATUS, FinishedSpan, NO_STATUS, type SpanOrigin } from './finished.js';
import type { AttemptTrace, RequestTrace, TracedReplica, TraceEnding, TraceHeaders, TraceStage } from '../types.js';

// One sampled request's spans. Nothing is sent while the request runs: its stages and calls are
// kept as records, and the whole trace goes to the span processor in one go when the request ends
// (a trace never ended is garbage, never a half-trace). Every time is a monotonic reading, turned
// into epoch ms by the arrival's pair of readings, so the spans of a request line up with each
// other whatever the wall clock does meanwhile.

/** What every trace of a tracer shares. */
export interface TraceShared extends SpanOrigin {
  /** where a finished trace's spans go */
  readonly processor: SpanProcessor;
  readonly ids: IdGenerator;
}

export class OtelRequestTrace implements RequestTrace {
  /** finished stage spans and calls, sent with the root */
  #spans: ReadableSpan[] = [];
  #attempts: OtelAttemptTrace[] | null = null;
  #firstByte = -1;
  #responseModel: string | undefined;
  #responseId: string | undefined;
  #finishReasons: string[] | null = null;
  #ended = false;
  /** the calls' `tracestate`, serialised once */
  #traceState: string | undefined | null = null;

  readonly context: SpanContext;

  constructor(
    readonly shared: TraceShared,
    /** the client's span, when it sent a sampled one */
    private readonly parent: SpanContext | undefined,
    private readonly wire: string,
    private readonly startMono: number,
    private readonly startEpochMs: number,
  ) {
    const ids = shared.ids;
    this.context = { traceId: parent?.traceId ?? ids.generateTraceId(), spanId: ids.generateSpanId(), traceFlags: TraceFlags.SAMPLED, traceState: parent?.traceState };
  }

  epoch(mono: number): number {
    return this.startEpochMs + (mono - this.startMono);
  }

  /** A child span of the root, kept until the request ends. */
  child(name: string, kind: SpanKind, spanId: string, startMono: number, endMono: number, attributes: Attributes, error: boolean): void {
    const sc = this.context;
    this.#spans.push(new FinishedSpan(name, kind, { traceId: sc.traceId, spanId, traceFlags: TraceFlags.SAMPLED, traceState: sc.traceState },
      sc, this.shared, this.epoch(startMono), this.epoch(endMono), attributes, error ? ERROR_STATUS : NO_STATUS));
  }

  stage(name: TraceStage, startMono: number, endMono: number, error?: string): void {
    if (this.#ended) return;
    this.child(name, SpanKind.INTERNAL, this.shared.ids.generateSpanId(), startMono, endMono, error === undefined ? {} : { 'error.type': error }, error !== undefined);
  }

  /** The `tracestate` the calls carry: the client's, as the W3C rules bound it (≤ 32 members, ≤ 512 chars). */
  traceState(): string | undefined {
    if (this.#traceState === null) {
      const s = this.context.traceState?.serialize();
      this.#traceState = s === '' ? undefined : s;
    }
    return this.#traceState;
  }

  attempt(replica: TracedReplica, attempt: number, startMono: number): AttemptTrace {
    const at = addressOf(replica.url);
    const a = new OtelAttemptTrace(this, `chat ${replica.servedModel}`, startMono, {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': replica.protocol, 'gen_ai.request.model': replica.servedModel,
      'server.address': at.host, 'server.port': at.port,
      'switchyard.replica.id': replica.id, 'switchyard.region': replica.region, 'switchyard.attempt': attempt,
    });
    // a call after the end (none should be) is its own, already over
    if (this.#ended) a.over = true;
    else (this.#attempts ??= []).push(a);
    return a;
  }

  firstByte(mono: number): void {
    if (this.#firstByte < 0) this.#firstByte = mono;
  }

  answered(model: string | undefined, id: string | undefined, finishReason: string | null | undefined): void {
    if (model !== undefined && this.#responseModel === undefined) this.#responseModel = model;
    if (id !== undefined && this.#responseId === undefined) this.#responseId = id;
    if (finishReason != null && !this.#ended) (this.#finishReasons ??= []).push(finishReason);
  }

  end(e: TraceEnding, endMono: number): void {
    if (this.#ended) return;
    this.#ended = true;
    const failed = e.status >= 400 || e.outcome !== 'ok';
    // calls nobody heard the end of (cancelled with their request, a hedge's loser) end with it
    const attempts = this.#attempts;
    if (attempts !== null) for (const a of attempts) a.end(endMono, 'cancelled');
    if (this.#firstByte >= 0) this.child('relay', SpanKind.INTERNAL, this.shared.ids.generateSpanId(), this.#firstByte, endMono, failed ? { 'error.type': e.outcome } : {}, failed);
    const r = e.record;
    const attrs: Attributes = {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': this.wire,
      'switchyard.request.id': e.requestId, 'http.response.status_code': e.status, 'switchyard.outcome': e.outcome,
    };
    let name = 'chat';
    if (r !== null) {
      if (r.model !== '') {
        name = `chat ${r.model}`;
        attrs['gen_ai.request.model'] = r.model;
      }
      attrs['switchyard.tenant.id'] = r.tenantId;
      attrs['switchyard.workspace.id'] = r.workspaceId;
      attrs['switchyard.key.id'] = r.keyId;
      attrs['gen_ai.request.stream'] = r.stream;
      attrs['gen_ai.usage.input_tokens'] = r.inputTokens;
      attrs['gen_ai.usage.output_tokens'] = r.outputTokens;
      attrs['gen_ai.usage.cache_read.input_tokens'] = r.cachedInputTokens;
      if (r.ttftMs !== null) attrs['gen_ai.server.time_to_first_token'] = r.ttftMs / 1000;
      if (r.replica !== null) attrs['switchyard.replica.id'] = r.replica;
      if (r.region !== null) attrs['switchyard.region'] = r.region;
    }
    if (e.maxTokens !== null) attrs['gen_ai.request.max_tokens'] = e.maxTokens;
    if (e.priority !== null) attrs['switchyard.priority'] = e.priority;
    if (this.#responseModel !== undefined) attrs['gen_ai.response.model'] = this.#responseModel;
    if (this.#responseId !== undefined) attrs['gen_ai.response.id'] = this.#responseId;
    if (this.#finishReasons !== null) attrs['gen_ai.response.finish_reasons'] = this.#finishReasons;
    if (failed) attrs['error.type'] = e.outcome;
    const root = new FinishedSpan(name, SpanKind.SERVER, this.context, this.parent, this.shared, this.startEpochMs, this.epoch(endMono), attrs, failed ? ERROR_STATUS : NO_STATUS);
    const p = this.shared.processor;
    const spans = this.#spans;
    this.#spans = [];
    for (let i = 0; i < spans.length; i++) p.onEnd(spans[i]);
    p.onEnd(root);
  }
}

class OtelAttemptTrace implements AttemptTrace {
  readonly headers: TraceHeaders;
  readonly #spanId: string;
  over = false;

  constructor(private readonly owner: OtelRequestTrace, private readonly name: string, private readonly startMono: number, private readonly attrs: Attributes) {
    const sc = owner.context;
    const spanId = this.#spanId = owner.shared.ids.generateSpanId();
    const traceparent = `00-${sc.traceId}-${spanId}-01`;
    const ts = owner.traceState();
    this.headers = ts === undefined ? { traceparent } : { traceparent, tracestate: ts };
  }

  end(endMono: number, error?: string, status?: number): void {
    if (this.over) return;
    this.over = true;
    const attrs = this.attrs;
    if (status !== undefined) attrs['http.response.status_code'] = status;
    if (error !== undefined) attrs['error.type'] = error;
    this.owner.child(this.name, SpanKind.CLIENT, this.#spanId, this.startMono, endMono, attrs, error !== undefined);
  }
}

/** A replica URL's host and port, parsed once per URL (a fleet has a few). */
const addresses = new Map<string, { readonly host: string; readonly port: number }>();
function addressOf(url: string): { readonly host: string; readonly port: number } {
  let a = addresses.get(url);
  if (a === undefined) {
    const u = new URL(url);
    a = { host: u.hostname, port: u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port) };
    if (addresses.size < 10_000) addresses.set(url, a);
  }
  return a;
}
