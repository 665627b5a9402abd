// Anthropic `system` + `messages` → OpenAI-compatible messages for the replica (`system` first).
// Consecutive same-role turns are merged, tool_result blocks become `tool` messages placed right
// after the assistant turn that called them, and every tool_use must be answered at the start of
// the next turn.
// The schema has checked every field's type; this checks what depends on position and role, in
// one pass (tool ids are matched through a Set, so a turn of 150,000 calls costs linear time).
import { bad, type Bad } from './check.js';
import { mediaBlock, notEmpty, toolResultText } from './blocks.js';
import type { Block, Message, TextBlock } from '../schema/anthropic.js';
import type { UpstreamContentPart, UpstreamMessage, UpstreamToolCall } from '../types.js';

/** The turn being assembled; flushed into `out` when the role changes. */
interface Turns {
  out: UpstreamMessage[];
  role: 'user' | 'assistant' | null;
  tools: UpstreamMessage[];
  parts: UpstreamContentPart[];
  text: string;
  calls: UpstreamToolCall[];
  /** ids of the calls in the assembling assistant turn (to refuse a repeated id) */
  callIds: Set<string>;
  /** tool_use ids of the previous assistant turn, still to be answered, and where they were asked */
  expect: Set<string>;
  expectAt: number;
  /** how many tool_use blocks the previous assistant turn had */
  expectCount: number;
  /** the index of the turn's first message */
  turnAt: number;
  /** whether the user turn has had a block other than tool_result (which must all come first) */
  other: boolean;
}

export function convertSystem(sys: string | TextBlock[] | null | undefined, out: UpstreamMessage[]): void {
  if (sys === undefined || sys === null) return;
  let text: string;
  if (typeof sys === 'string') {
    text = sys;
  } else {
    // Blocks are usually split for cache_control, not meaning; a newline keeps words apart.
    const texts: string[] = new Array(sys.length);
    for (let i = 0; i < sys.length; i++) texts[i] = sys[i].text;
    text = texts.join('\n');
  }
  if (text.length > 0) out.push({ role: 'system', content: text });
}

/** Appends the conversation to `out`; returns whether the last message is an assistant prefill. */
export function convertMessages(msgs: Message[], out: UpstreamMessage[]): Bad | { ok: true; prefill: boolean } {
  const t: Turns = { out, role: null, tools: [], parts: [], text: '', calls: [], callIds: new Set(), expect: new Set(), expectAt: -1, expectCount: 0, turnAt: 0, other: false };
  const last = msgs.length - 1;
  for (let i = 0; i <= last; i++) {
    const m = msgs[i];
    const role = m.role;
    const c = m.content;
    if (c.length === 0 && !(i === last && role === 'assistant')) {
      return bad(`messages.${i}`, 'all messages must have non-empty content except for the optional final assistant message');
    }
    if (role !== t.role) {
      const e = flush(t);
      if (e) return e;
      t.role = role;
      t.turnAt = i;
    }
    const e = role === 'user' ? userContent(t, c, i) : assistantContent(t, c, i);
    if (e) return e;
  }
  if (t.role === 'assistant') {
    if (t.calls.length > 0) return unanswered(t.expectAt, t.callIds);
    // A final assistant turn is a prefill: the model continues it.
    if (t.text.length === 0) return { ok: true, prefill: false };
    // the last character only: a regex anchored at the end would try every position of a long text
    if (/\s/.test(t.text[t.text.length - 1])) return bad('messages', 'final assistant content cannot end with trailing whitespace');
    out.push({ role: 'assistant', content: t.text });
    return { ok: true, prefill: true };
  }
  const e = flush(t);
  return e ?? { ok: true, prefill: false };
}

function unanswered(at: number, ids: Iterable<string>): Bad {
  return bad(`messages.${at}`, `\`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${[...ids].join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`);
}

function flush(t: Turns): Bad | null {
  if (t.role === 'assistant') {
    const calls = t.calls;
    t.out.push(calls.length > 0 ? { role: 'assistant', content: t.text || null, tool_calls: calls } : { role: 'assistant', content: t.text });
    t.expect = t.callIds;
    t.expectCount = t.callIds.size;
    t.callIds = new Set();
    t.text = '';
    t.calls = [];
  } else if (t.role === 'user') {
    if (t.expect.size > 0) return unanswered(t.expectAt, t.expect);
    for (const m of t.tools) t.out.push(m);
    const p = t.parts;
    if (p.length > 0) t.out.push({ role: 'user', content: p.length === 1 && p[0].type === 'text' ? p[0].text : p });
    t.tools = [];
    t.parts = [];
    t.other = false;
  }
  return null;
}

function userContent(t: Turns, c: string | Block[], i: number): Bad | null {
  if (typeof c === 'string') {
    t.parts.push({ type: 'text', text: c });
    t.other = true;
    return null;
  }
  for (let j = 0; j < c.length; j++) {
    const blk = c[j];
    const p = `messages.${i}.content.${j}`;
    switch (blk.type) {
      case 'text':
      case 'image':
      case 'document': {
        const e = mediaBlock(blk, p, t.parts);
        if (e) return e;
        t.other = true;
        break;
      }
      case 'tool_result': {
        const id = blk.tool_use_id;
        // as the real API: the answers to the calls open the user turn, before any text or media
        if (t.other && t.expect.has(id)) {
          return bad(`messages.${t.turnAt}`, `Did not find ${t.expectCount} \`tool_result\` block(s) at the beginning of this message. Messages following \`tool_use\` blocks must begin with a matching number of \`tool_result\` blocks; put text and other blocks after them.`);
        }
        if (!t.expect.delete(id)) {
          return bad(p, `unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
        }
        const flat = toolResultText(blk.content, p, t.parts);
        if (typeof flat !== 'string') return flat;
        let text = flat;
        if (blk.is_error === true) text = text.length === 0 ? 'Error: the tool failed.' : 'Error: ' + text;
        t.tools.push({ role: 'tool', tool_call_id: id, content: text });
        break;
      }
      default:
        return bad(p, `${blk.type} blocks are only allowed in assistant messages`);
    }
  }
  return null;
}

function assistantContent(t: Turns, c: string | Block[], i: number): Bad | null {
  if (typeof c === 'string') {
    t.text += c;
    return null;
  }
  for (let j = 0; j < c.length; j++) {
    const blk = c[j];
    const p = `messages.${i}.content.${j}`;
    switch (blk.type) {
      case 'text':
        if (blk.text.length === 0) return notEmpty();
        t.text += blk.text;
        break;
      case 'tool_use': {
        if (t.callIds.has(blk.id)) return bad(p, `\`tool_use\` ids must be unique; '${blk.id}' appears more than once`);
        if (t.calls.length === 0) t.expectAt = i;
        t.callIds.add(blk.id);
        t.calls.push({ id: blk.id, type: 'function', function: { name: blk.name, arguments: JSON.stringify(blk.input) } });
        break;
      }
      case 'thinking':
      case 'redacted_thinking':
        break; // the replica cannot use another model's reasoning; it is dropped
      default:
        return bad(p, `${blk.type} blocks are only allowed in user messages`);
    }
  }
  return null;
}
