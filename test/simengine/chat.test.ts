import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import type { CompletionCreateParamsNonStreaming } from 'openai/resources/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineServer, type EngineServer } from '../../src/simengine/index.js';

let server: EngineServer;
let client: OpenAI;
const MODEL = 'llama-3.1-8b';

beforeAll(async () => {
  server = await startEngineServer({ model: MODEL, profile: 'llama-3.1-8b-h100', port: 0, timeScale: 20, engine: { maxModelLen: 4096 } });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => server.close());

const ask = (content: string) => [{ role: 'user' as const, content }];

/** vLLM extensions are not in the SDK's types; they travel in the body all the same. */
function body<T>(b: T & Record<string, unknown>): T {
  return b;
}

describe('chat completions, not streamed', () => {
  it('answers deterministically with usage, and the same prompt gives the same text', async () => {
    const a = await client.chat.completions.create({ model: MODEL, messages: ask('Describe the yard.') });
    const b = await client.chat.completions.create({ model: MODEL, messages: ask('Describe the yard.') });
    expect(a.object).toBe('chat.completion');
    expect(a.id).toMatch(/^chatcmpl-/);
    expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
    expect(a.choices[0].finish_reason).toBe('stop');
    const u = a.usage!;
    expect(u.completion_tokens).toBeGreaterThanOrEqual(8);
    expect(u.completion_tokens).toBeLessThanOrEqual(60);
    expect(u.total_tokens).toBe(u.prompt_tokens + u.completion_tokens);
  });

  it('reports the prefix cache in cached_tokens when a conversation continues', async () => {
    const history = [{ role: 'system' as const, content: 'You are a terse dispatcher. '.repeat(20) }, ...ask('First question?')];
    const first = await client.chat.completions.create({ model: MODEL, messages: history });
    const second = await client.chat.completions.create({
      model: MODEL, messages: [...history, { role: 'assistant', content: first.choices[0].message.content }, ...ask('And then?')],
    });
    const cached = second.usage!.prompt_tokens_details!.cached_tokens!;
    expect(cached).toBeGreaterThanOrEqual(Math.floor(first.usage!.prompt_tokens / 16) * 16 - 16);
    expect(cached % 16).toBe(0);
  });

  it('stops at max_tokens with finish_reason length', async () => {
    const r = await client.chat.completions.create({ model: MODEL, messages: ask('Go on at length.'), max_tokens: 3 });
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.usage!.completion_tokens).toBe(3);
  });

  it('honours max_completion_tokens and vLLM ignore_eos: exactly that many tokens', async () => {
    const r = await client.chat.completions.create(body<ChatCompletionCreateParamsNonStreaming>({ model: MODEL, messages: ask('x'), max_completion_tokens: 90, ignore_eos: true }));
    expect(r.usage!.completion_tokens).toBe(90);
    expect(r.choices[0].finish_reason).toBe('length');
  });

  it('cuts the text before a stop string and names it in stop_reason', async () => {
    const free = await client.chat.completions.create({ model: MODEL, messages: ask('Tell me about rails.'), max_tokens: 60 });
    const text = free.choices[0].message.content!;
    const words = text.split(/[ .,]+/).filter((w) => w.length > 0);
    const stop = ' ' + words[3]; // a word that occurs after the start
    const cut = await client.chat.completions.create({ model: MODEL, messages: ask('Tell me about rails.'), max_tokens: 60, stop: [stop] });
    const choice = cut.choices[0] as typeof cut.choices[0] & { stop_reason?: unknown };
    expect(choice.finish_reason).toBe('stop');
    expect(choice.stop_reason).toBe(stop);
    expect(choice.message.content).toBe(text.slice(0, text.indexOf(stop)));
  });

  it('calls the named tool with arguments that follow its schema', async () => {
    const r = await client.chat.completions.create({
      model: MODEL, messages: ask('Weather in Oslo?'),
      tools: [
        { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } },
        { type: 'function', function: { name: 'get_weather', parameters: {
          type: 'object', required: ['city', 'days', 'unit', 'hourly'],
          properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1, maximum: 7 }, unit: { enum: ['c', 'f'] }, hourly: { type: 'boolean' }, note: { type: 'string' } },
        } } },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const c = r.choices[0];
    expect(c.finish_reason).toBe('tool_calls');
    expect(c.message.content).toBeNull();
    const call = c.message.tool_calls![0] as { id: string; type: string; function: { name: string; arguments: string } };
    expect(call.id).toMatch(/^call_/);
    expect(call.function.name).toBe('get_weather');
    const args = JSON.parse(call.function.arguments);
    expect(Object.keys(args).sort()).toEqual(['city', 'days', 'hourly', 'unit']);
    expect(typeof args.city).toBe('string');
    expect(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7).toBe(true);
    expect(['c', 'f']).toContain(args.unit);
    expect(typeof args.hourly).toBe('boolean');
  });

  it('answers in plain text when tool_choice is auto', async () => {
    const r = await client.chat.completions.create({
      model: MODEL, messages: ask('hi'), tool_choice: 'auto',
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
    });
    expect(r.choices[0].message.tool_calls ?? []).toEqual([]);
    expect(r.choices[0].message.content!.length).toBeGreaterThan(0);
  });
});

describe('chat completions, streamed', () => {
  it('streams a role chunk, content, a finish_reason and a final usage chunk, then [DONE]', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: ask('Stream please.'), stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    const full = await client.chat.completions.create({ model: MODEL, messages: ask('Stream please.') });
    expect(text).toBe(full.choices[0].message.content);
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finishes.map((c) => c.choices[0].finish_reason)).toEqual(['stop']);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: full.usage!.prompt_tokens, completion_tokens: full.usage!.completion_tokens });
    expect(chunks.slice(0, -1).every((c) => c.usage == null)).toBe(true);
  });

  it('puts usage on every chunk with continuous_usage_stats, prompt_tokens on the first', async () => {
    const streamOptions = { include_usage: true, continuous_usage_stats: true };
    const stream = await client.chat.completions.create(body<ChatCompletionCreateParamsStreaming>({
      model: MODEL, messages: ask('Count with me.'), stream: true, max_tokens: 5, stream_options: streamOptions,
    }));
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.every((c) => c.usage != null)).toBe(true);
    expect(chunks[0].usage!.prompt_tokens).toBeGreaterThan(0);
    expect(chunks[0].usage!.completion_tokens).toBe(0);
    expect(chunks[chunks.length - 1].usage!.completion_tokens).toBe(5);
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('length');
  });

  it('streams a forced tool call: id, type and name first, then the arguments in pieces', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL, messages: ask('Book it.'), stream: true, tool_choice: 'required',
      tools: [{ type: 'function', function: { name: 'book', parameters: { type: 'object', required: ['seat', 'car'], properties: { seat: { type: 'integer' }, car: { type: 'string' } } } } }],
    });
    const calls = [];
    let finish: string | null | undefined;
    for await (const c of stream) {
      if (c.choices[0]?.delta?.tool_calls) calls.push(...c.choices[0].delta.tool_calls);
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'book', arguments: '' } });
    expect(calls[0].id).toMatch(/^call_/);
    expect(calls.length).toBeGreaterThan(2);
    expect(calls.slice(1).every((c) => c.id === undefined && c.function?.name === undefined)).toBe(true);
    const args = JSON.parse(calls.map((c) => c.function?.arguments ?? '').join(''));
    expect(Object.keys(args).sort()).toEqual(['car', 'seat']);
    expect(finish).toBe('tool_calls');
  });

  it('works with the SDK\'s ChatCompletionStream helper, which checks the stream\'s shape', async () => {
    const runner = client.chat.completions.stream({ model: MODEL, messages: ask('Helper check.') });
    const done = await runner.finalChatCompletion();
    expect(done.choices[0].message.content!.length).toBeGreaterThan(0);
    expect(done.choices[0].finish_reason).toBe('stop');
  });
});

describe('completions', () => {
  it('serves /v1/completions with a 16-token default cap, streamed and not', async () => {
    const c = await client.completions.create(body<CompletionCreateParamsNonStreaming>({ model: MODEL, prompt: 'Once upon a time', ignore_eos: true }));
    expect(c.object).toBe('text_completion');
    expect(c.usage!.completion_tokens).toBe(16);
    expect(c.choices[0].finish_reason).toBe('length');
    const stream = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 4, stream: true });
    let text = '';
    for await (const ch of stream) text += ch.choices[0]?.text ?? '';
    expect(text).toBe(c.choices[0].text.slice(0, text.length));
    expect(text.length).toBeGreaterThan(0);
  });
});

describe('errors in vLLM\'s format', () => {
  it('answers an unknown model with 404 NotFoundError', async () => {
    const err = await client.chat.completions.create({ model: 'nope', messages: ask('x') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    const e = err as InstanceType<typeof OpenAI.NotFoundError>;
    expect(e.status).toBe(404);
    expect(e.message).toContain('The model `nope` does not exist.');
    expect(e.type).toBe('NotFoundError');
  });

  it('answers a bad body with 400 and an integer code', async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/json');
    const j = await res.json();
    expect(j.error).toMatchObject({ type: 'BadRequestError', code: 400 });
    const noMessages = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, messages: [] }) });
    expect(noMessages.status).toBe(400);
    expect((await noMessages.json()).error.param).toBe('messages');
  });

  it('refuses a prompt longer than max_model_len, and a cap that would overflow it', async () => {
    const long = await client.chat.completions.create({ model: MODEL, messages: ask('word '.repeat(5000)) }).catch((e: unknown) => e);
    expect(long).toBeInstanceOf(OpenAI.BadRequestError);
    expect((long as Error).message).toMatch(/maximum context length is 4096 tokens/);
    const cap = await client.chat.completions.create({ model: MODEL, messages: ask('hi'), max_tokens: 5000 }).catch((e: unknown) => e);
    expect(cap).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('continues a final assistant message (prefill) only with add_generation_prompt off', async () => {
    const messages = [...ask('x'), { role: 'assistant' as const, content: 'The yard' }];
    const ok = await client.chat.completions.create(body<ChatCompletionCreateParamsNonStreaming>({ model: MODEL, messages, continue_final_message: true, add_generation_prompt: false }));
    expect(ok.choices[0].finish_reason).toBe('stop');
    const both = await client.chat.completions.create(body<ChatCompletionCreateParamsNonStreaming>({ model: MODEL, messages, continue_final_message: true })).catch((e: unknown) => e);
    expect(both).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('refuses stream_options without stream, and a named tool that was not sent', async () => {
    const so = await client.chat.completions.create({ model: MODEL, messages: ask('x'), stream_options: { include_usage: true } }).catch((e: unknown) => e);
    expect(so).toBeInstanceOf(OpenAI.BadRequestError);
    const tool = await client.chat.completions.create({
      model: MODEL, messages: ask('x'), tools: [{ type: 'function', function: { name: 'a' } }], tool_choice: { type: 'function', function: { name: 'b' } },
    }).catch((e: unknown) => e);
    expect(tool).toBeInstanceOf(OpenAI.BadRequestError);
  });
});
