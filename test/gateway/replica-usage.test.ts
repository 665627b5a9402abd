import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushLimitHeaders } from '../../src/api/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startPlatform, type Platform } from '../../src/gateway/index.js';
import { createLogger } from '../../src/observe/index.js';
import { demoStore } from './support.js';

// A replica's usage is untrusted input: the gateway in-process, in front of a replica that reports
// its token counts wrongly (a string, a float, a negative, an object, none at all), on both wires,
// streamed and not. The client always gets valid JSON with integer counts, the limiter is not
// poisoned for the next request, and each request gets exactly one well-formed usage record.
const KEY = 'sk-sy-gateway-replica-usage-test-key-0000000';

/** What the replica reports, by the served model name the gateway asks it for. */
const REPORTED: Record<string, object | undefined> = {
  string: { prompt_tokens: '10', completion_tokens: 'abc', total_tokens: '10abc' },
  float: { prompt_tokens: 10.5, completion_tokens: 3.2, total_tokens: 13.7 },
  negative: { prompt_tokens: -3, completion_tokens: -1, total_tokens: -4 },
  object: { prompt_tokens: {}, completion_tokens: [], total_tokens: null, prompt_tokens_details: { cached_tokens: 'x' } },
  missing: undefined,
  // a good count beside a bad one is kept; more cached tokens than the prompt had is capped at the prompt
  partly: { prompt_tokens: 12, completion_tokens: 'abc', total_tokens: 12, prompt_tokens_details: { cached_tokens: 40 } },
};
/** What the gateway should count: [input (cached included), cached, output]. */
const COUNTED: Record<string, [number, number, number]> = {
  string: [0, 0, 0], float: [0, 0, 0], negative: [0, 0, 0], object: [0, 0, 0], missing: [0, 0, 0], partly: [12, 12, 0],
};
const MODES = Object.keys(REPORTED);

let replica: Server;
let platform: Platform;

beforeAll(async () => {
  replica = createServer((q, s) => {
    if (q.method === 'GET') return void s.end(); // /health
    let raw = '';
    q.on('data', (d) => (raw += d)).on('end', () => {
      const body = JSON.parse(raw);
      const usage = REPORTED[body.model];
      const base = { id: 'chatcmpl-x', created: 1, model: body.model };
      if (!body.stream) {
        s.writeHead(200, { 'content-type': 'application/json' });
        return void s.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage }));
      }
      const chunk = (o: object) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', ...o })}\n\n`;
      s.writeHead(200, { 'content-type': 'text/event-stream' });
      s.write(chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }] }));
      s.write(chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
      // vLLM's usage-only chunk that ends an include_usage stream
      if (usage !== undefined) s.write(chunk({ choices: [], usage }));
      s.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((r) => replica.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(replica.address() as AddressInfo).port}`;
  const config = loadConfig(undefined, { port: 0 });
  config.fleet.scrapeIntervalMs = 0;
  const replicas = MODES.map((mode) => ({ id: `us-east/${mode}/0`, model: `usage-${mode}`, servedModel: mode, region: 'us-east', url }));
  for (const r of replicas) config.models.push({ ...config.models[0], id: r.model, displayName: r.model });
  platform = await startPlatform({ config, replicas, storeUrl: await demoStore(KEY), adminToken: null, log: createLogger('silent') });
});

afterAll(async () => {
  await platform?.close();
  replica?.closeAllConnections();
  replica?.close();
});

type Wire = 'anthropic' | 'openai';

async function ask(wire: Wire, model: string, stream: boolean): Promise<Response> {
  const messages = [{ role: 'user', content: 'Hello' }];
  return wire === 'anthropic'
    ? fetch(`${platform.url}/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 64, stream, messages }),
    })
    : fetch(`${platform.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 64, stream, ...(stream ? { stream_options: { include_usage: true } } : {}), messages }),
    });
}

/** Every `data:` payload of an SSE body, each parsed (a payload that is not JSON throws). */
function events(text: string): any[] {
  const out: any[] = [];
  for (const frame of text.split('\n\n')) {
    const data = frame.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
    if (data !== undefined && data !== '[DONE]') out.push(JSON.parse(data));
  }
  return out;
}

/** The usage the client was told, in its wire's shape (null: none was sent). */
function usageOf(wire: Wire, stream: boolean, text: string): Record<string, unknown> | null {
  if (!stream) return JSON.parse(text).usage;
  const all = events(text);
  if (wire === 'anthropic') return all.find((e) => e.type === 'message_delta')?.usage ?? null;
  return all.find((e) => Array.isArray(e.choices) && e.choices.length === 0 && e.usage)?.usage ?? null;
}

function noNaNHeaders(res: Response): void {
  for (const [name, value] of res.headers) expect(value, name).not.toMatch(/NaN|Infinity|undefined/);
}

const asked: Array<{ requestId: string; mode: string }> = [];

describe('a replica that reports its token usage wrongly', () => {
  for (const mode of MODES) {
    const [input, cached, output] = COUNTED[mode];
    it(`(${mode}): each wire, streamed or not, gets valid JSON with integer usage, and the next request is unaffected`, async () => {
      for (const wire of ['anthropic', 'openai'] as const) {
        for (const stream of [false, true]) {
          const res = await ask(wire, `usage-${mode}`, stream);
          const text = await res.text();
          expect(res.status, `${wire} stream=${stream}: ${text}`).toBe(200);
          noNaNHeaders(res);
          asked.push({ requestId: res.headers.get('request-id')!, mode });
          const usage = usageOf(wire, stream, text);
          if (mode === 'missing' && wire === 'openai' && stream) {
            // no usage from the replica: none is made up (nothing to relay)
            expect(usage).toBeNull();
            continue;
          }
          expect(usage, `${wire} stream=${stream}`).not.toBeNull();
          for (const [k, v] of Object.entries(usage!)) if (k !== 'service_tier' && k !== 'prompt_tokens_details') expect(Number.isSafeInteger(v), `${k}=${String(v)}`).toBe(true);
          if (wire === 'anthropic') {
            expect(usage).toMatchObject({ input_tokens: input - cached, cache_read_input_tokens: cached, output_tokens: output });
          } else {
            expect(usage).toEqual({ prompt_tokens: input, completion_tokens: output, total_tokens: input + output, prompt_tokens_details: { cached_tokens: cached } });
          }
        }
      }
      // the bucket its counts corrected still holds a number: the limit headers say so, on both wires
      const a = await ask('anthropic', `usage-${mode}`, false);
      await a.text();
      expect(a.status).toBe(200);
      noNaNHeaders(a);
      expect(Date.parse(a.headers.get('anthropic-ratelimit-output-tokens-reset')!)).not.toBeNaN();
      expect(Number(a.headers.get('anthropic-ratelimit-output-tokens-remaining'))).toBeGreaterThan(0);
      const o = await ask('openai', `usage-${mode}`, false);
      await o.text();
      expect(o.status).toBe(200);
      expect(o.headers.get('x-ratelimit-remaining-tokens')).toMatch(/^\d+$/);
      expect(o.headers.get('x-ratelimit-reset-tokens')).toMatch(/^(\d+ms|\d+s|\d+m\d+s)$/);
      asked.push({ requestId: a.headers.get('request-id')!, mode }, { requestId: o.headers.get('request-id')!, mode });
    });
  }

  it('leaves exactly one well-formed usage record per request in the ledger, with the counts the client was told', async () => {
    expect(asked).toHaveLength(MODES.length * 6);
    await platform.ledger.flush();
    expect(platform.ledger.stats().dropped).toBe(0);
    const tenants = await platform.store.listTenants();
    const rows = (await Promise.all(tenants.map((t) => platform.store.queryUsage({ tenantId: t.id, limit: 500 })))).flat();
    for (const { requestId, mode } of asked) {
      const mine = rows.filter((r) => r.requestId === requestId);
      expect(mine, `${mode} ${requestId}`).toHaveLength(1);
      const [input, cached, output] = COUNTED[mode];
      expect(mine[0]).toMatchObject({ outcome: 'ok', status: 200, inputTokens: input, cachedInputTokens: cached, outputTokens: output });
    }
  });
});

describe('the rate-limit headers of a bucket whose time until full is not a number', () => {
  // never expected once counts are checked; a header is still no reason to fail the response
  const nan = { limit: 100, remaining: 50, untilFullMs: NaN };
  const state = { requests: { limit: 10, remaining: 9, untilFullMs: 6_000 }, inputTokens: nan, outputTokens: { ...nan, untilFullMs: Infinity } };

  it('say the bucket is full now, on both wires, instead of throwing', () => {
    const now = Date.UTC(2026, 0, 2, 3, 4, 5);
    const a: string[] = [];
    pushLimitHeaders(a, 'anthropic', state, now);
    expect(a[a.indexOf('anthropic-ratelimit-input-tokens-reset') + 1]).toBe('2026-01-02T03:04:05Z');
    expect(a[a.indexOf('anthropic-ratelimit-output-tokens-reset') + 1]).toBe('2026-01-02T03:04:05Z');
    expect(a[a.indexOf('anthropic-ratelimit-requests-reset') + 1]).toBe('2026-01-02T03:04:11Z');
    const o: string[] = [];
    pushLimitHeaders(o, 'openai', state, now);
    expect(o[o.indexOf('x-ratelimit-reset-tokens') + 1]).toBe('0ms');
    expect(o[o.indexOf('x-ratelimit-reset-requests') + 1]).toBe('6s');
  });
});
