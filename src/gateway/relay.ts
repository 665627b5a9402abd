import type { ServerResponse } from 'node:http';
import {
  anthropicStream, openaiStream, renderAnthropicMessage, renderOpenAIChat,
  type GatewayError, type InferenceRequest, type Wire, type Rendered, type StreamTranscoder, type TokenUsage, type UpstreamChunk, type UpstreamCompletion,
} from '../api/index.js';
import type { UsageOutcome } from '../ledger/index.js';
import type { TimePorts, TimerHandle, Timers } from '../time/index.js';
import type { CallControl } from '../upstream/index.js';

// The answer's way to the client: a replica's stream transcoded into the client's wire as it
// arrives, or its whole answer rendered once.

/** The head of a stream to a client, before its request-id headers: flat `[name, value, …]` for `Replies.headersFor`. */
export const SSE_HEAD: readonly string[] = ['content-type', 'text/event-stream; charset=utf-8', 'cache-control', 'no-cache', 'connection', 'keep-alive', 'x-accel-buffering', 'no'];

/**
 * One stream to one client. Frames written in one tick go out in one write (one upstream read
 * often holds several events); when the client reads slower than the replica writes, the replica
 * is paused, not buffered in the gateway.
 */
export class StreamRelay {
  readonly #t: StreamTranscoder;
  #corked = false;
  /** paused for backpressure, waiting for one 'drain' (one listener however many writes return false) */
  #draining = false;

  /**
   * Writes the stream's `head` (`SSE_HEAD`, the request's own pairs and its id, from
   * `Replies.headersFor`), or none when a `HeldStream` sent it already; `source` is paused and
   * resumed with the client's reading.
   */
  constructor(
    private readonly res: ServerResponse,
    ireq: InferenceRequest,
    requestId: string,
    head: string[] | null,
    time: TimePorts,
    private readonly source: CallControl,
  ) {
    const ctx = { requestId, model: ireq.model };
    this.#t = ireq.wire === 'anthropic' ? anthropicStream(ctx, res, time.timers) : openaiStream(ctx, ireq.includeUsage, time.clock);
    if (head !== null) res.writeHead(200, head);
  }

  /** What the stream relayed so far counted. */
  get usage(): TokenUsage {
    return this.#t.usage;
  }

  chunk(c: UpstreamChunk): void {
    const out = this.#t.chunk(c);
    if (out.length === 0) return;
    const res = this.res;
    if (!this.#corked) {
      this.#corked = true;
      res.cork();
      process.nextTick(StreamRelay.uncork, this);
    }
    if (!res.write(out) && !this.#draining) {
      this.#draining = true;
      this.source.pause();
      res.once('drain', this.#onDrain);
    }
  }

  /** The replica ended its stream: the outcome to settle with. */
  end(): UsageOutcome {
    const t = this.#t;
    if (t.finished) {
      this.res.end(t.finish());
      return 'ok';
    }
    // Cut before a finish_reason: say so in the stream rather than end as if whole.
    this.res.end(t.fail({ kind: 'upstream', message: 'The replica ended the response before it was complete.' }));
    return 'upstream_error';
  }

  /** Bytes already reached the client: the stream ends with the API's own error event. */
  fail(err: GatewayError): void {
    this.res.end(this.#t.fail(err));
  }

  /** Sends what the current tick wrote, in one write. */
  static uncork(r: StreamRelay): void {
    r.#corked = false;
    r.res.uncork();
  }

  readonly #onDrain = (): void => {
    this.#draining = false;
    this.source.resume();
  };
}

/** A whole answer in the client's wire. */
export function renderCompletion(ireq: InferenceRequest, requestId: string, up: UpstreamCompletion, time: TimePorts): Rendered {
  const ctx = { requestId, model: ireq.model };
  return ireq.wire === 'anthropic' ? renderAnthropicMessage(ctx, up) : renderOpenAIChat(ctx, up, time.clock);
}

/** What keeps a held stream alive: Anthropic's own ping event; an SSE comment, which OpenAI clients skip. */
const KEEP_ALIVE: Readonly<Record<Wire, string>> = { anthropic: 'event: ping\ndata: {"type":"ping"}\n\n', openai: ': keep-alive\n\n' };
const HELD_KEEPALIVE_MS = 10_000;

/**
 * A stream whose head went out before its first token (it waited past server.streamHeadAfterMs,
 * queued or in a long prefill): the head and a keep-alive at once, then one every 10 s until the
 * first token, so a proxy between the gateway and the client never sees an idle connection.
 */
export class HeldStream {
  readonly #timer: TimerHandle;

  constructor(private readonly res: ServerResponse, private readonly wire: Wire, head: string[], private readonly timers: Timers) {
    res.writeHead(200, head);
    res.write(KEEP_ALIVE[wire]);
    this.#timer = timers.every(HELD_KEEPALIVE_MS, HeldStream.#beat, this);
  }

  static #beat(h: HeldStream): void {
    const res = h.res;
    if (!res.writableEnded && !res.destroyed && res.writableLength === 0) res.write(KEEP_ALIVE[h.wire]);
  }

  /** The first token came, or the request ended: no keep-alive from here. */
  stop(): void {
    this.timers.cancel(this.#timer);
  }
}
