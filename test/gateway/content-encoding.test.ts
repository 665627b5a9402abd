import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import { bodyCoding, decodeBody } from '../../src/gateway/body.js';
import { head, rawClient } from './raw-client.js';
import { scriptedPlatform } from './support.js';

// A request body's Content-Encoding: gzip, deflate and br are decoded before the body is parsed,
// with the body limit applied to the decoded size (a decompression bomb is a 413, and decoding
// stops at the limit); any other coding is a 415 before the body is read; a body that does not
// decode as its header says is a 400. Each answer in the envelope of the request's API.
const KEY = 'sk-sy-gateway-content-encoding-key-000000000';
const LIMIT = 1024 * 1024;
const completion = JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });

let p: Platform;
/** the bodies of the replica's POSTs, as it received them */
const seen: string[] = [];

beforeAll(async () => {
  p = await scriptedPlatform({
    key: KEY,
    configure: (c) => void (c.server.bodyLimitBytes = LIMIT),
    replica: (q, s) => {
      if (q.method === 'GET') return void s.end('');
      const chunks: Buffer[] = [];
      q.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        seen.push(Buffer.concat(chunks).toString('utf8'));
        s.writeHead(200, { 'content-type': 'application/json' }).end(q.url?.includes('tokenize') ? '{"count":3}' : completion);
      });
    },
  });
});

afterAll(async () => {
  await p?.close();
});

const ANTHROPIC = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
const OPENAI = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const MODEL = 'llama-3.1-8b';

const WIRES = [
  { path: '/v1/messages', headers: ANTHROPIC, body: (text: string) => ({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: text }] }) },
  { path: '/v1/messages/count_tokens', headers: ANTHROPIC, body: (text: string) => ({ model: MODEL, messages: [{ role: 'user', content: text }] }) },
  { path: '/v1/chat/completions', headers: OPENAI, body: (text: string) => ({ model: MODEL, messages: [{ role: 'user', content: text }] }) },
];

const ENCODE: Record<string, (b: string | Buffer) => Buffer> = { gzip: gzipSync, 'x-gzip': gzipSync, GZIP: gzipSync, deflate: deflateSync, br: brotliCompressSync, identity: (b) => Buffer.from(b) };

function post(path: string, headers: Record<string, string>, body: Buffer | string, coding?: string): Promise<Response> {
  return fetch(`${p.url}${path}`, { method: 'POST', headers: coding === undefined ? headers : { ...headers, 'content-encoding': coding }, body: body as unknown as BodyInit });
}

/** The error body in its wire's envelope: Anthropic's `{type:"error",error}` or OpenAI's `{error}`. */
async function wireError(r: Response, path: string): Promise<{ type: string; message: string }> {
  const j = await r.json();
  if (path.startsWith('/v1/messages')) {
    expect(j).toMatchObject({ type: 'error', request_id: r.headers.get('request-id') });
    return j.error;
  }
  expect(j.error).toHaveProperty('param');
  return j.error;
}

describe('a compressed body is decoded, then served as if sent plain', () => {
  const cases = WIRES.flatMap((w) => Object.keys(ENCODE).map((coding) => ({ ...w, coding })));
  it.each(cases)('$path with content-encoding: $coding', async ({ path, headers, body, coding }) => {
    const text = `Hello, in ${coding} on ${path}`;
    const r = await post(path, headers, ENCODE[coding](JSON.stringify(body(text))), coding);
    expect(r.status).toBe(200);
    await r.text();
    // the replica got the decoded request, translated as usual
    expect(seen.at(-1)).toContain(text);
  });
});

describe('the body limit applies to the decoded body', () => {
  it.each(WIRES)('$path: 8 MiB of prompt gzipped to a few KB is a 413 request_too_large', async ({ path, headers, body }) => {
    const packed = gzipSync(JSON.stringify(body('a'.repeat(8 * LIMIT))));
    expect(packed.length).toBeLessThan(LIMIT / 8);
    const before = seen.length;
    const r = await post(path, headers, packed, 'gzip');
    expect(r.status).toBe(413);
    const e = await wireError(r, path);
    expect(e.type).toBe(path.startsWith('/v1/messages') ? 'request_too_large' : 'invalid_request_error');
    expect(e.message).toContain(`more than the limit of ${LIMIT} bytes`);
    expect(seen.length).toBe(before);
  });

  it('a body that decodes to just under the limit is served', async () => {
    const r = await post('/v1/chat/completions', OPENAI, gzipSync(JSON.stringify(WIRES[2].body('b'.repeat(LIMIT - 1024)))), 'gzip');
    expect(r.status).toBe(200);
    await r.text();
  });

  it('decoding stops at the limit: a 16 GiB gzip bomb (16 MB sent) is refused in well under a second, never inflated', async () => {
    const member = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 256 }, () => member));
    const c0 = process.cpuUsage();
    const r = await decodeBody(bomb, 'gzip', LIMIT);
    const c = process.cpuUsage(c0);
    expect(r).toMatchObject({ ok: false, error: { kind: 'request_too_large' } });
    // inflating all of it would take tens of seconds, and more memory than a Buffer may hold
    expect((c.user + c.system) / 1000).toBeLessThan(1000);
  });
});

describe('a coding the gateway does not decode is a 415 before the body is read', () => {
  const cases = WIRES.flatMap((w) => ['compress', 'zstd', 'gzip, br'].map((coding) => ({ ...w, coding })));
  it.each(cases)('$path with content-encoding: $coding', async ({ path, headers, body, coding }) => {
    const before = seen.length;
    const r = await post(path, headers, JSON.stringify(body('hi')), coding);
    expect(r.status).toBe(415);
    // RFC 9110 §15.5.16: the answer says which codings would have been taken
    expect(r.headers.get('accept-encoding')).toBe('gzip, deflate, br');
    const e = await wireError(r, path);
    expect(e.type).toBe('invalid_request_error');
    expect(e.message).toContain(`content-encoding: "${coding}"`);
    expect(seen.length).toBe(before);
  });

  it('on a raw socket: the 415 comes for a body announced and never sent', async () => {
    const c = await rawClient(p.url);
    await c.write(head('POST', '/v1/messages', { ...ANTHROPIC, 'content-encoding': 'zstd', 'content-length': 512 * 1024 }));
    await c.waitFor(/^HTTP\/1\.1 415 [\s\S]*"invalid_request_error"[\s\S]*zstd/, 2_000);
    c.socket.destroy();
  });

  it('a long coding is quoted by its start only', async () => {
    const r = await post('/v1/chat/completions', OPENAI, '{}', 'x'.repeat(8_000));
    expect(r.status).toBe(415);
    expect((await wireError(r, '/v1/chat/completions')).message.length).toBeLessThan(300);
  });
});

describe('a body that is not in the coding its header names is a 400 saying so', () => {
  const plain = JSON.stringify(WIRES[0].body('hi'));
  it.each([
    ['plain JSON labelled gzip', 'gzip', Buffer.from(plain)],
    ['plain JSON labelled deflate', 'deflate', Buffer.from(plain)],
    ['a gzip stream cut short', 'gzip', gzipSync(plain).subarray(0, 20)],
    ['gzip labelled deflate', 'deflate', gzipSync(plain)],
  ])('%s', async (_what, coding, bytes) => {
    for (const w of WIRES) {
      const r = await post(w.path, w.headers, bytes, coding);
      expect(r.status).toBe(400);
      const e = await wireError(r, w.path);
      expect(e.type).toBe('invalid_request_error');
      expect(e.message).toContain(`not valid ${coding} data`);
    }
  });
});

describe('reading the content-encoding header', () => {
  it.each<[string | undefined, string | null]>([
    [undefined, null], ['', null], ['identity', null], [' Identity ', null], ['gzip', 'gzip'], ['x-gzip', 'gzip'], ['GZip', 'gzip'], ['deflate', 'deflate'], ['br', 'br'], ['identity, gzip', 'gzip'],
  ])('%j → %s', (header, coding) => {
    expect(bodyCoding(header)).toEqual({ ok: true, coding });
  });

  it.each(['compress', 'zstd', 'gzip, br', 'br,br', 'chunked'])('%j is refused as unsupported', (header) => {
    expect(bodyCoding(header)).toMatchObject({ ok: false, error: { kind: 'unsupported_media_type' } });
  });
});
