// The small translations both renderers (whole message and stream) share: finish_reason →
// stop_reason (length → max_tokens, tool_calls → tool_use, stop → end_turn or stop_sequence),
// usage and tool arguments → input objects.
import { isObj } from './body.js';
import type { TokenUsage, UpstreamCompletion } from './types.js';

type UpstreamUsage = UpstreamCompletion['usage'] | null;

export interface StopInfo {
  reason: string;
  /** the matched stop sequence when reason is `stop_sequence` */
  sequence: string | null;
}

/**
 * vLLM reports `finish_reason:"stop"` both for end-of-turn and for a matched stop string; its
 * `stop_reason` holds the string in the second case (a number there is a stop token id).
 * A named tool_choice makes vLLM finish with "stop" while returning tool calls: still tool_use.
 */
export function stopInfo(finish: string | null | undefined, stopReason: unknown, hasToolCalls: boolean): StopInfo {
  switch (finish) {
    case 'length':
      return { reason: 'max_tokens', sequence: null };
    case 'tool_calls':
    case 'function_call':
      return { reason: 'tool_use', sequence: null };
    case 'content_filter':
      return { reason: 'refusal', sequence: null };
    default:
      if (hasToolCalls) return { reason: 'tool_use', sequence: null };
      if (typeof stopReason === 'string') return { reason: 'stop_sequence', sequence: stopReason };
      return { reason: 'end_turn', sequence: null };
  }
}

/** Canonical usage: inputTokens includes cached ones, as OpenAI's prompt_tokens does. */
export function toUsage(u: UpstreamUsage, into: TokenUsage): TokenUsage {
  if (u) {
    into.inputTokens = u.prompt_tokens ?? 0;
    into.cachedInputTokens = u.prompt_tokens_details?.cached_tokens ?? 0;
    into.outputTokens = u.completion_tokens ?? 0;
  }
  return into;
}

/** Anthropic usage fields after `{`: input_tokens excludes cache reads (they are cache_read_input_tokens). */
export function anthropicUsageFields(u: TokenUsage): string {
  return (
    '"input_tokens":' + (u.inputTokens - u.cachedInputTokens) +
    ',"cache_creation_input_tokens":0,"cache_read_input_tokens":' + u.cachedInputTokens +
    ',"output_tokens":' + u.outputTokens
  );
}

/** Tool arguments as the `input` object; arguments that are not a JSON object become `{}`. */
export function toolInput(args: string | undefined | null): Record<string, unknown> {
  if (!args) return {};
  try {
    const v: unknown = JSON.parse(args);
    return isObj(v) ? v : {};
  } catch {
    return {};
  }
}
