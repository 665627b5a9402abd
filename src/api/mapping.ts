// The small translations both renderers (whole message and stream) share: finish_reason →
// stop_reason (length → max_tokens, tool_calls → tool_use, stop → end_turn or stop_sequence, a
// refusal → refusal), usage and tool arguments → input objects.
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
 * A replica that relayed refusal text refused, whatever its finish_reason says (vLLM's is "stop").
 */
export function stopInfo(finish: string | null | undefined, stopReason: unknown, hasToolCalls: boolean, refused = false): StopInfo {
  if (refused) return { reason: 'refusal', sequence: null };
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

/**
 * A replica's token count, checked once here: the transcoders splice it into the client's JSON,
 * the limiter corrects its buckets by it and the ledger bills it. Only a JSON number that is a
 * non-negative integer is one; anything else (`"10"`, 10.5, -3, `{}`) counts as a count the
 * replica did not send, which is 0.
 */
function count(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

/**
 * Canonical usage: inputTokens includes cached ones, as OpenAI's prompt_tokens does. A `usage`
 * that is not an object is as if there were none: what the stream counted so far stays.
 */
export function toUsage(u: UpstreamUsage, into: TokenUsage): TokenUsage {
  if (isObj(u)) {
    const details = u.prompt_tokens_details;
    into.inputTokens = count(u.prompt_tokens);
    // cached tokens are part of the prompt: more of them than the prompt had is a replica's error
    into.cachedInputTokens = Math.min(into.inputTokens, count(isObj(details) ? details.cached_tokens : undefined));
    into.outputTokens = count(u.completion_tokens);
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
