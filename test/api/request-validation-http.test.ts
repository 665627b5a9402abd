import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import { scriptedPlatform } from '../gateway/support.js';

// The probe's inputs that took main down (issue 11 §9), sent to the gateway on a real socket in
// front of a replica that answers everything: each gets a 400 in its wire's envelope or a 200, and
// the gateway still answers /healthz after all of them.
const KEY = 'sk-sy-request-validation-http-key-00000000000';
const completion = JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });

let platform: Platform;

beforeAll(async () => {
  platform = await scriptedPlatform({
    key: KEY,
    replica: (q, s) => {
      if (q.method === 'GET') return void s.end();
      q.resume().on('end', () => s.writeHead(200, { 'content-type': 'application/json' }).end(q.url?.includes('tokenize') ? '{"count":3}' : completion));
    },
  });
});

afterAll(async () => {
  await platform?.close();
});

const deep = (n: number) => '{"a":'.repeat(n) + '{}' + '}'.repeat(n);

async function post(path: string, body: string): Promise<{ status: number; json: any }> {
  const res = await fetch(platform.url + path, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-api-key': KEY, authorization: `Bearer ${KEY}`, 'anthropic-version': '2023-06-01' } });
  return { status: res.status, json: await res.json() };
}

describe('#11 – inputs that crashed the gateway get an answer', () => {
  const model = () => platform.gateway.modelIds[0];
  const chat = (extra: object) => JSON.stringify({ model: model(), max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], ...extra });
  const cases: Array<[string, string, () => string, number]> = [
    ['OpenAI "tools": null', '/v1/chat/completions', () => chat({ tools: null }), 200],
    ['OpenAI assistant tool_calls with no content key', '/v1/chat/completions', () => chat({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c', content: 'r' }] }), 200],
    ['OpenAI refusal part', '/v1/chat/completions', () => chat({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ type: 'refusal', refusal: 'no' }] }, { role: 'user', content: 'ok' }] }), 200],
    ['OpenAI input_audio part', '/v1/chat/completions', () => chat({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA==', format: 'mp3' } }] }] }), 200],
    ['OpenAI file part', '/v1/chat/completions', () => chat({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] }), 200],
    ['OpenAI part of an unknown type', '/v1/chat/completions', () => chat({ messages: [{ role: 'user', content: [{ type: 'hologram' }] }] }), 400],
    ['OpenAI parameters nested 5,000 deep', '/v1/chat/completions', () => chat({ tools: [{ type: 'function', function: { name: 'f', parameters: '__d__' } }] }).replace('"__d__"', deep(5000)), 400],
    ['Anthropic tool_use input nested 5,000 deep', '/v1/messages', () => chat({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: '__d__' }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't' }] }] }).replace('"__d__"', deep(5000)), 400],
    ['count_tokens input_schema nested 5,000 deep', '/v1/messages/count_tokens', () => JSON.stringify({ model: model(), messages: [{ role: 'user', content: 'q' }], tools: [{ name: 'f', input_schema: '__d__' }] }).replace('"__d__"', deep(5000)), 400],
    ['Anthropic mid-conversation system message', '/v1/messages', () => chat({ messages: [{ role: 'user', content: 'q' }, { role: 'system', content: 's' }] }), 400],
  ];

  it.each(cases)('#11 – %s', async (_what, path, body, status) => {
    const r = await post(path, body());
    expect(r.status).toBe(status);
    if (status === 400) {
      // the client's own envelope
      if (path === '/v1/chat/completions') expect(r.json.error.type).toBe('invalid_request_error');
      else expect(r.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    }
  });

  it.each([
    ['text/plain', '/v1/messages'],
    ['application/x-www-form-urlencoded', '/v1/chat/completions'],
    ['multipart/form-data; boundary=x', '/v1/messages/count_tokens'],
  ])('#11 – a JSON body declared as %s is refused with a 400 naming the content-type, not parsed (%s)', async (ct, path) => {
    const res = await fetch(platform.url + path, { method: 'POST', body: chat({}), headers: { 'content-type': ct, 'x-api-key': KEY, authorization: `Bearer ${KEY}`, 'anthropic-version': '2023-06-01' } });
    expect(res.status).toBe(400);
    const json = await res.json();
    const message: string = json.error.message;
    expect(message).toContain('content-type: application/json');
    expect(message).toContain(ct.split(';')[0]);
  });

  it('takes application/json with a charset, a +json type, or no content-type at all', async () => {
    for (const ct of ['application/json; charset=utf-8', 'application/vnd.api+json', undefined]) {
      const headers: Record<string, string> = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' };
      if (ct !== undefined) headers['content-type'] = ct;
      // bytes, not a string: fetch would label a string text/plain
      const res = await fetch(platform.url + '/v1/messages', { method: 'POST', body: new TextEncoder().encode(chat({})), headers });
      expect(res.status, String(ct)).toBe(200);
      await res.text();
    }
  });

  it.each([
    ['/v1/messages', 'anthropic'], ['/v1/messages/count_tokens', 'anthropic'], ['/v1/chat/completions', 'openai'],
  ])('a 5 MB model name on %s is a 400 naming model, neither echoed nor stored', async (path) => {
    const huge = 'm'.repeat(5_000_000);
    const res = await fetch(platform.url + path, { method: 'POST', body: JSON.stringify({ model: huge, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }), headers: { 'content-type': 'application/json', 'x-api-key': KEY, authorization: `Bearer ${KEY}`, 'anthropic-version': '2023-06-01' } });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.length).toBeLessThan(1_000);
    const json = JSON.parse(text);
    if (path === '/v1/chat/completions') expect(json.error).toMatchObject({ type: 'invalid_request_error', param: 'model' });
    else expect(json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'model: String should have at most 256 characters' } });
    // the refused request's usage record carries no model name (count_tokens is not settled)
    if (path === '/v1/messages/count_tokens') return;
    const id = res.headers.get('x-request-id') ?? res.headers.get('request-id');
    let row: { model: string } | undefined;
    for (let i = 0; i < 50 && row === undefined; i++) {
      await platform.ledger.flush().catch(() => {});
      for (const t of await platform.store.listTenants()) row ??= (await platform.store.queryUsage({ tenantId: t.id, limit: 1000 })).find((r) => r.requestId === id);
      if (row === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect(row?.model).toBe('');
  });

  it('still answers /healthz after all of them', async () => {
    expect((await fetch(platform.url + '/healthz')).status).toBe(200);
  });
});
