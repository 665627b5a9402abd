import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StreamTranscoder } from '../../src/api/index.js';
import type { Platform } from '../../src/gateway/index.js';
import { scriptedPlatform } from './support.js';

// #11 §2: a throw after a stream began cannot become a 500 (the 200 is sent): the stream ends with
// the API's own error event, so the SDKs throw instead of keeping half an answer as if whole.
// The throw is injected into the stream transcoders: they throw on a chunk whose text is BOOM.
function throwingOnBoom(t: StreamTranscoder): StreamTranscoder {
  return new Proxy(t, {
    get(target, prop) {
      if (prop === 'chunk') {
        return (c: { choices?: Array<{ delta?: { content?: string } }> }) => {
          if (c.choices?.[0]?.delta?.content === 'BOOM') throw new TypeError('injected transcoder failure');
          return target.chunk(c as never);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
vi.mock('../../src/api/anthropic/stream.js', async (load) => {
  const real = await load<typeof import('../../src/api/anthropic/stream.js')>();
  return { ...real, anthropicStream: (...args: Parameters<typeof real.anthropicStream>) => throwingOnBoom(real.anthropicStream(...args)) };
});
vi.mock('../../src/api/openai/stream.js', async (load) => {
  const real = await load<typeof import('../../src/api/openai/stream.js')>();
  return { ...real, openaiStream: (...args: Parameters<typeof real.openaiStream>) => throwingOnBoom(real.openaiStream(...args)) };
});

const KEY = 'sk-sy-gateway-boundary-stream-key-000000000000';
const MODEL = 'llama-3.1-8b';
const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;

let p: Platform;
/** what the replica streams: text, then BOOM (the transcoder throws), then more it never relays */
const cancelled: number[] = [];

beforeAll(async () => {
  p = await scriptedPlatform({
    key: KEY,
    replica: (q, s) => {
      if (q.method === 'GET') return void s.end('');
      q.resume().on('end', () => {
        s.writeHead(200, { 'content-type': 'text/event-stream' });
        s.write(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'half an ' }));
        setTimeout(() => s.write(chunk({ content: 'BOOM' })), 20);
        const more = setTimeout(() => s.end(chunk({ content: 'answer' }) + chunk({}, 'stop') + 'data: [DONE]\n\n'), 500);
        s.once('close', () => { if (!s.writableFinished) { clearTimeout(more); cancelled.push(1); } });
      });
    },
  });
});

afterAll(async () => {
  await p?.close();
});

async function ledgerRow(requestId: string): Promise<any> {
  for (let i = 0; i < 100; i++) {
    await p.ledger.flush().catch(() => {});
    for (const t of await p.store.listTenants()) {
      const row = (await p.store.queryUsage({ tenantId: t.id, limit: 1000 })).find((r) => r.requestId === requestId);
      if (row) return row;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

describe('#11 – a throw while a stream is under way', () => {
  it('ends an Anthropic stream with event: error (api_error), which the SDK throws, and records internal_error', async () => {
    const a = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    const { data: stream, response } = await a.messages.create({ model: MODEL, max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    let text = '';
    const err = await (async () => {
      for await (const e of stream) if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text;
    })().then(() => null, (e) => e);
    expect(text).toBe('half an ');
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    const id = response.headers.get('request-id')!;
    expect(await ledgerRow(id)).toMatchObject({ outcome: 'internal_error', status: 200, stream: true });
  });

  it('ends an OpenAI stream with data: {"error":…}, which the SDK throws, without [DONE]', async () => {
    const res = await fetch(`${p.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const raw = await res.text();
    expect(res.status).toBe(200);
    expect(raw).toMatch(/data: \{"error":\{"message":"The gateway failed while handling this request[^"]*","type":"server_error"/);
    expect(raw).not.toContain('[DONE]');
    expect(raw).not.toContain('answer');
    const o = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const s = await o.chat.completions.create({ model: MODEL, max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const err = await (async () => { for await (const _ of s) { /* reading */ } })().then(() => null, (e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
  });

  it('cancels the upstream call, counts the failure and leaves nothing in flight', async () => {
    const before = cancelled.length;
    const res = await fetch(`${p.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.text();
    for (let i = 0; i < 50 && cancelled.length === before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(cancelled.length).toBe(before + 1);
    const m = (await p.gateway.metrics.internalErrors.get()).values.find((v) => v.labels.stage === 'upstream');
    expect(m?.value).toBeGreaterThanOrEqual(3);
    expect(p.gateway.inflight).toBe(0);
    for (const r of p.fleet.all) expect(r.inflight).toBe(0);
    for (const pool of p.gateway.admission.snapshot()) expect(pool.inflight).toBe(0);
    expect((await fetch(`${p.url}/healthz`)).status).toBe(200);
  });
});
