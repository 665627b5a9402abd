import Anthropic from '@anthropic-ai/sdk';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startPlatform, type Platform } from '../../src/gateway/index.js';
import { createLogger } from '../../src/observe/index.js';
import { demoStore } from './support.js';

// The gateway in-process, in front of scripted replicas on real sockets: each model below is one
// way a replica can fail, and the spec says what the client sees.
const KEY = 'sk-sy-gateway-failures-test-key-000000000000';
type Script = (req: IncomingMessage, res: ServerResponse, body: any) => void;

const chunk = (delta: object, finish: string | null = null, usage: object | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;
const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const completion = JSON.stringify({ id: 'chatcmpl-ok', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage });

const scripts: Record<string, Script> = {
  good: (_q, s, b) => {
    if (!b.stream) return void s.writeHead(200, { 'content-type': 'application/json' }).end(completion);
    s.writeHead(200, { 'content-type': 'text/event-stream' });
    s.end(chunk({ role: 'assistant', content: '' }, null, usage) + chunk({ content: 'fine' }, null, usage) + chunk({}, 'stop', usage) + 'data: [DONE]\n\n');
  },
  cut: (_q, s) => {
    s.writeHead(200, { 'content-type': 'text/event-stream' });
    s.write(chunk({ role: 'assistant', content: '' }, null, usage) + chunk({ content: 'half an ans' }, null, usage));
    setTimeout(() => s.socket?.destroy(), 30);
  },
  unfinished: (_q, s) => {
    s.writeHead(200, { 'content-type': 'text/event-stream' });
    s.end(chunk({ role: 'assistant', content: '' }, null, usage) + chunk({ content: 'no end' }, null, usage) + 'data: [DONE]\n\n');
  },
  drop: (q) => void q.socket.destroy(),
  // A malformed event, then a replica that would go on for a second: the gateway should hang up.
  malformed: (q, s) => {
    s.writeHead(200, { 'content-type': 'text/event-stream' });
    s.write(chunk({ role: 'assistant', content: '' }, null, usage) + 'data: {not json\n\n');
    let n = 0;
    const t = setInterval(() => {
      if (++n === 100) { clearInterval(t); s.end('data: [DONE]\n\n'); return; }
      s.write(chunk({ content: 'x' }, null, usage));
    }, 10);
    q.socket.once('close', () => { malformedClosedAfter = n; clearInterval(t); });
  },
  // vLLM's way of failing mid-stream: an error payload, then (here) more chunks regardless.
  midError: (_q, s) => {
    s.writeHead(200, { 'content-type': 'text/event-stream' });
    s.write(chunk({ role: 'assistant', content: '' }, null, usage) + chunk({ content: 'partial' }, null, usage));
    s.write('data: {"error":{"message":"engine died","type":"InternalServerError","code":500}}\n\n');
    setTimeout(() => s.end(chunk({ content: ' more' }, null, usage) + chunk({}, 'stop', usage) + 'data: [DONE]\n\n'), 20);
  },
  // Writes as fast as the gateway will take it, and counts what it got out.
  flood: (_q, s) => {
    s.writeHead(200, { 'content-type': 'text/event-stream' });
    s.write(chunk({ role: 'assistant', content: '' }, null, usage));
    const piece = chunk({ content: 'x'.repeat(4000) }, null, usage);
    const pump = () => {
      while (flooded < FLOOD_CAP && !s.destroyed) {
        flooded += piece.length;
        if (!s.write(piece)) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  },
  fail500: (_q, s) => void s.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"engine crashed","code":500}}'),
  toolong: (_q, s) => void s.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"This model\'s maximum context length is 8192 tokens. However, you requested 9000 tokens.","type":"BadRequestError","code":400}}'),
  // overloaded replicas, each asking to be left alone for a while in its own way
  busy7: (_q, s) => void s.writeHead(503, { 'content-type': 'application/json', 'retry-after': '7' }).end('{"error":{"message":"busy"}}'),
  busyDate: (_q, s) => void s.writeHead(429, { 'content-type': 'application/json', 'retry-after': new Date(Date.now() + 30_000).toUTCString() }).end('{"error":{"message":"busy"}}'),
  busyLong: (_q, s) => void s.writeHead(503, { 'content-type': 'application/json', 'retry-after': '3600' }).end('{"error":{"message":"busy"}}'),
  busyBad: (_q, s) => void s.writeHead(429, { 'content-type': 'application/json', 'retry-after': 'soon' }).end('{"error":{"message":"busy"}}'),
};

const seen: Record<string, number> = {};
const FLOOD_CAP = 256 * 1024 * 1024;
let flooded = 0;
let malformedClosedAfter = -1;
const servers: Server[] = [];
async function replica(name: string): Promise<string> {
  const server = createServer((q, s) => {
    if (q.method === 'GET') return void s.end(); // /health, and the /metrics scrape (no vLLM gauges here)
    let raw = '';
    q.on('data', (d) => (raw += d)).on('end', () => {
      seen[name] = (seen[name] ?? 0) + 1;
      scripts[name](q, s, JSON.parse(raw));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let platform: Platform;
let anthropic: Anthropic;
let openai: OpenAI;

beforeAll(async () => {
  const good = await replica('good');
  // `vanished`: its replica passes the first health probe, then its process is gone (the port refuses)
  const vanishing = await replica('good');
  const vanishingServer = servers.at(-1)!;
  const urls = { malformed: await replica('malformed'), midError: await replica('midError'), flood: await replica('flood'), drop: await replica('drop'), cut: await replica('cut'), unfinished: await replica('unfinished'), fail500: await replica('fail500'), toolong: await replica('toolong'), busy7: await replica('busy7'), busyDate: await replica('busyDate'), busyLong: await replica('busyLong'), busyBad: await replica('busyBad') };
  const storeUrl = await demoStore(KEY);
  const config = loadConfig(undefined, { port: 0 });
  const replicas = [
    // `retry`: the home-region replica passes its health probe but drops the connection on the
    // request (a process dying mid-accept); a remote one answers.
    { id: 'us-east/retry/0', model: 'retry', servedModel: 'm', region: 'us-east', url: urls.drop },
    { id: 'eu-west/retry/1', model: 'retry', servedModel: 'm', region: 'eu-west', url: good },
    { id: 'us-east/vanished/0', model: 'vanished', servedModel: 'm', region: 'us-east', url: vanishing },
    { id: 'eu-west/vanished/1', model: 'vanished', servedModel: 'm', region: 'eu-west', url: good },
    // `flaky`: the home replica answers 500 before anything was relayed; another answers.
    { id: 'us-east/flaky/0', model: 'flaky', servedModel: 'm', region: 'us-east', url: urls.fail500 },
    { id: 'eu-west/flaky/1', model: 'flaky', servedModel: 'm', region: 'eu-west', url: good },
    { id: 'us-east/cut/0', model: 'cut', servedModel: 'm', region: 'us-east', url: urls.cut },
    { id: 'us-east/unfinished/0', model: 'unfinished', servedModel: 'm', region: 'us-east', url: urls.unfinished },
    { id: 'us-east/malformed/0', model: 'malformed', servedModel: 'm', region: 'us-east', url: urls.malformed },
    { id: 'us-east/midError/0', model: 'midError', servedModel: 'm', region: 'us-east', url: urls.midError },
    { id: 'us-east/flood/0', model: 'flood', servedModel: 'm', region: 'us-east', url: urls.flood },
    { id: 'us-east/toolong/0', model: 'toolong', servedModel: 'm', region: 'us-east', url: urls.toolong },
    { id: 'us-east/busy7/0', model: 'busy7', servedModel: 'm', region: 'us-east', url: urls.busy7 },
    { id: 'us-east/busyDate/0', model: 'busyDate', servedModel: 'm', region: 'us-east', url: urls.busyDate },
    { id: 'us-east/busyLong/0', model: 'busyLong', servedModel: 'm', region: 'us-east', url: urls.busyLong },
    { id: 'us-east/busyBad/0', model: 'busyBad', servedModel: 'm', region: 'us-east', url: urls.busyBad },
  ];
  for (const r of replicas) if (!config.models.some((m) => m.id === r.model)) config.models.push({ ...config.models[0], id: r.model, displayName: r.model });
  platform = await startPlatform({ config, replicas, storeUrl, adminToken: null, log: createLogger('silent') });
  // its first probe passed; now nothing listens at its address
  vanishingServer.closeAllConnections();
  await new Promise((r) => vanishingServer.close(r));
  anthropic = new Anthropic({ baseURL: platform.url, apiKey: KEY, maxRetries: 0 });
  openai = new OpenAI({ baseURL: `${platform.url}/v1`, apiKey: KEY, maxRetries: 0 });
});

afterAll(async () => {
  await platform?.close();
  for (const s of servers) { s.closeAllConnections(); s.close(); }
});

async function eventually(cond: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function ledgerRow(requestId: string) {
  await platform.ledger.flush();
  const tenants = await platform.store.listTenants();
  const rows = (await Promise.all(tenants.map((t) => platform.store.queryUsage({ tenantId: t.id, limit: 500 })))).flat();
  return rows.find((r) => r.requestId === requestId);
}

describe('when a replica fails before anything reached the client', () => {
  it('sends the request to another replica, and the ledger names the one that answered', async () => {
    const { data, response } = await anthropic.messages.create({ model: 'retry', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect((data.content[0] as Anthropic.TextBlock).text).toBe('fine');
    const row = await ledgerRow(response.headers.get('request-id')!);
    expect(row?.replica).toBe('eu-west/retry/1');
    expect(row?.outcome).toBe('ok');
    expect(seen.drop).toBe(1);
    // One connection closed before an answer is no verdict on a replica (a kept-alive connection
    // it had just closed looks the same): it stays in rotation, and outlier detection counts it.
    const dropping = platform.fleet.replicasOf('retry')[0];
    expect(dropping.healthy).toBe(true);
    expect(dropping.routable).toBe(true);
  });

  it('takes a replica whose address refuses connections out of rotation at once, and answers from another', async () => {
    const vanished = platform.fleet.replicasOf('vanished')[0];
    expect(vanished.healthy).toBe(true); // it passed its probe at start
    const { data, response } = await openai.chat.completions.create({ model: 'vanished', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('fine');
    expect((await ledgerRow(response.headers.get('x-request-id')!))?.replica).toBe('eu-west/vanished/1');
    // the refused connection took it out, without waiting for a probe
    expect(vanished.healthy).toBe(false);
    expect(vanished.routable).toBe(false);
  });

  it('retries a 500 from the replica on another one', async () => {
    const before = seen.fail500 ?? 0;
    const r = await openai.chat.completions.create({ model: 'flaky', messages: [{ role: 'user', content: 'x' }] });
    expect(r.choices[0].message.content).toBe('fine');
    expect(seen.fail500).toBe(before + 1);
  });

  it('passes a replica\'s 400 (context too long) through as invalid_request_error, without retrying', async () => {
    const err = await anthropic.messages.create({ model: 'toolong', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.error.error.type).toBe('invalid_request_error');
    expect(err.error.error.message).toContain('maximum context length');
    expect(seen.toolong).toBe(1);
  });
});

describe('when an overloaded replica says when to come back (retry-after)', () => {
  /** The client's status and retry-after on each wire, for a request to `model`. */
  async function retryAfter(model: string): Promise<Array<[number, string | null]>> {
    const a = await fetch(`${platform.url}/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    });
    const o = await fetch(`${platform.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    await Promise.all([a.text(), o.text()]);
    return [[a.status, a.headers.get('retry-after')], [o.status, o.headers.get('retry-after')]];
  }

  it('passes the replica\'s delay in seconds on to the client, on both wires', async () => {
    expect(await retryAfter('busy7')).toEqual([[529, '7'], [503, '7']]);
  });

  it('reads an HTTP date as the seconds until it', async () => {
    const got = await retryAfter('busyDate');
    expect(got.map(([status]) => status)).toEqual([529, 503]);
    for (const [, after] of got) {
      expect(Number(after)).toBeGreaterThanOrEqual(28);
      expect(Number(after)).toBeLessThanOrEqual(30);
    }
  });

  it('holds a client back a minute at most, however long the replica asked for', async () => {
    expect(await retryAfter('busyLong')).toEqual([[529, '60'], [503, '60']]);
  });

  it('keeps its own 1 s when the replica\'s retry-after is not one', async () => {
    expect(await retryAfter('busyBad')).toEqual([[529, '1'], [503, '1']]);
  });
});

describe('when a stream breaks after it began', () => {
  it('ends an Anthropic stream with an error event, not a clean message_stop (#Portkey-1797)', async () => {
    const events: string[] = [];
    const stream = anthropic.messages.stream({ model: 'cut', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] });
    stream.on('streamEvent', (e) => events.push(e.type));
    const err = await stream.finalMessage().catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(events).toContain('content_block_delta');
    expect(events).not.toContain('message_stop');
  });

  it('ends an OpenAI stream with an error payload the SDK throws on', async () => {
    const stream = await openai.chat.completions.create({ model: 'cut', stream: true, messages: [{ role: 'user', content: 'x' }] });
    let text = '';
    const err = await (async () => { for await (const c of stream) text += c.choices[0]?.delta.content ?? ''; })().catch((e) => e);
    expect(text).toBe('half an ans');
    expect(err).toBeInstanceOf(OpenAI.APIError);
  });

  it('ends the stream at a replica\'s mid-stream error event and ignores what the replica sends after it', async () => {
    const res = await fetch(`${platform.url}/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'midError', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    const text = await res.text();
    expect(text).toContain('partial');
    expect(text).toContain('event: error');
    expect(text).toContain('engine died');
    expect(text).not.toContain(' more');
    expect(text).not.toContain('message_stop');
    await new Promise((r) => setTimeout(r, 100));
    const row = await ledgerRow(res.headers.get('request-id')!);
    expect(row?.outcome).toBe('upstream_error');
    const o = await fetch(`${platform.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'midError', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    const otext = await o.text();
    expect(otext).toContain('"error"');
    expect(otext).not.toContain(' more');
    expect(otext).not.toContain('[DONE]');
    // And the gateway is still serving.
    expect((await openai.chat.completions.create({ model: 'retry', messages: [{ role: 'user', content: 'x' }] })).object).toBe('chat.completion');
  });

  it('hangs up on a replica that sent a malformed event, so it stops generating for nobody', async () => {
    const res = await fetch(`${platform.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'malformed', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(await res.text()).toContain('malformed stream event');
    await eventually(() => malformedClosedAfter >= 0);
    expect(malformedClosedAfter).toBeLessThan(50);
  });

  it('treats a stream that ends without a finish reason as incomplete, and records it so', async () => {
    const res = await fetch(`${platform.url}/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unfinished', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    const text = await res.text();
    expect(text).toContain('event: error');
    expect(text).not.toContain('event: message_stop');
    const row = await ledgerRow(res.headers.get('request-id')!);
    expect(row?.outcome).toBe('upstream_error');
  });
});

describe('a client that reads slowly', () => {
  it('holds the replica back instead of buffering its stream in the gateway', async () => {
    const ac = new AbortController();
    const res = await fetch(`${platform.url}/v1/chat/completions`, {
      method: 'POST', signal: ac.signal, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'flood', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    // The client stops reading. Socket buffers on both hops fill, then the replica must stall.
    await new Promise((r) => setTimeout(r, 1_000));
    const stalledAt = flooded;
    await new Promise((r) => setTimeout(r, 500));
    expect(flooded - stalledAt).toBeLessThan(1024 * 1024);
    expect(flooded).toBeLessThan(64 * 1024 * 1024);
    ac.abort();
  });
});
