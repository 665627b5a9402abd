// POST /v1/messages and /v1/messages/count_tokens: validate, then translate to the replica's
// OpenAI-compatible body (API-NOTES A.2, A.3, C.1).
import { BOOL, INT, REQUIRED, STR, bad, checkSampling, checkThinking } from './anthropic-check.js';
import { checkTools } from './anthropic-tools.js';
import { convertMessages, convertSystem } from './anthropic-messages.js';
import { isInt, parseBody } from './body.js';
function checkModel(b) {
    if (b.model === undefined)
        return bad('model', REQUIRED);
    if (typeof b.model !== 'string')
        return bad('model', STR);
    if (b.model.length === 0)
        return bad('model', 'String should have at least 1 character');
    return null;
}
export function parseAnthropicMessages(body) {
    const parsed = parseBody(body);
    if (!parsed.ok)
        return parsed;
    const b = parsed.value;
    let e = checkModel(b);
    if (e)
        return e;
    const mt = b.max_tokens;
    if (mt === undefined)
        return bad('max_tokens', REQUIRED);
    if (!isInt(mt))
        return bad('max_tokens', INT);
    if (mt < 1)
        return bad('max_tokens', 'Input should be greater than or equal to 1');
    const messages = [];
    e = convertSystem(b.system, messages);
    if (e)
        return e;
    const conv = convertMessages(b.messages, messages);
    if (!conv.ok)
        return conv;
    const stream = b.stream;
    if (stream !== undefined && stream !== null && typeof stream !== 'boolean')
        return bad('stream', BOOL);
    const model = b.model;
    const up = { model, messages, max_tokens: mt };
    e = checkSampling(b, up) ?? checkTools(b, up) ?? checkThinking(b, mt);
    if (e)
        return e;
    if (conv.prefill) {
        // vLLM continues the last assistant message instead of opening a new turn.
        up.continue_final_message = true;
        up.add_generation_prompt = false;
    }
    if (stream === true) {
        up.stream = true;
        // continuous_usage_stats puts prompt_tokens on the first chunk, so message_start can carry them.
        up.stream_options = { include_usage: true, continuous_usage_stats: true };
    }
    const md = b.metadata;
    return {
        ok: true,
        value: {
            wire: 'anthropic',
            model,
            stream: stream === true,
            includeUsage: false,
            maxTokens: mt,
            userId: md && typeof md.user_id === 'string' ? md.user_id : null,
            upstream: up,
        },
    };
}
export function parseCountTokens(body) {
    const parsed = parseBody(body);
    if (!parsed.ok)
        return parsed;
    const b = parsed.value;
    let e = checkModel(b);
    if (e)
        return e;
    const messages = [];
    e = convertSystem(b.system, messages);
    if (e)
        return e;
    const conv = convertMessages(b.messages, messages);
    if (!conv.ok)
        return conv;
    const model = b.model;
    // Sampling fields and tool_choice do not change the count but are still checked.
    const scratch = { model, messages };
    e = checkSampling(b, scratch) ?? checkTools(b, scratch) ?? checkThinking(b, null);
    if (e)
        return e;
    const up = { model, messages };
    if (scratch.tools)
        up.tools = scratch.tools;
    return { ok: true, value: { model, upstream: up } };
}
/** The count_tokens response body. */
export function renderCountTokens(n) {
    return '{"input_tokens":' + n + '}';
}
