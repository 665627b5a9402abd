// Validation of Chat Completions `messages` (API-NOTES B.1). The messages go to the replica as
// sent; this only refuses what OpenAI refuses, with its wording, before a replica is spent on it.
import { isObj } from './body.js';
import { badValue, fail, missing, stringField, wrongType } from './openai-check.js';
const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'];
const STRING_OR_PARTS = 'one of a string or array of objects';
export function checkMessages(msgs) {
    if (msgs === undefined || msgs === null)
        return missing('messages');
    if (!Array.isArray(msgs))
        return wrongType('messages', 'an array', msgs);
    if (msgs.length === 0)
        return fail("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages');
    // ids of the last assistant tool_calls still waiting for a `tool` message, and where they were made
    let pending = null;
    let pendingAt = -1;
    for (let i = 0; i < msgs.length; i++) {
        const m = msgs[i];
        const p = `messages[${i}]`;
        if (!isObj(m))
            return wrongType(p, 'an object', m);
        const role = m.role;
        if (role === undefined || role === null)
            return missing(`${p}.role`);
        if (typeof role !== 'string' || !ROLES.includes(role))
            return badValue(`${p}.role`, role, ROLES);
        if (role === 'tool') {
            const e = stringField(m, 'tool_call_id', `${p}.tool_call_id`, true) ?? content(m.content, `${p}.content`, true, false);
            if (e)
                return e;
            if (pending === null) {
                return fail("Invalid parameter: messages with role 'tool' must be a response to a preceding message with 'tool_calls'.", `${p}.role`);
            }
            const k = pending.indexOf(m.tool_call_id);
            if (k < 0)
                return fail(`Invalid parameter: 'tool_call_id' of '${m.tool_call_id}' not found in 'tool_calls' of previous message.`, `${p}.tool_call_id`);
            pending.splice(k, 1);
            continue;
        }
        if (pending !== null && pending.length > 0)
            return unanswered(pendingAt, pending);
        pending = null;
        if (role === 'assistant') {
            const calls = m.tool_calls;
            const hasCalls = Array.isArray(calls) && calls.length > 0;
            const e = content(m.content, `${p}.content`, !hasCalls, true) ?? toolCalls(calls, `${p}.tool_calls`);
            if (e)
                return e;
            if (hasCalls) {
                pending = calls.map((c) => c.id);
                pendingAt = i;
            }
        }
        else {
            const e = content(m.content, `${p}.content`, true, role === 'user');
            if (e)
                return e;
        }
    }
    if (pending !== null && pending.length > 0)
        return unanswered(pendingAt, pending);
    return null;
}
function unanswered(at, ids) {
    return fail(`An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${ids.join(', ')}`, `messages[${at}].role`);
}
/** content: a string or an array of typed parts; non-text parts only where `media` (user). */
function content(c, p, required, media) {
    if (c === undefined || c === null)
        return required ? missing(p) : null;
    if (typeof c === 'string')
        return null;
    if (!Array.isArray(c))
        return wrongType(p, STRING_OR_PARTS, c);
    for (let j = 0; j < c.length; j++) {
        const part = c[j];
        const pp = `${p}[${j}]`;
        if (!isObj(part))
            return wrongType(pp, 'an object', part);
        const t = part.type;
        if (t === undefined || t === null)
            return missing(`${pp}.type`);
        if (t === 'text') {
            const e = stringField(part, 'text', `${pp}.text`, true);
            if (e)
                return e;
        }
        else if (t === 'image_url' && media) {
            const iu = part.image_url;
            if (!isObj(iu))
                return iu === undefined ? missing(`${pp}.image_url`) : wrongType(`${pp}.image_url`, 'an object', iu);
            const e = stringField(iu, 'url', `${pp}.image_url.url`, true);
            if (e)
                return e;
        }
        else if (typeof t !== 'string') {
            return wrongType(`${pp}.type`, 'a string', t);
        }
        else if (!media && t !== 'refusal') {
            return badValue(`${pp}.type`, t, ['text']);
        }
        // Other user parts (input_audio, file, video_url, …) are the replica's to accept or refuse.
    }
    return null;
}
function toolCalls(calls, p) {
    if (calls === undefined || calls === null)
        return null;
    if (!Array.isArray(calls))
        return wrongType(p, 'an array', calls);
    for (let k = 0; k < calls.length; k++) {
        const c = calls[k];
        const cp = `${p}[${k}]`;
        if (!isObj(c))
            return wrongType(cp, 'an object', c);
        let e = stringField(c, 'id', `${cp}.id`, true);
        if (e)
            return e;
        if (c.type === undefined || c.type === null)
            return missing(`${cp}.type`);
        if (c.type !== 'function')
            return badValue(`${cp}.type`, c.type, ['function']);
        const fn = c.function;
        if (!isObj(fn))
            return fn === undefined ? missing(`${cp}.function`) : wrongType(`${cp}.function`, 'an object', fn);
        e = stringField(fn, 'name', `${cp}.function.name`, true) ?? stringField(fn, 'arguments', `${cp}.function.arguments`, true);
        if (e)
            return e;
    }
    return null;
}
