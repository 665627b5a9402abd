// Whole (non-stream) responses: an upstream chat.completion rendered as an Anthropic message
// (API-NOTES A.4) or as an OpenAI chat.completion with the public model name (B.2).
import { newCompletionId, newMessageId, newToolUseId } from './ids.js';
import { anthropicUsageFields, stopInfo, toUsage, toolInput } from './mapping.js';
import type { ResponseContext, TokenUsage, UpstreamCompletion } from './types.js';

export interface Rendered {
  body: string;
  usage: TokenUsage;
}

export function renderAnthropicMessage(ctx: ResponseContext, up: UpstreamCompletion): Rendered {
  const usage = toUsage(up.usage, { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 });
  const choice = up.choices[0];
  const msg = choice?.message;
  const content: unknown[] = [];
  // Reasoning is not rendered: a thinking block the client never asked for would break the
  // common `content[0].text` reading of a reply.
  if (msg && typeof msg.content === 'string' && msg.content.length > 0) {
    content.push({ type: 'text', text: msg.content, citations: null });
  }
  const calls = msg?.tool_calls;
  const hasCalls = Array.isArray(calls) && calls.length > 0;
  if (hasCalls) {
    for (const c of calls) {
      content.push({ type: 'tool_use', id: c.id || newToolUseId(), name: c.function?.name ?? '', input: toolInput(c.function?.arguments) });
    }
  }
  const stop = stopInfo(choice?.finish_reason, choice?.stop_reason, hasCalls);
  const body =
    '{"id":"' + newMessageId() + '","type":"message","role":"assistant","model":' + JSON.stringify(ctx.model) +
    ',"content":' + JSON.stringify(content) +
    ',"stop_reason":"' + stop.reason + '","stop_sequence":' + JSON.stringify(stop.sequence) +
    ',"usage":{' + anthropicUsageFields(usage) + ',"service_tier":"standard"}}';
  return { body, usage };
}

export function renderOpenAIChat(ctx: ResponseContext, up: UpstreamCompletion): Rendered {
  const usage = toUsage(up.usage, { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 });
  const choices = up.choices.map((c) => {
    const m = c.message;
    const message: Record<string, unknown> = { role: 'assistant', content: m?.content ?? null, refusal: null };
    if (Array.isArray(m?.tool_calls) && m.tool_calls.length > 0) message.tool_calls = m.tool_calls;
    if (typeof m?.reasoning_content === 'string') message.reasoning_content = m.reasoning_content;
    return { index: c.index ?? 0, message, logprobs: (c as { logprobs?: unknown }).logprobs ?? null, finish_reason: c.finish_reason ?? 'stop' };
  });
  const out: Record<string, unknown> = {
    id: typeof up.id === 'string' && up.id.startsWith('chatcmpl-') ? up.id : newCompletionId(),
    object: 'chat.completion',
    created: typeof up.created === 'number' ? up.created : Math.floor(Date.now() / 1000),
    model: ctx.model,
    choices,
    usage: {
      prompt_tokens: usage.inputTokens,
      completion_tokens: usage.outputTokens,
      total_tokens: usage.inputTokens + usage.outputTokens,
      prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    },
  };
  const fp = (up as { system_fingerprint?: unknown }).system_fingerprint;
  if (typeof fp === 'string') out.system_fingerprint = fp;
  return { body: JSON.stringify(out), usage };
}
