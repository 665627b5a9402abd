import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import { BodyReader, RATE_GRACE_MS } from '../../src/gateway/body.js';
import { head, rawClient } from './raw-client.js';
import { scriptedPlatform } from './support.js';

// #11 §9 "slow clients": a client may not hold a connection for ever by sending its headers or
// its body slowly, nor by idling on keep-alive; a streamed answer, however long, is never cut by
// these timeouts (they are about what the client sends, not what it receives).
const KEY = 'sk-sy-gateway-slow-clients-test-key-0000000000';
const MODEL = 'llama-3.1-8b';
const HEADERS_MS = 300;
const BODY_MS = 600;
const IDLE_MS = 300;
const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;
const completion = JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'slow but whole' }, finish_reason: 'stop' }], usage });

let p: Platform;

beforeAll(async () => {
  p = await scriptedPlatform({
    key: KEY, adminToken: 'slow-admin',
    // a replica that takes its time: a chunk every 150 ms for 1.5 s, or a JSON answer after 1 s
    replica: (q, s) => {
      if (q.method === 'GET') return void s.end('');
      let raw = '';
      q.on('data', (d) => (raw += d)).on('end', () => {
        if (!JSON.parse(raw).stream) return void setTimeout(() => s.writeHead(200, { 'content-type': 'application/json' }).end(completion), 1_000);
        s.writeHead(200, { 'content-type': 'text/event-stream' });
        s.write(chunk({ role: 'assistant', content: '' }));
        let n = 0;
        const t = setInterval(() => {
          if (++n > 10) { clearInterval(t); return void s.end(chunk({}, 'stop') + 'data: [DONE]\n\n'); }
          s.write(chunk({ content: `w${n} ` }));
        }, 150);
        s.once('close', () => clearInterval(t));
      });
    },
    configure: (config) => void Object.assign(config.server, { headersTimeoutMs: HEADERS_MS, bodyTimeoutMs: BODY_MS, bodyMinBytesPerSecond: 0, keepAliveTimeoutMs: IDLE_MS }),
  });
});

afterAll(async () => {
  await p?.close();
});

const ANTHROPIC = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
const body = JSON.stringify({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hello there' }] });

describe('#11 – slow clients do not hold connections', () => {
  it('headers sent a byte at a time are cut at server.headersTimeoutMs with a 408', async () => {
    const c = await rawClient(p.url);
    const t0 = performance.now();
    const text = 'POST /v1/messages HTTP/1.1\r\nhost: localhost\r\nx-api-key: ' + KEY + '\r\n';
    let i = 0;
    const drip = setInterval(() => void c.write(text[i++ % text.length]), 50);
    const { reset } = await c.closed;
    clearInterval(drip);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(HEADERS_MS - 20);
    expect(took).toBeLessThan(HEADERS_MS + 1_000);
    expect(reset || /^HTTP\/1\.1 408 /.test(c.received())).toBe(true);
  });

  it('a body sent a byte at a time is answered 408 in the wire format at server.bodyTimeoutMs, and closed', async () => {
    const c = await rawClient(p.url);
    const t0 = performance.now();
    await c.write(head('POST', '/v1/messages', { ...ANTHROPIC, 'content-length': body.length }));
    let i = 0;
    const drip = setInterval(() => void c.write(body[i++]), 100);
    await c.waitFor(/^HTTP\/1\.1 408 [\s\S]*\r\n\r\n\{[\s\S]*\}$/, 3_000);
    clearInterval(drip);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(BODY_MS - 20);
    expect(took).toBeLessThan(BODY_MS + 800);
    const [headPart, json] = c.received().split('\r\n\r\n');
    expect(headPart).toMatch(/connection: close/i);
    expect(headPart).toMatch(/request-id: req_/i);
    expect(JSON.parse(json)).toMatchObject({ type: 'error', error: { type: 'timeout_error' } });
    await c.closed;
  });

  it('an OpenAI client that stalls mid-body gets the OpenAI envelope', async () => {
    const c = await rawClient(p.url);
    await c.write(head('POST', '/v1/chat/completions', { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'content-length': 1_000 }));
    await c.write('{"model":');
    await c.waitFor(/^HTTP\/1\.1 408 [\s\S]*"code":"request_timeout"/, 3_000);
    await c.closed;
  });

  it('a client that hangs up mid-body leaves nothing open and the gateway serving', async () => {
    for (const path of ['/v1/messages', '/admin/v1/tenants']) {
      const c = await rawClient(p.url);
      await c.write(head('POST', path, { ...ANTHROPIC, authorization: 'Bearer slow-admin', 'content-length': 10_000 }) + '{"model":');
      await new Promise((r) => setTimeout(r, 50));
      c.socket.destroy();
    }
    for (let i = 0; i < 50 && (p.gateway.openBodies > 0 || p.gateway.inflight > 0); i++) await new Promise((r) => setTimeout(r, 10));
    expect(p.gateway.openBodies).toBe(0);
    expect(p.gateway.inflight).toBe(0);
    expect((await fetch(`${p.url}/healthz`)).status).toBe(200);
  });

  it('an idle keep-alive connection is closed after server.keepAliveTimeoutMs', async () => {
    const c = await rawClient(p.url);
    await c.write(head('GET', '/healthz', {}));
    await c.waitFor(/"status":"ok"/);
    const t0 = performance.now();
    await c.closed;
    const idle = performance.now() - t0;
    expect(idle).toBeGreaterThanOrEqual(IDLE_MS - 50);
    // Node keeps a socket about a second past keepAliveTimeout, so a client's reuse does not race the close
    expect(idle).toBeLessThan(IDLE_MS + 2_000);
  });

  it('a stream that lasts well past every client timeout arrives whole', async () => {
    const t0 = performance.now();
    const res = await fetch(`${p.url}/v1/messages`, { method: 'POST', headers: ANTHROPIC, body: JSON.stringify({ model: MODEL, max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'take your time' }] }) });
    const text = await res.text();
    expect(performance.now() - t0).toBeGreaterThan(HEADERS_MS + BODY_MS + IDLE_MS);
    expect(text).toContain('w10 ');
    expect(text).toContain('event: message_stop');
  });

  it('a JSON answer that takes longer than every client timeout arrives whole', async () => {
    const res = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    expect((await res.json()).choices[0].message.content).toBe('slow but whole');
  });

  it('a well-behaved client on a keep-alive connection is served request after request', async () => {
    const c = await rawClient(p.url);
    for (let i = 0; i < 3; i++) {
      await c.write(head('GET', '/healthz', {}));
      await c.waitFor(new RegExp(`(HTTP/1\\.1 200 OK[\\s\\S]*?"status":"ok"[\\s\\S]*?){${i + 1}}`));
      await new Promise((r) => setTimeout(r, IDLE_MS / 3));
    }
    c.socket.destroy();
  });
});

/** A request stream as the body reader sees it, with no socket behind it. */
function fakeRequest(headers: Record<string, string> = {}): IncomingMessage & PassThrough {
  const s = new PassThrough() as unknown as IncomingMessage & PassThrough;
  Object.assign(s, { headers, complete: false, socket: { once() {}, off() {}, destroy() { (s as any).destroyedSocket = true; } } });
  return s;
}

describe('the body reader on a virtual clock', () => {
  it('cuts a body below the rate floor once the grace period is over, not before', async () => {
    const r = new BodyReader({ timeoutMs: 30_000, minBytesPerSecond: 1_024 });
    const req = fakeRequest();
    const t0 = performance.now();
    const read = r.read(req, 1_000_000);
    req.write('x'); // a byte: far below 1 KiB/s
    await new Promise((res) => setImmediate(res));
    r.sweep(t0 + RATE_GRACE_MS - 100);
    expect(r.open).toBe(1);
    r.sweep(t0 + RATE_GRACE_MS + 100);
    expect(await read).toEqual({ ok: false, reason: 'timeout' });
    expect(r.open).toBe(0);
    r.close();
  });

  it('lets a body that keeps up with the floor run to the deadline, and cuts it there', async () => {
    const r = new BodyReader({ timeoutMs: 10_000, minBytesPerSecond: 1_024 });
    const req = fakeRequest();
    const t0 = performance.now();
    const read = r.read(req, 10_000_000);
    req.write(Buffer.alloc(9 * 1024));
    await new Promise((res) => setImmediate(res));
    r.sweep(t0 + 8_000); // 9 KiB in 8 s: above 1 KiB/s
    expect(r.open).toBe(1);
    r.sweep(t0 + 10_001);
    expect(await read).toEqual({ ok: false, reason: 'timeout' });
    r.close();
  });

  it('hands over a body that ends in time, whole', async () => {
    const r = new BodyReader({ timeoutMs: 1_000, minBytesPerSecond: 1_024 });
    const req = fakeRequest();
    const read = r.read(req, 100);
    req.end('{"a":1}');
    const got = await read;
    expect(got.ok && got.body.toString()).toBe('{"a":1}');
    expect(r.open).toBe(0);
    r.close();
  });

  it('says too_large past the limit, keeps dropping what follows, and closes a dropped body at the deadline', async () => {
    const r = new BodyReader({ timeoutMs: 1_000, minBytesPerSecond: 0 });
    const req = fakeRequest();
    const t0 = performance.now();
    const read = r.read(req, 4);
    req.write('12345');
    expect(await read).toEqual({ ok: false, reason: 'too_large' });
    expect(r.open).toBe(1);
    r.sweep(t0 + 1_001);
    expect((req as any).destroyedSocket).toBe(true);
    expect(r.open).toBe(0);
    r.close();
  });
});
