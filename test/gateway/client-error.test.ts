import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import { rawClient } from './raw-client.js';
import { scriptedPlatform } from './support.js';

// What Node's HTTP parser refuses before there is a request still gets an answer a client can
// read: a status, a JSON envelope and a request id, not a bare status line (found by the fuzz).
const KEY = 'sk-sy-gateway-client-error-test-key-00000000';
let p: Platform;

beforeAll(async () => {
  p = await scriptedPlatform({ key: KEY });
});

afterAll(async () => {
  await p?.close();
});

async function send(raw: string): Promise<{ status: number; headers: string; json: any }> {
  const c = await rawClient(p.url);
  await c.write(raw);
  await c.closed;
  const text = c.received();
  const [headers, body] = text.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]), headers, json: JSON.parse(body) };
}

describe('#11 – a request Node cannot parse', () => {
  it.each([
    ['headers over 16 KiB', `GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'request_too_large'],
    ['a broken request line', 'NOT HTTP AT ALL\r\n\r\n', 400, 'invalid_request_error'],
    ['a content-length that is not a number', 'POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n', 400, 'invalid_request_error'],
  ])('with %s is answered %i in a JSON envelope with a request id', async (_what, raw, status, type) => {
    const r = await send(raw);
    expect(r.status).toBe(status);
    expect(r.headers).toMatch(/\r\ncontent-type: application\/json\r\n/);
    expect(r.headers).toMatch(/\r\nrequest-id: req_/);
    expect(r.json).toMatchObject({ type: 'error', error: { type, message: expect.any(String) } });
    expect(r.json.request_id).toMatch(/^req_/);
  });

  it('leaves the gateway serving', async () => {
    expect((await fetch(p.url + '/healthz')).status).toBe(200);
  });
});
