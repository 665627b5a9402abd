// The Messages API's error wording (pydantic style, `path: Input should be …`, as the real API
// words it, so users find the field and the fix) and the checks of its scalar fields.
import { fail, isInt, isNum, isObj } from './body.js';
export const REQUIRED = 'Field required';
export const STR = 'Input should be a valid string';
export const INT = 'Input should be a valid integer';
export const BOOL = 'Input should be a valid boolean';
export const LIST = 'Input should be a valid list';
export const DICT = 'Input should be a valid dictionary';
const NUM = 'Input should be a valid number';
/** `Input should be 'a', 'b' or 'c'` */
export function oneOf(values) {
    const q = values.map((v) => `'${v}'`);
    return 'Input should be ' + (q.length === 1 ? q[0] : q.slice(0, -1).join(', ') + ' or ' + q[q.length - 1]);
}
export function bad(path, message) {
    return fail(`${path}: ${message}`, path);
}
function numberIn(b, key, min, max, int) {
    const v = b[key];
    if (v === undefined || v === null)
        return null;
    if (int ? !isInt(v) : !isNum(v))
        return bad(key, int ? INT : NUM);
    if (v < min)
        return bad(key, `Input should be greater than or equal to ${min}`);
    if (v > max)
        return bad(key, `Input should be less than or equal to ${max}`);
    return null;
}
/** temperature, top_p, top_k, stop_sequences, metadata → the upstream body. */
export function checkSampling(b, up) {
    const e = numberIn(b, 'temperature', 0, 1, false) ?? numberIn(b, 'top_p', 0, 1, false) ?? numberIn(b, 'top_k', 0, Number.MAX_SAFE_INTEGER, true);
    if (e)
        return e;
    if (typeof b.temperature === 'number')
        up.temperature = b.temperature;
    if (typeof b.top_p === 'number')
        up.top_p = b.top_p;
    if (typeof b.top_k === 'number')
        up.top_k = b.top_k;
    const stop = b.stop_sequences;
    if (stop !== undefined && stop !== null) {
        if (!Array.isArray(stop))
            return bad('stop_sequences', LIST);
        for (let i = 0; i < stop.length; i++)
            if (typeof stop[i] !== 'string')
                return bad(`stop_sequences.${i}`, STR);
        if (stop.length > 0)
            up.stop = stop;
    }
    const md = b.metadata;
    if (md !== undefined && md !== null) {
        if (!isObj(md))
            return bad('metadata', DICT);
        if (md.user_id !== undefined && md.user_id !== null && typeof md.user_id !== 'string')
            return bad('metadata.user_id', STR);
    }
    return null;
}
/** thinking: checked so a bad budget fails as the real API does; replicas get no mapping for it. */
export function checkThinking(b, maxTokens) {
    const t = b.thinking;
    if (t === undefined || t === null)
        return null;
    if (!isObj(t))
        return bad('thinking', DICT);
    const kinds = ['enabled', 'disabled', 'adaptive'];
    if (typeof t.type !== 'string' || !kinds.includes(t.type))
        return bad('thinking.type', oneOf(kinds));
    if (t.type !== 'enabled')
        return null;
    const budget = t.budget_tokens;
    if (budget === undefined)
        return bad('thinking.enabled.budget_tokens', REQUIRED);
    if (!isInt(budget))
        return bad('thinking.enabled.budget_tokens', INT);
    if (budget < 1024)
        return bad('thinking.enabled.budget_tokens', 'Input should be greater than or equal to 1024');
    if (maxTokens !== null && budget >= maxTokens) {
        return fail('`max_tokens` must be greater than `thinking.budget_tokens`; raise max_tokens or lower the budget.', 'max_tokens');
    }
    return null;
}
