import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import { LINGER_BYTES } from '../../src/gateway/body.js';
import { head, rawClient } from './raw-client.js';
import { scriptedPlatform } from './support.js';

// #11 §4: a body over the limit gets its 413 in the wire format, and the client really receives
// it, even one still sending (undici-based SDKs saw EPIPE: the gateway closed on a client that was
// still writing). The gateway reads and drops the rest of the body, within bounds, then answers
// the next request.
const KEY = 'sk-sy-gateway-body-limit-test-key-000000000000';
const ADMIN = 'body-limit-admin-token';
const MODEL = 'llama-3.1-8b';
const LIMIT = 32 * 1024 * 1024;
const FIFTY_MB = 50 * 1024 * 1024;
const MiB = Buffer.alloc(1024 * 1024, 'x');
const completion = JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });

let p: Platform;

beforeAll(async () => {
  p = await scriptedPlatform({
    key: KEY, adminToken: ADMIN,
    replica: (q, s) => {
      if (q.method === 'GET') return void s.end('');
      q.resume().on('end', () => s.writeHead(200, { 'content-type': 'application/json' }).end(completion));
    },
  });
});

afterAll(async () => {
  await p?.close();
});

const ANTHROPIC = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
const OPENAI = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

/** 50 MiB as a stream of 1 MiB chunks (so fetch sends it chunked), with a pause before each. */
function chunked(gapMs: number, total = 50): ReadableStream<Uint8Array> {
  let n = 0;
  return new ReadableStream({
    async pull(c) {
      if (n++ >= total) return c.close();
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      c.enqueue(MiB);
    },
  });
}

async function stillServing(): Promise<void> {
  expect((await fetch(`${p.url}/healthz`)).status).toBe(200);
  const ok = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers: OPENAI, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }) });
  expect(ok.status).toBe(200);
  await ok.text();
}

describe('#11 – a 50 MB body gets its 413, and the client receives it', () => {
  it.each([
    { how: 'with a Content-Length', body: () => 'x'.repeat(FIFTY_MB), extra: {} },
    { how: 'chunked, as fast as it goes', body: () => chunked(0), extra: { duplex: 'half' } },
    { how: 'chunked, a MiB every 5 ms', body: () => chunked(5), extra: { duplex: 'half' } },
  ])('fetch (undici), Anthropic and OpenAI envelopes, $how', async ({ body, extra }) => {
    const a = await fetch(`${p.url}/v1/messages`, { method: 'POST', headers: ANTHROPIC, body: body() as never, ...extra });
    expect(a.status).toBe(413);
    const ab = await a.json();
    expect(ab).toMatchObject({ type: 'error', error: { type: 'request_too_large' }, request_id: a.headers.get('request-id') });
    expect(ab.error.message).toContain(String(LIMIT));
    const o = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers: OPENAI, body: body() as never, ...extra });
    expect(o.status).toBe(413);
    expect((await o.json()).error).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
    await stillServing();
  });

  it('the official Anthropic SDK (maxRetries: 0) gets a 413 request_too_large error, not a connection error', async () => {
    const a = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    const err = await a.messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'x'.repeat(FIFTY_MB) }] }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err.status).toBe(413);
    expect(err.error.error.type).toBe('request_too_large');
    await stillServing();
  });

  it('the official OpenAI SDK (maxRetries: 0) gets a 413 with code request_too_large', async () => {
    const o = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const err = await o.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(FIFTY_MB) }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(413);
    expect(err.code).toBe('request_too_large');
    await stillServing();
  });

  it('on a raw socket: the 413 arrives while the client is still sending, and the connection serves the next request', async () => {
    const c = await rawClient(p.url);
    await c.write(head('POST', '/v1/messages', { ...ANTHROPIC, 'content-length': FIFTY_MB }));
    let sent = 0;
    // a declared length over the limit is answered before the body
    await c.waitFor(/^HTTP\/1\.1 413 /);
    while (sent < FIFTY_MB) {
      expect(await c.write(MiB)).toBe(true);
      sent += MiB.length;
    }
    await c.waitFor(/"request_too_large"/);
    expect(c.received()).not.toMatch(/connection: close/i);
    // the rest of the body was read and dropped: the same connection answers the next request
    await c.write(head('GET', '/healthz', {}));
    await c.waitFor(/HTTP\/1\.1 200 OK[\s\S]*"status":"ok"/);
    c.socket.destroy();
  });

  it('on a raw socket, chunked: the 413 comes once the limit is passed, the rest is dropped, the connection lives on', async () => {
    const c = await rawClient(p.url);
    await c.write(head('POST', '/v1/chat/completions', { ...OPENAI, 'transfer-encoding': 'chunked' }));
    const frame = Buffer.concat([Buffer.from(`${MiB.length.toString(16)}\r\n`), MiB, Buffer.from('\r\n')]);
    for (let i = 0; i < 50; i++) expect(await c.write(frame)).toBe(true);
    await c.write('0\r\n\r\n');
    await c.waitFor(/^HTTP\/1\.1 413 [\s\S]*"code":"request_too_large"/);
    await c.write(head('GET', '/healthz', {}));
    await c.waitFor(/HTTP\/1\.1 200 OK[\s\S]*"status":"ok"/);
    c.socket.destroy();
  });

  it('Expect: 100-continue with a declared length over the limit: the 413 comes instead of the 100, and the body is never sent', async () => {
    const c = await rawClient(p.url);
    await c.write(head('POST', '/v1/messages', { ...ANTHROPIC, 'content-length': FIFTY_MB, expect: '100-continue' }));
    await c.waitFor(/^HTTP\/1\.1 413 [\s\S]*"request_too_large"/);
    expect(c.received()).not.toContain('100 Continue');
    expect(c.received()).toMatch(/\r\nconnection: close\r\n/i);
    await c.closed;
    // within the limit, the 100 comes and the request is served
    const ok = await rawClient(p.url);
    const small = JSON.stringify({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
    await ok.write(head('POST', '/v1/messages', { ...ANTHROPIC, 'content-length': Buffer.byteLength(small), expect: '100-continue' }));
    await ok.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    await ok.write(small);
    await ok.waitFor(/HTTP\/1\.1 200 OK[\s\S]*"type":"message"/);
    ok.socket.destroy();
  });

  it('drops at most LINGER_BYTES past the limit before closing on a client that never stops', async () => {
    const c = await rawClient(p.url);
    const declared = 4 * (LIMIT + LINGER_BYTES);
    await c.write(head('POST', '/v1/messages', { ...ANTHROPIC, 'content-length': declared }));
    let sent = 0;
    while (sent < declared && (await c.write(MiB))) sent += MiB.length;
    expect(c.received()).toMatch(/^HTTP\/1\.1 413 /);
    // what the gateway read is at most LINGER_BYTES (the limit itself was never read: it was declared)
    // plus what the kernel's buffers held when it closed
    expect(sent).toBeLessThan(LINGER_BYTES + 16 * 1024 * 1024);
    expect((await c.closed)).toBeDefined();
    await stillServing();
  });
});

describe('#11 – count_tokens and admin bodies over their limits', () => {
  it('count_tokens: 50 MB gets an Anthropic 413', async () => {
    const r = await fetch(`${p.url}/v1/messages/count_tokens`, { method: 'POST', headers: ANTHROPIC, body: chunked(0), duplex: 'half' } as never);
    expect(r.status).toBe(413);
    expect((await r.json()).error.type).toBe('request_too_large');
    await stillServing();
  });

  it('admin: a body over 1 MiB from the admin token gets a 413', async () => {
    const r = await fetch(`${p.url}/admin/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: chunked(0, 4), duplex: 'half' } as never);
    expect(r.status).toBe(413);
    expect((await r.json()).error.type).toBe('request_too_large');
  });

  it('admin: without valid credentials the 401 comes before a byte of the body is read', async () => {
    for (const auth of [{}, { authorization: 'Bearer wrong-token' }] as Array<Record<string, string>>) {
      const c = await rawClient(p.url);
      // the head only: a 1 MiB body is announced and never sent
      await c.write(head('POST', '/admin/v1/tenants', { ...auth, 'content-type': 'application/json', 'content-length': 1024 * 1024 }));
      await c.waitFor(/^HTTP\/1\.1 401 [\s\S]*authentication_error/, 2_000);
      c.socket.destroy();
    }
    expect(p.gateway.openBodies).toBeLessThanOrEqual(2);
  });
});
