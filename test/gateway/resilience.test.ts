import Anthropic from '@anthropic-ai/sdk';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.js';
import { startPlatform, type Platform } from '../../src/gateway/index.js';
import { createLogger } from '../../src/observe/index.js';
import { demoStore } from './support.js';

// The gateway in-process in front of scripted replicas on real sockets: hedging, the retry budget,
// draining and outlier ejection as a client and an operator see them.
const KEY = 'sk-sy-gateway-resilience-test-key-0000000000';
const ADMIN = 'resilience-admin-token';
type Script = (req: IncomingMessage, res: ServerResponse, body: any) => void;

const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;
const completion = JSON.stringify({ id: 'chatcmpl-ok', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage });

function answer(delayMs: number): Script {
  return (q, s, b) => {
    const t = setTimeout(() => {
      if (!b.stream) return void s.writeHead(200, { 'content-type': 'application/json' }).end(completion);
      s.writeHead(200, { 'content-type': 'text/event-stream' });
      s.end(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'fine' }) + chunk({}, 'stop') + 'data: [DONE]\n\n');
    }, delayMs);
    q.socket.once('close', () => clearTimeout(t));
  };
}
const fail500: Script = (_q, s) => void s.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"engine crashed"}}');

interface Fake {
  url: string;
  /** requests received */
  seen: number;
  /** requests whose connection closed before an answer was written */
  cancelled: number;
  script: Script;
}

let servers: Server[] = [];
let platform: Platform | null = null;

async function fake(script: Script): Promise<Fake> {
  const f: Fake = { url: '', seen: 0, cancelled: 0, script };
  const server = createServer((q, s) => {
    if (q.method === 'GET') return void s.end(q.url === '/health' ? '' : '');
    let raw = '';
    q.on('data', (d) => (raw += d)).on('end', () => {
      f.seen++;
      s.once('close', () => { if (!s.writableFinished) f.cancelled++; });
      f.script(q, s, JSON.parse(raw));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  f.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return f;
}

/** Polls `ok` every 20 ms until it holds (vitest's timeout bounds the wait). */
async function until(ok: () => Promise<boolean>): Promise<void> {
  while (!(await ok())) await new Promise((r) => setTimeout(r, 20));
}

async function start(replicas: Array<{ id: string; url: string; region?: string }>, tune: (c: Config) => void = () => {}): Promise<{ p: Platform; client: Anthropic }> {
  const storeUrl = await demoStore(KEY);
  const config = loadConfig(undefined, { port: 0 });
  config.fleet.scrapeIntervalMs = 0;
  tune(config);
  const p = await startPlatform({
    config, storeUrl, adminToken: ADMIN, log: createLogger('silent'),
    replicas: replicas.map((r) => ({ id: r.id, model: 'llama-3.1-8b', servedModel: 'm', region: r.region ?? 'us-east', url: r.url })),
  });
  platform = p;
  return { p, client: new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 }) };
}

const ask = (c: Anthropic, stream = false) => stream
  ? c.messages.create({ model: 'llama-3.1-8b', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] }).then(async (s) => { let text = ''; for await (const e of s) if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text; return text; })
  : c.messages.create({ model: 'llama-3.1-8b', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).then((m) => (m.content[0] as { text: string }).text);

async function admin(p: Platform, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${p.url}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

afterEach(async () => {
  await platform?.close();
  platform = null;
  for (const s of servers) { s.closeAllConnections(); s.close(); }
  servers = [];
});

describe('hedging the first token (upstream.hedge)', () => {
  it('asks a second replica when the first is slow to its first token, relays the faster and cancels the other', async () => {
    const slow = await fake(answer(3_000));
    const quick = await fake(answer(0));
    // both in one region, the slow one certain to be picked first: it is the only one at first
    const { p, client } = await start([{ id: 'slow', url: slow.url }, { id: 'quick', url: quick.url }], (c) => {
      c.upstream.hedge = { enabled: true, delayMs: 150 };
      c.routing.profile = 'round-robin';
    });
    const t0 = performance.now();
    const texts = await Promise.all([ask(client, true), ask(client, true)]);
    const took = performance.now() - t0;
    expect(texts).toEqual(['fine', 'fine']);
    // one of the two went to the slow replica first and was hedged: well under its 3 s
    expect(took).toBeLessThan(1_500);
    expect(slow.seen).toBe(1);
    expect(quick.seen).toBe(2);
    await new Promise((r) => setTimeout(r, 100));
    expect(slow.cancelled).toBe(1);
    expect(await p.gateway.metrics.registry.getSingleMetricAsString('switchyard_upstream_hedges_total')).toMatch(/ 1$/m);
  });

  it('is off by default: a slow first token is waited for', async () => {
    const slow = await fake(answer(400));
    const { client } = await start([{ id: 'slow', url: slow.url }, { id: 'slow2', url: (await fake(answer(400))).url }]);
    const t0 = performance.now();
    expect(await ask(client, true)).toBe('fine');
    expect(performance.now() - t0).toBeGreaterThan(380);
  });
});

describe('the retry budget', () => {
  it('refuses retries beyond its share and says so in the overflow counter', async () => {
    const bad = await fake(fail500);
    const good = await fake(answer(0));
    const { p, client } = await start([{ id: 'bad', url: bad.url }, { id: 'good', url: good.url }], (c) => {
      c.upstream.retryBudget = { percent: 0, minConcurrency: 0 };
      c.routing.profile = 'round-robin';
      c.fleet.outlier.enabled = false;
    });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => ask(client)));
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    // round robin sends half to the failing replica; with no budget none of those is retried
    expect(failed.length).toBe(3);
    for (const f of failed) expect((f.reason as { status: number }).status).toBe(502);
    expect(await p.gateway.metrics.registry.getSingleMetricAsString('switchyard_upstream_retry_overflow_total')).toMatch(/ 3$/m);
  });

  it('with the default budget, the same failures are retried and every request succeeds', async () => {
    const bad = await fake(fail500);
    const good = await fake(answer(0));
    const { client } = await start([{ id: 'bad', url: bad.url }, { id: 'good', url: good.url }], (c) => {
      c.routing.profile = 'round-robin';
      c.fleet.outlier.enabled = false;
    });
    const texts = await Promise.all(Array.from({ length: 6 }, () => ask(client)));
    expect(texts.every((t) => t === 'fine')).toBe(true);
    expect(bad.seen).toBeGreaterThan(0);
  });
});

describe('outlier detection', () => {
  it('ejects a replica after consecutive failures, so later requests skip it, and shows it in the fleet view', async () => {
    const bad = await fake(fail500);
    const good = await fake(answer(0));
    const { p, client } = await start([{ id: 'bad', url: bad.url }, { id: 'good', url: good.url }], (c) => {
      c.routing.profile = 'round-robin';
      c.fleet.outlier.consecutiveFailures = 3;
    });
    for (let i = 0; i < 12; i++) expect(await ask(client)).toBe('fine');
    const seenAtEjection = bad.seen;
    expect(seenAtEjection).toBe(3);
    for (let i = 0; i < 6; i++) await ask(client);
    expect(bad.seen).toBe(seenAtEjection);
    const view = await admin(p, 'GET', '/fleet');
    const row = view.body.data.find((r: { id: string }) => r.id === 'bad');
    expect(row).toMatchObject({ state: 'ejected', routable: false, ejection_reason: 'consecutive_failures', ejections: 1 });
    // an operator may re-admit it early
    expect((await admin(p, 'POST', '/fleet/replicas/bad/readmit')).body).toMatchObject({ state: 'serving', routable: true });
  });
});

describe('the fleet admin API', () => {
  it('drains a replica without failing what it is serving, and brings it back', async () => {
    const a = await fake(answer(600));
    const b = await fake(answer(0));
    const { p, client } = await start([{ id: 'a', url: a.url }, { id: 'b', url: b.url }], (c) => { c.routing.profile = 'round-robin'; });
    const inflight = [ask(client), ask(client)];
    await new Promise((r) => setTimeout(r, 100));
    expect(a.seen).toBe(1);
    const drained = await admin(p, 'POST', '/fleet/replicas/a/drain');
    expect(drained.body).toMatchObject({ state: 'draining', routable: false, inflight: 1 });
    expect(await Promise.all(inflight)).toEqual(['fine', 'fine']);
    for (let i = 0; i < 4; i++) await ask(client);
    expect(a.seen).toBe(1);
    expect((await admin(p, 'GET', '/fleet/replicas/a')).body.state).toBe('drained');
    await admin(p, 'POST', '/fleet/replicas/a/undrain', undefined, { 'x-switchyard-actor': 'ops@example.com' });
    for (let i = 0; i < 4; i++) await ask(client);
    expect(a.seen).toBeGreaterThan(1);
    // both changes are in the audit trail, newest first, with who, when, before and after
    const audit = (await admin(p, 'GET', '/audit?target=a')).body.data;
    expect(audit.map((r: any) => [r.action, r.actor])).toEqual([['fleet.replica.undrain', 'admin:ops@example.com'], ['fleet.replica.drain', 'admin']]);
    expect(audit[1].before).toMatchObject({ id: 'a', draining: false, routable: true });
    expect(audit[1].after).toMatchObject({ id: 'a', draining: true, routable: false });
    expect(Date.parse(audit[1].at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('sends no request to a replica added at run time before its first probe has passed, so a wrong URL fails none', async () => {
    const a = await fake(answer(0));
    // a base URL that is not a replica's: every path, /health included, is a 404
    const wrong = createServer((q, s) => { q.resume(); s.writeHead(404).end('not found'); });
    servers.push(wrong);
    await new Promise<void>((r) => wrong.listen(0, '127.0.0.1', r));
    let asked = 0;
    wrong.on('request', (q) => { if (q.method === 'POST') asked++; });
    const { p, client } = await start([{ id: 'a', url: a.url }], (c) => { c.routing.profile = 'round-robin'; });
    const url = `http://127.0.0.1:${(wrong.address() as AddressInfo).port}`;
    const added = await admin(p, 'POST', '/fleet/replicas', { model: 'llama-3.1-8b', url, region: 'us-east', id: 'w', served_model: 'm' });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ state: 'joining', routable: false, healthy: false });
    // at once, while its first probe is out, and after it failed
    const texts = await Promise.all(Array.from({ length: 12 }, () => ask(client)));
    expect(texts.every((t) => t === 'fine')).toBe(true);
    await until(async () => (await admin(p, 'GET', '/fleet/replicas/w')).body.checked_at !== null);
    expect((await admin(p, 'GET', '/fleet/replicas/w')).body).toMatchObject({ state: 'unhealthy', routable: false });
    for (let i = 0; i < 4; i++) expect(await ask(client)).toBe('fine');
    expect(asked).toBe(0);
  });

  it('adds a replica at run time and removes one, and refuses what it cannot do', async () => {
    const a = await fake(answer(0));
    const b = await fake(answer(0));
    const { p, client } = await start([{ id: 'a', url: a.url }], (c) => { c.routing.profile = 'round-robin'; });
    const added = await admin(p, 'POST', '/fleet/replicas', { model: 'llama-3.1-8b', url: b.url, region: 'us-east', id: 'b', served_model: 'm' });
    expect(added.status).toBe(201);
    // it joins the rotation once its first probe (sent at once) has passed
    await until(async () => (await admin(p, 'GET', '/fleet/replicas/b')).body.routable === true);
    for (let i = 0; i < 4; i++) await ask(client);
    expect(b.seen).toBe(2);
    expect((await admin(p, 'POST', '/fleet/replicas', { model: 'llama-3.1-8b', url: b.url, region: 'us-east', id: 'b' })).status).toBe(409);
    expect((await admin(p, 'POST', '/fleet/replicas', { model: 'nope', url: b.url, region: 'us-east' })).body.error.message).toMatch(/not configured/);
    expect((await admin(p, 'POST', '/fleet/replicas', { model: 'llama-3.1-8b', url: 'not a url', region: 'us-east' })).status).toBe(400);
    expect((await admin(p, 'DELETE', '/fleet/replicas/a')).status).toBe(200);
    for (let i = 0; i < 3; i++) await ask(client);
    expect(a.seen).toBe(2);
    expect((await admin(p, 'GET', '/fleet')).body.data.map((r: { id: string }) => r.id)).toEqual(['b']);
    // tenant keys cannot touch the fleet
    const res = await fetch(`${p.url}/admin/v1/fleet`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(403);
  });
});

describe('prefix affinity on the live gateway (default profile)', () => {
  it('sends a conversation back to the replica that holds its prompt', async () => {
    const a = await fake(answer(0));
    const b = await fake(answer(0));
    const { client } = await start([{ id: 'a', url: a.url }, { id: 'b', url: b.url }]);
    const system = 'You are the support assistant of a very particular company. '.repeat(60);
    const turn = (n: number) => client.messages.create({ model: 'llama-3.1-8b', max_tokens: 16, system, messages: [{ role: 'user', content: `question ${n}` }] });
    await turn(0);
    const first = a.seen === 1 ? a : b;
    for (let i = 1; i < 8; i++) await turn(i);
    expect(first.seen).toBe(8);
  });
});
