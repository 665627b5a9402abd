// Anthropic `system` + `messages` → OpenAI-compatible messages for the replica (API-NOTES C.1).
// Consecutive same-role turns are merged, tool_result blocks become `tool` messages placed right
// after the assistant turn that called them, and every tool_use must be answered in the next turn.
import { BOOL, DICT, LIST, REQUIRED, STR, bad, oneOf } from './anthropic-check.js';
import { mediaBlock, notEmpty, toolResultText } from './anthropic-blocks.js';
import { isObj } from './body.js';
const BLOCK_TYPES = ['text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'];
export function convertSystem(sys, out) {
    if (sys === undefined || sys === null)
        return null;
    let text;
    if (typeof sys === 'string') {
        text = sys;
    }
    else if (Array.isArray(sys)) {
        text = '';
        for (let i = 0; i < sys.length; i++) {
            const blk = sys[i];
            if (!isObj(blk))
                return bad(`system.${i}`, DICT);
            if (blk.type !== 'text')
                return bad(`system.${i}.type`, oneOf(['text']));
            if (typeof blk.text !== 'string')
                return bad(`system.${i}.text`, blk.text === undefined ? REQUIRED : STR);
            // Blocks are usually split for cache_control, not meaning; a newline keeps words apart.
            text = i === 0 ? blk.text : text + '\n' + blk.text;
        }
    }
    else {
        return bad('system', 'Input should be a valid string or a list of text blocks');
    }
    if (text.length > 0)
        out.push({ role: 'system', content: text });
    return null;
}
/** Appends the conversation to `out`; returns whether the last message is an assistant prefill. */
export function convertMessages(msgs, out) {
    if (msgs === undefined)
        return bad('messages', REQUIRED);
    if (!Array.isArray(msgs))
        return bad('messages', LIST);
    if (msgs.length === 0)
        return bad('messages', 'at least one message is required');
    const t = { out, role: null, tools: [], parts: [], text: '', calls: [], expect: [], expectAt: -1 };
    const last = msgs.length - 1;
    for (let i = 0; i <= last; i++) {
        const m = msgs[i];
        if (!isObj(m))
            return bad(`messages.${i}`, DICT);
        const role = m.role;
        if (role !== 'user' && role !== 'assistant')
            return bad(`messages.${i}.role`, role === undefined ? REQUIRED : oneOf(['user', 'assistant']));
        const c = m.content;
        if (c === undefined)
            return bad(`messages.${i}.content`, REQUIRED);
        if (typeof c !== 'string' && !Array.isArray(c))
            return bad(`messages.${i}.content`, 'Input should be a valid string or a list of content blocks');
        if (c.length === 0 && !(i === last && role === 'assistant')) {
            return bad(`messages.${i}`, 'all messages must have non-empty content except for the optional final assistant message');
        }
        if (role !== t.role) {
            const e = flush(t);
            if (e)
                return e;
            t.role = role;
        }
        const e = role === 'user' ? userContent(t, c, i) : assistantContent(t, c, i);
        if (e)
            return e;
    }
    if (t.role === 'assistant') {
        if (t.calls.length > 0)
            return unanswered(t.expectAt, t.calls.map((x) => x.id));
        // A final assistant turn is a prefill: the model continues it.
        if (t.text.length === 0)
            return { ok: true, prefill: false };
        if (/\s$/.test(t.text))
            return bad('messages', 'final assistant content cannot end with trailing whitespace');
        out.push({ role: 'assistant', content: t.text });
        return { ok: true, prefill: true };
    }
    const e = flush(t);
    return e ?? { ok: true, prefill: false };
}
function unanswered(at, ids) {
    return bad(`messages.${at}`, `\`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${ids.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`);
}
function flush(t) {
    if (t.role === 'assistant') {
        const calls = t.calls;
        t.out.push(calls.length > 0 ? { role: 'assistant', content: t.text || null, tool_calls: calls } : { role: 'assistant', content: t.text });
        t.expect = calls.map((x) => x.id);
        t.text = '';
        t.calls = [];
    }
    else if (t.role === 'user') {
        if (t.expect.length > 0)
            return unanswered(t.expectAt, t.expect);
        for (const m of t.tools)
            t.out.push(m);
        const p = t.parts;
        if (p.length > 0)
            t.out.push({ role: 'user', content: p.length === 1 && p[0].type === 'text' ? p[0].text : p });
        t.tools = [];
        t.parts = [];
    }
    return null;
}
function userContent(t, c, i) {
    if (typeof c === 'string') {
        t.parts.push({ type: 'text', text: c });
        return null;
    }
    for (let j = 0; j < c.length; j++) {
        const blk = c[j];
        const p = `messages.${i}.content.${j}`;
        if (!isObj(blk))
            return bad(p, DICT);
        switch (blk.type) {
            case 'text':
            case 'image':
            case 'document': {
                const e = mediaBlock(blk, p, t.parts);
                if (e)
                    return e;
                break;
            }
            case 'tool_result': {
                const e = toolResult(t, blk, p);
                if (e)
                    return e;
                break;
            }
            case 'tool_use':
            case 'thinking':
            case 'redacted_thinking':
                return bad(p, `${blk.type} blocks are only allowed in assistant messages`);
            default:
                return bad(`${p}.type`, oneOf(BLOCK_TYPES));
        }
    }
    return null;
}
function assistantContent(t, c, i) {
    if (typeof c === 'string') {
        t.text += c;
        return null;
    }
    for (let j = 0; j < c.length; j++) {
        const blk = c[j];
        const p = `messages.${i}.content.${j}`;
        if (!isObj(blk))
            return bad(p, DICT);
        switch (blk.type) {
            case 'text':
                if (typeof blk.text !== 'string')
                    return bad(`${p}.text.text`, blk.text === undefined ? REQUIRED : STR);
                if (blk.text.length === 0)
                    return notEmpty();
                t.text += blk.text;
                break;
            case 'tool_use': {
                if (typeof blk.id !== 'string')
                    return bad(`${p}.tool_use.id`, blk.id === undefined ? REQUIRED : STR);
                if (typeof blk.name !== 'string')
                    return bad(`${p}.tool_use.name`, blk.name === undefined ? REQUIRED : STR);
                if (!isObj(blk.input))
                    return bad(`${p}.tool_use.input`, blk.input === undefined ? REQUIRED : DICT);
                if (t.calls.length === 0)
                    t.expectAt = i;
                t.calls.push({ id: blk.id, type: 'function', function: { name: blk.name, arguments: JSON.stringify(blk.input) } });
                break;
            }
            case 'thinking':
            case 'redacted_thinking':
                break; // the replica cannot use another model's reasoning; it is dropped
            case 'image':
            case 'document':
            case 'tool_result':
                return bad(p, `${blk.type} blocks are only allowed in user messages`);
            default:
                return bad(`${p}.type`, oneOf(BLOCK_TYPES));
        }
    }
    return null;
}
function toolResult(t, blk, p) {
    const id = blk.tool_use_id;
    if (typeof id !== 'string')
        return bad(`${p}.tool_result.tool_use_id`, id === undefined ? REQUIRED : STR);
    const k = t.expect.indexOf(id);
    if (k < 0) {
        return bad(p, `unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
    }
    t.expect.splice(k, 1);
    const flat = toolResultText(blk.content, p, t.parts);
    if (typeof flat !== 'string')
        return flat;
    let text = flat;
    const isError = blk.is_error;
    if (isError !== undefined && isError !== null && typeof isError !== 'boolean')
        return bad(`${p}.tool_result.is_error`, BOOL);
    if (isError === true)
        text = text.length === 0 ? 'Error: the tool failed.' : 'Error: ' + text;
    t.tools.push({ role: 'tool', tool_call_id: id, content: text });
    return null;
}
