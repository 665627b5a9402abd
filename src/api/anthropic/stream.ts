// OpenAI-compatible upstream chunks → Anthropic SSE. Every frame has its `event:` line (the
// Anthropic SDK drops data-only frames). Blocks are numbered 0, 1, 2… without gaps and opened one
// at a time: text, then each tool call in its own tool_use block, with a `toolu_` id. An OpenAI
// refusal is text in a text block of its own and stop_reason "refusal", as a whole answer gives it.
// A `ping` follows message_start, as Anthropic's streams do, and again when the stream falls silent.
import { anthropicErrorBody } from '../errors.js';
import { newMessageId, toolUseIdFor } from '../ids.js';
import { anthropicUsageFields, stopInfo, toUsage } from '../mapping.js';
import { wallTimers, type TimerHandle, type Timers } from '../../time/index.js';
import type { GatewayError, ResponseContext, StreamTranscoder, TokenUsage, UpstreamChunk } from '../types.js';

const NONE = -1;
const TEXT = -2;
const REFUSAL = -3;
const BLOCK_STOP_HEAD = 'event: content_block_stop\ndata: {"type":"content_block_stop","index":';
const TEXT_START_HEAD = 'event: content_block_start\ndata: {"type":"content_block_start","index":';
const TEXT_START_TAIL = ',"content_block":{"type":"text","text":""}}\n\n';
const TEXT_DELTA_HEAD = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":';
const TEXT_DELTA_MID = ',"delta":{"type":"text_delta","text":';
const JSON_DELTA_MID = ',"delta":{"type":"input_json_delta","partial_json":';
const DELTA_TAIL = '}}\n\n';
const MESSAGE_STOP = 'event: message_stop\ndata: {"type":"message_stop"}\n\n';
const PING = 'event: ping\ndata: {"type":"ping"}\n\n';

type ToolFragment = { index: number; id?: string; function?: { name?: string; arguments?: string } };

/** One upstream tool call (by its `index`), until it has a name and so a block. */
interface ToolCall {
  block: number;
  id: string | undefined;
  /** arguments received before the name (rare), sent when the block opens */
  args: string;
}

class AnthropicStream implements StreamTranscoder {
  readonly usage: TokenUsage = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 };
  finished = false;
  #started = false;
  #ended = false;
  /** NONE, TEXT, REFUSAL, or ≥0: the upstream tool index whose block is open */
  #open = NONE;
  #nextBlock = 0;
  #textBlock = NONE;
  #refusalBlock = NONE;
  /** refusal text was relayed: the stop_reason is "refusal" */
  #refused = false;
  #tools: ToolCall[] | null = null;
  #finish: string | null = null;
  #stopReason: unknown = null;
  readonly #model: string;
  readonly #requestId: string;
  /** keep-alive ticks since this stream last wrote */
  quiet = 0;
  readonly out: StreamOut | null;
  /** pings this stream while it is open; null when there is no response to write to */
  readonly #keepAlive: KeepAlive | null;

  constructor(ctx: ResponseContext, out: StreamOut | null, keepAlive: KeepAlive | null) {
    this.#model = JSON.stringify(ctx.model);
    this.#requestId = ctx.requestId;
    this.out = out;
    this.#keepAlive = keepAlive;
  }

  chunk(c: UpstreamChunk): string {
    const out = this.#chunk(c);
    if (out.length > 0) this.quiet = 0;
    return out;
  }

  #chunk(c: UpstreamChunk): string {
    if (c.usage) toUsage(c.usage, this.usage);
    let out = this.#started ? '' : this.#start();
    const choices = c.choices;
    if (!Array.isArray(choices) || choices.length === 0) return out;
    const ch = choices[0];
    // what a broken replica sends is skipped, never read as if well formed
    if (ch === null || typeof ch !== 'object' || (ch.index !== 0 && ch.index !== undefined)) return out;
    const d = ch.delta;
    if (d !== null && typeof d === 'object') {
      // Text before tool calls: in a chunk that carries both, the text was generated first.
      const text = d.content;
      if (typeof text === 'string' && text.length > 0) out += this.#text(TEXT, text);
      // only text counts as a refusal: OpenAI's first delta says `refusal: null`
      const refusal = (d as { refusal?: unknown }).refusal;
      if (typeof refusal === 'string' && refusal.length > 0) {
        this.#refused = true;
        out += this.#text(REFUSAL, refusal);
      }
      const calls = d.tool_calls;
      if (Array.isArray(calls)) for (let i = 0; i < calls.length; i++) out += this.#toolFragment(calls[i]);
    }
    if (typeof ch.finish_reason === 'string' && ch.finish_reason !== '') {
      this.#finish = ch.finish_reason;
      this.#stopReason = ch.stop_reason ?? null;
      this.finished = true;
    }
    return out;
  }

  #start(): string {
    this.#started = true;
    this.#keepAlive?.add(this);
    return (
      'event: message_start\ndata: {"type":"message_start","message":{"id":"' + newMessageId() +
      '","type":"message","role":"assistant","model":' + this.#model +
      ',"content":[],"stop_reason":null,"stop_sequence":null,"usage":{' + anthropicUsageFields(this.usage) +
      ',"service_tier":"standard"}}}\n\n' + PING
    );
  }

  /** A text delta in the open block of its kind (TEXT or REFUSAL), opening one if another is open. */
  #text(kind: number, text: string): string {
    let out = '';
    if (this.#open !== kind) {
      out += this.#close();
      const block = this.#nextBlock++;
      if (kind === TEXT) this.#textBlock = block;
      else this.#refusalBlock = block;
      this.#open = kind;
      out += TEXT_START_HEAD + block + TEXT_START_TAIL;
    }
    return out + TEXT_DELTA_HEAD + (kind === TEXT ? this.#textBlock : this.#refusalBlock) + TEXT_DELTA_MID + JSON.stringify(text) + DELTA_TAIL;
  }

  #end(): void {
    this.#ended = true;
    this.#keepAlive?.delete(this);
  }

  #toolFragment(f: ToolFragment): string {
    if (f === null || typeof f !== 'object') return '';
    const k = f.index ?? 0;
    const tools = (this.#tools ??= []);
    let t = tools[k];
    if (t === undefined) t = tools[k] = { block: NONE, id: undefined, args: '' };
    if (f.id && t.id === undefined) t.id = f.id;
    const args = f.function?.arguments;
    const name = f.function?.name;
    let out = '';
    if (t.block === NONE) {
      if (!name) {
        // No name yet: a tool_use block cannot open without one, so hold what came.
        if (args) t.args += args;
        return '';
      }
      out += this.#close();
      t.block = this.#nextBlock++;
      this.#open = k;
      out +=
        'event: content_block_start\ndata: {"type":"content_block_start","index":' + t.block +
        ',"content_block":{"type":"tool_use","id":' + JSON.stringify(toolUseIdFor(t.id)) +
        ',"name":' + JSON.stringify(name) + ',"input":{}}}\n\n';
      if (t.args.length > 0) {
        out += TEXT_DELTA_HEAD + t.block + JSON_DELTA_MID + JSON.stringify(t.args) + DELTA_TAIL;
        t.args = '';
      }
    }
    // A fragment for an earlier call after a later one began (never seen from vLLM) still goes
    // to its own block index, which is where the SDKs apply it.
    if (args) out += TEXT_DELTA_HEAD + t.block + JSON_DELTA_MID + JSON.stringify(args) + DELTA_TAIL;
    return out;
  }

  #close(): string {
    const open = this.#open;
    if (open === NONE) return '';
    this.#open = NONE;
    const block = open === TEXT ? this.#textBlock : open === REFUSAL ? this.#refusalBlock : this.#tools![open].block;
    return BLOCK_STOP_HEAD + block + '}\n\n';
  }

  finish(): string {
    if (this.#ended) return '';
    this.#end();
    let out = this.#started ? '' : this.#start();
    out += this.#close();
    const stop = stopInfo(this.#finish, this.#stopReason, this.#tools !== null && this.#tools.length > 0, this.#refused);
    return (
      out +
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"' + stop.reason +
      '","stop_sequence":' + JSON.stringify(stop.sequence) + '},"usage":{' + anthropicUsageFields(this.usage) + '}}\n\n' +
      MESSAGE_STOP
    );
  }

  fail(e: GatewayError): string {
    if (this.#ended) return '';
    this.#end();
    // No message_stop follows an error event; the A-SDK throws an APIError with e's type.
    return 'event: error\ndata: ' + anthropicErrorBody(e, this.#requestId) + '\n\n';
  }
}

/** Where a stream's frames go: the client's response (only what a ping needs of it). */
export interface StreamOut {
  write(chunk: string): boolean;
  readonly writableLength: number;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
}

/** Keep-alive ticks are this far apart; a stream silent for QUIET_TICKS of them (10–15 s) gets a ping. */
const TICK_MS = 5_000;
const QUIET_TICKS = 3;

/**
 * One timer for every open stream, not one per stream or per chunk: a chunk only zeroes its
 * stream's `quiet` count; each tick counts it up and pings the streams that reached the limit,
 * so an idle proxy between the gateway and the client never sees a silent connection.
 */
class KeepAlive {
  readonly #streams = new Set<AnthropicStream>();
  #timer: TimerHandle | null = null;

  constructor(private readonly timers: Timers) {}

  add(s: AnthropicStream): void {
    this.#streams.add(s);
    // `every` never keeps the process alive: a gateway shuts down with streams open
    if (this.#timer === null) this.#timer = this.timers.every(TICK_MS, KeepAlive.tick, this);
  }

  delete(s: AnthropicStream): void {
    this.#streams.delete(s);
    if (this.#streams.size === 0 && this.#timer !== null) {
      this.timers.cancel(this.#timer);
      this.#timer = null;
    }
  }

  static tick(k: KeepAlive): void {
    for (const s of k.#streams) {
      const out = s.out!;
      // a client gone without the stream being ended (the exchange only cancels the replica): forget it
      if (out.destroyed || out.writableEnded) {
        k.delete(s);
        continue;
      }
      if (++s.quiet < QUIET_TICKS) continue;
      s.quiet = 0;
      // bytes still queued for a slow client: the connection is not idle
      if (out.writableLength === 0) out.write(PING);
    }
  }
}

/** One keep-alive per Timers: the wall's for the gateway, a manual clock's in a spec. */
const keepAlives = new WeakMap<Timers, KeepAlive>();

function keepAliveOn(timers: Timers): KeepAlive {
  let k = keepAlives.get(timers);
  if (k === undefined) keepAlives.set(timers, (k = new KeepAlive(timers)));
  return k;
}

/**
 * The transcoder for one Anthropic stream. Given the response it writes to, it also keeps the
 * stream alive with `ping` events while the replica is silent (a long prefill, a slow tool call),
 * on `timers` (the wall's unless a caller hands its own).
 */
export function anthropicStream(ctx: ResponseContext, out: StreamOut | null = null, timers: Timers = wallTimers): StreamTranscoder {
  return new AnthropicStream(ctx, out, out === null ? null : keepAliveOn(timers));
}
