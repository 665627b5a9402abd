import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import { scriptedPlatform } from './support.js';

// A stream's head waits for the first token, so that a failure before it is still an HTTP status
// the SDKs retry; but not for ever: past server.streamHeadAfterMs (a long queue wait, a long
// prefill) the head goes out with a keep-alive, so a proxy with an idle timeout does not cut the
// connection before the first token.

const KEY = 'sk-sy-gateway-held-stream-key-00000000000000';
const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const chunk = (delta: Record<string, unknown>, finish: string | null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;

let platform: Platform | null = null;

afterEach(async () => {
  await platform?.close();
  platform = null;
});

/** A replica whose first token comes `firstTokenMs` after the request, or which then fails with 500. */
async function start(firstTokenMs: number, headAfterMs: number, fail = false): Promise<Platform> {
  platform = await scriptedPlatform({
    key: KEY,
    replica: (q, s) => {
      if (q.method === 'GET') return void s.end();
      q.resume().on('end', () => setTimeout(() => {
        if (fail) return void s.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"engine died"}}');
        s.writeHead(200, { 'content-type': 'text/event-stream' });
        s.end(chunk({ role: 'assistant', content: 'Hel' }, null) + chunk({ content: 'lo' }, 'stop') + 'data: [DONE]\n\n');
      }, firstTokenMs));
    },
    configure: (c) => {
      c.server.streamHeadAfterMs = headAfterMs;
      c.upstream.maxAttempts = 1;
    },
  });
  return platform;
}

const messages = (url: string) => fetch(`${url}/v1/messages`, {
  method: 'POST',
  headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'llama-3.1-8b', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
});

describe('a stream whose first token is slow', () => {
  it('gets its head and a ping once it has waited server.streamHeadAfterMs, long before the token', async () => {
    const p = await start(1_200, 100);
    const t0 = performance.now();
    const res = await messages(p.url);
    const headAfter = performance.now() - t0;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(headAfter).toBeLessThan(900);
    const text = await res.text();
    // the keep-alive first, then the message as it always is
    expect(text.startsWith('event: ping\ndata: {"type":"ping"}\n\n')).toBe(true);
    expect(text.indexOf('event: message_start')).toBeGreaterThan(0);
    expect(text.trimEnd().endsWith('data: {"type":"message_stop"}')).toBe(true);
  });

  it('is read whole by the Anthropic SDK\'s stream helper and by the OpenAI SDK', async () => {
    const p = await start(400, 50);
    const a = new Anthropic({ baseURL: p.url, apiKey: KEY, maxRetries: 0 });
    const msg = await a.messages.stream({ model: 'llama-3.1-8b', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    expect(msg.content).toEqual([{ type: 'text', text: 'Hello' }]);
    const o = new OpenAI({ baseURL: `${p.url}/v1`, apiKey: KEY, maxRetries: 0 });
    let text = '';
    for await (const c of await o.chat.completions.create({ model: 'llama-3.1-8b', stream: true, messages: [{ role: 'user', content: 'hi' }] })) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello');
  });

  it('keeps an OpenAI stream alive with an SSE comment', async () => {
    const p = await start(400, 50);
    const res = await fetch(`${p.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama-3.1-8b', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await res.text();
    expect(text.startsWith(': keep-alive\n\n')).toBe(true);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('ends with the API\'s error event when the replica fails after the head went out, and records it', async () => {
    const p = await start(400, 50, true);
    const res = await messages(p.url);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^event: ping\n[\s\S]*event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
    await p.ledger.flush?.();
    const rows = await p.store.queryUsage({ tenantId: (await p.store.listTenants())[0].id, limit: 10 });
    expect(rows.map((r) => [r.status, r.outcome])).toEqual([[200, 'upstream_error']]);
  });

  it('is recorded as cancelled, and its replica call cut, when the client leaves while it is held', async () => {
    let cut = false;
    platform = await scriptedPlatform({
      key: KEY,
      // a replica that takes the request and never answers it
      replica: (q, s) => {
        if (q.method === 'GET') return void s.end();
        q.resume();
        s.once('close', () => { cut = true; });
      },
      configure: (c) => { c.server.streamHeadAfterMs = 50; },
    });
    const p = platform;
    const ac = new AbortController();
    const res = await fetch(`${p.url}/v1/messages`, {
      method: 'POST', signal: ac.signal,
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama-3.1-8b', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const first = await res.body!.getReader().read();
    expect(new TextDecoder().decode(first.value)).toContain('event: ping');
    ac.abort();
    for (let i = 0; i < 100 && !cut; i++) await new Promise((r) => setTimeout(r, 20));
    expect(cut).toBe(true);
    await p.ledger.flush?.();
    const rows = await p.store.queryUsage({ tenantId: (await p.store.listTenants())[0].id, limit: 10 });
    expect(rows.map((r) => [r.status, r.outcome])).toEqual([[499, 'cancelled']]);
  });

  it('still answers with an HTTP status when the failure comes before server.streamHeadAfterMs', async () => {
    const p = await start(50, 2_000, true);
    const res = await messages(p.url);
    expect(res.status).toBe(502);
    expect((await res.json()).error.type).toBe('api_error');
  });
});
