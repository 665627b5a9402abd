import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_S, retryAfterS } from '../../src/upstream/call.js';
import { ReplicaClient, type UpstreamFailure, type UpstreamSink } from '../../src/upstream/index.js';

// A real replica stand-in on port 0, scripted per path.
let server: Server;
let origin: string;
let closedByClient = 0;
const scripts: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/json': (_q, s) => { s.writeHead(200, { 'content-type': 'application/json' }); s.end('{"ok":true}'); },
  '/stream': (_q, s) => {
    s.writeHead(200, { 'content-type': 'text/event-stream' });
    s.write('data: {"n":1}\n\n');
    setTimeout(() => { s.write('data: {"n":2}\n\ndata: [DONE]\n\n'); s.end(); }, 10);
  },
  '/500': (_q, s) => { s.writeHead(500, { 'content-type': 'application/json' }); s.end('{"error":{"message":"boom"}}'); },
  '/503-retry-after': (_q, s) => { s.writeHead(503, { 'content-type': 'application/json', 'retry-after': '7' }); s.end('busy'); },
  '/503-retry-after-twice': (_q, s) => { s.setHeader('retry-after', ['7', '9']); s.writeHead(503); s.end('busy'); },
  '/drop': (q) => { q.socket.destroy(); },
  '/hang': (q) => { q.socket.on('close', () => closedByClient++); },
  '/cut': (_q, s) => { s.writeHead(200, { 'content-type': 'text/event-stream' }); s.write('data: {"n":1}\n\n'); setTimeout(() => s.socket?.destroy(), 10); },
  '/slow-first-token': (_q, s) => { s.writeHead(200, { 'content-type': 'text/event-stream' }); s.flushHeaders(); },
};

beforeAll(async () => {
  server = createServer((q, s) => { q.resume(); q.on('end', () => scripts[q.url!](q, s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => { server.closeAllConnections(); server.close(); });

const timeouts = { connectTimeoutMs: 500, headersTimeoutMs: 300, firstTokenTimeoutMs: 200, idleTimeoutMs: 300, requestTimeoutMs: 5_000 };

class Recorder implements UpstreamSink {
  events: string[] = [];
  body: string | null = null;
  done = false;
  failure: UpstreamFailure | null = null;
  settled: Promise<void>;
  #resolve!: () => void;
  constructor() { this.settled = new Promise((r) => (this.#resolve = r)); }
  onEvent(d: string) { this.events.push(d); }
  onDone() { this.done = true; this.#resolve(); }
  onBody(b: string) { this.body = b; this.#resolve(); }
  onFailure(f: UpstreamFailure) { this.failure = f; this.#resolve(); }
}

function call(path: string, stream: boolean, t = timeouts) {
  const client = new ReplicaClient(origin, { connections: 4, timeouts: t });
  const rec = new Recorder();
  const c = client.post(path, '{}', stream, rec);
  return { client, rec, c };
}

describe('a call to a replica', () => {
  it('hands a whole JSON body to the sink', async () => {
    const { rec, client } = call('/json', false);
    await rec.settled;
    expect(rec.body).toBe('{"ok":true}');
    await client.close();
  });

  it('relays each stream event and then says the stream is done', async () => {
    const { rec, client } = call('/stream', true);
    await rec.settled;
    expect(rec.events).toEqual(['{"n":1}', '{"n":2}']);
    expect(rec.done).toBe(true);
    await client.close();
  });

  it('reports an error status with its body', async () => {
    const { rec, client } = call('/500', false);
    await rec.settled;
    expect(rec.failure).toEqual({ kind: 'status', status: 500, body: '{"error":{"message":"boom"}}' });
    await client.close();
  });

  it('calls a connection dropped before any answer a connect failure (safe to retry elsewhere)', async () => {
    const { rec, c, client } = call('/drop', false);
    await rec.settled;
    expect(rec.failure?.kind).toBe('connect');
    expect(c.responded).toBe(false);
    await client.destroy();
  });

  it('calls a stream cut after it began broken, not done', async () => {
    const { rec, client } = call('/cut', true);
    await rec.settled;
    expect(rec.events).toEqual(['{"n":1}']);
    expect(rec.failure?.kind).toBe('broken');
    await client.destroy();
  });

  it('times out waiting for response headers', async () => {
    const { rec, client } = call('/hang', false);
    await rec.settled;
    expect(rec.failure).toEqual({ kind: 'timeout', phase: 'headers' });
    await client.destroy();
  });

  it('times out waiting for the first token of a stream', async () => {
    const { rec, client } = call('/slow-first-token', true, { ...timeouts, idleTimeoutMs: 5_000 });
    await rec.settled;
    expect(rec.failure).toEqual({ kind: 'timeout', phase: 'first_token' });
    await client.destroy();
  });

  it('reports a refused connection as a connect failure', async () => {
    const client = new ReplicaClient('http://127.0.0.1:1', { connections: 1, timeouts });
    const rec = new Recorder();
    client.post('/x', '{}', false, rec);
    await rec.settled;
    expect(rec.failure?.kind).toBe('connect');
    await client.destroy();
  });

  it('closes the upstream socket when aborted, and tells the sink nothing more', async () => {
    const before = closedByClient;
    const { rec, c, client } = call('/hang', false, { ...timeouts, headersTimeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    c.abort();
    await new Promise((r) => setTimeout(r, 100));
    expect(closedByClient).toBe(before + 1);
    expect(rec.failure).toBeNull();
    await client.destroy();
  });
});

describe('a replica\'s retry-after on an error status', () => {
  it('is carried on the failure, in seconds', async () => {
    const { rec, client } = call('/503-retry-after', false);
    await rec.settled;
    expect(rec.failure).toEqual({ kind: 'status', status: 503, body: 'busy', retryAfterS: 7 });
    await client.close();
  });

  it('is left off when the replica sent it twice (which one would it mean?)', async () => {
    const { rec, client } = call('/503-retry-after-twice', false);
    await rec.settled;
    expect(rec.failure).toEqual({ kind: 'status', status: 503, body: 'busy' });
    expect(rec.failure).not.toHaveProperty('retryAfterS');
    await client.close();
  });

  const now = Date.UTC(2026, 11, 3, 6, 40, 0);
  it.each([
    ['7', 7],
    [' 12 ', 12],
    ['0', 0],
    ['3600', MAX_RETRY_AFTER_S],
    ['99999999999999999999999', MAX_RETRY_AFTER_S],
    // an HTTP date: IMF-fixdate, and the obsolete RFC 850 form
    ['Thu, 03 Dec 2026 06:40:30 GMT', 30],
    ['Thursday, 03-Dec-26 06:40:09 GMT', 9],
    ['Thu, 03 Dec 2026 06:39:00 GMT', 0],
    ['Fri, 01 Jan 2027 00:00:00 GMT', MAX_RETRY_AFTER_S],
  ])('reads %j as %d s', (v, s) => {
    expect(retryAfterS(v, now)).toBe(s);
  });

  it('rounds a date\'s fraction of a second still to wait up to a whole one', () => {
    expect(retryAfterS('Thu, 03 Dec 2026 06:40:02 GMT', now + 500)).toBe(2);
  });

  it.each([['soon'], [''], ['-1'], ['7.5'], ['1e3'], ['2026-12-03T06:41:00Z'], ['Thu, 99 Dec 2026 06:40:30 GMT'], [undefined]])('ignores %j', (v) => {
    expect(retryAfterS(v, now)).toBeUndefined();
  });

  it('ignores a header sent more than once', () => {
    expect(retryAfterS(['7', '9'], now)).toBeUndefined();
  });
});
