// What the Chat Completions schema cannot say about `messages`: an assistant turn needs content or
// tool calls (not a legacy `function_call`), and each `tool` message answers a call of the
// assistant turn before it. One pass; pending ids are a Set, so 150,000 calls answered in any
// order cost linear time.
import { fail, missing, type Bad } from './check.js';
import type { ChatBody } from '../schema/openai.js';

type Msg = ChatBody['messages'][number];

export function checkMessages(msgs: Msg[]): Bad | null {
  // ids of the last assistant tool_calls still waiting for a `tool` message, and where they were made
  let pending: Set<string> | null = null;
  let pendingAt = -1;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    if (m.role === 'tool') {
      if (pending === null) {
        return fail("Invalid parameter: messages with role 'tool' must be a response to a preceding message with 'tool_calls'.", `messages[${i}].role`);
      }
      if (!pending.delete(m.tool_call_id)) {
        return fail(`Invalid parameter: 'tool_call_id' of '${m.tool_call_id}' not found in 'tool_calls' of previous message.`, `messages[${i}].tool_call_id`);
      }
      continue;
    }
    if (pending !== null && pending.size > 0) return unanswered(pendingAt, pending);
    pending = null;
    if (m.role === 'assistant') {
      // legacy function calling is refused as a whole (openai/request.ts)
      if (m.function_call !== undefined && m.function_call !== null) {
        return fail("The deprecated 'function_call' of an assistant message is not supported; send the call in 'tool_calls' (with an 'id') and its result as a 'tool' message with that 'tool_call_id'.", `messages[${i}].function_call`);
      }
      const calls = m.tool_calls;
      const hasCalls = Array.isArray(calls) && calls.length > 0;
      // a turn of only a refusal carries `refusal` and content null
      if (!hasCalls && (m.content === undefined || m.content === null) && typeof m.refusal !== 'string') return missing(`messages[${i}].content`);
      if (hasCalls) {
        pending = new Set();
        for (const c of calls) pending.add(c.id);
        pendingAt = i;
      }
    }
  }
  if (pending !== null && pending.size > 0) return unanswered(pendingAt, pending);
  return null;
}

function unanswered(at: number, ids: Set<string>): Bad {
  return fail(
    `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...ids].join(', ')}`,
    `messages[${at}].role`,
  );
}
