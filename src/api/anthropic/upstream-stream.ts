// An Anthropic Messages SSE stream → canonical (OpenAI-compatible) chunks, one event at a time.
// Each event's `data:` carries its `type`, so the data lines alone are enough. Content blocks are
// numbered by Anthropic across text and tools; OpenAI numbers tool calls alone, so each tool_use
// block gets the next tool index, and its id and name go out on that index's first fragment.
// The finish is held back until `message_stop`: a stream cut after `message_delta` is not whole.
import { isObj, type Obj } from '../body.js';
import { count, finishOf, openaiUsage, type OpenAIUsage } from './upstream-answer.js';
import type { UpstreamChunk } from '../types.js';

/** a block that is not a tool call (text, thinking, or a type with no OpenAI form) */
const NOT_TOOL = -1;

/** A reported count; a field that is absent or null keeps what was reported before (message_start gave it). */
const counted = (v: unknown, before: number): number => (v === undefined || v === null ? before : count(v));

export class AnthropicUpstreamStream {
  #id: string | undefined = undefined;
  #started = false;
  /** per Anthropic block index: the OpenAI tool index of a tool_use block, else NOT_TOOL */
  readonly #blocks: number[] = [];
  #tools = 0;
  #stopReason: unknown = null;
  #stopSequence: unknown = null;
  // cumulative, as Anthropic reports it: later events overwrite the fields they carry
  #input = 0;
  #cacheRead = 0;
  #cacheWrite = 0;
  #output = 0;

  /** The chunk for one `data:` payload, or null when it has nothing for the client. */
  read(data: string): UpstreamChunk | null {
    let ev: unknown;
    try {
      ev = JSON.parse(data);
    } catch {
      return { error: { message: 'the upstream sent a malformed stream event' } };
    }
    if (!isObj(ev)) return { error: { message: 'the upstream sent a malformed stream event' } };
    switch (ev.type) {
      case 'message_start':
        return this.#start(ev.message);
      case 'content_block_start':
        return this.#blockStart(ev);
      case 'content_block_delta':
        return this.#delta(ev);
      case 'message_delta':
        if (isObj(ev.delta) && ev.delta.stop_reason !== undefined) {
          this.#stopReason = ev.delta.stop_reason;
          this.#stopSequence = ev.delta.stop_sequence ?? null;
        }
        if (isObj(ev.usage)) this.#usage(ev.usage);
        return null;
      case 'message_stop':
        return this.#finish();
      case 'error': {
        const e = isObj(ev.error) ? ev.error : {};
        const type = typeof e.type === 'string' ? e.type : 'api_error';
        return { error: { type, message: typeof e.message === 'string' ? `${type}: ${e.message}` : type } };
      }
      default:
        // ping, content_block_stop, and event types newer than this code
        return null;
    }
  }

  #start(msg: unknown): UpstreamChunk | null {
    if (this.#started) return null;
    this.#started = true;
    if (isObj(msg)) {
      if (typeof msg.id === 'string') this.#id = msg.id;
      if (isObj(msg.usage)) this.#usage(msg.usage);
    }
    // the role first, with the prompt's size, so an Anthropic client's message_start has it too
    return this.#chunk({ role: 'assistant', content: '' }, null, this.#currentUsage());
  }

  #blockStart(ev: Obj): UpstreamChunk | null {
    const i = ev.index;
    const b = ev.content_block;
    if (typeof i !== 'number' || !isObj(b)) return null;
    if (b.type !== 'tool_use' || typeof b.name !== 'string') {
      this.#blocks[i] = NOT_TOOL;
      // text opens empty and arrives in deltas; one given at the start is sent as it is
      return b.type === 'text' && typeof b.text === 'string' && b.text.length > 0 ? this.#chunk({ content: b.text }, null, undefined) : null;
    }
    const k = this.#tools++;
    this.#blocks[i] = k;
    // Anthropic opens with `input: {}` and streams the JSON; an input given whole is sent whole
    const input = isObj(b.input) && Object.keys(b.input).length > 0 ? JSON.stringify(b.input) : '';
    const call = { index: k, id: typeof b.id === 'string' ? b.id : undefined, type: 'function', function: { name: b.name, arguments: input } };
    return this.#chunk({ tool_calls: [call] }, null, undefined);
  }

  #delta(ev: Obj): UpstreamChunk | null {
    const d = ev.delta;
    if (!isObj(d)) return null;
    switch (d.type) {
      case 'text_delta':
        return typeof d.text === 'string' && d.text.length > 0 ? this.#chunk({ content: d.text }, null, undefined) : null;
      case 'thinking_delta':
        return typeof d.thinking === 'string' && d.thinking.length > 0 ? this.#chunk({ reasoning_content: d.thinking }, null, undefined) : null;
      case 'input_json_delta': {
        const k = typeof ev.index === 'number' ? this.#blocks[ev.index] : undefined;
        // a fragment for a block that never opened as a tool has no name to go with: dropped
        if (k === undefined || k < 0 || typeof d.partial_json !== 'string' || d.partial_json.length === 0) return null;
        return this.#chunk({ tool_calls: [{ index: k, function: { arguments: d.partial_json } }] }, null, undefined);
      }
      default:
        // signature_delta, citations_delta: nothing an OpenAI client can hold
        return null;
    }
  }

  #finish(): UpstreamChunk {
    const c = this.#chunk({}, finishOf(this.#stopReason), this.#currentUsage());
    if (this.#stopReason === 'stop_sequence' && typeof this.#stopSequence === 'string') c.choices![0].stop_reason = this.#stopSequence;
    return c;
  }

  #usage(u: Obj): void {
    this.#input = counted(u.input_tokens, this.#input);
    this.#cacheRead = counted(u.cache_read_input_tokens, this.#cacheRead);
    this.#cacheWrite = counted(u.cache_creation_input_tokens, this.#cacheWrite);
    this.#output = counted(u.output_tokens, this.#output);
  }

  #currentUsage(): OpenAIUsage {
    return openaiUsage(this.#input, this.#cacheRead, this.#cacheWrite, this.#output);
  }

  #chunk(delta: NonNullable<NonNullable<UpstreamChunk['choices']>[0]['delta']>, finish: string | null, usage: OpenAIUsage | undefined): UpstreamChunk {
    const c: UpstreamChunk = { id: this.#id, choices: [{ index: 0, delta, finish_reason: finish }] };
    if (usage !== undefined) c.usage = usage;
    return c;
  }
}
