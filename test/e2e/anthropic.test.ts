import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_KEY, startSwitchyard, type Running } from './harness.js';

// The Anthropic SDK, unchanged, against the real `switchyard up` and its demo fleet.
let sy: Running;
let client: Anthropic;
const MODEL = 'llama-3.1-8b';

beforeAll(async () => {
  sy = await startSwitchyard();
  client = new Anthropic({ baseURL: sy.url, apiKey: DEMO_KEY, maxRetries: 0 });
}, 90_000);
afterAll(async () => {
  expect(await sy.stop()).toBe(0);
});

describe('the Anthropic Messages API through switchyard up', () => {
  it('answers a message, with usage, a stop reason and a request-id header', async () => {
    const { data: msg, response } = await client.messages.create({
      model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Say hello.' }],
    }).withResponse();
    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.model).toBe(MODEL);
    expect(msg.content[0].type).toBe('text');
    expect((msg.content[0] as Anthropic.TextBlock).text.length).toBeGreaterThan(0);
    expect(['end_turn', 'max_tokens']).toContain(msg.stop_reason);
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
  });

  it('streams the same shape of answer, and the SDK reassembles it', async () => {
    const stream = client.messages.stream({
      model: MODEL, max_tokens: 40, system: 'You are terse.',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [{ type: 'text', text: 'Hello.' }] },
        { role: 'user', content: [{ type: 'text', text: 'Tell me more.' }] },
      ],
    });
    const events: string[] = [];
    stream.on('streamEvent', (e) => events.push(e.type));
    const msg = await stream.finalMessage();
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
    expect(events).toContain('content_block_delta');
    expect((msg.content[0] as Anthropic.TextBlock).text.length).toBeGreaterThan(0);
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
  });

  it('stops at max_tokens and says so', async () => {
    const msg = await client.messages.create({ model: MODEL, max_tokens: 3, messages: [{ role: 'user', content: 'Write a long essay.' }] });
    expect(msg.stop_reason).toBe('max_tokens');
    expect(msg.usage.output_tokens).toBe(3);
  });

  it('forces a tool call with tool_choice, streamed and not, with a parsed input', async () => {
    const tools: Anthropic.Tool[] = [{
      name: 'get_weather', description: 'Weather for a city',
      input_schema: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'] },
    }];
    const plain = await client.messages.create({ model: MODEL, max_tokens: 200, tools, tool_choice: { type: 'tool', name: 'get_weather' }, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    expect(plain.stop_reason).toBe('tool_use');
    const use = plain.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock;
    expect(use.name).toBe('get_weather');
    expect(typeof (use.input as { city: unknown }).city).toBe('string');
    expect(Number.isInteger((use.input as { days: unknown }).days)).toBe(true);

    const streamed = await client.messages.stream({ model: MODEL, max_tokens: 200, tools, tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'Weather?' }] }).finalMessage();
    expect(streamed.stop_reason).toBe('tool_use');
    const sUse = streamed.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock;
    expect(sUse.name).toBe('get_weather');
    expect(typeof (sUse.input as { city: unknown }).city).toBe('string');

    // The answer to a tool call goes back as a tool_result and the conversation continues.
    const next = await client.messages.create({
      model: MODEL, max_tokens: 30, tools,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: plain.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'Sunny, 21°C' }] },
      ],
    });
    expect(next.content[0].type).toBe('text');
  });

  it('ends at a stop sequence and reports which one', async () => {
    // The simulated replica writes deterministic filler; learn a word it will write, then stop on it.
    const probe = await client.messages.create({ model: MODEL, max_tokens: 30, messages: [{ role: 'user', content: 'stop test' }] });
    const words = (probe.content[0] as Anthropic.TextBlock).text.split(/\s+/).filter((w) => /^[a-z]{3,}$/.test(w));
    const stopWord = words[Math.min(3, words.length - 1)];
    const msg = await client.messages.create({ model: MODEL, max_tokens: 30, stop_sequences: [stopWord], messages: [{ role: 'user', content: 'stop test' }] });
    expect(msg.stop_reason).toBe('stop_sequence');
    expect(msg.stop_sequence).toBe(stopWord);
    expect((msg.content[0] as Anthropic.TextBlock).text).not.toContain(stopWord);
  });

  it('counts tokens with the replica\'s tokenizer, system and tools included', async () => {
    const base = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'Hello there, how are you today?' }] });
    expect(base.input_tokens).toBeGreaterThan(3);
    const more = await client.messages.countTokens({ model: MODEL, system: 'You are a helpful assistant with a long system prompt.', messages: [{ role: 'user', content: 'Hello there, how are you today?' }] });
    expect(more.input_tokens).toBeGreaterThan(base.input_tokens);
    // And it agrees with what the request is billed.
    const msg = await client.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'Hello there, how are you today?' }] });
    expect(msg.usage.input_tokens + (msg.usage.cache_read_input_tokens ?? 0)).toBe(base.input_tokens);
  });

  it('lists the models in Anthropic\'s shape, and pages', async () => {
    const page = await client.models.list({ limit: 1 });
    expect(page.data).toHaveLength(1);
    expect(page.data[0].type).toBe('model');
    expect(page.has_more).toBe(true);
    const all: string[] = [];
    for await (const m of client.models.list({ limit: 1 })) all.push(m.id);
    expect(all.sort()).toEqual(['llama-3.1-8b', 'llama-3.3-70b']);
    const one = await client.models.retrieve('llama-3.3-70b');
    expect(one.id).toBe('llama-3.3-70b');
  });

  it('answers the 70B model too', async () => {
    const msg = await client.messages.create({ model: 'llama-3.3-70b', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] });
    expect(msg.model).toBe('llama-3.3-70b');
  });
});

describe('Anthropic errors through switchyard up', () => {
  it('refuses a wrong key with 401 authentication_error, whichever header carries it', async () => {
    const bad = new Anthropic({ baseURL: sy.url, apiKey: 'sk-sy-wrong', maxRetries: 0 });
    const err = await bad.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(err.error.error.type).toBe('authentication_error');
    const viaHeader = await fetch(`${sy.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'nope', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: '{}' });
    expect(viaHeader.status).toBe(401);
    const ok = await fetch(`${sy.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': DEMO_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'x' }] }) });
    expect(ok.status).toBe(200);
  });

  it('says an unknown model is not found (404 not_found_error)', async () => {
    const err = await client.messages.create({ model: 'no-such-model', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(err.error.error.type).toBe('not_found_error');
    expect(err.error.error.message).toContain('no-such-model');
  });

  it('names the missing or wrong field (400 invalid_request_error)', async () => {
    const err = await client.messages.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] } as never).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error.error.message).toContain('max_tokens');
    // The 1.x SDK no longer types temperature (deprecated), but the API still validates it.
    const err2 = await client.messages.create({ model: MODEL, max_tokens: 5, temperature: 7, messages: [{ role: 'user', content: 'x' }] } as never).catch((e) => e);
    expect(err2.status).toBe(400);
    expect(err2.error.error.message).toContain('temperature');
    // #11: above the model's 8,192 is capped by default (maxTokensPolicy: cap), and said in a header
    const { response } = await client.messages.create({ model: MODEL, max_tokens: 20_000, messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect(response.headers.get('x-switchyard-max-tokens')).toBe('8192; requested=20000');
  });

  const raw = (path: string, init: RequestInit) => fetch(`${sy.url}${path}`, {
    ...init, headers: { 'x-api-key': DEMO_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
  });

  it('rejects malformed JSON with the Anthropic envelope', async () => {
    const res = await raw('/v1/messages', { method: 'POST', body: '{"model": "llama' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const body = await res.json();
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
  });

  it('requires anthropic-version, as the real API does', async () => {
    const res = await fetch(`${sy.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': DEMO_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'x' }] }) });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toContain('anthropic-version');
  });

  it('refuses a body over the size limit with 413 and keeps serving', async () => {
    const huge = 'x'.repeat(33 * 1024 * 1024);
    const res = await raw('/v1/messages', { method: 'POST', body: JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: huge }] }) }).catch((e) => e);
    // The gateway answers before reading it all; a client may see the answer or a reset.
    if (res instanceof Response) {
      expect(res.status).toBe(413);
      expect((await res.json()).error.type).toBe('request_too_large');
    }
    const after = await client.messages.create({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'still there?' }] });
    expect(after.type).toBe('message');
  });

  it('answers a wrong method with 405 and an unknown path with 404, in the envelope', async () => {
    const m = await raw('/v1/messages', { method: 'GET' });
    expect(m.status).toBe(405);
    expect((await m.json()).type).toBe('error');
    const p = await raw('/v1/nothing-here', { method: 'POST', body: '{}' });
    expect(p.status).toBe(404);
    expect((await p.json()).error.type).toBe('not_found_error');
  });
});
