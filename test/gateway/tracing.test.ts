import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.js';
import { startPlatform, type Platform } from '../../src/gateway/index.js';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observe/index.js';
import { demoStore } from './support.js';
import { otlpReceiver, type ReceivedSpan, type Receiver } from './tracing-receiver.js';

// The gateway in-process with tracing on, exporting over OTLP/HTTP to a collector in the spec,
// in front of scripted replicas on real sockets that record the trace context they were sent.
const KEY = 'sk-sy-gateway-tracing-test-key-0000000000000';
const STAGES = ['auth', 'read_body', 'parse', 'limits', 'routing', 'admission'];

const usage = { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14, prompt_tokens_details: { cached_tokens: 4 } };
const chunk = (delta: object, finish: string | null = null, u: object | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-traced', object: 'chat.completion.chunk', created: 1, model: 'm-served', choices: [{ index: 0, delta, finish_reason: finish }], usage: u })}\n\n`;
const completion = JSON.stringify({ id: 'chatcmpl-whole', object: 'chat.completion', created: 1, model: 'm-served', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'length' }], usage });

interface Heard { readonly replica: string; readonly traceparent?: string; readonly tracestate?: string }
const heard: Heard[] = [];
const servers: Server[] = [];

async function replica(name: string, answer: (body: any, res: ServerResponse) => void): Promise<string> {
  const server = createServer((q: IncomingMessage, s) => {
    if (q.method === 'GET') return void s.end();
    let raw = '';
    q.on('data', (d) => (raw += d)).on('end', () => {
      heard.push({ replica: name, traceparent: q.headers.traceparent as string | undefined, tracestate: q.headers.tracestate as string | undefined });
      answer(JSON.parse(raw), s);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const good = (b: any, s: ServerResponse): void => {
  if (!b.stream) return void s.writeHead(200, { 'content-type': 'application/json' }).end(completion);
  s.writeHead(200, { 'content-type': 'text/event-stream' });
  s.end(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'fine' }) + chunk({}, 'stop') + `data: ${JSON.stringify({ id: 'chatcmpl-traced', model: 'm-served', choices: [], usage })}\n\n` + 'data: [DONE]\n\n');
};
const fail500 = (_b: any, s: ServerResponse): void => void s.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"engine crashed"}}');

/** streams its first chunk at once, then holds the stream open (a long generation) */
const stall = (_b: any, s: ServerResponse): void => {
  s.writeHead(200, { 'content-type': 'text/event-stream' });
  s.write(chunk({ role: 'assistant', content: 'thinking' }));
  setTimeout(() => { if (!s.destroyed) s.end(chunk({}, 'stop') + 'data: [DONE]\n\n'); }, 2_000);
};
/** says nothing for 400 ms, then answers well: a hedge's loser */
const late = (b: any, s: ServerResponse): void => void setTimeout(() => { if (!s.destroyed) good(b, s); }, 400);

let urls: { good: string; fail500: string; stall: string; late: string };

async function platformWith(tracing: Partial<Config['observability']['tracing']> | null, log: Logger = createLogger('silent'), configure?: (c: Config) => void): Promise<Platform> {
  const config = loadConfig(undefined, { port: 0, env: {} });
  config.fleet.scrapeIntervalMs = 0;
  if (tracing !== null) config.observability.tracing = { ...config.observability.tracing, enabled: true, exportIntervalMs: 20, ...tracing };
  for (const id of ['flaky', 'stall', 'hedged']) config.models.push({ ...config.models[0], id, displayName: id });
  configure?.(config);
  return startPlatform({
    config, storeUrl: await demoStore(KEY), adminToken: null, log,
    replicas: [
      { id: 'us-east/llama/0', model: 'llama-3.1-8b', servedModel: 'm-served', region: 'us-east', url: urls.good },
      // `flaky`: the home replica answers 500 before anything was relayed; another answers
      { id: 'us-east/flaky/0', model: 'flaky', servedModel: 'm-served', region: 'us-east', url: urls.fail500 },
      { id: 'eu-west/flaky/1', model: 'flaky', servedModel: 'm-served', region: 'eu-west', url: urls.good },
      { id: 'us-east/stall/0', model: 'stall', servedModel: 'm-served', region: 'us-east', url: urls.stall },
      // `hedged`: the home replica is slow to a first token; a hedge to another answers first
      { id: 'us-east/hedged/0', model: 'hedged', servedModel: 'm-served', region: 'us-east', url: urls.late },
      { id: 'eu-west/hedged/1', model: 'hedged', servedModel: 'm-served', region: 'eu-west', url: urls.good },
    ],
  });
}

type Wire = 'anthropic' | 'openai';
interface Sent { status: number; requestId: string; text: string }

async function send(p: Platform, wire: Wire, o: { model?: string; stream?: boolean; headers?: Record<string, string>; key?: string; body?: object } = {}): Promise<Sent> {
  const model = o.model ?? 'llama-3.1-8b';
  const body = o.body ?? { model, max_tokens: 64, stream: o.stream ?? false, messages: [{ role: 'user', content: 'hello' }] };
  const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers };
  if (wire === 'anthropic') { headers['x-api-key'] = o.key ?? KEY; headers['anthropic-version'] = '2023-06-01'; }
  else headers.authorization = `Bearer ${o.key ?? KEY}`;
  const res = await fetch(`${p.url}${wire === 'anthropic' ? '/v1/messages' : '/v1/chat/completions'}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, requestId: res.headers.get('request-id') ?? '', text: await res.text() };
}

async function usageRow(p: Platform, requestId: string) {
  await p.ledger.flush();
  const tenants = await p.store.listTenants();
  const rows = (await Promise.all(tenants.map((t) => p.store.queryUsage({ tenantId: t.id, limit: 500 })))).flat();
  return rows.find((r) => r.requestId === requestId);
}

const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const rootOf = (spans: ReceivedSpan[]): ReceivedSpan => spans.find((s) => s.kind === 2)!;
const named = (spans: ReceivedSpan[], name: string): ReceivedSpan[] => spans.filter((s) => s.name === name);
const attempts = (spans: ReceivedSpan[]): ReceivedSpan[] => spans.filter((s) => s.kind === 3).sort((a, b) => Number(a.attributes['switchyard.attempt']) - Number(b.attributes['switchyard.attempt']));

let collector: Receiver;
let traced: Platform;
let unsampled: Platform;
let off: Platform;

beforeAll(async () => {
  urls = { good: await replica('good', good), fail500: await replica('fail500', fail500), stall: await replica('stall', stall), late: await replica('late', late) };
  collector = await otlpReceiver();
  traced = await platformWith({ endpoint: collector.url, sampleRate: 1 });
  unsampled = await platformWith({ endpoint: collector.url, sampleRate: 0 });
  off = await platformWith(null);
});

afterAll(async () => {
  await Promise.all([traced?.close(), unsampled?.close(), off?.close()]);
  await collector?.close();
  for (const s of servers) { s.closeAllConnections(); s.close(); }
});

describe('a traced request', () => {
  it('is one trace: a server root, a span per stage, the call to its replica and the relay, all children of the root and within its time', async () => {
    const r = await send(traced, 'openai', { stream: true });
    expect(r.status).toBe(200);
    const spans = await collector.traceOf(r.requestId, 2 + STAGES.length + 1);
    const root = rootOf(spans);
    expect(root.name).toBe('chat llama-3.1-8b');
    expect(root.parentSpanId).toBe('');
    const children = spans.filter((s) => s !== root);
    expect(children.map((s) => s.name).sort()).toEqual([...STAGES, 'chat m-served', 'relay'].sort());
    for (const c of children) {
      expect(c.parentSpanId, c.name).toBe(root.spanId);
      expect(c.start >= root.start && c.end <= root.end, `${c.name} within the root`).toBe(true);
      expect(c.end >= c.start).toBe(true);
    }
    // the stages in the order they ran
    const starts = STAGES.map((n) => named(spans, n)[0].start);
    expect([...starts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(starts);
    expect(root.resource['service.name']).toBe('switchyard');
    expect(typeof root.resource['service.version']).toBe('string');
  });

  it('carries the GenAI attributes, its tokens equal to its usage record, and no content', async () => {
    const r = await send(traced, 'openai', { stream: true });
    const spans = await collector.traceOf(r.requestId, 9);
    const a = rootOf(spans).attributes;
    const row = await usageRow(traced, r.requestId);
    expect(row).toBeDefined();
    expect(a).toMatchObject({
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'llama-3.1-8b',
      'gen_ai.response.model': 'm-served', 'gen_ai.response.id': 'chatcmpl-traced', 'gen_ai.request.max_tokens': 64,
      'gen_ai.request.stream': true, 'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': row!.inputTokens, 'gen_ai.usage.output_tokens': row!.outputTokens,
      'gen_ai.usage.cache_read.input_tokens': row!.cachedInputTokens,
      'http.response.status_code': 200, 'switchyard.outcome': 'ok',
      'switchyard.tenant.id': row!.tenantId, 'switchyard.workspace.id': row!.workspaceId, 'switchyard.key.id': row!.keyId,
      'switchyard.priority': expect.any(String),
    });
    expect(row!.inputTokens).toBe(11);
    expect(a['gen_ai.server.time_to_first_token']).toBeCloseTo(row!.ttftMs! / 1000, 6);
    expect(a['error.type']).toBeUndefined();
    expect(rootOf(spans).statusCode).not.toBe(2);
    const call = attempts(spans)[0];
    expect(call.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'm-served',
      'server.address': '127.0.0.1', 'server.port': Number(new URL(urls.good).port),
      'switchyard.replica.id': 'us-east/llama/0', 'switchyard.region': 'us-east', 'switchyard.attempt': 1,
    });
    const everything = JSON.stringify(spans.map((sp) => sp.attributes));
    expect(everything).not.toContain('hello');
    expect(everything).not.toContain(KEY);
  });

  for (const wire of ['anthropic', 'openai'] as const) {
    for (const stream of [false, true]) {
      it(`is traced on the ${wire} wire, ${stream ? 'streamed' : 'not streamed'}`, async () => {
        const r = await send(traced, wire, { stream });
        expect(r.status).toBe(200);
        const spans = await collector.traceOf(r.requestId, 9);
        const a = rootOf(spans).attributes;
        const row = await usageRow(traced, r.requestId);
        expect(a['gen_ai.provider.name']).toBe(wire);
        expect(a['gen_ai.request.stream']).toBe(stream);
        expect(a['gen_ai.response.finish_reasons']).toEqual([stream ? 'stop' : 'length']);
        expect(a['gen_ai.response.id']).toBe(stream ? 'chatcmpl-traced' : 'chatcmpl-whole');
        expect(a['gen_ai.usage.output_tokens']).toBe(row!.outputTokens);
        expect(row!.outputTokens).toBe(3);
        expect(named(spans, 'relay')).toHaveLength(1);
        expect(attempts(spans)).toHaveLength(1);
      });
    }
  }

  it('joins the trace its client started, and hands the replica a context whose parent is its call span', async () => {
    const traceId = hex(32);
    const clientSpan = hex(16);
    heard.length = 0;
    const r = await send(traced, 'anthropic', { headers: { traceparent: `00-${traceId}-${clientSpan}-01`, tracestate: 'vendor=abc' } });
    expect(r.status).toBe(200);
    const spans = await collector.trace(traceId, 9);
    const root = rootOf(spans);
    expect(root.parentSpanId).toBe(clientSpan);
    const call = attempts(spans)[0];
    expect(heard).toHaveLength(1);
    expect(heard[0].traceparent).toBe(`00-${traceId}-${call.spanId}-01`);
    expect(heard[0].tracestate).toBe('vendor=abc');
  });

  it('starts a trace of its own when the client’s traceparent is malformed', async () => {
    heard.length = 0;
    const r = await send(traced, 'openai', { headers: { traceparent: '00-zz-not-a-trace-01' } });
    const spans = await collector.traceOf(r.requestId, 9);
    const root = rootOf(spans);
    expect(root.parentSpanId).toBe('');
    expect(heard[0].traceparent).toBe(`00-${root.traceId}-${attempts(spans)[0].spanId}-01`);
  });

  it('has a span per call when it is retried, the failed one with its error.type', async () => {
    heard.length = 0;
    const r = await send(traced, 'openai', { model: 'flaky' });
    expect(r.status).toBe(200);
    const spans = await collector.traceOf(r.requestId, 10);
    const [first, second] = attempts(spans);
    expect(attempts(spans)).toHaveLength(2);
    expect(first.attributes).toMatchObject({ 'switchyard.replica.id': 'us-east/flaky/0', 'switchyard.attempt': 1, 'error.type': '500', 'http.response.status_code': 500 });
    expect(first.statusCode).toBe(2);
    expect(second.attributes).toMatchObject({ 'switchyard.replica.id': 'eu-west/flaky/1', 'switchyard.attempt': 2, 'switchyard.region': 'eu-west' });
    expect(second.attributes['error.type']).toBeUndefined();
    expect(first.parentSpanId).toBe(rootOf(spans).spanId);
    expect(second.parentSpanId).toBe(rootOf(spans).spanId);
    // each call carried its own span as the parent
    expect(heard.map((h) => h.traceparent?.split('-')[2])).toEqual([first.spanId, second.spanId]);
  });

  it('ends every span when its client leaves mid-stream: the call as cancelled, the root as a 499', async () => {
    const ac = new AbortController();
    const res = await fetch(`${traced.url}/v1/chat/completions`, {
      method: 'POST', signal: ac.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'stall', stream: true, messages: [{ role: 'user', content: 'hello' }] }),
    });
    const requestId = res.headers.get('request-id')!;
    await res.body!.getReader().read();
    ac.abort();
    const spans = await collector.traceOf(requestId, 2 + STAGES.length + 1);
    const root = rootOf(spans);
    expect(root.attributes).toMatchObject({ 'http.response.status_code': 499, 'error.type': 'cancelled' });
    const [call] = attempts(spans);
    expect(call.attributes['error.type']).toBe('cancelled');
    expect(call.end <= root.end).toBe(true);
    expect(named(spans, 'relay')).toHaveLength(1);
    // long before the replica would have finished (2 s)
    expect(Number(root.end - root.start) / 1e6).toBeLessThan(1_500);
  });

  it('is traced when refused: a bad key ends at auth, with error.type', async () => {
    const traceId = hex(32);
    const r = await send(traced, 'openai', { key: 'sk-sy-not-a-key-000000000000000000000000', headers: { traceparent: `00-${traceId}-${hex(16)}-01` } });
    expect(r.status).toBe(401);
    const spans = await collector.trace(traceId, 2);
    const root = rootOf(spans);
    expect(spans.map((s) => s.name).sort()).toEqual(['auth', 'chat']);
    expect(root.attributes).toMatchObject({ 'error.type': 'client_error', 'http.response.status_code': 401 });
    expect(root.statusCode).toBe(2);
    expect(named(spans, 'auth')[0].statusCode).toBe(2);
  });

  it('is traced when its body is refused: the stages it passed, and the one that refused it', async () => {
    const r = await send(traced, 'openai', { body: { model: 'llama-3.1-8b', messages: 'not a list' } });
    expect(r.status).toBe(400);
    const spans = await collector.traceOf(r.requestId, 4);
    expect(spans.map((s) => s.name).sort()).toEqual(['auth', 'chat', 'parse', 'read_body']);
    expect(named(spans, 'parse')[0].attributes['error.type']).toBe('invalid_request');
    expect(rootOf(spans).attributes['error.type']).toBe('client_error');
  });
});

describe('a rate-limited request', () => {
  it('is traced to its limits stage, which names the refusal', async () => {
    const p = await platformWith({ endpoint: collector.url, sampleRate: 1 }, createLogger('silent'), (c) => {
      // a copy: the schema's default tiers are one object, shared by every config loaded
      c.tiers = { ...c.tiers, default: { ...c.tiers.default, requestsPerMinute: 1 } };
    });
    try {
      expect((await send(p, 'openai')).status).toBe(200);
      const r = await send(p, 'openai');
      expect(r.status).toBe(429);
      const spans = await collector.traceOf(r.requestId, 5);
      expect(spans.map((s) => s.name).sort()).toEqual(['auth', 'chat llama-3.1-8b', 'limits', 'parse', 'read_body']);
      expect(named(spans, 'limits')[0].attributes['error.type']).toBe('rate_limited');
      expect(rootOf(spans).attributes).toMatchObject({ 'error.type': 'rate_limited', 'http.response.status_code': 429 });
    } finally {
      await p.close();
    }
  });
});

describe('a hedged request', () => {
  let hedging: Platform;
  beforeAll(async () => {
    hedging = await platformWith({ endpoint: collector.url, sampleRate: 1 }, undefined, (c) => { c.upstream.hedge = { enabled: true, delayMs: 50 }; });
  });
  afterAll(async () => { await hedging?.close(); });

  it('has a span per call, each replica handed its own, the aborted loser ended as cancelled', async () => {
    heard.length = 0;
    const r = await send(hedging, 'openai', { model: 'hedged', stream: true });
    expect(r.status).toBe(200);
    const spans = await collector.traceOf(r.requestId, 2 + STAGES.length + 2);
    const calls = attempts(spans);
    expect(calls.map((c) => c.attributes['switchyard.replica.id'])).toEqual(['us-east/hedged/0', 'eu-west/hedged/1']);
    expect(calls[0].attributes['error.type']).toBe('cancelled');
    expect(calls[1].attributes['error.type']).toBeUndefined();
    expect(new Set(calls.map((c) => c.spanId)).size).toBe(2);
    const root = rootOf(spans);
    for (const c of calls) {
      expect(c.parentSpanId).toBe(root.spanId);
      expect(c.end <= root.end).toBe(true);
    }
    await new Promise((res) => setTimeout(res, 450)); // the loser's replica hears the request late
    expect(heard.map((h) => h.traceparent?.split('-')[2]).sort()).toEqual(calls.map((c) => c.spanId).sort());
  });
});

describe('untrusted trace context', () => {
  it('is bounded: an oversized tracestate is not handed to replicas whole', async () => {
    const huge = Array.from({ length: 200 }, (_, i) => `k${i}=${'v'.repeat(30)}`).join(',');
    heard.length = 0;
    const traced1 = await send(traced, 'openai', { headers: { traceparent: `00-${hex(32)}-${hex(16)}-01`, tracestate: huge } });
    const untraced = await send(unsampled, 'openai', { headers: { traceparent: `00-${hex(32)}-${hex(16)}-00`, tracestate: huge } });
    const offToo = await send(off, 'openai', { headers: { traceparent: `00-${hex(32)}-${hex(16)}-01`, tracestate: huge } });
    for (const r of [traced1, untraced, offToo]) expect(r.status).toBe(200);
    expect(heard).toHaveLength(3);
    for (const h of heard) {
      expect(h.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
      expect((h.tracestate ?? '').length).toBeLessThanOrEqual(512);
    }
  });

  it('is not passed on when malformed, traced or not', async () => {
    heard.length = 0;
    for (const p of [traced, unsampled, off]) {
      const r = await send(p, 'openai', { headers: { traceparent: 'zz-not-a-trace', tracestate: 'a=1' } });
      expect(r.status).toBe(200);
    }
    expect(heard).toHaveLength(3);
    // the traced one starts its own trace; the others add nothing and relay nothing
    expect(heard[0].traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(heard[0].tracestate).toBeUndefined();
    expect(heard.slice(1)).toEqual([{ replica: 'good' }, { replica: 'good' }]);
  });
});

describe('a request that is not traced', () => {
  it('at sample rate 0: no spans, and the client’s own context goes to the replica unchanged', async () => {
    const traceId = hex(32);
    const parent = `00-${traceId}-${hex(16)}-00`;
    heard.length = 0;
    const r = await send(unsampled, 'openai', { stream: true, headers: { traceparent: parent, tracestate: 'k=v' } });
    expect(r.status).toBe(200);
    expect(heard).toEqual([{ replica: 'good', traceparent: parent, tracestate: 'k=v' }]);
    // a traced request sent after it arrives, so the batch this one would be in has gone out
    const later = await send(traced, 'openai');
    await collector.traceOf(later.requestId, 9);
    await new Promise((res) => setTimeout(res, 60));
    expect(collector.spans.filter((s) => s.traceId === traceId)).toEqual([]);
  });

  it('with tracing off: nothing is added, and a client’s context is passed on as it came', async () => {
    heard.length = 0;
    await send(off, 'anthropic');
    const parent = `00-${hex(32)}-${hex(16)}-01`;
    await send(off, 'openai', { headers: { traceparent: parent } });
    expect(heard).toEqual([{ replica: 'good' }, { replica: 'good', traceparent: parent }]);
  });
});

describe('a collector that is down or slow', () => {
  for (const [what, endpoint] of [['down', 'http://127.0.0.1:9/v1/traces'], ['slow', null]] as const) {
    it(`(${what}) never slows or fails a request, and close() is bounded`, async () => {
      const slow = endpoint === null ? await otlpReceiver({ delayMs: Infinity }) : null;
      const lines: string[] = [];
      const log = pino({ level: 'warn' }, new Writable({ write(c, _e, done) { lines.push(String(c)); done(); } }));
      const p = await platformWith({ endpoint: endpoint ?? slow!.url, sampleRate: 1, exportIntervalMs: 5, maxQueueSize: 64, maxBatchSize: 16, headers: { authorization: 'Bearer collector-secret-1234' } }, log);
      try {
        const t0 = Date.now();
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => send(p, i % 2 === 0 ? 'openai' : 'anthropic', { stream: i % 4 < 2 })));
        expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
        expect(Date.now() - t0).toBeLessThan(2_000);
      } finally {
        const c0 = Date.now();
        await p.close();
        expect(Date.now() - c0).toBeLessThan(4_500);
        await slow?.close();
      }
      if (what === 'down') {
        // told, once (rate-limited), and never with the collector's headers
        const told = lines.filter((l) => l.includes('could not send traces'));
        expect(told.length).toBeGreaterThanOrEqual(1);
        expect(told.length, told.join("")).toBeLessThanOrEqual(2);
      }
      expect(lines.join('')).not.toContain('collector-secret-1234');
      if (slow !== null) {
        // the collector heard the configured headers
        expect(slow.requests.length).toBeGreaterThan(0);
        expect(slow.requests[0].authorization).toBe('Bearer collector-secret-1234');
      }
    }, 15_000);
  }
});
