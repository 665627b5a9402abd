// POST /v1/chat/completions: validate (API-NOTES B.1) and pass the body through to the replica,
// unknown fields included (vLLM's extensions), with usage always requested on streams.
import { isInt, isObj, parseBody } from './body.js';
import { badValue, fail, missing, numberIn, stringField, wrongType } from './openai-check.js';
import { checkMessages } from './openai-messages.js';
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const CHOICES = ['none', 'auto', 'required'];
export function parseOpenAIChat(body) {
    const parsed = parseBody(body);
    if (!parsed.ok)
        return parsed;
    const b = parsed.value;
    const e = stringField(b, 'model', 'model', true) ?? checkMessages(b.messages) ?? checkParams(b) ?? checkTools(b);
    if (e)
        return e;
    const stream = b.stream === true;
    const so = b.stream_options;
    const includeUsage = stream && isObj(so) && so.include_usage === true;
    if (stream) {
        // The ledger needs usage on every stream; the transcoder hides it unless the client asked.
        b.stream_options = { include_usage: true, continuous_usage_stats: true };
    }
    const mct = b.max_completion_tokens;
    const mt = b.max_tokens;
    const user = typeof b.safety_identifier === 'string' ? b.safety_identifier : typeof b.user === 'string' ? b.user : null;
    return {
        ok: true,
        value: {
            wire: 'openai',
            model: b.model,
            stream,
            includeUsage,
            maxTokens: typeof mct === 'number' ? mct : typeof mt === 'number' ? mt : null,
            userId: user,
            upstream: b,
        },
    };
}
function checkParams(b) {
    const stream = b.stream;
    if (stream !== undefined && stream !== null && typeof stream !== 'boolean')
        return wrongType('stream', 'a boolean', stream);
    const so = b.stream_options;
    if (so !== undefined && so !== null) {
        if (stream !== true)
            return fail("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options');
        if (!isObj(so))
            return wrongType('stream_options', 'an object', so);
    }
    const n = b.n;
    if (n !== undefined && n !== null) {
        if (!isInt(n))
            return wrongType('n', 'an integer', n);
        if (n !== 1)
            return fail(`This gateway returns one choice per request, so 'n' must be 1 (got ${n}); send ${n} requests for ${n} samples.`, 'n');
    }
    const e = numberIn(b, 'max_tokens', 1, Number.MAX_SAFE_INTEGER, true) ??
        numberIn(b, 'max_completion_tokens', 1, Number.MAX_SAFE_INTEGER, true) ??
        numberIn(b, 'temperature', 0, 2, false) ??
        numberIn(b, 'top_p', 0, 1, false) ??
        numberIn(b, 'presence_penalty', -2, 2, false) ??
        numberIn(b, 'frequency_penalty', -2, 2, false) ??
        stringField(b, 'user', 'user', false) ??
        stringField(b, 'safety_identifier', 'safety_identifier', false);
    if (e)
        return e;
    const stop = b.stop;
    if (stop === undefined || stop === null || typeof stop === 'string')
        return null;
    if (!Array.isArray(stop))
        return wrongType('stop', 'one of a string or array of strings', stop);
    if (stop.length > 4)
        return fail(`Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${stop.length} instead.`, 'stop');
    for (let i = 0; i < stop.length; i++)
        if (typeof stop[i] !== 'string')
            return wrongType(`stop[${i}]`, 'a string', stop[i]);
    return null;
}
function checkTools(b) {
    const tools = b.tools;
    const names = [];
    if (tools !== undefined && tools !== null) {
        if (!Array.isArray(tools))
            return wrongType('tools', 'an array', tools);
        for (let i = 0; i < tools.length; i++) {
            const t = tools[i];
            const p = `tools[${i}]`;
            if (!isObj(t))
                return wrongType(p, 'an object', t);
            if (t.type === undefined || t.type === null)
                return missing(`${p}.type`);
            if (t.type !== 'function')
                return badValue(`${p}.type`, t.type, ['function']);
            const fn = t.function;
            if (!isObj(fn))
                return fn === undefined ? missing(`${p}.function`) : wrongType(`${p}.function`, 'an object', fn);
            const e = stringField(fn, 'name', `${p}.function.name`, true) ?? stringField(fn, 'description', `${p}.function.description`, false);
            if (e)
                return e;
            if (!TOOL_NAME.test(fn.name)) {
                return fail(`Invalid '${p}.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.`, `${p}.function.name`);
            }
            if (fn.parameters !== undefined && fn.parameters !== null && !isObj(fn.parameters))
                return wrongType(`${p}.function.parameters`, 'an object', fn.parameters);
            names.push(fn.name);
        }
    }
    const ptc = b.parallel_tool_calls;
    if (ptc !== undefined && ptc !== null && typeof ptc !== 'boolean')
        return wrongType('parallel_tool_calls', 'a boolean', ptc);
    const tc = b.tool_choice;
    if (tc === undefined || tc === null || tc === 'none')
        return null;
    if (typeof tc === 'string') {
        if (!CHOICES.includes(tc))
            return badValue('tool_choice', tc, CHOICES);
    }
    else if (isObj(tc)) {
        if (tc.type !== 'function')
            return badValue('tool_choice.type', tc.type, ['function']);
        const fn = tc.function;
        if (!isObj(fn))
            return fn === undefined ? missing('tool_choice.function') : wrongType('tool_choice.function', 'an object', fn);
        const e = stringField(fn, 'name', 'tool_choice.function.name', true);
        if (e)
            return e;
        if (names.length > 0 && !names.includes(fn.name)) {
            return fail(`Invalid value for 'tool_choice': function '${fn.name}' is not among the tools provided.`, 'tool_choice.function.name');
        }
    }
    else {
        return wrongType('tool_choice', "one of a string or object", tc);
    }
    if (names.length === 0)
        return fail("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice');
    return null;
}
