import type { ServerResponse } from 'node:http';
import {
  anthropicStream, openaiStream, renderAnthropicMessage, renderOpenAIChat,
  type GatewayError, type InferenceRequest, type Rendered, type StreamTranscoder, type TokenUsage, type UpstreamChunk, type UpstreamCompletion,
} from '../api/index.js';
import type { UsageOutcome } from '../ledger/index.js';
import type { TimePorts } from '../time/index.js';
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

  /** Writes the stream's `head` (`SSE_HEAD`, the request's own pairs and its id, from `Replies.headersFor`); `source` is paused and resumed with the client's reading. */
  constructor(
    private readonly res: ServerResponse,
    ireq: InferenceRequest,
    requestId: string,
    head: string[],
    time: TimePorts,
    private readonly source: CallControl,
  ) {
    const ctx = { requestId, model: ireq.model };
    this.#t = ireq.wire === 'anthropic' ? anthropicStream(ctx, res, time.timers) : openaiStream(ctx, ireq.includeUsage, time.clock);
    res.writeHead(200, head);
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
