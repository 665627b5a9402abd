import Anthropic from '@anthropic-ai/sdk';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { loadConfig, tierSchema, type Config } from '../../src/config/index.js';
import { startPlatform, type Platform } from '../../src/gateway/index.js';
import { createLogger } from '../../src/observe/index.js';
import { demoStore } from './support.js';

// Admission, concurrency and spend limits at the gateway, in-process in front of a replica that
// holds every request until the test lets it answer, so the order requests reach it is exact.
const KEY = 'sk-sy-gateway-admission-test-key-0000000000';
const ADMIN = 'admission-admin-token';
const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const completion = JSON.stringify({ id: 'chatcmpl-ok', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage });

/** A replica that records what reaches it and answers only when told to. */
interface Gate {
  url: string;
  /** the user message of each request, in the order they reached the replica */
  arrived: string[];
  held: ServerResponse[];
  /** answer the oldest held request */
  release(): void;
  auto: boolean;
}

let platform: Platform | null = null;
let platforms: Platform[] = [];
let server: Server | null = null;
let current: Gate | null = null;

/** Ordering cases are not about shedding: no early shedding, deadlines far away. */
function calm(c: Config): void {
  c.admission.classes.standard.shed = null;
  c.admission.classes.batch.shed = null;
  c.admission.prior.serviceMs = 100;
}

async function gate(auto = false): Promise<Gate> {
  const g: Gate = {
    url: '', arrived: [], held: [], auto,
    release() {
      g.held.shift()?.writeHead(200, { 'content-type': 'application/json' }).end(completion);
    },
  };
  server = createServer((q, s) => {
    if (q.method === 'GET') return void s.end();
    let raw = '';
    q.on('data', (d) => (raw += d)).on('end', () => {
      const body = JSON.parse(raw) as { messages: Array<{ content: string }> };
      g.arrived.push(body.messages.at(-1)!.content);
      if (g.auto) s.writeHead(200, { 'content-type': 'application/json' }).end(completion);
      else g.held.push(s);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  current = g;
  g.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return g;
}

async function start(g: Gate, tier: Partial<z.input<typeof tierSchema>>, tune?: (c: Config) => void, storeUrl?: string): Promise<Platform> {
  const config = loadConfig(undefined, { port: 0 });
  config.fleet.scrapeIntervalMs = 0;
  config.tiers = { default: tierSchema.parse({ requestsPerMinute: 10_000, inputTokensPerMinute: 10_000_000, outputTokensPerMinute: 1_000_000, ...tier }) };
  config.admission.maxInflightPerReplica = 1;
  tune?.(config);
  const p = await startPlatform({
    config, storeUrl: storeUrl ?? (await demoStore(KEY)), adminToken: ADMIN, log: createLogger('silent'),
    replicas: [{ id: 'r', model: 'llama-3.1-8b', servedModel: 'm', region: 'us-east', url: g.url }],
  });
  platforms.push(p);
  platform = p;
  return p;
}

afterEach(async () => {
  if (current) {
    current.auto = true;
    while (current.held.length > 0) current.release();
  }
  for (const h of platforms) await h.close();
  platforms = [];
  platform = null;
  server?.closeAllConnections();
  server?.close();
});

function anthropic(p: Platform, opts: Partial<ConstructorParameters<typeof Anthropic>[0]> = {}): Anthropic {
  return new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0, ...opts });
}

const ask = (c: Anthropic, text: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  c.messages.create({ model: 'llama-3.1-8b', max_tokens: 16, messages: [{ role: 'user', content: text }] }, { headers, signal }).withResponse();

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const queued = (p: Platform) => p.gateway.admission.snapshot().reduce((n, s) => n + s.queued, 0);

async function usageOf(p: Platform) {
  await p.ledger.flush();
  const tenant = (await p.store.listTenants())[0];
  return p.store.queryUsage({ tenantId: tenant.id, limit: 1000 });
}

describe('priorities at a saturated pool', () => {
  it('sends interactive before standard before batch, whatever order they came in, and says which each got', async () => {
    const g = await gate();
    const p = await start(g, { priority: 'interactive' }, calm);
    const c = anthropic(p);
    const first = ask(c, 'running');
    await until(() => g.held.length === 1, 'the first request at the replica');
    const b = ask(c, 'batch', { 'x-switchyard-priority': 'batch' });
    await until(() => queued(p) === 1, 'batch queued');
    const s = ask(c, 'standard', { 'x-switchyard-priority': 'standard' });
    await until(() => queued(p) === 2, 'standard queued');
    const i = ask(c, 'interactive');
    await until(() => queued(p) === 3, 'interactive queued');
    for (let k = 0; k < 4; k++) {
      await until(() => g.held.length === 1, `request ${k + 1} at the replica`);
      g.release();
    }
    const [, rb, rs, ri] = await Promise.all([first, b, s, i]);
    expect(g.arrived).toEqual(['running', 'interactive', 'standard', 'batch']);
    expect(rb.response.headers.get('x-switchyard-priority')).toBe('batch');
    expect(rs.response.headers.get('x-switchyard-priority')).toBe('standard');
    expect(ri.response.headers.get('x-switchyard-priority')).toBe('interactive');
  });

  it('lets a request lower its priority but not raise it, and refuses a priority that does not exist', async () => {
    const g = await gate(true);
    const p = await start(g, { priority: 'standard' });
    const c = anthropic(p);
    expect((await ask(c, 'x', { 'x-switchyard-priority': 'interactive' })).response.headers.get('x-switchyard-priority')).toBe('standard');
    expect((await ask(c, 'x', { 'x-switchyard-priority': 'batch' })).response.headers.get('x-switchyard-priority')).toBe('batch');
    const err = await ask(c, 'x', { 'x-switchyard-priority': 'urgent' }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as Error).message).toMatch(/x-switchyard-priority: .*urgent.* is not a priority; use one of interactive, standard, batch/);
    const o = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const oerr = await o.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-switchyard-deadline-ms': 'soon' } }).then(() => null, (e: unknown) => e);
    expect(oerr).toBeInstanceOf(OpenAI.BadRequestError);
    expect((oerr as Error).message).toMatch(/x-switchyard-deadline-ms/);
  });
});

describe('a pool\'s capacity', () => {
  it('follows replicas into and out of the fleet and of rotation, and lets waiters go when it grows', async () => {
    const g = await gate();
    const p = await start(g, {}, calm);
    const c = anthropic(p);
    const capacity = () => p.gateway.admission.snapshot()[0].capacity;
    const running = ask(c, 'running');
    await until(() => g.held.length === 1, 'the first request at the replica');
    expect(capacity()).toBe(1);
    const waiting = ask(c, 'waiting');
    await until(() => queued(p) === 1, 'the second one waiting');
    // a second replica joins through the fleet API: the waiter goes to it at once
    const fleet = (path: string, body?: unknown) => fetch(`${p.url}/admin/v1/fleet${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    }).then((r) => r.status);
    expect(await fleet('/replicas', { id: 'r2', model: 'llama-3.1-8b', served_model: 'm', region: 'us-east', url: g.url })).toBe(201);
    // it counts once its first probe (sent at once) has passed
    await until(() => capacity() === 2, 'the new replica in rotation');
    await until(() => g.held.length === 2, 'the waiter at the new replica');
    expect(await fleet('/replicas/r2/drain')).toBe(200);
    expect(capacity()).toBe(1);
    g.release();
    g.release();
    await Promise.all([running, waiting]);
  });
});

describe('fair sharing between tenants of one priority', () => {
  it('serves a polite tenant\'s request ahead of an abusive tenant\'s backlog', async () => {
    const g = await gate();
    const p = await start(g, {}, calm);
    const other = await p.store.createTenant({ name: 'polite' });
    if (!other.ok) throw new Error(other.error.message);
    const k = await p.store.createKey({ tenantId: other.value.tenant.id, name: 'k' });
    if (!k.ok) throw new Error(k.error.message);
    const abuser = anthropic(p);
    const polite = anthropic(p, { apiKey: k.value.secret });
    const running = ask(abuser, 'running');
    await until(() => g.held.length === 1, 'the first request at the replica');
    const flood = Array.from({ length: 10 }, (_, i) => ask(abuser, `abuse-${i}`));
    await until(() => queued(p) === 10, 'the flood queued');
    const mine = ask(polite, 'polite');
    await until(() => queued(p) === 11, 'the polite request queued');
    for (let n = 0; n < 12; n++) {
      await until(() => g.held.length === 1, 'the next request at the replica');
      g.release();
    }
    await Promise.all([running, mine, ...flood]);
    // behind one abuser request at most (equal tags go in arrival order), not behind ten
    expect(g.arrived.indexOf('polite')).toBeLessThanOrEqual(2);
  });
});

describe('shedding', () => {
  it('answers 529 overloaded_error (OpenAI: 503) with retry-after when the wait would break the deadline, and records it', async () => {
    const g = await gate();
    // the pool expects 8 s a request: a 1 s deadline cannot be met behind a running one
    // 1,000 input tokens a minute: a refill slow enough to read what a shed request is charged
    const p = await start(g, { inputTokensPerMinute: 1_000 }, (c) => { c.admission.prior.serviceMs = 8_000; });
    const c = anthropic(p);
    const running = ask(c, 'running');
    await until(() => g.held.length === 1, 'the first request at the replica');
    const err = await ask(c, 'hurry', { 'x-switchyard-deadline-ms': '1000' }).then(() => null, (e: unknown) => e) as InstanceType<typeof Anthropic.APIError>;
    expect(err.status).toBe(529);
    // charged on admission, given back when shed: it never reached a replica
    const charged = 1_000 - Number(err.headers?.get('anthropic-ratelimit-input-tokens-remaining'));
    expect((err.error as { error: { type: string } }).error.type).toBe('overloaded_error');
    expect(err.message).toMatch(/would miss this request's deadline/);
    expect(Number(err.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const o = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const oerr = await o.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-switchyard-deadline-ms': '1000' } }).then(() => null, (e: unknown) => e) as InstanceType<typeof OpenAI.APIError>;
    expect(oerr.status).toBe(503);
    expect(oerr.code).toBe('overloaded');
    g.release();
    await running;
    g.auto = true;
    const after = Number((await ask(c, 'after')).response.headers.get('anthropic-ratelimit-input-tokens-remaining'));
    // the running request settled at the replica's 7; only it and this one are charged now
    const each = charged / 2;
    expect(after).toBeGreaterThanOrEqual(Math.floor(1_000 - 7 - each));
    expect(after).toBeLessThan(1_000 - 7 - each + 10);
    const rows = await usageOf(p);
    expect(rows.filter((r) => r.outcome === 'overloaded').map((r) => r.status).sort()).toEqual([503, 529]);
    expect(await p.gateway.metrics.registry.getSingleMetricAsString('switchyard_admission_shed_total')).toMatch(/reason="deadline"} 2/);
  });

  it('sheds a request that waited until its deadline, and forgets one whose client left', async () => {
    const g = await gate();
    const p = await start(g, {}, (c) => { c.admission.prior = { serviceMs: 100, firstTokenMs: 50 }; });
    const c = anthropic(p);
    const running = ask(c, 'running');
    await until(() => g.held.length === 1, 'the first request at the replica');
    const t0 = performance.now();
    const late = ask(c, 'late', { 'x-switchyard-deadline-ms': '600' }).then(() => null, (e: unknown) => e) as Promise<InstanceType<typeof Anthropic.APIError>>;
    const abort = new AbortController();
    const gone = ask(c, 'gone', {}, abort.signal).catch(() => 'aborted');
    await until(() => queued(p) === 2, 'both queued');
    abort.abort();
    expect(await gone).toBe('aborted');
    await until(() => queued(p) === 1, 'the abandoned request forgotten');
    const err = await late;
    expect(err.status).toBe(529);
    expect(err.message).toMatch(/waited until its deadline/);
    // the deadline is for the first token: it is shed a first-token time before it
    expect(performance.now() - t0).toBeGreaterThan(500);
    g.release();
    await running;
    expect(g.arrived).toEqual(['running']);
    const outcomes = (await usageOf(p)).map((r) => `${r.status} ${r.outcome}`).sort();
    expect(outcomes).toEqual(['200 ok', '499 cancelled', '529 overloaded']);
  });
});

describe('concurrency per tier', () => {
  it('refuses a workspace\'s request beyond its concurrent limit with 429, and admits again when one ends', async () => {
    const g = await gate();
    const p = await start(g, { concurrentRequests: 2 }, (c) => { c.admission.maxInflightPerReplica = 10; });
    const c = anthropic(p);
    const a = ask(c, 'a');
    const b = ask(c, 'b');
    await until(() => g.held.length === 2, 'two at the replica');
    const err = await ask(c, 'c').then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as Error).message).toMatch(/allows 2 at once per workspace/);
    g.release();
    await a;
    g.auto = true;
    expect((await ask(c, 'd')).data.content[0]).toMatchObject({ text: 'fine' });
    g.release();
    await b;
  });
});

describe('monthly spend limits', () => {
  // a request here costs (7 × 0.05 + 2 × 0.08) / 1e6 = $0.00000051
  const tier = { monthlySpendUsd: 0.000_001 };

  it('refuses a workspace over its limit: Anthropic 400 invalid_request_error, OpenAI 429 insufficient_quota not retried', async () => {
    const g = await gate(true);
    const p = await start(g, tier);
    const c = anthropic(p);
    await ask(c, '1');
    await ask(c, '2');
    const err = await ask(c, '3').then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as { error: { error: { type: string } } }).error.error.type).toBe('invalid_request_error');
    expect((err as Error).message).toMatch(/monthly spend limit of \$0\.00 \(\$0\.00 spent this month\)\. You will regain access on \d{4}-\d{2}-01 at 00:00 UTC/);
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const o = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 2, fetch: counting });
    const oerr = await o.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }] }).then(() => null, (e: unknown) => e);
    expect(oerr).toBeInstanceOf(OpenAI.RateLimitError);
    expect((oerr as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('insufficient_quota');
    expect(calls).toBe(1);
    expect(g.arrived).toEqual(['1', '2']);
    expect(await p.gateway.metrics.registry.getSingleMetricAsString('switchyard_spend_limited_total')).toMatch(/ 2$/m);
  });

  it('sums the month\'s spend from the ledger, so a restarted gateway still refuses', async () => {
    const g = await gate(true);
    const storeUrl = await demoStore(KEY);
    const p1 = await start(g, tier, undefined, storeUrl);
    await ask(anthropic(p1), '1');
    await ask(anthropic(p1), '2');
    await p1.close();
    const p2 = await start(g, tier, undefined, storeUrl);
    const err = await ask(anthropic(p2), '3').then(() => null, (e: unknown) => e);
    expect((err as { status: number }).status).toBe(400);
    expect(g.arrived).toEqual(['1', '2']);
  });
});

/**
 * A TCP proxy in front of the real Redis that a test can slow down (every reply held `delayMs`) or
 * cut (every connection reset, new ones refused until it is healed).
 */
async function redisProxy(): Promise<{ url: string; delayMs: number; cut(): void; heal(): void; close(): void }> {
  const sockets = new Set<Socket>();
  let down = false;
  const p = {
    url: '', delayMs: 0,
    cut() { down = true; for (const s of sockets) s.destroy(); },
    heal() { down = false; },
    close() { p.cut(); server.close(); },
  };
  const server = createNetServer((client) => {
    if (down) return void client.destroy();
    const upstream = connect(6379, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (p.delayMs === 0) client.write(d);
      else setTimeout(() => client.writable && client.write(d), p.delayMs);
    });
    const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.url = `redis://127.0.0.1:${(server.address() as AddressInfo).port}/0`;
  return p;
}

describe('the rate-limit store failing', () => {
  it('keeps serving, within its timeout, when Redis turns slow or drops, and goes back to it when it heals', async () => {
    const proxy = await redisProxy();
    try {
      const g = await gate(true);
      const p = await start(g, {}, (c) => {
        c.limits = { ...c.limits, backend: 'redis', redisUrl: proxy.url, redisKeyPrefix: `sy:test:${Date.now()}:${Math.random()}:`, failMode: 'open', timeoutMs: 50 };
      });
      const c = anthropic(p);
      const fallbacks = async () => Number(/mode="open"} (\d+)/.exec(await p.gateway.metrics.registry.getSingleMetricAsString('switchyard_ratelimit_store_fallbacks_total'))?.[1] ?? 0);
      // healthy: the shared bucket counts
      expect((await ask(c, 'a')).response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('9999');
      expect(await fallbacks()).toBe(0);
      // slow: every reply 2 s late; requests still answer in about the timeout, on local buckets
      proxy.delayMs = 2_000;
      const t0 = performance.now();
      const slow = await ask(c, 'b');
      expect(slow.data.content[0]).toMatchObject({ text: 'fine' });
      expect(performance.now() - t0).toBeLessThan(1_000);
      expect(await fallbacks()).toBe(1);
      // dropped: connections reset and refused
      proxy.delayMs = 0;
      proxy.cut();
      for (const m of ['c', 'd', 'e']) expect((await ask(c, m)).data.content[0]).toMatchObject({ text: 'fine' });
      expect(await fallbacks()).toBeGreaterThanOrEqual(4);
      // healed: the client reconnects (on its own back-off) and the shared bucket answers again
      proxy.heal();
      let remaining = '';
      for (let i = 0; i < 50 && remaining === ''; i++) {
        const before = await fallbacks();
        const r = await ask(c, 'f');
        if (await fallbacks() === before) remaining = r.response.headers.get('anthropic-ratelimit-requests-remaining') ?? '';
        else await new Promise((res) => setTimeout(res, 100));
      }
      expect(remaining).toMatch(/^\d+$/);
      expect(g.arrived.length).toBeGreaterThanOrEqual(6);
    } finally {
      proxy.close();
    }
  }, 30_000);

  it('keeps serving on per-instance buckets when fail-open, and counts it', async () => {
    const g = await gate(true);
    const p = await start(g, {}, (c) => { c.limits = { ...c.limits, backend: 'redis', redisUrl: 'redis://127.0.0.1:1/0', failMode: 'open' }; });
    const { data, response } = await ask(anthropic(p), 'x');
    expect(data.content[0]).toMatchObject({ text: 'fine' });
    expect(response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('9999');
    expect(await p.gateway.metrics.registry.getSingleMetricAsString('switchyard_ratelimit_store_fallbacks_total')).toMatch(/mode="open"} 1/);
  });

  it('refuses with 529 when fail-closed, and counts it', async () => {
    const g = await gate(true);
    const p = await start(g, {}, (c) => { c.limits = { ...c.limits, backend: 'redis', redisUrl: 'redis://127.0.0.1:1/0', failMode: 'closed' }; });
    const err = await ask(anthropic(p), 'x').then(() => null, (e: unknown) => e);
    expect((err as { status: number }).status).toBe(529);
    expect(g.arrived).toEqual([]);
    expect(await p.gateway.metrics.registry.getSingleMetricAsString('switchyard_ratelimit_store_fallbacks_total')).toMatch(/mode="closed"} 1/);
  });
});
