// Error wording of the OpenAI API (`Missing required parameter: 'x'.`, `Invalid type for 'x': …`),
// each error carrying `param` so the O-SDK exposes it as `err.param`.
import { fail, isInt, isNum } from './body.js';
export { fail };
function typeName(v) {
    if (v === null)
        return 'null';
    if (Array.isArray(v))
        return 'an array';
    switch (typeof v) {
        case 'string': return 'a string';
        case 'boolean': return 'a boolean';
        case 'number': return Number.isInteger(v) ? 'an integer' : 'a decimal';
        case 'object': return 'an object';
        default: return typeof v;
    }
}
export function missing(param) {
    return fail(`Missing required parameter: '${param}'.`, param);
}
export function wrongType(param, expected, got) {
    return fail(`Invalid type for '${param}': expected ${expected}, but got ${typeName(got)} instead.`, param);
}
/** `Invalid value: 'x'. Supported values are: 'a', 'b', and 'c'.` */
export function badValue(param, got, supported) {
    const q = supported.map((s) => `'${s}'`);
    const list = q.length <= 2 ? q.join(' and ') : q.slice(0, -1).join(', ') + ', and ' + q[q.length - 1];
    return fail(`Invalid value: '${String(got)}'. Supported values are: ${list}.`, param);
}
/** A number field within [min, max], optional; integers only when `int`. */
export function numberIn(b, key, min, max, int) {
    const v = b[key];
    if (v === undefined || v === null)
        return null;
    if (int ? !isInt(v) : !isNum(v))
        return wrongType(key, int ? 'an integer' : 'a number', v);
    const kind = int ? 'integer' : 'decimal';
    const n = v;
    if (n < min)
        return fail(`Invalid '${key}': ${kind} below minimum value. Expected a value >= ${min}, but got ${n} instead.`, key);
    if (n > max)
        return fail(`Invalid '${key}': ${kind} above maximum value. Expected a value <= ${max}, but got ${n} instead.`, key);
    return null;
}
/** A string field, optional unless `required`. */
export function stringField(b, key, param, required) {
    const v = b[key];
    if (v === undefined || v === null)
        return required ? missing(param) : null;
    return typeof v === 'string' ? null : wrongType(param, 'a string', v);
}
