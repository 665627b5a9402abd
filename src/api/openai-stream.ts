// Upstream chat.completion.chunk → the client's chunk (API-NOTES B.3): the public model name, one
// id throughout, a role on the first delta, usage only where the client asked for it, `[DONE]`.
// The parsed chunk is the gateway's own copy, so it is edited in place and serialized once.
import { openaiErrorBody } from './errors.js';
import { newCompletionId } from './ids.js';
import { toUsage } from './mapping.js';
import type { GatewayError, ResponseContext, StreamTranscoder, TokenUsage, UpstreamChunk } from './types.js';

const DONE = 'data: [DONE]\n\n';

class OpenAIStream implements StreamTranscoder {
  readonly usage: TokenUsage = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 };
  finished = false;
  #id: string | null = null;
  #created = 0;
  #roleSent = false;
  #usageSent = false;
  #sawUsage = false;
  #ended = false;
  readonly #model: string;

  constructor(ctx: ResponseContext, private readonly includeUsage: boolean) {
    this.#model = ctx.model;
  }

  chunk(c: UpstreamChunk): string {
    if (this.#id === null) {
      this.#id = typeof c.id === 'string' && c.id.startsWith('chatcmpl-') ? c.id : newCompletionId();
      this.#created = typeof c.created === 'number' ? c.created : Math.floor(Date.now() / 1000);
    }
    if (c.usage) {
      toUsage(c.usage, this.usage);
      this.#sawUsage = true;
    }
    const choices = c.choices;
    if (!choices || choices.length === 0) {
      // The usage-only chunk that ends an include_usage stream.
      if (!this.includeUsage || !c.usage || this.#usageSent) return '';
      this.#usageSent = true;
      return this.#frame(c);
    }
    for (let i = 0; i < choices.length; i++) {
      const ch = choices[i];
      if (!this.#roleSent) {
        if (ch.delta) ch.delta.role ??= 'assistant';
        else ch.delta = { role: 'assistant', content: '' };
        this.#roleSent = true;
      }
      const calls = ch.delta?.tool_calls;
      if (calls) {
        // The O-SDK refuses a tool call whose first fragment lacks `type`.
        for (let k = 0; k < calls.length; k++) if (calls[k].id && !calls[k].type) calls[k].type = 'function';
      }
      if (ch.finish_reason) this.finished = true;
    }
    if (this.includeUsage) c.usage = null; // OpenAI: usage is null on every chunk but the last
    else if (c.usage !== undefined) c.usage = undefined; // omitted by JSON.stringify, no delete
    return this.#frame(c);
  }

  #frame(c: UpstreamChunk): string {
    c.id = this.#id!;
    c.object = 'chat.completion.chunk';
    c.created ??= this.#created;
    c.model = this.#model;
    return 'data: ' + JSON.stringify(c) + '\n\n';
  }

  finish(): string {
    if (this.#ended) return '';
    this.#ended = true;
    if (!this.includeUsage || this.#usageSent || !this.#sawUsage) return DONE;
    // The replica never sent the usage-only chunk: make it from the last usage it reported.
    this.#usageSent = true;
    const u = this.usage;
    const last: UpstreamChunk = {
      id: this.#id ?? newCompletionId(),
      object: 'chat.completion.chunk',
      created: this.#created,
      model: this.#model,
      choices: [],
      usage: { prompt_tokens: u.inputTokens, completion_tokens: u.outputTokens, total_tokens: u.inputTokens + u.outputTokens, prompt_tokens_details: { cached_tokens: u.cachedInputTokens } },
    };
    return 'data: ' + JSON.stringify(last) + '\n\n' + DONE;
  }

  fail(e: GatewayError): string {
    if (this.#ended) return '';
    this.#ended = true;
    // A payload with an `error` key makes the O-SDK throw an APIError mid-stream.
    return 'data: ' + openaiErrorBody(e) + '\n\n';
  }
}

export function openaiStream(ctx: ResponseContext, includeUsage: boolean): StreamTranscoder {
  return new OpenAIStream(ctx, includeUsage);
}
