// The best proof of wire compatibility: the official SDKs, unchanged, talk to a tiny server whose
// every byte comes from this room — requests the SDKs build are parsed by our validators, and the
// answers (JSON, SSE, errors) are rendered by our renderers from realistic vLLM output.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anthropicStream, newRequestId, openaiStream, parseAnthropicMessages, parseOpenAIChat, renderAnthropicMessage, renderError,
  renderOpenAIChat, type GatewayError, type InferenceRequest, type Wire,
} from '../../src/api/index.js';
import { JSON_HEADERS, SSE_HEADERS, serve, tool, transcode, vllmChunks, vllmCompletion, type Reply, type Script } from './fixtures.js';

const SCRIPTS: Record<string, Script> = {
  text: { prompt: 412, cached: 400, deltas: [{ content: 'The capital of France' }, { content: ' is Paris.' }], finish: 'stop' },
  tools: {
    prompt: 230,
    deltas: [
      { content: 'Checking both cities.' },
      tool(0, 'call_paris', 'get_weather', '{"city": "Pa'), tool(0, undefined, undefined, 'ris", "unit": "C"}'),
      tool(1, 'call_rome', 'get_weather', '{"city"'), tool(1, undefined, undefined, ': "Rome"}'),
    ],
    finish: 'tool_calls',
  },
  mixed: { prompt: 50, deltas: [{ content: 'On it.', tool_calls: [{ index: 0, id: 'call_mix', type: 'function', function: { name: 'lookup', arguments: '{"q":"kv cache"}' } }] }], finish: 'tool_calls' },
  stopseq: { prompt: 12, deltas: [{ content: '1, 2, 3' }], finish: 'stop', stopReason: '4' },
  length: { prompt: 12, deltas: [{ content: 'Once upon' }], finish: 'length' },
};

const OVERLOADED: GatewayError = { kind: 'overloaded', message: 'No replica of model m is available; try again shortly.', retryAfterS: 2 };
const CUT: GatewayError = { kind: 'upstream', message: 'The replica ended the response before it was complete.' };

let server: Awaited<ReturnType<typeof serve>>;
const seen: InferenceRequest[] = [];

function errorReply(wire: Wire, e: GatewayError): Reply {
  const w = renderError(wire, e, newRequestId());
  return { status: w.status, headers: { ...JSON_HEADERS, ...w.headers }, body: w.body };
}

beforeAll(async () => {
  server = await serve((body, req) => {
    const wire: Wire = req.url!.startsWith('/v1/messages') ? 'anthropic' : 'openai';
    const parsed = wire === 'anthropic' ? parseAnthropicMessages(body) : parseOpenAIChat(body);
    if (!parsed.ok) return errorReply(wire, parsed.error);
    const ir = parsed.value;
    seen.push(ir);
    const scenario = String(req.headers['x-scenario']);
    if (scenario === 'overloaded') return errorReply(wire, OVERLOADED);
    const ctx = { requestId: newRequestId(), model: ir.model };
    const script = SCRIPTS[scenario] ?? SCRIPTS.text;
    if (!ir.stream) {
      const r = wire === 'anthropic' ? renderAnthropicMessage(ctx, vllmCompletion(script)) : renderOpenAIChat(ctx, vllmCompletion(script));
      return { status: 200, headers: JSON_HEADERS, body: r.body };
    }
    const t = wire === 'anthropic' ? anthropicStream(ctx) : openaiStream(ctx, ir.includeUsage);
    const chunks = vllmChunks(script);
    if (scenario === 'cut') {
      let sse = '';
      for (const c of chunks.slice(0, 2)) sse += t.chunk(c);
      return { status: 200, headers: SSE_HEADERS, body: sse + t.fail(CUT) };
    }
    return { status: 200, headers: SSE_HEADERS, body: transcode(t, chunks) };
  });
});

afterAll(() => server.close());

const scenario = (name: string) => ({ headers: { 'x-scenario': name } });
const weather = { name: 'get_weather', description: 'Weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };

describe('the Anthropic SDK reading our output', () => {
  const client = () => new Anthropic({ baseURL: server.url, apiKey: 'x', maxRetries: 0 });
  const ask = { model: 'llama-3.1-8b', max_tokens: 256, messages: [{ role: 'user' as const, content: 'Capital of France?' }] };

  it('reassembles streamed text, stop reason and usage with cache reads split out', async () => {
    const m = await client().messages.stream(ask, scenario('text')).finalMessage();
    expect(m.content).toEqual([{ type: 'text', text: 'The capital of France is Paris.' }]);
    expect(m.model).toBe('llama-3.1-8b');
    expect(m.stop_reason).toBe('end_turn');
    expect(m.usage).toMatchObject({ input_tokens: 12, cache_read_input_tokens: 400, output_tokens: 3 });
    expect(seen.at(-1)!.upstream.stream_options).toEqual({ include_usage: true, continuous_usage_stats: true });
  });

  it('reassembles two parallel tool calls with their inputs', async () => {
    const m = await client().messages.stream({ ...ask, tools: [weather] }, scenario('tools')).finalMessage();
    expect(m.stop_reason).toBe('tool_use');
    expect(m.content).toEqual([
      { type: 'text', text: 'Checking both cities.' },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: { city: 'Paris', unit: 'C' } },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: { city: 'Rome' } },
    ]);
  });

  it('reassembles text and a tool call that arrived in one chunk', async () => {
    const m = await client().messages.stream({ ...ask, tools: [weather] }, scenario('mixed')).finalMessage();
    expect(m.content).toEqual([{ type: 'text', text: 'On it.' }, { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'lookup', input: { q: 'kv cache' } }]);
  });

  it('sees the matched stop sequence and a max_tokens stop', async () => {
    const a = await client().messages.stream({ ...ask, stop_sequences: ['4'] }, scenario('stopseq')).finalMessage();
    expect([a.stop_reason, a.stop_sequence]).toEqual(['stop_sequence', '4']);
    const b = await client().messages.stream(ask, scenario('length')).finalMessage();
    expect(b.stop_reason).toBe('max_tokens');
  });

  it('throws on the error event of a stream cut short', async () => {
    const err = await client().messages.stream(ask, scenario('cut')).finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).type).toBe('api_error');
    expect(String((err as Error).message)).toContain('before it was complete');
  });

  it('reads a non-stream message with tool_use inputs as objects', async () => {
    const m = await client().messages.create({ ...ask, tools: [weather] }, scenario('tools'));
    expect(m.content[1]).toEqual({ type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: { city: 'Paris', unit: 'C' } });
    expect(m.usage.input_tokens).toBe(230);
  });

  it('gets a 400 BadRequestError naming the field when validation fails', async () => {
    const err = await client().messages.create({ ...ask, temperature: 1.5 } as typeof ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    const e = err as InstanceType<typeof Anthropic.BadRequestError>;
    expect(e.type).toBe('invalid_request_error');
    expect(e.message).toContain('temperature: Input should be less than or equal to 1');
  });

  it('gets a 529 overloaded_error it would retry', async () => {
    const err = await client().messages.create(ask, scenario('overloaded')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    const e = err as InstanceType<typeof Anthropic.InternalServerError>;
    expect(e.status).toBe(529);
    expect(e.type).toBe('overloaded_error');
    expect(e.headers?.get('retry-after')).toBe('2');
  });

  it('sends a tool round trip the validator accepts and translates', async () => {
    await client().messages.create({
      ...ask,
      tools: [weather],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18C' }] },
      ],
    }, scenario('text'));
    expect(seen.at(-1)!.upstream.messages.slice(1)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: '18C' },
    ]);
  });
});

describe('the OpenAI SDK reading our output', () => {
  const client = () => new OpenAI({ baseURL: server.url + '/v1', apiKey: 'x', maxRetries: 0 });
  const ask = { model: 'llama-3.1-8b', messages: [{ role: 'user' as const, content: 'Capital of France?' }] };
  const fnTool = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } };

  it('reassembles streamed text and the usage it asked for', async () => {
    const c = await client().chat.completions.stream({ ...ask, stream_options: { include_usage: true } }, scenario('text')).finalChatCompletion();
    expect(c.choices[0].message.content).toBe('The capital of France is Paris.');
    expect(c.choices[0].finish_reason).toBe('stop');
    expect(c.model).toBe('llama-3.1-8b');
    expect(c.usage).toMatchObject({ prompt_tokens: 412, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 400 } });
  });

  it('gets no usage it did not ask for', async () => {
    const c = await client().chat.completions.stream(ask, scenario('text')).finalChatCompletion();
    expect(c.usage ?? null).toBe(null);
    expect(seen.at(-1)!.upstream.stream_options).toEqual({ include_usage: true, continuous_usage_stats: true });
  });

  it('reassembles two parallel tool calls', async () => {
    const c = await client().chat.completions.stream({ ...ask, tools: [fnTool] }, scenario('tools')).finalChatCompletion();
    const calls = c.choices[0].message.tool_calls!;
    expect(calls.map((t) => t.type === 'function' && [t.id, t.function.name, JSON.parse(t.function.arguments)])).toEqual([
      ['call_paris', 'get_weather', { city: 'Paris', unit: 'C' }],
      ['call_rome', 'get_weather', { city: 'Rome' }],
    ]);
    expect(c.choices[0].finish_reason).toBe('tool_calls');
  });

  it('throws on the error payload of a stream cut short', async () => {
    const err = await client().chat.completions.stream(ask, scenario('cut')).finalChatCompletion().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String((err as Error).message)).toContain('before it was complete');
  });

  it('reads a non-stream completion', async () => {
    const c = await client().chat.completions.create({ ...ask, tools: [fnTool] }, scenario('mixed'));
    expect(c.choices[0].message.content).toBe('On it.');
    expect(c.choices[0].message.tool_calls?.[0]).toMatchObject({ id: 'call_mix', function: { name: 'lookup', arguments: '{"q":"kv cache"}' } });
    expect(c.usage?.total_tokens).toBe(52);
  });

  it('gets a 400 with param and a 503 overloaded it would retry', async () => {
    const bad = await client().chat.completions.create({ ...ask, n: 3 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('n');
    const busy = await client().chat.completions.create(ask, scenario('overloaded')).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(OpenAI.InternalServerError);
    expect((busy as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(503);
    expect((busy as InstanceType<typeof OpenAI.InternalServerError>).code).toBe('overloaded');
  });
});
