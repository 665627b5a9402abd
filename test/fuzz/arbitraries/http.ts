import fc from 'fast-check';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { step, toJson, type Case, type Envelope, type Step } from '../cases.js';
import { validBody as anthropicBody } from './anthropic.js';
import { validBody as openaiBody } from './openai.js';
import { fraction, pick, type G } from './json.js';

// What goes wrong below the JSON: bad JSON text, bodies of the wrong content-type or encoding,
// duplicate keys, bad %-escapes in paths, odd or missing headers, bytes that are not UTF-8, and
// methods and paths that are not there. Each is refused in the envelope of the API the path belongs to.

interface Target { path: string; envelope: Envelope; headers: Record<string, string>; body: (g: G) => Record<string, unknown> }
const TARGETS: Target[] = [
  { path: '/v1/messages', envelope: 'anthropic', headers: { 'anthropic-version': '2023-06-01' }, body: (g) => anthropicBody(g, false) },
  { path: '/v1/messages/count_tokens', envelope: 'anthropic', headers: { 'anthropic-version': '2023-06-01' }, body: (g) => anthropicBody(g, true) },
  { path: '/v1/chat/completions', envelope: 'openai', headers: {}, body: (g) => openaiBody(g) },
];

const reject = (t: Target, s: Partial<Step>): Step =>
  step({ method: 'POST', path: t.path, expect: 'reject', envelope: t.envelope, shape: 'json', ...s, headers: { 'content-type': 'application/json', ...t.headers, ...s.headers } });

type Mangle = [string, (t: Target, g: G) => Step];

const BAD_JSON = ['', ' ', '{', '}', '{"model":', '{"model": "x",}', "{'model': 'x'}", '{"model": NaN}', '{"a": Infinity}', '{"a": 1} {"b": 2}',
  '{"a": 1} trailing', '// comment\n{}', '{"a": undefined}', '[', 'null', '"just a string"', '42', 'true', '[]', '{"a": "\\x41"}', '{"a": "\\u12"}',
  '{"a": 01}', '{"a": .5}', '{"a": +1}', '{"a": 1e}', '{"a": "unterminated}', '\u0000\u0000', '{"a":"b"\u0000}'];

const MANGLES: Mangle[] = [
  ['bad JSON', (t, g) => reject(t, { body: pick(g, BAD_JSON) })],
  ['a truncated body', (t, g) => {
    const full = toJson(t.body(g));
    return reject(t, { body: full.slice(0, Math.min(full.length - 1, Math.floor(fraction(g) * full.length))) });
  }],
  ['a form-encoded body', (t, g) => reject(t, { body: 'model=llama-3.1-8b&max_tokens=5&messages=hi', headers: { 'content-type': pick(g, ['application/x-www-form-urlencoded', 'application/json']) } })],
  ['duplicate keys whose last value is wrong', (t, g) => {
    const s = toJson(t.body(g));
    const dup = pick(g, t.path.endsWith('count_tokens') ? ['"model":42', '"messages":"none"'] : ['"model":42', '"messages":"none"', '"stream":"yes"']);
    return reject(t, { body: s.slice(0, -1) + ',' + dup + '}' });
  }],
  ['bytes that are not UTF-8 in place of the body', (t, g) => reject(t, { body: Uint8Array.from(pick(g, [[0xff, 0xfe, 0x00], [0xc3, 0x28], [0x7b, 0xa0, 0xa1, 0x7d], [0xef, 0xbb, 0xbf, 0xff]])) })],
  ['no API key', (t, g) => reject(t, { auth: 'none', body: toJson(t.body(g)) })],
  ['a wrong API key', (t, g) => reject(t, { auth: 'none', body: toJson(t.body(g)), headers: pick<Record<string, string>>(g, [{ 'x-api-key': 'sk-nope' }, { authorization: 'Bearer sk-nope' }, { authorization: 'Basic Zm9vOmJhcg==' }, { authorization: 'Bearer' }, { 'x-api-key': 'x'.repeat(8_000) }]) })],
  ['an odd priority or deadline header', (t, g) => reject(t, { body: toJson(t.body(g)), headers: pick<Record<string, string>>(g, [{ 'x-switchyard-priority': 'urgent' }, { 'x-switchyard-priority': '' }, { 'x-switchyard-deadline-ms': 'soon' }, { 'x-switchyard-deadline-ms': '-5' }, { 'x-switchyard-deadline-ms': '99999999999999' }]) })],
  ['a method the path does not take', (t, g) => reject(t, { method: pick(g, ['GET', 'PUT', 'DELETE', 'PATCH']), body: undefined })],
  ['a content-encoding the gateway does not decode', (t, g) => reject(t, { body: toJson(t.body(g)), headers: { 'content-encoding': pick(g, ['compress', 'zstd', 'gzip, br', 'br, gzip', 'x-'.repeat(3_000)]) } })],
  ['a body that is not in the content-encoding it names', (t, g) => reject(t, { body: pick<string | Uint8Array>(g, [toJson(t.body(g)), gzipSync(toJson(t.body(g))).subarray(0, 20)]), headers: { 'content-encoding': pick(g, ['gzip', 'deflate', 'br']) } })],
  ['a gzip body that decodes past the body limit', (t) => reject(t, { body: bomb(), headers: { 'content-encoding': 'gzip' } })],
];

let bombBytes: Buffer | null = null;
/** 40 MiB of spaces after `{`, gzipped to about 40 KB: past the 32 MiB limit once decoded. */
function bomb(): Buffer {
  bombBytes ??= gzipSync(Buffer.concat([Buffer.from('{'), Buffer.alloc(40 * 1024 * 1024, ' '), Buffer.from('}')]));
  return bombBytes;
}

const VERSION_MANGLES: Mangle[] = [
  ['no anthropic-version', (t, g) => reject(t, { body: toJson(t.body(g)), headers: { 'anthropic-version': undefined as unknown as string } })],
  ['a malformed anthropic-version', (t, g) => reject(t, { body: toJson(t.body(g)), headers: { 'anthropic-version': pick(g, ['latest', '2023-6-1', '', '2023-06-01T00:00:00Z', 'x'.repeat(4_000), '2023-06-01, 2023-06-01']) } })],
  ['an anthropic-version that is no date', (t, g) => reject(t, { body: toJson(t.body(g)), headers: { 'anthropic-version': pick(g, ['2023-13-45', '2023-02-30', '2023-00-10', '2023-06-00', '2023-02-29']) } })],
];

export const mangledRequests: fc.Arbitrary<Case> = fc.gen().map((g) => {
  const t = pick(g, TARGETS);
  // count_tokens takes no priority or deadline: it may ignore those headers
  const mangles = t.path.endsWith('count_tokens') ? MANGLES.filter(([n]) => !n.includes('priority')) : MANGLES;
  const [note, make] = pick(g, t.envelope === 'anthropic' ? [...mangles, ...VERSION_MANGLES] : mangles);
  const s = make(t, g);
  // a header set to undefined is dropped: the header missing
  for (const [k, v] of Object.entries(s.headers)) if (v === undefined) delete s.headers[k];
  return { family: 'http.mangled', note: `${note} (${t.path})`, steps: [s] };
});

/** A valid JSON body sent as something else: refused (400 or 415), as the real APIs do not parse it. */
export const wrongContentType: fc.Arbitrary<Case> = fc.gen().map((g) => {
  const t = pick(g, TARGETS);
  const ct = pick(g, ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'image/png']);
  return { family: 'http.content-type', note: `a JSON body sent as another content-type (${t.path})`, steps: [reject(t, { body: toJson(t.body(g)), headers: { 'content-type': ct } })] };
});

const CODINGS: Record<string, (b: string) => Buffer> = { gzip: gzipSync, 'x-gzip': gzipSync, deflate: deflateSync, br: brotliCompressSync, identity: Buffer.from, GZip: gzipSync };

/** A valid body compressed as its content-encoding says: decoded and served like the plain one. */
export const compressedRequests: fc.Arbitrary<Case> = fc.gen().map((g) => {
  const t = pick(g, TARGETS);
  const b = t.body(g);
  const coding = pick(g, Object.keys(CODINGS));
  const stream = b.stream === true;
  const shape = t.path.endsWith('count_tokens') ? 'count' : t.envelope === 'anthropic' ? (stream ? 'message-stream' : 'message') : stream ? 'chat-stream' : 'chat';
  const s = step({ method: 'POST', path: t.path, expect: 'ok', envelope: t.envelope, shape, body: CODINGS[coding](toJson(b)), headers: { 'content-type': 'application/json', ...t.headers, 'content-encoding': coding } });
  return { family: 'http.content-encoding', note: `a body in ${coding} (${t.path})`, steps: [s] };
});

const ESCAPES = ['%', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80', 'a%2', '%00', '%%', '%u0041'];

/** Paths the gateway must answer with a 4xx whatever is in them. */
export const oddPaths: fc.Arbitrary<Case> = fc.gen().map((g) => {
  const esc = pick(g, ESCAPES);
  const [note, path, envelope, headers] = pick<[string, string, Envelope, Record<string, string>]>(g, [
    ['a bad %-escape in a model id', `/v1/models/${esc}`, 'openai', {}],
    ['a bad %-escape in a model id', `/v1/models/${esc}`, 'anthropic', { 'anthropic-version': '2023-06-01' }],
    ['a bad %-escape in a model id', `/v1/models/llama-3.1-8b${esc}`, 'openai', {}],
    ['a bad %-escape in an unknown path', `/v1/${esc}`, 'openai', {}],
    ['a bad %-escape in an unknown path', `/v1/messages/${esc}`, 'anthropic', { 'anthropic-version': '2023-06-01' }],
    ['a bad %-escape in an unknown path', `/${esc}`, 'openai', {}],
    ['a very long model id', '/v1/models/' + 'x'.repeat(g(fc.integer, { min: 1_000, max: 6_000 })), 'openai', {}],
    ['an odd models query', '/v1/models?limit=' + pick(g, ['-1', 'NaN', '1e9', '%', '%zz']), 'anthropic', { 'anthropic-version': '2023-06-01' }],
  ]);
  const expectAny = path.startsWith('/v1/models?');
  return { family: 'http.paths', note, steps: [step({ method: 'GET', path, headers, expect: expectAny ? 'any' : 'reject', envelope, shape: 'json' })] };
});
