// Upstream chat.completion.chunk → the client's chunk: the public model name, the gateway's own
// `chatcmpl-` id throughout, a role on the first delta, usage only where the client asked for it,
// `[DONE]`. Each chunk is written from the fields OpenAI defines, so what vLLM adds
// (`stop_reason`, `prompt_token_ids`, `kv_transfer_params`, `service_tier: null`, …) stays behind.
import { isObj } from '../body.js';
import { openaiErrorBody } from '../errors.js';
import { newCompletionId, toolCallIdFor } from '../ids.js';
import { toUsage } from '../mapping.js';
import { wallClock, type Clock } from '../../time/index.js';
import type { GatewayError, ResponseContext, StreamTranscoder, TokenUsage, UpstreamChunk } from '../types.js';

const DONE = 'data: [DONE]\n\n';

type Choice = NonNullable<UpstreamChunk['choices']>[number];
type Delta = NonNullable<Choice['delta']>;
type ToolDelta = NonNullable<Delta['tool_calls']>[number];

const str = (v: unknown): string => JSON.stringify(typeof v === 'string' ? v : '');

class OpenAIStream implements StreamTranscoder {
  readonly usage: TokenUsage = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 };
  finished = false;
  /** `data: {"id":…,"object":…,"created":…,"model":…` — the same on every chunk, made once */
  #head: string | null = null;
  #roleSent = false;
  #usageSent = false;
  #sawUsage = false;
  #ended = false;
  /** the ids given out, by upstream tool index: a replica may repeat its id on later fragments */
  #toolIds: string[] | null = null;
  readonly #model: string;

  constructor(ctx: ResponseContext, private readonly includeUsage: boolean, private readonly clock: Clock) {
    this.#model = JSON.stringify(ctx.model);
  }

  chunk(c: UpstreamChunk): string {
    const head = (this.#head ??= this.#makeHead(c));
    if (c.usage) {
      toUsage(c.usage, this.usage);
      this.#sawUsage = true;
    }
    const choices = c.choices;
    if (!Array.isArray(choices) || choices.length === 0) {
      // The usage-only chunk that ends an include_usage stream.
      if (!this.includeUsage || !c.usage || this.#usageSent) return '';
      this.#usageSent = true;
      return this.#usageFrame(head);
    }
    let out = head + ',"choices":[';
    let n = 0;
    for (let i = 0; i < choices.length; i++) {
      const ch = choices[i];
      // what a broken replica sends is skipped, never read as if well formed
      if (ch === null || typeof ch !== 'object') continue;
      if (n++ > 0) out += ',';
      out += '{"index":' + (typeof ch.index === 'number' ? ch.index : 0) + ',"delta":' + this.#delta(ch.delta) +
        ',"logprobs":' + JSON.stringify((ch as { logprobs?: unknown }).logprobs ?? null) +
        ',"finish_reason":' + (typeof ch.finish_reason === 'string' ? JSON.stringify(ch.finish_reason) : 'null') + '}';
      if (typeof ch.finish_reason === 'string' && ch.finish_reason !== '') this.finished = true;
    }
    // OpenAI: with include_usage, usage is null on every chunk but the last; else absent
    return out + (this.includeUsage ? '],"usage":null}\n\n' : ']}\n\n');
  }

  #makeHead(c: UpstreamChunk): string {
    const created = typeof c.created === 'number' ? c.created : Math.floor(this.clock.nowMs() / 1000);
    const fp = (c as { system_fingerprint?: unknown }).system_fingerprint;
    return 'data: {"id":"' + newCompletionId() + '","object":"chat.completion.chunk","created":' + created +
      ',"model":' + this.#model + (typeof fp === 'string' ? ',"system_fingerprint":' + JSON.stringify(fp) : '');
  }

  /** The delta's OpenAI fields, the role added to the first one. */
  #delta(d: Delta | undefined): string {
    let out = '{';
    if (!this.#roleSent) {
      this.#roleSent = true;
      out += '"role":"assistant"';
      // a first delta with nothing in it still says content "", as OpenAI's does
      if (d === null || typeof d !== 'object' || d.content === undefined) out += ',"content":""';
    }
    if (d === null || typeof d !== 'object') return out + '}';
    const text = d.content;
    if (text !== undefined) out += (out.length > 1 ? ',' : '') + '"content":' + (typeof text === 'string' ? JSON.stringify(text) : 'null');
    const refusal = (d as { refusal?: unknown }).refusal;
    if (typeof refusal === 'string') out += (out.length > 1 ? ',' : '') + '"refusal":' + JSON.stringify(refusal);
    if (typeof d.reasoning_content === 'string') out += (out.length > 1 ? ',' : '') + '"reasoning_content":' + JSON.stringify(d.reasoning_content);
    const fc = this.#functionCall((d as { function_call?: unknown }).function_call);
    if (fc.length > 0) out += (out.length > 1 ? ',' : '') + '"function_call":' + fc;
    const calls = d.tool_calls;
    if (Array.isArray(calls) && calls.length > 0) {
      out += (out.length > 1 ? ',' : '') + '"tool_calls":[';
      let n = 0;
      for (let k = 0; k < calls.length; k++) {
        const f = calls[k];
        if (f !== null && typeof f === 'object') out += (n++ > 0 ? ',' : '') + this.#toolFragment(f);
      }
      out += ']';
    }
    return out + '}';
  }

  /** A tool call fragment: the first for an index carries id, type and name; later ones arguments. */
  #toolFragment(f: ToolDelta): string {
    const index = typeof f.index === 'number' ? f.index : 0;
    let out = '{"index":' + index;
    if (f.id) {
      const ids = (this.#toolIds ??= []);
      // the O-SDK refuses a call whose id changes mid-stream: one id per index
      const id = (ids[index] ??= toolCallIdFor(f.id));
      // and one whose first fragment lacks `type`
      out += ',"id":' + JSON.stringify(id) + ',"type":"function"';
    }
    const fn = f.function;
    if (fn) {
      out += ',"function":{';
      let sep = '';
      if (fn.name !== undefined) {
        out += '"name":' + str(fn.name);
        sep = ',';
      }
      if (fn.arguments !== undefined) out += sep + '"arguments":' + str(fn.arguments);
      out += '}';
    }
    return out + '}';
  }

  /**
   * A legacy call's fragment (finish_reason "function_call"): its name and arguments where each is
   * text, as the whole answer relays them; '' when neither is (the O-SDK would keep an empty call).
   */
  #functionCall(fc: unknown): string {
    if (!isObj(fc)) return '';
    const { name, arguments: args } = fc;
    let out = '';
    if (typeof name === 'string') out += '"name":' + JSON.stringify(name);
    if (typeof args === 'string') out += (out.length > 0 ? ',' : '') + '"arguments":' + JSON.stringify(args);
    return out.length === 0 ? '' : '{' + out + '}';
  }

  /** A chunk of no choices, carrying the usage so far. */
  #usageFrame(head: string): string {
    const u = this.usage;
    return head + ',"choices":[],"usage":{"prompt_tokens":' + u.inputTokens + ',"completion_tokens":' + u.outputTokens + ',"total_tokens":' +
      (u.inputTokens + u.outputTokens) + ',"prompt_tokens_details":{"cached_tokens":' + u.cachedInputTokens + '}}}\n\n';
  }

  finish(): string {
    if (this.#ended) return '';
    this.#ended = true;
    if (!this.includeUsage || this.#usageSent || !this.#sawUsage) return DONE;
    // The replica never sent the usage-only chunk: make it from the last usage it reported.
    this.#usageSent = true;
    return this.#usageFrame(this.#head ?? this.#makeHead({})) + DONE;
  }

  fail(e: GatewayError): string {
    if (this.#ended) return '';
    this.#ended = true;
    // A payload with an `error` key makes the O-SDK throw an APIError mid-stream.
    return 'data: ' + openaiErrorBody(e) + '\n\n';
  }
}

/** `clock` dates a chunk the replica sent without `created` (the wall's unless a caller hands one). */
export function openaiStream(ctx: ResponseContext, includeUsage: boolean, clock: Clock = wallClock): StreamTranscoder {
  return new OpenAIStream(ctx, includeUsage, clock);
}
