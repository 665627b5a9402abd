import type { AnswerPlan } from './answer.js';

// The bytes of OpenAI/vLLM responses. A stream's constant head (id, object, created, model) is
// serialized once per request; each token adds only its delta. vLLM omits `usage` from chunks
// unless continuous usage stats are asked for, and puts finish_reason on the last content chunk.

export type Kind = 'chat' | 'completion';

export interface UsageCounts {
  prompt: number;
  completion: number;
  cached: number;
}

export function usageJson(u: UsageCounts): string {
  return `{"prompt_tokens":${u.prompt},"total_tokens":${u.prompt + u.completion},"completion_tokens":${u.completion},"prompt_tokens_details":{"cached_tokens":${u.cached}}}`;
}

/** `{"id":…,"object":…,"created":…,"model":…,"choices":[` — shared by every chunk of one stream. */
export function streamHead(kind: Kind, id: string, created: number, model: string): string {
  const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  return `{"id":"${id}","object":"${object}","created":${created},"model":${JSON.stringify(model)},"choices":[`;
}

/** One SSE frame with one choice. `body` is the choice's delta/text part, e.g. `"delta":{…}`. */
export function frame(head: string, body: string, finish: string | null, stopReason: string | null, usage: string | null): string {
  const fr = finish === null ? 'null' : `"${finish}"`;
  const sr = stopReason === null ? 'null' : JSON.stringify(stopReason);
  return `data: ${head}{"index":0,${body},"logprobs":null,"finish_reason":${fr},"stop_reason":${sr}}]${usage === null ? '' : `,"usage":${usage}`}}\n\n`;
}

/** The `choices:[]` usage frame that `include_usage` adds before [DONE]. */
export function usageFrame(head: string, usage: string): string {
  return `data: ${head}],"usage":${usage}}\n\n`;
}

export const ROLE_DELTA = '"delta":{"role":"assistant","content":""}';

export function contentDelta(kind: Kind, text: string): string {
  return kind === 'chat' ? (text === '' ? '"delta":{}' : `"delta":{"content":${JSON.stringify(text)}}`) : `"text":${JSON.stringify(text)}`;
}

export function toolHeaderDelta(callId: string, name: string): string {
  return `"delta":{"tool_calls":[{"index":0,"id":"${callId}","type":"function","function":{"name":${JSON.stringify(name)},"arguments":""}}]}`;
}

export function toolArgsDelta(args: string): string {
  return `"delta":{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(args)}}}]}`;
}

/** The whole non-stream response body. */
export function completeBody(kind: Kind, id: string, created: number, model: string, plan: AnswerPlan, usage: UsageCounts): string {
  const text = plan.text.slice(0, plan.cut);
  const u = {
    prompt_tokens: usage.prompt, total_tokens: usage.prompt + usage.completion, completion_tokens: usage.completion,
    prompt_tokens_details: { cached_tokens: usage.cached },
  };
  if (kind === 'completion') {
    return JSON.stringify({
      id, object: 'text_completion', created, model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: plan.finishReason, stop_reason: plan.stopReason, prompt_logprobs: null }],
      usage: u, kv_transfer_params: null,
    });
  }
  const message = plan.tool
    ? { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: plan.tool.id, type: 'function', function: { name: plan.tool.name, arguments: text } }], reasoning_content: null }
    : { role: 'assistant', content: text, refusal: null, tool_calls: [], reasoning_content: null };
  return JSON.stringify({
    id, object: 'chat.completion', created, model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: plan.finishReason, stop_reason: plan.stopReason }],
    service_tier: null, system_fingerprint: null, usage: u, prompt_logprobs: null, kv_transfer_params: null,
  });
}
