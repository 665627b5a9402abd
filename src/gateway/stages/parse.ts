import { parseAnthropicMessages, parseOpenAIChat, type GatewayError } from '../../api/index.js';
import type { RequestContext } from '../context.js';

/** The body in the request's wire format → the canonical request, `cx.ireq`. */
export function parse(cx: RequestContext): GatewayError | null {
  cx.phase = 'parse';
  const parsed = cx.wire === 'anthropic' ? parseAnthropicMessages(cx.body!) : parseOpenAIChat(cx.body!);
  if (!parsed.ok) return parsed.error;
  cx.ireq = parsed.value;
  return null;
}
