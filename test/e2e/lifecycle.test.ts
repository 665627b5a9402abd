import Anthropic from '@anthropic-ai/sdk';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../src/control/index.js';
import { openStore } from '../../src/tenancy/index.js';
import { ADMIN_TOKEN, BIN, DEMO_KEY, admin, eventually, startSwitchyard, type Running } from './harness.js';
import { head, rawClient } from '../gateway/raw-client.js';

const MODEL = 'llama-3.1-8b';

async function demoTenantId(url: string): Promise<string> {
  // A tenant's own key sees only its own tenant.
  const res = await fetch(`${url}/admin/v1/tenants`, { headers: { 'x-api-key': DEMO_KEY } });
  const body = await res.json();
  expect(body.data).toHaveLength(1);
  return body.data[0].id;
}


/** The rest of a response body, as text. */
async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += Buffer.from(value).toString();
  }
}
describe('the usage ledger', () => {
  let sy: Running;
  beforeAll(async () => { sy = await startSwitchyard(); }, 90_000);
  afterAll(async () => { await sy.stop(); });

  it('writes one record per request, whatever its API, mode or outcome', async () => {
    const a = new Anthropic({ baseURL: sy.url, apiKey: DEMO_KEY, maxRetries: 0 });
    const o = new OpenAI({ baseURL: `${sy.url}/v1`, apiKey: DEMO_KEY, maxRetries: 0 });
    const ids: string[] = [];
    const r1 = await a.messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'one' }] }).withResponse();
    ids.push(r1.response.headers.get('request-id')!);
    const s = a.messages.stream({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'two' }] });
    await s.finalMessage();
    ids.push((await s.withResponse()).response.headers.get('request-id')!);
    const r3 = await o.chat.completions.create({ model: 'llama-3.3-70b', max_tokens: 8, messages: [{ role: 'user', content: 'three' }] }).withResponse();
    ids.push(r3.response.headers.get('x-request-id')!);
    const r4 = await a.messages.create({ model: 'nope', max_tokens: 8, messages: [{ role: 'user', content: 'four' }] }).catch((e) => e);
    ids.push(r4.requestID);

    const tenant = await demoTenantId(sy.url);
    const rows = await eventually(async () => {
      const { body } = await admin(sy.url, `/tenants/${tenant}/usage?limit=100`);
      const mine = body.data.filter((r: { request_id: string }) => ids.includes(r.request_id));
      return mine.length === ids.length ? mine : null;
    });
    const byId = new Map(rows.map((r: any) => [r.request_id, r]));
    const ok1: any = byId.get(ids[0]);
    expect(ok1.outcome).toBe('ok');
    expect(ok1.model).toBe(MODEL);
    expect(ok1.input_tokens).toBeGreaterThan(0);
    expect(ok1.output_tokens).toBeGreaterThan(0);
    expect(ok1.replica).toMatch(/llama-3.1-8b/);
    expect(ok1.region).toBe('us-east');
    expect(ok1.cost_usd).toBeGreaterThan(0);
    const streamed: any = byId.get(ids[1]);
    expect(streamed.stream).toBe(true);
    expect(streamed.ttft_ms).toBeGreaterThan(0);
    expect(streamed.output_tokens).toBeGreaterThan(0);
    expect((byId.get(ids[2]) as any).wire).toBe('openai');
    const failed: any = byId.get(ids[3]);
    expect(failed.status).toBe(404);
    expect(failed.outcome).toBe('client_error');
  });

  it('answers a burst of 200 concurrent requests from both SDKs, streamed and not, and records every one', async () => {
    const a = new Anthropic({ baseURL: sy.url, apiKey: DEMO_KEY, maxRetries: 0 });
    const o = new OpenAI({ baseURL: `${sy.url}/v1`, apiKey: DEMO_KEY, maxRetries: 0 });
    const one = async (i: number): Promise<string> => {
      const content = `burst ${i}`;
      switch (i % 4) {
        case 0: return (await a.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content }] }).withResponse()).response.headers.get('request-id')!;
        case 1: {
          const s = a.messages.stream({ model: 'llama-3.3-70b', max_tokens: 16, messages: [{ role: 'user', content }] });
          expect((await s.finalMessage()).usage.output_tokens).toBeGreaterThan(0);
          return (await s.withResponse()).response.headers.get('request-id')!;
        }
        case 2: return (await o.chat.completions.create({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content }] }).withResponse()).response.headers.get('x-request-id')!;
        default: {
          const { data, response } = await o.chat.completions.create({ model: 'llama-3.3-70b', max_tokens: 16, stream: true, messages: [{ role: 'user', content }] }).withResponse();
          let text = '';
          for await (const c of data) text += c.choices[0]?.delta.content ?? '';
          expect(text.length).toBeGreaterThan(0);
          return response.headers.get('x-request-id')!;
        }
      }
    };
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => one(i)));
    expect(new Set(ids).size).toBe(200);
    const tenant = await demoTenantId(sy.url);
    await eventually(async () => {
      const { body } = await admin(sy.url, `/tenants/${tenant}/usage?limit=1000`);
      const mine = body.data.filter((r: { request_id: string; outcome: string }) => ids.includes(r.request_id) && r.outcome === 'ok');
      return mine.length === 200;
    });
  }, 60_000);

  it('cancels the upstream request when the client disconnects mid-stream, and the replica frees its KV', async () => {
    const ac = new AbortController();
    // vLLM's ignore_eos (passed through) keeps the replica generating until max_tokens.
    const res = await fetch(`${sy.url}/v1/chat/completions`, {
      method: 'POST', signal: ac.signal,
      headers: { authorization: `Bearer ${DEMO_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 4000, ignore_eos: true, stream: true, messages: [{ role: 'user', content: 'go on forever' }] }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    const { body: fleet } = await admin(sy.url, '/fleet');
    const busy = fleet.data.find((r: any) => r.inflight > 0);
    expect(busy).toBeDefined();
    const running = async () => {
      const text = await (await fetch(`${busy.url}/metrics`)).text();
      return Number(/^vllm:num_requests_running\{[^}]*\} (\S+)/m.exec(text)?.[1]);
    };
    expect(await running()).toBe(1);
    ac.abort();
    await eventually(async () => (await running()) === 0);
    const kv = Number(/^vllm:kv_cache_usage_perc\{[^}]*\} (\S+)/m.exec(await (await fetch(`${busy.url}/metrics`)).text())?.[1]);
    expect(kv).toBe(0);
    await eventually(async () => (await admin(sy.url, '/fleet')).body.data.every((r: any) => r.inflight === 0));
  });

  it('keeps the fleet view to the admin token', async () => {
    const res = await fetch(`${sy.url}/admin/v1/fleet`, { headers: { 'x-api-key': DEMO_KEY } });
    expect(res.status).toBe(403);
    expect((await fetch(`${sy.url}/admin/v1/fleet`)).status).toBe(401);
  });

  it('answers /healthz and serves Prometheus metrics', async () => {
    expect((await fetch(`${sy.url}/healthz`)).status).toBe(200);
    const text = await (await fetch(`${sy.url}/metrics`)).text();
    expect(text).toMatch(/^switchyard_requests_total\{/m);
    expect(text).toMatch(/^switchyard_replica_healthy\{.*\} 1$/m);
  });
});

describe('a clean shutdown', () => {
  // SIGTERM to the gateway (a process manager), and Ctrl-C in a terminal, which signals the whole
  // process group: the demo replicas must not die under the requests being drained.
  it.each([
    { how: 'SIGTERM to the gateway', stop: (sy: Running) => sy.stop('SIGTERM') },
    { how: 'Ctrl-C to the process group', stop: (sy: Running) => sy.interruptGroup() },
  ])('lets an in-flight stream finish, flushes the ledger and exits 0 on $how', async ({ stop }) => {
    const sy = await startSwitchyard();
    const res = await fetch(`${sy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 120, ignore_eos: true, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'long' }] }),
    });
    const requestId = res.headers.get('x-request-id')!;
    const reader = res.body!.getReader();
    await reader.read();
    const exited = stop(sy);
    const text = await readRest(reader);
    expect(text).toContain('"finish_reason":"length"');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await exited).toBe(0);
    const store = await openStore(`sqlite:${sy.dataDir}/switchyard.db`);
    try {
      const tenants = await store.listTenants();
      const rows = (await Promise.all(tenants.map((t) => store.queryUsage({ tenantId: t.id, limit: 100 })))).flat();
      const row = rows.find((r) => r.requestId === requestId);
      expect(row?.outcome).toBe('ok');
      expect(row?.outputTokens).toBe(120);
    } finally {
      await store.close();
    }
  }, 90_000);
});

describe('draining', () => {
  it('#11 – answers /healthz 503 draining, and new requests overloaded with connection: close, while in-flight work finishes', async () => {
    const sy = await startSwitchyard();
    const res = await fetch(`${sy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 400, ignore_eos: true, stream: true, messages: [{ role: 'user', content: 'long' }] }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    const exited = sy.stop('SIGTERM');
    // the listener is still open: a load balancer hears "draining", not a refused connection
    const health = await eventually(async () => {
      const h = await fetch(`${sy.url}/healthz`);
      return h.status === 503 ? h : null;
    });
    expect(await health.json()).toEqual({ status: 'draining' });
    const raw = await rawClient(sy.url);
    await raw.write(head('POST', '/v1/messages', { 'x-api-key': DEMO_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', 'content-length': 2 }) + '{}');
    await raw.waitFor(/^HTTP\/1\.1 529 [\s\S]*"overloaded_error"/);
    expect(raw.received()).toMatch(/\r\nconnection: close\r\n/i);
    await raw.closed;
    const o = await fetch(`${sy.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${DEMO_KEY}`, 'content-type': 'application/json' }, body: '{}' });
    expect(o.status).toBe(503);
    expect((await o.json()).error.code).toBe('overloaded');
    const text = await readRest(reader);
    expect(text).toContain('"finish_reason":"length"');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await exited).toBe(0);
    // and once drained, it is gone
    await expect(fetch(`${sy.url}/healthz`)).rejects.toThrow();
    // the two refused during the drain were authenticated, so they are on the ledger like any refusal
    const refusedId = o.headers.get('x-request-id');
    const store = await openStore(`sqlite:${sy.dataDir}/switchyard.db`);
    try {
      const rows = (await Promise.all((await store.listTenants()).map((t) => store.queryUsage({ tenantId: t.id, limit: 100 })))).flat();
      expect(rows.filter((r) => r.outcome === 'overloaded').map((r) => r.status).sort()).toEqual([503, 529]);
      expect(rows.find((r) => r.requestId === refusedId)).toMatchObject({ status: 503, outcome: 'overloaded', wire: 'openai' });
    } finally {
      await store.close();
    }
  }, 90_000);

  it('records a stream cut at the drain deadline in the store, as cancelled, before it exits', async () => {
    // with the default SQLite store the ledger closed before the cut requests had settled: their
    // records went to the spill file, as upstream errors, and reached the store only on a next start
    const sy = await startSwitchyard({ config: 'server: { drainTimeoutMs: 300 }\n' });
    const res = await fetch(`${sy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 4_000, ignore_eos: true, stream: true, messages: [{ role: 'user', content: 'long' }] }),
    });
    const requestId = res.headers.get('x-request-id')!;
    const reader = res.body!.getReader();
    await reader.read();
    expect(await sy.stop('SIGTERM')).toBe(0);
    await readRest(reader).catch(() => '');
    expect(existsSync(join(sy.dataDir, 'ledger-spill.jsonl')) ? readFileSync(join(sy.dataDir, 'ledger-spill.jsonl'), 'utf8') : '').toBe('');
    const store = await openStore(`sqlite:${sy.dataDir}/switchyard.db`);
    try {
      const rows = (await Promise.all((await store.listTenants()).map((t) => store.queryUsage({ tenantId: t.id, limit: 100 })))).flat();
      expect(rows.find((r) => r.requestId === requestId)).toMatchObject({ status: 499, outcome: 'cancelled' });
    } finally {
      await store.close();
    }
  }, 90_000);
});

describe('/metrics behind a token', () => {
  it('#11 – with SWITCHYARD_METRICS_TOKEN set, wants that bearer token (401 otherwise); /healthz stays open', async () => {
    const sy = await startSwitchyard({ env: { SWITCHYARD_METRICS_TOKEN: 'scrape-me' } });
    try {
      const none = await fetch(`${sy.url}/metrics`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await fetch(`${sy.url}/metrics`, { headers: { authorization: 'Bearer scrape-mf' } })).status).toBe(401);
      const ok = await fetch(`${sy.url}/metrics`, { headers: { authorization: 'Bearer scrape-me' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toMatch(/^# TYPE switchyard_internal_errors_total counter$/m);
      expect((await fetch(`${sy.url}/healthz`)).status).toBe(200);
    } finally {
      expect(await sy.stop()).toBe(0);
    }
  }, 90_000);
});

describe('what escapes every handler', () => {
  it('#11 – is logged with its stack and counted, and the process lives on', async () => {
    const script = `
      const { guardProcess, createLogger } = await import(${JSON.stringify(new URL('../../dist/observe/index.js', import.meta.url).href)});
      let n = 0;
      guardProcess(createLogger('error'), () => n++);
      setTimeout(() => { throw new Error('thrown in a timer'); }, 0);
      Promise.reject(new Error('nobody awaited this'));
      setTimeout(() => console.log(JSON.stringify({ alive: true, counted: n })), 50);
    `;
    const run = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    run.stdout!.on('data', (d) => (out += d));
    run.stderr!.on('data', (d) => (out += d));
    expect(await new Promise((r) => run.once('exit', r))).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1)).toEqual({ alive: true, counted: 2 });
    const stacks = lines.filter((l) => l.err).map((l) => l.err.stack.split('\n')[0]).sort();
    expect(stacks).toEqual(['Error: nobody awaited this', 'Error: thrown in a timer']);
  });
});

describe('fronting your own replicas with --replica', () => {
  let engine: ChildProcess;
  let hang: Server;
  let sy: Running;
  beforeAll(async () => {
    const [enginePort, deadPort] = await freePorts(2);
    engine = spawn(process.execPath, [BIN, 'engine', '--port', String(enginePort), '--model', 'served-name', '--profile', 'llama-3.1-8b-h100'], { stdio: 'ignore' });
    await eventually(async () => (await fetch(`http://127.0.0.1:${enginePort}/health`).catch(() => null))?.ok, 20_000);
    // A replica that is healthy but never answers a completion.
    hang = createServer((req, res) => { if (req.url === '/health') res.end(); });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const hangUrl = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
    sy = await startSwitchyard({
      config: [
        'upstream: { headersTimeoutMs: 800, firstTokenTimeoutMs: 800 }',
        'replicas:',
        `  - { model: mine, url: "http://127.0.0.1:${enginePort}/v1", servedModel: served-name, region: lab }`,
        `  - { model: slow, url: "${hangUrl}", region: lab }`,
        `  - { model: dead, url: "http://127.0.0.1:${deadPort}", region: lab }`,
      ].join('\n'),
    });
  }, 90_000);
  afterAll(async () => {
    await sy?.stop();
    engine?.kill('SIGTERM');
    hang?.closeAllConnections();
    hang?.close();
  });

  it('serves the endpoint under its public name', async () => {
    const o = new OpenAI({ baseURL: `${sy.url}/v1`, apiKey: DEMO_KEY, maxRetries: 0 });
    const r = await o.chat.completions.create({ model: 'mine', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.model).toBe('mine');
    expect(r.choices[0].message.content!.length).toBeGreaterThan(0);
  });

  it('answers 504 timeout_error when a replica does not answer in time, and keeps serving', async () => {
    const a = new Anthropic({ baseURL: sy.url, apiKey: DEMO_KEY, maxRetries: 0 });
    const err = await a.messages.create({ model: 'slow', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err.status).toBe(504);
    expect(err.error.error.type).toBe('timeout_error');
    const o = new OpenAI({ baseURL: `${sy.url}/v1`, apiKey: DEMO_KEY, maxRetries: 0 });
    const err2 = await o.chat.completions.create({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err2.status).toBe(504);
    expect((await o.chat.completions.create({ model: 'mine', max_tokens: 2, messages: [{ role: 'user', content: 'x' }] })).object).toBe('chat.completion');
  });

  it('answers a down replica in the client\'s wire format (Anthropic 5xx, OpenAI 5xx) with a clear message', async () => {
    const a = new Anthropic({ baseURL: sy.url, apiKey: DEMO_KEY, maxRetries: 0 });
    const err = await a.messages.create({ model: 'dead', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect([502, 529]).toContain(err.status);
    expect(err.error.type).toBe('error');
    expect(err.error.error.message).toMatch(/dead/);
    const o = new OpenAI({ baseURL: `${sy.url}/v1`, apiKey: DEMO_KEY, maxRetries: 0 });
    const err2 = await o.chat.completions.create({ model: 'dead', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect([502, 503]).toContain(err2.status);
    expect(err2.error.message).toMatch(/dead/);
  });
});

describe('keys from the command line', () => {
  let sy: Running;
  beforeAll(async () => { sy = await startSwitchyard(); }, 90_000);
  // Ctrl-C is a clean stop too.
  afterAll(async () => { expect(await sy.stop('SIGINT')).toBe(0); });

  it('creates a key once, for a new tenant, that works at once, sees only its own tenant, and dies when revoked', async () => {
    const run = spawn(process.execPath, [BIN, 'keys', 'create', '--tenant', 'acme', '--data-dir', sy.dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    run.stdout!.on('data', (d) => (out += d));
    expect(await new Promise((r) => run.once('exit', r))).toBe(0);
    const secret = out.trim();
    expect(secret).toMatch(/^sk-sy-/);

    const o = new OpenAI({ baseURL: `${sy.url}/v1`, apiKey: secret, maxRetries: 0 });
    const r = await o.chat.completions.create({ model: MODEL, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.object).toBe('chat.completion');

    // acme's key lists only acme; the demo tenant is invisible to it (404, as if missing).
    const mine = await (await fetch(`${sy.url}/admin/v1/tenants`, { headers: { 'x-api-key': secret } })).json();
    expect(mine.data.map((t: any) => t.name)).toEqual(['acme']);
    const demo = await demoTenantId(sy.url);
    const peek = await fetch(`${sy.url}/admin/v1/tenants/${demo}/usage`, { headers: { 'x-api-key': secret } });
    expect(peek.status).toBe(404);
    // Revoked through the admin API, the key stops working at once, in the client's wire format.
    const keys = await admin(sy.url, `/tenants/${mine.data[0].id}/keys`);
    expect(keys.body.data).toHaveLength(1);
    expect((await admin(sy.url, `/keys/${keys.body.data[0].id}/revoke`, { method: 'POST', body: '{}' })).status).toBe(200);
    const revoked = await o.chat.completions.create({ model: MODEL, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(revoked).toBeInstanceOf(OpenAI.AuthenticationError);
    const a = new Anthropic({ baseURL: sy.url, apiKey: secret, maxRetries: 0 });
    const revokedA = await a.messages.create({ model: MODEL, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(revokedA).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(revokedA.error.error.type).toBe('authentication_error');
    // The secret is stored only as a hash: it appears nowhere in the database file.
    const { readFileSync, readdirSync } = await import('node:fs');
    for (const f of readdirSync(sy.dataDir).filter((f) => f.startsWith('switchyard.db'))) {
      expect(readFileSync(`${sy.dataDir}/${f}`).includes(Buffer.from(secret))).toBe(false);
    }
  });
});

describe('a PostgreSQL store', () => {
  it('keeps tenants, keys and the ledger in PostgreSQL with --store', async () => {
    const schema = `e2e_${process.pid}_${Date.now()}`;
    const url = `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`;
    const sy = await startSwitchyard({ args: ['--store', url] });
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
    await client.connect();
    try {
      const a = new Anthropic({ baseURL: sy.url, apiKey: DEMO_KEY, maxRetries: 0 });
      const { response } = await a.messages.create({ model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: 'pg' }] }).withResponse();
      const id = response.headers.get('request-id');
      expect(await sy.stop()).toBe(0);
      const rows = await client.query(`select * from "${schema}".usage_records where request_id = $1`, [id]);
      expect(rows.rowCount).toBe(1);
    } finally {
      await sy.stop();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    }
  }, 90_000);
});

describe('starting and dying', () => {
  it('refuses a taken port at once, with a message that says what to do', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const run = spawn(process.execPath, [BIN, 'up', '--port', String(port), '--data-dir', `/tmp/sy-taken-${process.pid}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      run.stderr!.on('data', (d) => (err += d));
      // exit 2: a usage mistake (the address given), fixed with --port
      expect(await new Promise((r) => run.once('exit', r))).toBe(2);
      expect(err).toContain(`127.0.0.1:${port} is already in use`);
      expect(err).toContain('--port');
    } finally {
      blocker.close();
    }
  });

  it('takes its demo replicas with it when it is killed outright', async () => {
    const sy = await startSwitchyard();
    const { body } = await admin(sy.url, '/fleet');
    const urls: string[] = body.data.map((r: any) => r.url);
    expect(urls.length).toBeGreaterThanOrEqual(8);
    await sy.stop('SIGKILL');
    await eventually(async () => {
      const alive = await Promise.all(urls.map((u) => fetch(`${u}/health`).then(() => true, () => false)));
      return alive.every((a) => !a);
    }, 10_000);
  }, 90_000);
});
