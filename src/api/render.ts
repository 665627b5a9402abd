// Whole (non-stream) responses: an upstream chat.completion rendered as an Anthropic message
// or as an OpenAI chat.completion with the public model name. Both are built from the fields
// the wire defines, never by passing the replica's object on: vLLM adds its own (`stop_reason`,
// `prompt_logprobs`, `kv_transfer_params`, `service_tier: null`, …) that no client expects.
import { isObj } from './body.js';
import { newCompletionId, newMessageId, toolCallIdFor, toolUseIdFor } from './ids.js';
import { anthropicUsageFields, stopInfo, toUsage, toolInput } from './mapping.js';
import { wallClock, type Clock } from '../time/index.js';
import type { ResponseContext, TokenUsage, UpstreamCompletion, UpstreamToolCall } from './types.js';

export interface Rendered {
  body: string;
  usage: TokenUsage;
}

export function renderAnthropicMessage(ctx: ResponseContext, up: UpstreamCompletion): Rendered {
  const usage = toUsage(up.usage, { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 });
  const first = up.choices[0];
  const choice = first !== null && typeof first === 'object' ? first : undefined;
  const msg = choice?.message !== null && typeof choice?.message === 'object' ? choice.message : undefined;
  // The content blocks as JSON text, one by one (what JSON.stringify of the array gives).
  let content = '';
  // Reasoning is not rendered: a thinking block the client never asked for would break the
  // common `content[0].text` reading of a reply. No `citations: null` on text either: the AI SDK
  // accepts an array or no field, and Anthropic itself omits it when there are none.
  if (msg && typeof msg.content === 'string' && msg.content.length > 0) {
    content = '{"type":"text","text":' + JSON.stringify(msg.content) + '}';
  }
  // The Messages API has no refusal block: a replica's OpenAI `refusal` is text the client reads, in
  // a text block of its own after the content, and stop_reason "refusal" (as the stream gives it).
  const refusal = (msg as { refusal?: unknown } | undefined)?.refusal;
  const refused = typeof refusal === 'string' && refusal.length > 0;
  if (refused) content += (content.length === 0 ? '' : ',') + '{"type":"text","text":' + JSON.stringify(refusal) + '}';
  const calls = Array.isArray(msg?.tool_calls) ? msg.tool_calls.filter((c) => c !== null && typeof c === 'object') : [];
  for (const c of calls) {
    const block = { type: 'tool_use', id: toolUseIdFor(c.id), name: typeof c.function?.name === 'string' ? c.function.name : '', input: toolInput(c.function?.arguments) };
    content += (content.length === 0 ? '' : ',') + JSON.stringify(block);
  }
  const stop = stopInfo(choice?.finish_reason, choice?.stop_reason, calls.length > 0, refused);
  const body =
    '{"id":"' + newMessageId() + '","type":"message","role":"assistant","model":' + JSON.stringify(ctx.model) +
    ',"content":[' + content + ']' +
    ',"stop_reason":"' + stop.reason + '","stop_sequence":' + JSON.stringify(stop.sequence) +
    ',"usage":{' + anthropicUsageFields(usage) + ',"service_tier":"standard"}}';
  return { body, usage };
}

/** One tool call in OpenAI's shape: only id, type and function {name, arguments}. */
function openaiToolCall(c: UpstreamToolCall): UpstreamToolCall {
  const fn = c.function;
  const name = fn?.name;
  const args = fn?.arguments;
  return {
    id: toolCallIdFor(c.id),
    type: 'function',
    function: { name: typeof name === 'string' ? name : '', arguments: typeof args === 'string' ? args : '{}' },
  };
}

/**
 * The chat.completion, written as text field by field: the same bytes JSON.stringify gives for the
 * object with these fields in this order, without building that object (it was the largest cost of
 * a non-streamed answer in api/).
 */
export function renderOpenAIChat(ctx: ResponseContext, up: UpstreamCompletion, clock: Clock = wallClock): Rendered {
  const usage = toUsage(up.usage, { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 });
  // what a broken replica sends in place of a choice is skipped, never read as if well formed
  let choices = '';
  for (const c of up.choices) {
    if (c === null || typeof c !== 'object') continue;
    choices += (choices.length === 0 ? '' : ',') + openaiChoice(c);
  }
  const created = typeof up.created === 'number' ? up.created : Math.floor(clock.nowMs() / 1000);
  const total = usage.inputTokens + usage.outputTokens;
  let body =
    '{"id":"' + newCompletionId() + '","object":"chat.completion","created":' + json(created) + ',"model":' + JSON.stringify(ctx.model) +
    ',"choices":[' + choices + '],"usage":{"prompt_tokens":' + json(usage.inputTokens) + ',"completion_tokens":' + json(usage.outputTokens) +
    ',"total_tokens":' + json(total) + ',"prompt_tokens_details":{"cached_tokens":' + json(usage.cachedInputTokens) + '}}';
  // OpenAI omits a fingerprint it does not have; vLLM sends null.
  const fp = (up as { system_fingerprint?: unknown }).system_fingerprint;
  if (typeof fp === 'string') body += ',"system_fingerprint":' + JSON.stringify(fp);
  return { body: body + '}', usage };
}

type UpstreamChoice = UpstreamCompletion['choices'][number];

/** One choice: index, message {role, content, refusal, function_call?, tool_calls?, reasoning_content?}, logprobs, finish_reason. */
function openaiChoice(c: UpstreamChoice): string {
  const m = c.message !== null && typeof c.message === 'object' ? c.message : undefined;
  const text = m?.content;
  // The replica's refusal, as the stream relays it: without it a structured-output refusal reads as an empty answer.
  const refusal = (m as { refusal?: unknown } | undefined)?.refusal;
  let message = '{"role":"assistant","content":' + (typeof text === 'string' ? JSON.stringify(text) : 'null') +
    ',"refusal":' + (typeof refusal === 'string' ? JSON.stringify(refusal) : 'null');
  // a legacy call (finish_reason "function_call") is only the name and arguments, both text
  const fc = (m as { function_call?: unknown } | undefined)?.function_call;
  if (isObj(fc) && typeof fc.name === 'string' && typeof fc.arguments === 'string') {
    message += ',"function_call":{"name":' + JSON.stringify(fc.name) + ',"arguments":' + JSON.stringify(fc.arguments) + '}';
  }
  const calls = Array.isArray(m?.tool_calls) ? m.tool_calls.filter((t) => t !== null && typeof t === 'object') : [];
  if (calls.length > 0) message += ',"tool_calls":' + JSON.stringify(calls.map(openaiToolCall));
  // the reasoning models' de facto extension (DeepSeek's name, vLLM's reasoning parsers)
  if (typeof m?.reasoning_content === 'string') message += ',"reasoning_content":' + JSON.stringify(m.reasoning_content);
  const logprobs = (c as { logprobs?: unknown }).logprobs;
  return '{"index":' + (typeof c.index === 'number' ? json(c.index) : '0') + ',"message":' + message + '},"logprobs":' + json(logprobs ?? null) +
    ',"finish_reason":' + (typeof c.finish_reason === 'string' ? JSON.stringify(c.finish_reason) : '"stop"') + '}';
}

/** A value as JSON.stringify writes it inside an object (what the replica sent is JSON already). */
function json(v: unknown): string {
  return typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : JSON.stringify(v) ?? 'null';
}
