// An Anthropic message read back as the canonical (OpenAI-compatible) completion, and the stop
// reason and usage mappings its stream reader shares.
import { isObj, type Obj } from '../body.js';
import type { UpstreamCompletion, UpstreamToolCall } from '../types.js';

/**
 * Anthropic `stop_reason` → OpenAI `finish_reason`. A matched stop sequence is carried the way
 * vLLM carries it (`stop_reason` holds the string), so an Anthropic client still hears which one.
 */
export function finishOf(stopReason: unknown): 'stop' | 'length' | 'tool_calls' | 'content_filter' {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      // end_turn, stop_sequence, pause_turn (a paused server-tool turn is over for this client)
      return 'stop';
  }
}

export type OpenAIUsage = { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details: { cached_tokens: number } };

/** Anthropic's token counts → OpenAI usage: prompt tokens are every input token, cached or not, counted once. */
export function openaiUsage(input: number, cacheRead: number, cacheWrite: number, output: number): OpenAIUsage {
  const prompt = input + cacheRead + cacheWrite;
  return { prompt_tokens: prompt, completion_tokens: output, total_tokens: prompt + output, prompt_tokens_details: { cached_tokens: cacheRead } };
}

function usageOf(u: Obj): OpenAIUsage {
  return openaiUsage(count(u.input_tokens), count(u.cache_read_input_tokens), count(u.cache_creation_input_tokens), count(u.output_tokens));
}

export function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

/** A whole Anthropic message as the canonical completion; null when it is not one. */
export function fromAnthropicMessage(text: string): UpstreamCompletion | null {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObj(m) || !Array.isArray(m.content)) return null;
  let content = '';
  let reasoning: string | null = null;
  const calls: UpstreamToolCall[] = [];
  for (const blk of m.content as unknown[]) {
    if (!isObj(blk)) continue;
    if (blk.type === 'text' && typeof blk.text === 'string') content += blk.text;
    else if (blk.type === 'tool_use' && typeof blk.id === 'string' && typeof blk.name === 'string') {
      calls.push({ id: blk.id, type: 'function', function: { name: blk.name, arguments: JSON.stringify(isObj(blk.input) ? blk.input : {}) } });
    } else if (blk.type === 'thinking' && typeof blk.thinking === 'string') reasoning = (reasoning ?? '') + blk.thinking;
    // redacted thinking, server tools and their results have no OpenAI form: left out
  }
  const message: UpstreamCompletion['choices'][0]['message'] = { role: 'assistant', content: calls.length > 0 && content.length === 0 ? null : content };
  if (calls.length > 0) message.tool_calls = calls;
  if (reasoning !== null) message.reasoning_content = reasoning;
  const choice: UpstreamCompletion['choices'][0] = { index: 0, message, finish_reason: finishOf(m.stop_reason) };
  if (m.stop_reason === 'stop_sequence' && typeof m.stop_sequence === 'string') choice.stop_reason = m.stop_sequence;
  const out: UpstreamCompletion = { choices: [choice] };
  if (isObj(m.usage)) out.usage = usageOf(m.usage);
  return out;
}
