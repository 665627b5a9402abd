import {
  AnthropicUpstreamStream, fromAnthropicMessage, toAnthropicRequest,
  type TokenizeBody, type UpstreamChatBody, type UpstreamChunk, type UpstreamCompletion,
} from '../api/index.js';
import type { Config } from '../config/index.js';
import type { FleetRegistry, Replica } from '../fleet/index.js';
import { ReplicaClient, type CallHeaders, type CallSink, type UpstreamCall, type UpstreamFailure, type UpstreamSink } from '../upstream/index.js';

// A Backend is how one replica is reached. The exchange speaks canonical (OpenAI-compatible)
// shapes to every backend; one whose replica speaks the Anthropic Messages API translates the
// body on the way out and the answer on the way back.


export type CountResult = { ok: true; count: number } | { ok: false; f: UpstreamFailure };

/** A replica and the way to reach it. */
export interface Backend {
  readonly replica: Replica;
  readonly client: ReplicaClient;
  /**
   * Sends a canonical chat body. Null when the body cannot be sent in the replica's protocol: the
   * sink has then already heard why (a 400-like failure), before this returns.
   */
  chat(body: UpstreamChatBody, stream: boolean, sink: CallSink, trace?: CallHeaders | null): UpstreamCall | null;
  /** Counts a prompt's tokens with the replica's own tokenizer. */
  countTokens(body: TokenizeBody, done: (r: CountResult) => void): void;
}

/** The version of the Messages API the translation is written against. */
const ANTHROPIC_VERSION = '2023-06-01';

/** The connections to one replica. Its URL may name the `/v1` base or the server root; both work. */
export function createBackend(cfg: Config, replica: Replica, apiKey: string | undefined): Backend {
  const url = new URL(replica.url);
  const base = url.pathname.replace(/\/+$/, '');
  const v1 = base.endsWith('/v1') ? base : `${base}/v1`;
  const opts = { connections: cfg.upstream.connections, timeouts: cfg.upstream };
  if (replica.protocol === 'anthropic') {
    const headers: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION };
    if (apiKey) headers['x-api-key'] = apiKey;
    const model = cfg.models.find((m) => m.id === replica.model);
    return new AnthropicBackend(replica, new ReplicaClient(url.origin, { ...opts, headers }), v1, model?.defaultMaxTokens ?? 1_024);
  }
  return new OpenAIBackend(replica, new ReplicaClient(url.origin, { ...opts, apiKey }), v1);
}

/** Builds a backend per replica of the fleet. */
export function createBackends(cfg: Config, fleet: FleetRegistry, apiKeys: ReadonlyMap<string, string | undefined>): Map<Replica, Backend> {
  const out = new Map<Replica, Backend>();
  for (const replica of fleet.all) out.set(replica, createBackend(cfg, replica, apiKeys.get(replica.id)));
  return out;
}

/** vLLM's server: `/v1/chat/completions`, and `/tokenize` (chat template applied) for counts. */
class OpenAIBackend implements Backend {
  readonly #chatPath: string;
  readonly #tokenizePath: string;

  constructor(readonly replica: Replica, readonly client: ReplicaClient, v1: string) {
    this.#chatPath = `${v1}/chat/completions`;
    this.#tokenizePath = `${v1.slice(0, -3)}/tokenize`;
  }

  chat(body: UpstreamChatBody, stream: boolean, sink: CallSink, trace?: CallHeaders | null): UpstreamCall {
    return this.client.post(this.#chatPath, JSON.stringify(body), stream, sink, trace);
  }

  countTokens(body: TokenizeBody, done: (r: CountResult) => void): void {
    this.client.post(this.#tokenizePath, JSON.stringify(body), false, new CountSink(done, 'count', '/tokenize'));
  }
}

/** The Messages API: `/v1/messages`, `/v1/messages/count_tokens`, `x-api-key`. */
class AnthropicBackend implements Backend {
  readonly #messagesPath: string;
  readonly #countPath: string;

  constructor(readonly replica: Replica, readonly client: ReplicaClient, v1: string, private readonly defaultMaxTokens: number) {
    this.#messagesPath = `${v1}/messages`;
    this.#countPath = `${v1}/messages/count_tokens`;
  }

  chat(body: UpstreamChatBody, stream: boolean, sink: CallSink, trace?: CallHeaders | null): UpstreamCall | null {
    const req = toAnthropicRequest(body, this.defaultMaxTokens);
    if (!req.ok) {
      sink.onFailure(untranslatable(req.error.message));
      return null;
    }
    return this.client.post(this.#messagesPath, JSON.stringify(req.value), stream, new AnthropicRelay(sink, stream), trace);
  }

  countTokens(body: TokenizeBody, done: (r: CountResult) => void): void {
    const req = toAnthropicRequest({ model: body.model, messages: body.messages, tools: body.tools }, null);
    if (!req.ok) return done({ ok: false, f: untranslatable(req.error.message) });
    this.client.post(this.#countPath, JSON.stringify(req.value), false, new CountSink(done, 'input_tokens', '/v1/messages/count_tokens'));
  }
}

/** One call to an Anthropic upstream: its events and message, translated for the exchange. */
class AnthropicRelay implements UpstreamSink {
  readonly #stream: AnthropicUpstreamStream | null;

  constructor(private readonly sink: CallSink, stream: boolean) {
    this.#stream = stream ? new AnthropicUpstreamStream() : null;
  }

  // What the upstream sends is not trusted: a translation that throws (a tool input nested too
  // deep to serialise, say) is that call's failure, never an exception in undici's handler.
  onEvent(data: string): void {
    let c: UpstreamChunk | null;
    try {
      c = this.#stream?.read(data) ?? null;
    } catch {
      c = { error: { message: 'the upstream sent a stream event that could not be translated' } };
    }
    if (c !== null) this.sink.onChunk(c);
  }

  onDone(): void {
    this.sink.onDone();
  }

  onBody(body: string): void {
    let c: UpstreamCompletion | null;
    try {
      c = fromAnthropicMessage(body);
    } catch {
      c = null;
    }
    if (c === null) this.sink.onFailure({ kind: 'status', status: 502, body: 'the upstream sent a malformed message' });
    else this.sink.onCompletion(c);
  }

  onFailure(f: UpstreamFailure): void {
    this.sink.onFailure(overloadedAs503(f));
  }
}

/** A count answer: `{count}` from vLLM's /tokenize, `{input_tokens}` from count_tokens. */
class CountSink implements UpstreamSink {
  constructor(private readonly done: (r: CountResult) => void, private readonly field: 'count' | 'input_tokens', private readonly path: string) {}

  onEvent(): void {}
  onDone(): void {}

  onBody(text: string): void {
    try {
      const n = (JSON.parse(text) as Record<string, unknown> | null)?.[this.field];
      if (typeof n === 'number' && Number.isFinite(n)) return this.done({ ok: true, count: n });
    } catch { /* fall through */ }
    this.done({ ok: false, f: { kind: 'status', status: 502, body: `the replica answered ${this.path} without a count` } });
  }

  onFailure(f: UpstreamFailure): void {
    this.done({ ok: false, f: overloadedAs503(f) });
  }
}

/** A body the Messages API has no form for: the replica is never asked, and the client hears a 400. */
function untranslatable(message: string): UpstreamFailure {
  return { kind: 'status', status: 400, body: JSON.stringify({ error: { message } }) };
}

/** 529 is Anthropic's "overloaded": what a 503 means to the gateway (retry elsewhere, shed). */
function overloadedAs503(f: UpstreamFailure): UpstreamFailure {
  // the rest (its Retry-After) as the replica said it
  return f.kind === 'status' && f.status === 529 ? { ...f, status: 503 } : f;
}
