import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tierSchema } from '../../src/config/index.js';
import type { Platform } from '../../src/gateway/index.js';
import type { UsageRecord } from '../../src/ledger/index.js';
import { scriptedPlatform } from './support.js';

// Wire fidelity the gateway applies around the api/ renderers: more output asked for than a model
// allows (Claude Code asks 32,000 of a model it does not know) is capped at the model's
// maxOutputTokens by default — before the output reservation, in the body the replica gets, and
// said in a header — or refused when the model says `maxTokensPolicy: refuse`; the usage record's
// cost; and the pings that keep a silent Anthropic stream alive, through a real socket.
const KEY = 'sk-sy-gateway-fidelity-test-key-0000000000000';
const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const completion = JSON.stringify({ id: 'chatcmpl-ok', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage });

let platform: Platform | null = null;
let bodies: Array<Record<string, unknown>> = [];
/** a streamed answer sends its first chunk, then waits for this before the rest */
let holdStream: Promise<void> = Promise.resolve();

const chunk = (delta: Record<string, unknown>, finish: string | null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;

async function start(policy: 'cap' | 'refuse' | undefined, pricing?: { input: number; output: number }): Promise<Platform> {
  bodies = [];
  platform = await scriptedPlatform({
    key: KEY,
    replica: (q, s) => {
      if (q.method === 'GET') return void s.end();
      let b = '';
      q.setEncoding('utf8').on('data', (d: string) => (b += d)).on('end', () => {
        const body = JSON.parse(b);
        bodies.push(body);
        if (body.stream !== true) return void s.writeHead(200, { 'content-type': 'application/json' }).end(completion);
        s.writeHead(200, { 'content-type': 'text/event-stream' }).write(chunk({ role: 'assistant', content: 'Hel' }, null));
        void holdStream.then(() => s.end(chunk({ content: 'lo' }, 'stop') + 'data: [DONE]\n\n'));
      });
    },
    configure: (config) => {
      // 10,000 output tokens a minute: a 32,000 reservation would be refused, an 8,192 one is not
      config.tiers = { default: tierSchema.parse({ requestsPerMinute: 100, inputTokensPerMinute: 100_000, outputTokensPerMinute: 10_000 }) };
      const model = config.models.find((m) => m.id === 'llama-3.1-8b')!;
      if (policy !== undefined) model.maxTokensPolicy = policy;
      if (pricing !== undefined) model.pricing = pricing;
    },
  });
  return platform;
}

afterEach(async () => {
  vi.useRealTimers();
  holdStream = Promise.resolve();
  await platform?.close();
  platform = null;
});

describe('max_tokens above the model\'s maxOutputTokens', () => {
  it('#11 – is capped by default: the replica is asked for 8192, a header says so, and 8192 is what the output limit reserves', async () => {
    const p = await start(undefined);
    const c = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    // (20,000: the SDK itself insists on streaming above ~21,000; Claude Code streams its 32,000)
    const { data, response } = await c.messages.create({ model: 'llama-3.1-8b', max_tokens: 20_000, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.content).toEqual([{ type: 'text', text: 'fine' }]);
    expect(response.headers.get('x-switchyard-max-tokens')).toBe('8192; requested=20000');
    expect(bodies[0].max_tokens).toBe(8192);
    // reserved while it ran: 8192 of the 10,000 (a 20,000 reservation would have been a 429)
    expect(Number(response.headers.get('anthropic-ratelimit-output-tokens-remaining'))).toBe(10_000 - 8192);
  });

  it('#11 – caps max_completion_tokens and max_tokens alike on the OpenAI wire', async () => {
    const p = await start('cap');
    const c = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const { response } = await c.chat.completions.create({ model: 'llama-3.1-8b', max_completion_tokens: 20_000, max_tokens: 9000, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-switchyard-max-tokens')).toBe('8192; requested=20000');
    expect(bodies[0]).toMatchObject({ max_completion_tokens: 8192, max_tokens: 8192 });
  });

  it('leaves a request within the limit alone, with no header', async () => {
    const p = await start('cap');
    const c = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    const { response } = await c.messages.create({ model: 'llama-3.1-8b', max_tokens: 8192, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-switchyard-max-tokens')).toBeNull();
    expect(bodies[0].max_tokens).toBe(8192);
  });

  it('gives an OpenAI request with no cap at all the model\'s defaultMaxTokens, in the replica\'s body and a header', async () => {
    // unbounded, a stream ran on past 9,000 tokens while the limiter had reserved 1,024 of them
    const p = await start('cap');
    const c = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const { response } = await c.chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-switchyard-max-tokens')).toBe('1024; requested=none');
    expect(bodies[0].max_tokens).toBe(1024);
  });

  it('is refused with a 400 naming the limit when the model says maxTokensPolicy: refuse', async () => {
    const p = await start('refuse');
    const a = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    const err = await a.messages.create({ model: 'llama-3.1-8b', max_tokens: 20_000, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as Error).message).toContain('max_tokens: 20000 > 8192, which is the maximum allowed number of output tokens for llama-3.1-8b');
    const o = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const oerr = await o.chat.completions.create({ model: 'llama-3.1-8b', max_completion_tokens: 9000, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(oerr).toBeInstanceOf(OpenAI.BadRequestError);
    expect((oerr as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('max_completion_tokens');
    expect(bodies).toEqual([]); // nothing reached the replica
  });
});

describe('the usage record\'s cost', () => {
  it('#11 – is rounded to a billionth of a dollar, without float noise', async () => {
    // 7 input and 2 output tokens at $0.07 / $0.11 per million: 7.1e-7, which unrounded arithmetic
    // makes 7.100000000000001e-7
    const p = await start('cap', { input: 0.07, output: 0.11 });
    const records: UsageRecord[] = [];
    const record = p.ledger.record.bind(p.ledger);
    vi.spyOn(p.ledger, 'record').mockImplementation((r) => (records.push(r), record(r)));
    const c = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    await c.messages.create({ model: 'llama-3.1-8b', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    await vi.waitFor(() => expect(records).toHaveLength(1));
    expect(records[0]).toMatchObject({ inputTokens: 7, outputTokens: 2, outcome: 'ok' });
    expect(records[0].costUsd).toBe(7.1e-7);
  });
});

describe('an Anthropic stream the replica leaves silent', () => {
  it('#11 – reaches the client with a ping after message_start and another once 10–15 s pass without a token', async () => {
    const p = await start('cap');
    let release!: () => void;
    holdStream = new Promise((r) => (release = r));
    // only intervals made from here on are on the test's clock: the keep-alive's, not the platform's
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const res = await fetch(`${p.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama-3.1-8b', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = '';
    const until = async (pred: () => boolean) => {
      while (!pred()) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended early:\n${seen}`);
        seen += value;
      }
    };
    await until(() => seen.includes('"text":"Hel"'));
    const events = () => [...seen.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(events().slice(0, 2)).toEqual(['message_start', 'ping']);
    expect(events().filter((e) => e === 'ping')).toHaveLength(1);
    vi.advanceTimersByTime(15_000); // the replica has said nothing for 15 s
    await until(() => events().filter((e) => e === 'ping').length === 2);
    release();
    await until(() => seen.includes('event: message_stop'));
    expect(events().slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
  });
});
