import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_KEY, startSwitchyard, type Running } from './harness.js';

// The OpenAI SDK, unchanged, against the real `switchyard up` and its demo fleet.
let sy: Running;
let client: OpenAI;
const MODEL = 'llama-3.1-8b';

beforeAll(async () => {
  sy = await startSwitchyard();
  client = new OpenAI({ baseURL: `${sy.url}/v1`, apiKey: DEMO_KEY, maxRetries: 0 });
}, 90_000);
afterAll(async () => {
  expect(await sy.stop()).toBe(0);
});

describe('OpenAI Chat Completions through switchyard up', () => {
  it('answers a chat completion with usage and an x-request-id', async () => {
    const { data, response } = await client.chat.completions.create({
      model: MODEL, max_completion_tokens: 32, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }],
    }).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe(MODEL);
    expect(data.choices[0].message.role).toBe('assistant');
    expect(data.choices[0].message.content!.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(data.choices[0].finish_reason);
    expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('streams, with one usage chunk at the end when include_usage is asked', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL, max_tokens: 20, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Count' }],
    });
    let text = '';
    let usageChunks = 0;
    let finish: string | null = null;
    const ids = new Set<string>();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      if (chunk.usage) {
        usageChunks++;
        expect(chunk.choices).toEqual([]);
        expect(chunk.usage.completion_tokens).toBeGreaterThan(0);
      }
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usageChunks).toBe(1);
    expect(finish).not.toBeNull();
    expect(ids.size).toBe(1);
  });

  it('streams without usage when it is not asked', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'x' }] });
    for await (const chunk of stream) expect(chunk.usage ?? null).toBeNull();
  });

  it('reassembles a streamed answer with the SDK\'s own helper', async () => {
    const final = await client.chat.completions.stream({ model: MODEL, max_tokens: 12, messages: [{ role: 'user', content: 'hi' }] }).finalChatCompletion();
    expect(final.choices[0].message.content!.length).toBeGreaterThan(0);
  });

  it('answers with a tool call when tool_choice requires one, streamed and not', async () => {
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [{
      type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } },
    }];
    const r = await client.chat.completions.create({ model: MODEL, max_tokens: 100, tools, tool_choice: 'required', messages: [{ role: 'user', content: 'find it' }] });
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    const call = r.choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe('lookup');
    expect(typeof JSON.parse(call.function.arguments).q).toBe('string');

    const final = await client.chat.completions.stream({ model: MODEL, max_tokens: 100, tools, tool_choice: { type: 'function', function: { name: 'lookup' } }, messages: [{ role: 'user', content: 'find it' }] }).finalChatCompletion();
    const sCall = final.choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(sCall.function.name).toBe('lookup');
    expect(typeof JSON.parse(sCall.function.arguments).q).toBe('string');

    // The tool's answer goes back in a `tool` message.
    const next = await client.chat.completions.create({
      model: MODEL, max_tokens: 10, tools,
      messages: [{ role: 'user', content: 'find it' }, r.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'found' }],
    });
    expect(next.choices[0].message.content!.length).toBeGreaterThan(0);
  });

  it('lists the models in OpenAI\'s shape', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) {
      expect(m.object).toBe('model');
      ids.push(m.id);
    }
    expect(ids.sort()).toEqual(['llama-3.1-8b', 'llama-3.3-70b']);
  });
});

describe('OpenAI errors through switchyard up', () => {
  it('refuses a wrong key with 401 and invalid_api_key', async () => {
    const bad = new OpenAI({ baseURL: `${sy.url}/v1`, apiKey: 'sk-sy-wrong', maxRetries: 0 });
    const err = await bad.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.code).toBe('invalid_api_key');
  });

  it('says an unknown model is not found (404)', async () => {
    const err = await client.chat.completions.create({ model: 'gpt-nothing', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.message).toContain('gpt-nothing');
  });

  it('names the bad field with param (400)', async () => {
    const err = await client.chat.completions.create({ model: MODEL, messages: 'hello' as never }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe('messages');
    const err2 = await client.chat.completions.create({ model: MODEL, n: 3, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err2.status).toBe(400);
  });

  it('rejects malformed JSON in the OpenAI envelope', async () => {
    const res = await fetch(`${sy.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${DEMO_KEY}`, 'content-type': 'application/json' }, body: '{oops' });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.type).toBeUndefined();
  });

  it('answers a wrong method with 405 in the OpenAI envelope', async () => {
    const res = await fetch(`${sy.url}/v1/chat/completions`, { headers: { authorization: `Bearer ${DEMO_KEY}` } });
    expect(res.status).toBe(405);
    expect((await res.json()).error.message).toContain('GET');
  });
});
