import Anthropic from '@anthropic-ai/sdk';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import { guardProcess } from '../../src/observe/index.js';
import { scriptedPlatform } from './support.js';

// #11 §2: one error boundary. A throw or rejection injected at each stage of the pipeline (fake
// deps that throw, sync and async) must become a 500 in the client's wire format with the request
// id, one log line with the stack, an `internal_error` ledger row and a count, and the gateway
// must go on serving with nothing leaked.
const KEY = 'sk-sy-gateway-boundary-test-key-00000000000000';
const ADMIN = 'boundary-admin-token';
const MODEL = 'llama-3.1-8b';
const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const completion = JSON.stringify({ id: 'chatcmpl-ok', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage });
const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;

let p: Platform;
const logLines: any[] = [];
const injected = new Error('injected failure');

beforeAll(async () => {
  const sink = new Writable({ write(c, _e, cb) { for (const l of String(c).split('\n')) if (l) logLines.push(JSON.parse(l)); cb(); } });
  p = await scriptedPlatform({
    key: KEY, adminToken: ADMIN, log: pino({ level: 'error' }, sink),
    replica: (q, s) => {
      if (q.method === 'GET') return void s.end('');
      let raw = '';
      q.on('data', (d) => (raw += d)).on('end', () => {
        const b = JSON.parse(raw);
        if (q.url?.includes('tokenize')) return void s.writeHead(200, { 'content-type': 'application/json' }).end('{"count":3}');
        if (!b.stream) return void s.writeHead(200, { 'content-type': 'application/json' }).end(completion);
        s.writeHead(200, { 'content-type': 'text/event-stream' });
        s.end(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'fine' }) + chunk({}, 'stop') + 'data: [DONE]\n\n');
      });
    },
    configure: (config) => {
      // a leaked concurrency slot or pool slot would starve the 1,000 requests that follow
      config.tiers.default = { ...config.tiers.default, requestsPerMinute: 1_000_000, concurrentRequests: 8 };
      config.admission.maxInflightPerReplica = 8;
    },
  });
});

afterAll(async () => {
  await p?.close();
});

/** Undoes every injection after each case: an own property shadows the real method. */
const restore: Array<() => void> = [];
afterEach(() => {
  for (const r of restore.splice(0)) r();
});
function inject<T extends object>(obj: T, method: keyof T & string, how: 'sync' | 'async', times = Infinity): void {
  let left = times;
  const real = (obj as any)[method];
  (obj as any)[method] = function (this: unknown, ...args: unknown[]) {
    if (left-- > 0) {
      if (how === 'sync') throw injected;
      return Promise.reject(injected);
    }
    return real.apply(this, args);
  };
  restore.push(() => delete (obj as any)[method]);
}

const anthropicBody = (stream = false) => JSON.stringify({ model: MODEL, max_tokens: 8, stream, messages: [{ role: 'user', content: 'hi' }] });
const openaiBody = (stream = false) => JSON.stringify({ model: MODEL, max_tokens: 8, stream, messages: [{ role: 'user', content: 'hi' }] });
const post = (wire: 'anthropic' | 'openai', stream = false) => wire === 'anthropic'
  ? fetch(`${p.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: anthropicBody(stream) })
  : fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: openaiBody(stream) });

async function internalErrors(stage: string): Promise<number> {
  const m = (await p.gateway.metrics.internalErrors.get()).values.find((v) => v.labels.stage === stage);
  return m?.value ?? 0;
}

async function ledgerRow(requestId: string): Promise<any> {
  for (let i = 0; i < 100; i++) {
    await p.ledger.flush().catch(() => {});
    const tenants = await p.store.listTenants();
    for (const t of tenants) {
      const rows = await p.store.queryUsage({ tenantId: t.id, limit: 1000 });
      const row = rows.find((r) => r.requestId === requestId);
      if (row) return row;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

/** Nothing held: no request in flight, no pool slot taken, no replica count left over. */
function expectNothingHeld(): void {
  expect(p.gateway.inflight).toBe(0);
  for (const pool of p.gateway.admission.snapshot()) expect(pool.inflight).toBe(0);
  for (const r of p.fleet.all) expect(r.inflight).toBe(0);
}

async function settled(): Promise<void> {
  for (let i = 0; i < 100 && p.gateway.inflight > 0; i++) await new Promise((r) => setTimeout(r, 10));
}

// where the throw is injected, the stage it is counted under, and whether it happens sync or async
const STAGES = [
  { name: 'the rate limiter throws', stage: 'limits', how: 'sync' as const, set: () => inject(p.gateway.rateLimits, 'admit', 'sync') },
  { name: 'the rate limiter rejects', stage: 'limits', how: 'async' as const, set: () => inject(p.gateway.rateLimits, 'admit', 'async') },
  { name: 'the router throws while a session ticket is made', stage: 'routing', how: 'sync' as const, set: () => inject(p.gateway.routing, 'ticket', 'sync') },
  { name: 'admission throws', stage: 'admission', how: 'sync' as const, set: () => inject(p.gateway.admission, 'admit', 'sync') },
  { name: 'the router throws while picking a replica', stage: 'routing', how: 'sync' as const, set: () => inject(p.gateway.routing, 'pick', 'sync') },
  { name: 'the replica\'s answer handler throws (first byte)', stage: 'upstream', how: 'sync' as const, set: () => inject(p.gateway.upstreams, 'answered', 'sync') },
];

describe('#11 – the error boundary answers a throw at any stage as a 500 in the client\'s wire format', () => {
  it.each(STAGES)('$name: Anthropic gets api_error with the request id, logged with its stack, an internal_error row and a count', async ({ stage, set }) => {
    const before = await internalErrors(stage);
    logLines.length = 0;
    set();
    for (const stream of [false, true]) {
      const res = await post('anthropic', stream);
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const id = res.headers.get('request-id')!;
      const body = await res.json();
      expect(body).toMatchObject({ type: 'error', error: { type: 'api_error' }, request_id: id });
      expect(body.error.message).toContain(id);
      const row = await ledgerRow(id);
      expect(row).toMatchObject({ outcome: 'internal_error', status: 500, stream });
      const line = logLines.find((l) => l.requestId === id);
      expect(line).toBeDefined();
      expect(line.stage).toBe(stage);
      expect(line.err.stack).toContain('injected failure');
    }
    expect(await internalErrors(stage)).toBe(before + 2);
    await settled();
    expectNothingHeld();
  });

  it.each(STAGES)('$name: OpenAI gets server_error with x-request-id', async ({ set }) => {
    set();
    const res = await post('openai');
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.error).toMatchObject({ type: 'server_error', code: null });
    expect(body.error.message).toContain(res.headers.get('x-request-id'));
    await settled();
    expectNothingHeld();
  });

  it('the official SDKs see an InternalServerError, not a connection error', async () => {
    inject(p.gateway.rateLimits, 'admit', 'async');
    const a = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    const ea = await a.messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(ea).toBeInstanceOf(Anthropic.InternalServerError);
    expect(ea.error.error.type).toBe('api_error');
    const o = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const eo = await o.chat.completions.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(eo).toBeInstanceOf(OpenAI.InternalServerError);
    expect(eo.type).toBe('server_error');
  });

  it('count_tokens, the model list and a single model are inside the boundary too', async () => {
    inject(p.gateway.upstreams, 'pickAny', 'sync');
    const ct = await fetch(`${p.url}/v1/messages/count_tokens`, { method: 'POST', headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }) });
    expect(ct.status).toBe(500);
    expect((await ct.json()).error.type).toBe('api_error');
    // the first response written throws; the boundary's own 500 then goes out
    inject(p.gateway.replies, 'sendJson', 'sync', 1);
    const one = await fetch(`${p.url}/v1/models/${MODEL}`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(one.status).toBe(500);
    expect((await one.json()).error.type).toBe('server_error');
    inject(p.gateway.replies, 'sendJson', 'sync', 1);
    const list = await fetch(`${p.url}/v1/models`, { headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' } });
    expect(list.status).toBe(500);
    expect((await list.json()).error.type).toBe('api_error');
    expect(await internalErrors('models')).toBeGreaterThanOrEqual(2);
  });

  it('an admin request that fails inside answers 500 with its request id, and the log line has the stack under that id', async () => {
    logLines.length = 0;
    inject(p.store, 'listTenants', 'async');
    const res = await fetch(`${p.url}/admin/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(500);
    const id = res.headers.get('request-id')!;
    const body = await res.json();
    expect(body.error.type).toBe('api_error');
    expect(body.request_id).toBe(id);
    const line = logLines.find((l) => l.requestId === id);
    expect(line?.err?.stack).toContain('injected failure');
  });

  it('a ledger that throws on record still lets the answer out and gives every slot back', async () => {
    inject(p.ledger, 'record', 'sync', 4);
    for (const wire of ['anthropic', 'openai'] as const) {
      for (const stream of [false, true]) {
        const res = await post(wire, stream);
        expect(res.status).toBe(200);
        await res.text();
      }
    }
    await settled();
    expectNothingHeld();
  });

  it('a malformed %-escape in GET /v1/models/{id} is a 400 in the wire format, not a crash', async () => {
    for (const path of ['/v1/models/%', '/v1/models/%zz', '/v1/models/%E0%A4%A']) {
      const res = await fetch(`${p.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(res.status).toBe(400);
      expect((await res.json()).error.type).toBe('invalid_request_error');
    }
    // without a key it is the 401 first, as for any path behind a key
    expect((await fetch(`${p.url}/v1/models/%`)).status).toBe(401);
    expect((await fetch(`${p.url}/healthz`)).status).toBe(200);
  });

  it('after every injected failure, answers the next 1,000 requests, /healthz 200, nothing leaked', async () => {
    /** 1,000 requests, both APIs, streamed and not, 8 at a time (the tier's concurrency): their statuses and ms */
    const thousand = async (n = 1_000): Promise<{ statuses: number[]; ms: number }> => {
      const t0 = performance.now();
      const statuses: number[] = [];
      let next = 0;
      const worker = async () => {
        while (next < n) {
          const i = next++;
          const r = await post(i % 2 ? 'openai' : 'anthropic', i % 4 >= 2);
          await r.text();
          statuses.push(r.status);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      return { statuses, ms: performance.now() - t0 };
    };
    const baseline = await thousand();
    expect(baseline.statuses.filter((s) => s !== 200)).toEqual([]);
    // fifty more failures after the charge (admission and routing), then the same load again
    inject(p.gateway.admission, 'admit', 'sync', 25);
    inject(p.gateway.routing, 'pick', 'sync', 25);
    const failed = await Promise.all(Array.from({ length: 50 }, (_, i) => post(i % 2 ? 'openai' : 'anthropic').then(async (r) => (await r.text(), r.status))));
    expect(failed.every((s) => s === 500)).toBe(true);
    const after = await thousand();
    expect(after.statuses.length).toBe(1_000);
    expect(after.statuses.filter((s) => s !== 200)).toEqual([]);
    expect((await fetch(`${p.url}/healthz`)).status).toBe(200);
    await settled();
    expectNothingHeld();
    console.log(`1,000 requests: ${baseline.ms.toFixed(0)} ms before any failure, ${after.ms.toFixed(0)} ms after 50 injected failures`);
  }, 60_000);
});

describe('#11 – what escapes every handler is logged and counted, not fatal', () => {
  it('an uncaught exception and an unhandled rejection each give one log line with the stack and a count', () => {
    const lines: any[] = [];
    const log = pino({ level: 'error' }, new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } }));
    const counts: string[] = [];
    const before = { ex: process.listeners('uncaughtException'), rej: process.listeners('unhandledRejection') };
    const remove = guardProcess(log, (kind) => counts.push(kind));
    try {
      const onEx = process.listeners('uncaughtException').find((l) => !before.ex.includes(l))!;
      const onRej = process.listeners('unhandledRejection').find((l) => !before.rej.includes(l))!;
      // called as the process would call them (firing them for real would also trip the test runner's own)
      onEx(new Error('thrown in a timer'), 'uncaughtException');
      onRej(new Error('nobody awaited this'), Promise.resolve());
      expect(counts).toEqual(['uncaught_exception', 'unhandled_rejection']);
      expect(lines.map((l) => l.err.stack.split('\n')[0])).toEqual(['Error: thrown in a timer', 'Error: nobody awaited this']);
    } finally {
      remove();
    }
    expect(process.listeners('uncaughtException')).toEqual(before.ex);
  });

  it('logs at most 20 stacks per window however many escape, and still counts each', () => {
    const lines: any[] = [];
    const log = pino({ level: 'error' }, new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } }));
    let counted = 0;
    const before = process.listeners('uncaughtException');
    const remove = guardProcess(log, () => counted++);
    try {
      const onEx = process.listeners('uncaughtException').find((l) => !before.includes(l))!;
      for (let i = 0; i < 500; i++) onEx(new Error(`loop ${i}`), 'uncaughtException');
      expect(counted).toBe(500);
      expect(lines.length).toBe(20);
    } finally {
      remove();
    }
  });
});
