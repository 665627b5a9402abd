import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { ServerResponse } from 'node:http';
import type { InferenceRequest } from '../../src/api/index.js';
import { configSchema, tierSchema, type Config } from '../../src/config/index.js';
import { RateLimits } from '../../src/gateway/rate-limits.js';
import { createLogger } from '../../src/observe/index.js';
import type { AuthContext } from '../../src/tenancy/index.js';
import type { Platform } from '../../src/gateway/index.js';
import { scriptedPlatform } from './support.js';

// Rate limits as the official SDKs meet them: headers in each API's own family on every response,
// 429 in each API's envelope with retry-after, the SDKs' own retries honouring it, and the output
// reservation given back when a request ends.
const KEY = 'sk-sy-gateway-ratelimit-test-key-00000000000';
const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const completion = JSON.stringify({ id: 'chatcmpl-ok', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage });

let platform: Platform | null = null;

async function start(tier: z.input<typeof tierSchema>): Promise<Platform> {
  platform = await scriptedPlatform({
    key: KEY,
    replica: (q, s) => {
      if (q.method === 'GET') return void s.end();
      q.resume().on('end', () => s.writeHead(200, { 'content-type': 'application/json' }).end(completion));
    },
    configure: (config) => void (config.tiers = { default: tierSchema.parse(tier) }),
  });
  return platform;
}

afterEach(async () => {
  await platform?.close();
  platform = null;
});

const ask = (c: Anthropic, maxTokens = 16) =>
  c.messages.create({ model: 'llama-3.1-8b', max_tokens: maxTokens, messages: [{ role: 'user', content: 'hi' }] }).withResponse();

describe('rate limits as the official SDKs see them', () => {
  it('carries Anthropic\'s anthropic-ratelimit-* headers on every response, counting down', async () => {
    const p = await start({ requestsPerMinute: 100, inputTokensPerMinute: 100_000, outputTokensPerMinute: 10_000 });
    const c = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    const first = (await ask(c)).response.headers;
    const second = (await ask(c)).response.headers;
    expect(first.get('anthropic-ratelimit-requests-limit')).toBe('100');
    expect(first.get('anthropic-ratelimit-requests-remaining')).toBe('99');
    expect(second.get('anthropic-ratelimit-requests-remaining')).toBe('98');
    expect(first.get('anthropic-ratelimit-input-tokens-limit')).toBe('100000');
    expect(first.get('anthropic-ratelimit-output-tokens-limit')).toBe('10000');
    expect(first.get('anthropic-ratelimit-requests-reset')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Number(first.get('anthropic-ratelimit-input-tokens-remaining'))).toBeLessThan(100_000);
    expect(first.get('anthropic-ratelimit-tokens-limit')).not.toBeNull();
  });

  it('carries OpenAI\'s x-ratelimit-* headers, resets as durations', async () => {
    const p = await start({ requestsPerMinute: 100, inputTokensPerMinute: 100_000, outputTokensPerMinute: 10_000 });
    const c = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const { response } = await c.chat.completions.create({ model: 'llama-3.1-8b', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('100');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('99');
    expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+ms|\d+s|\d+m\d+s)$/);
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('110000');
  });

  it('answers 429 rate_limit_error with retry-after once the requests per minute are spent, in each envelope', async () => {
    const p = await start({ requestsPerMinute: 3, inputTokensPerMinute: 100_000, outputTokensPerMinute: 10_000 });
    const a = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    for (let i = 0; i < 3; i++) await ask(a);
    const err = await ask(a).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const e = err as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.status).toBe(429);
    expect((e.error as { error: { type: string; message: string } }).error.type).toBe('rate_limit_error');
    expect((e.error as { error: { message: string } }).error.message).toMatch(/requests per minute \(3\)/);
    // 3 a minute: the next one in 20 s
    expect(Number(e.headers?.get('retry-after'))).toBe(20);
    expect(Number(e.headers?.get('retry-after-ms'))).toBeGreaterThan(19_000);
    expect(e.headers?.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    const o = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const oe = await o.chat.completions.create({ model: 'llama-3.1-8b', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).then(() => null, (x: unknown) => x);
    expect(oe).toBeInstanceOf(OpenAI.RateLimitError);
    expect((oe as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('rate_limit_exceeded');
  });

  it('lets the SDK\'s own retry wait out a short retry-after and succeed', async () => {
    // 120 a minute: one every 500 ms once the burst is spent
    const p = await start({ requestsPerMinute: 120, inputTokensPerMinute: 1_000_000, outputTokensPerMinute: 100_000 });
    const quick = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    // 20 past the bucket: a busy box refills a few tokens (2 a second) while the burst is in flight
    const burst = await Promise.allSettled(Array.from({ length: 140 }, () => ask(quick)));
    expect(burst.filter((r) => r.status === 'rejected').length).toBeGreaterThanOrEqual(5);
    // Spend whatever refilled while the burst ran, until the next token is at least 200 ms away,
    // so the patient client's first try is sure to be refused.
    for (;;) {
      const e = await ask(quick).then(() => null, (x: unknown) => x as InstanceType<typeof Anthropic.RateLimitError>);
      if (e && Number(e.headers?.get('retry-after-ms')) >= 200) break;
      if (e) await new Promise((r) => setTimeout(r, Number(e.headers?.get('retry-after-ms')) + 5));
    }
    const statuses: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      statuses.push(res.status);
      return res;
    };
    const patient = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 2, fetch: counting });
    const { data } = await ask(patient);
    expect(data.content[0]).toMatchObject({ type: 'text', text: 'fine' });
    // refused first, then the SDK waited out retry-after on its own and got through
    expect(statuses[0]).toBe(429);
    expect(statuses.at(-1)).toBe(200);
  });

  it('reserves max_tokens of output and gives back what the answer did not use', async () => {
    const p = await start({ requestsPerMinute: 100, inputTokensPerMinute: 100_000, outputTokensPerMinute: 1_000 });
    const c = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    // 800 reserved while it runs: 200 left
    const first = await ask(c, 800);
    expect(first.response.headers.get('anthropic-ratelimit-output-tokens-remaining')).toBe('200');
    // it used 2: 798 came back when it ended, so a second 800 fits (it would not, held) and leaves ~198
    const second = await ask(c, 800);
    const left = Number(second.response.headers.get('anthropic-ratelimit-output-tokens-remaining'));
    expect(left).toBeGreaterThanOrEqual(198);
    expect(left).toBeLessThan(205);
  });

  it('charges input by estimate before admission and sets it right by the replica\'s count after', async () => {
    // 1,000 a minute refills one token in 60 ms: slow enough to read the correction exactly
    const p = await start({ requestsPerMinute: 100, inputTokensPerMinute: 1_000, outputTokensPerMinute: 10_000 });
    const c = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    const first = Number((await ask(c)).response.headers.get('anthropic-ratelimit-input-tokens-remaining'));
    const second = Number((await ask(c)).response.headers.get('anthropic-ratelimit-input-tokens-remaining'));
    const estimate = 1_000 - first;
    // the body is estimated at about four bytes a token; the replica counted 7
    expect(estimate).toBeGreaterThan(7);
    // so the first request's charge came down to 7 before the second one was charged its own estimate
    expect(second).toBeGreaterThanOrEqual(1_000 - 7 - estimate);
    expect(second).toBeLessThan(1_000 - 7 - estimate + 5);
  });

  it('refuses for good a request whose max_tokens alone exceeds the tier', async () => {
    const p = await start({ requestsPerMinute: 100, inputTokensPerMinute: 100_000, outputTokensPerMinute: 1_000 });
    const c = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    const err = await ask(c, 2_000).then(() => null, (e: unknown) => e);
    expect((err as { status: number }).status).toBe(429);
    expect((err as { message: string }).message).toMatch(/exceed your tier's whole per-minute limit \(1000\), so it can never be admitted/);
    // the SDKs retry a 429 after its retry-after; this one says not to, and gives no time to wait
    const headers = (err as { headers: Headers }).headers;
    expect(headers.get('x-should-retry')).toBe('false');
    expect(headers.get('retry-after')).toBeNull();
    // and an SDK left to its default retries gives up at once instead of waiting a minute twice
    const patient = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 2 });
    const t0 = performance.now();
    await expect(ask(patient, 2_000)).rejects.toMatchObject({ status: 429 });
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});

describe('output beyond what was reserved', () => {
  it('is charged on top when the request ends, as a debt the refill pays', async () => {
    // a replica that ran past its cap (or ignored it) must not hand out tokens the tier never had
    const config: Config = { demo: [], ...configSchema.parse({ tiers: { default: { requestsPerMinute: 100, inputTokensPerMinute: 1e6, outputTokensPerMinute: 1_000 } } }) };
    const rl = new RateLimits(config, createLogger('silent'));
    const heads: string[] = [];
    const res = { setHeader() {} } as unknown as ServerResponse;
    const auth: AuthContext = { keyId: 'key_o', tenantId: 'ten_o', workspaceId: 'wrk_o', tier: 'default', allowedRegions: null, priority: null, spendLimitUsd: null };
    const ireq = { wire: 'anthropic', model: 'llama-3.1-8b', maxTokens: 100 } as unknown as InferenceRequest;
    const first = await rl.admit(res, 'anthropic', auth, rl.tierOf(auth), ireq, config.models[0], 40, heads);
    if (!first.ok) throw new Error('refused');
    rl.release(first.reservation, 10, 400, true); // 100 reserved, 400 generated
    heads.length = 0;
    const second = await rl.admit(res, 'anthropic', auth, rl.tierOf(auth), ireq, config.models[0], 40, heads);
    if (!second.ok) throw new Error('refused');
    const left = Number(heads[heads.indexOf('anthropic-ratelimit-output-tokens-remaining') + 1]);
    // 1,000 − 400 used − 100 reserved now (a few refilled meanwhile)
    expect(left).toBeGreaterThanOrEqual(500);
    expect(left).toBeLessThan(510);
    await rl.close();
  });
});
