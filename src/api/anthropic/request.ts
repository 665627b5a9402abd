// POST /v1/messages and /v1/messages/count_tokens: the schema checks every field (schema/anthropic.ts),
// then the body is translated to the replica's OpenAI-compatible one; translation refuses only what
// a schema cannot say (roles of blocks, tool ids, budgets) and what no replica can do.
import { anthropicIssue } from './check.js';
import { convertTools } from './tools.js';
import { convertMessages, convertSystem } from './messages.js';
import { fail, parseBody } from '../body.js';
import { countTokensBody, messagesBody, type CountTokensBody, type MessagesBody } from '../schema/anthropic.js';
import { compile, type Validator } from '../schema/compile.js';
import type { InferenceRequest, Result, UpstreamChatBody, UpstreamMessage, UpstreamTool } from '../types.js';

/** A vLLM `/tokenize` chat body. */
export interface TokenizeBody {
  model: string;
  messages: UpstreamMessage[];
  tools?: UpstreamTool[];
}

export interface CountTokensRequest {
  /** The public model name the client asked for. */
  model: string;
  upstream: TokenizeBody;
}

const messagesCheck = compile(messagesBody);
const countCheck = compile(countTokensBody);

function checked<T>(body: Buffer | string, v: Validator): Result<T> {
  const parsed = parseBody(body);
  if (!parsed.ok) return parsed;
  const issue = v.check(parsed.value);
  return issue === null ? { ok: true, value: parsed.value as T } : anthropicIssue(issue);
}

export function parseAnthropicMessages(body: Buffer | string): Result<InferenceRequest> {
  const c = checked<MessagesBody>(body, messagesCheck);
  if (!c.ok) return c;
  const b = c.value;
  const mt = b.max_tokens;
  const budget = b.thinking?.type === 'enabled' ? (b.thinking.budget_tokens as number) : null;
  if (budget !== null && budget >= mt) {
    return fail('`max_tokens` must be greater than `thinking.budget_tokens`; raise max_tokens or lower the budget.', 'max_tokens');
  }
  // the real API's limits on sampling with thinking (what a replica does is beside the point: code
  // written against the gateway must run against the API)
  if (budget !== null) {
    if (typeof b.temperature === 'number' && b.temperature !== 1) {
      return fail('`temperature` may only be set to 1 when thinking is enabled; leave temperature unset or disable thinking.', 'temperature');
    }
    if (typeof b.top_k === 'number') return fail('`top_k` must be unset when thinking is enabled; drop top_k or disable thinking.', 'top_k');
  }
  const messages: UpstreamMessage[] = [];
  convertSystem(b.system, messages);
  const conv = convertMessages(b.messages, messages);
  if (!conv.ok) return conv;
  const up: UpstreamChatBody = { model: b.model, messages, max_tokens: mt };
  sampling(b, up);
  const e = convertTools(b, up);
  if (e) return e;
  if (conv.prefill) {
    // vLLM continues the last assistant message instead of opening a new turn.
    up.continue_final_message = true;
    up.add_generation_prompt = false;
  }
  const stream = b.stream === true;
  if (stream) {
    up.stream = true;
    // continuous_usage_stats puts prompt_tokens on the first chunk, so message_start can carry them.
    up.stream_options = { include_usage: true, continuous_usage_stats: true };
  }
  return {
    ok: true,
    value: { wire: 'anthropic', model: b.model, stream, includeUsage: false, maxTokens: mt, userId: b.metadata?.user_id ?? null, upstream: up },
  };
}

export function parseCountTokens(body: Buffer | string): Result<CountTokensRequest> {
  const c = checked<CountTokensBody>(body, countCheck);
  if (!c.ok) return c;
  const b = c.value;
  const messages: UpstreamMessage[] = [];
  convertSystem(b.system, messages);
  const conv = convertMessages(b.messages, messages);
  if (!conv.ok) return conv;
  // tool_choice does not change the count but is still checked against the tools
  const scratch: UpstreamChatBody = { model: b.model, messages };
  const e = convertTools(b, scratch);
  if (e) return e;
  const up: TokenizeBody = { model: b.model, messages };
  if (scratch.tools) up.tools = scratch.tools;
  return { ok: true, value: { model: b.model, upstream: up } };
}

/** temperature, top_p, top_k, stop_sequences → the upstream body (ranges are the schema's). */
function sampling(b: MessagesBody, up: UpstreamChatBody): void {
  if (typeof b.temperature === 'number') up.temperature = b.temperature;
  if (typeof b.top_p === 'number') up.top_p = b.top_p;
  if (typeof b.top_k === 'number') up.top_k = b.top_k;
  if (b.stop_sequences && b.stop_sequences.length > 0) up.stop = b.stop_sequences;
}

/** The count_tokens response body. */
export function renderCountTokens(n: number): string {
  return '{"input_tokens":' + n + '}';
}
