import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import { scriptedPlatform } from './support.js';

// What a replica says that the demo engine never does, as each client hears it: a refusal, a
// legacy function_call, a 400 with its own param and code. The replica answers the scenario the
// user's text names; what it sends is untrusted, so some scenarios send it malformed.
const KEY = 'sk-sy-gateway-replica-answers-key-00000000000';
const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const REFUSAL = 'I cannot help with that.';

type Answer = { message: Record<string, unknown>; finish: string } | { status: number; body: unknown };

const answers: Record<string, Answer> = {
  refusal: { message: { role: 'assistant', content: null, refusal: REFUSAL }, finish: 'stop' },
  filtered: { message: { role: 'assistant', content: null, refusal: REFUSAL }, finish: 'content_filter' },
  badRefusal: { message: { role: 'assistant', content: 'ok', refusal: { text: REFUSAL } }, finish: 'stop' },
  functionCall: { message: { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }, finish: 'function_call' },
  badFunctionCall: { message: { role: 'assistant', content: null, function_call: { name: 7, arguments: { city: 'Oslo' } } }, finish: 'function_call' },
  // OpenAI's own shape for a prompt over the context window
  tooLong: { status: 400, body: { error: { message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } } },
  // vLLM's flat shape: its code is the status, a number
  vllm400: { status: 400, body: { object: 'error', message: 'bad thing', type: 'BadRequestError', param: 'messages', code: 400 } },
  junk400: { status: 400, body: { error: { message: 'refused', param: 'messages\n\u001b[31m', code: 'x'.repeat(200) } } },
};

/** The scenario a request names: `SCEN:<name>` as the last user text. */
function scenario(body: { messages: Array<{ role: string; content: unknown }> }): Answer {
  const last = body.messages.filter((m) => m.role === 'user').at(-1)?.content;
  const text = typeof last === 'string' ? last : Array.isArray(last) ? last.map((p: { text?: string }) => p.text ?? '').join('') : '';
  return answers[text.replace(/^SCEN:/, '')] ?? answers.refusal;
}

const chunk = (delta: Record<string, unknown>, finish: string | null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;

let platform: Platform;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  platform = await scriptedPlatform({
    key: KEY,
    replica: (q, s) => {
      if (q.method === 'GET') return void s.end();
      let b = '';
      q.setEncoding('utf8').on('data', (d: string) => (b += d)).on('end', () => {
        const body = JSON.parse(b);
        const a = scenario(body);
        if ('status' in a) return void s.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
        if (body.stream !== true) {
          const completion = { id: 'chatcmpl-w', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: a.message, logprobs: null, finish_reason: a.finish }], usage };
          return void s.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion));
        }
        // the refusal in two fragments, as vLLM streams it; a legacy call as OpenAI streams one, its
        // name first with empty arguments (a malformed one as sent)
        const m = a.message;
        const fc = m.function_call as { name: unknown; arguments: unknown } | undefined;
        const pieces = typeof m.refusal === 'string' ? [{ refusal: m.refusal.slice(0, 9) }, { refusal: m.refusal.slice(9) }]
          : fc && typeof fc.arguments === 'string'
            ? [{ content: null, function_call: { name: fc.name, arguments: '' } }, { function_call: { arguments: fc.arguments.slice(0, 8) } }, { function_call: { arguments: fc.arguments.slice(8) } }]
            : fc ? [{ content: null, function_call: fc }] : [{ content: m.content }];
        s.writeHead(200, { 'content-type': 'text/event-stream' });
        s.end(chunk({ role: 'assistant', ...pieces[0] }, null) + pieces.slice(1).map((p) => chunk(p, null)).join('') + chunk({}, a.finish) + 'data: [DONE]\n\n');
      });
    },
  });
  openai = new OpenAI({ baseURL: `${platform.url}/v1`, apiKey: KEY, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: platform.url, apiKey: KEY, maxRetries: 0 });
});

afterAll(async () => {
  await platform?.close();
});

const ask = (scen: string) => ({ model: 'llama-3.1-8b', messages: [{ role: 'user' as const, content: `SCEN:${scen}` }] });

describe('a replica\'s refusal, to an OpenAI client', () => {
  it('is message.refusal in a whole answer, as it is in a streamed one', async () => {
    const whole = await openai.chat.completions.create(ask('refusal'));
    expect(whole.choices[0].message).toMatchObject({ role: 'assistant', content: null, refusal: REFUSAL });
    expect(whole.choices[0].finish_reason).toBe('stop');
    const streamed = await openai.chat.completions.stream(ask('refusal')).finalChatCompletion();
    expect(streamed.choices[0].message.refusal).toBe(whole.choices[0].message.refusal);
  });

  it('is null when what the replica sent as a refusal is not text', async () => {
    const r = await openai.chat.completions.create(ask('badRefusal'));
    expect(r.choices[0].message).toMatchObject({ content: 'ok', refusal: null });
  });
});

describe('a replica\'s legacy function_call, to an OpenAI client', () => {
  it('is message.function_call with its name and arguments, beside finish_reason function_call', async () => {
    const r = await openai.chat.completions.create(ask('functionCall'));
    expect(r.choices[0].finish_reason).toBe('function_call');
    expect(r.choices[0].message.function_call).toEqual({ name: 'get_weather', arguments: '{"city":"Oslo"}' });
  });

  it('is the same call when streamed in fragments', async () => {
    const streamed = await openai.chat.completions.stream(ask('functionCall')).finalChatCompletion();
    expect(streamed.choices[0].finish_reason).toBe('function_call');
    expect(streamed.choices[0].message.function_call).toEqual({ name: 'get_weather', arguments: '{"city":"Oslo"}' });
  });

  it('is left out when its name or arguments are not text, whole or streamed', async () => {
    const r = await openai.chat.completions.create(ask('badFunctionCall'));
    expect(r.choices[0].message).not.toHaveProperty('function_call');
    expect(r.choices[0].message).toMatchObject({ role: 'assistant', content: null, refusal: null });
    const streamed = await openai.chat.completions.stream(ask('badFunctionCall')).finalChatCompletion();
    expect(streamed.choices[0].message.function_call).toBeUndefined();
    expect(streamed.choices[0].message).toMatchObject({ role: 'assistant', content: null, refusal: null });
  });
});

describe('a replica\'s refusal, to an Anthropic client', () => {
  // The OpenAI refusal field has no Anthropic block: it is text the client reads and stop_reason
  // "refusal", whatever the replica's finish_reason, and both ways of asking give the same message.
  const cases = [
    ['refusal', 'refusal', [{ type: 'text', text: REFUSAL }]],
    ['filtered', 'refusal', [{ type: 'text', text: REFUSAL }]],
    ['badRefusal', 'end_turn', [{ type: 'text', text: 'ok' }]],
  ] as const;
  for (const [scen, stop, content] of cases) {
    it(`is answered alike whole and streamed (${scen}: stop_reason ${stop})`, async () => {
      const req = { model: 'llama-3.1-8b', max_tokens: 16, messages: [{ role: 'user' as const, content: `SCEN:${scen}` }] };
      const whole = await anthropic.messages.create(req);
      const streamed = await anthropic.messages.stream(req).finalMessage();
      expect(whole.stop_reason).toBe(stop);
      expect(streamed.stop_reason).toBe(stop);
      expect(whole.content).toEqual(content);
      expect(streamed.content).toEqual(content);
    });
  }
});

describe('a request the replica refused with a 400', () => {
  const refused = (scen: string) => openai.chat.completions.create(ask(scen)).then(() => null, (e: unknown) => e as InstanceType<typeof OpenAI.BadRequestError>);

  it('reaches an OpenAI client with the replica\'s message, param and code', async () => {
    const err = await refused('tooLong');
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err!.error).toEqual({
      message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
      type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded',
    });
    expect(err!.code).toBe('context_length_exceeded');
  });

  it('keeps vLLM\'s param, but not its numeric code', async () => {
    const err = await refused('vllm400');
    expect(err!.error).toEqual({ message: 'bad thing', type: 'invalid_request_error', param: 'messages', code: null });
  });

  it('drops a param with control characters and a code too long to be one', async () => {
    const err = await refused('junk400');
    expect(err!.error).toEqual({ message: 'refused', type: 'invalid_request_error', param: null, code: null });
  });

  it('reaches an Anthropic client as invalid_request_error in the replica\'s words', async () => {
    const err = await anthropic.messages.create({ model: 'llama-3.1-8b', max_tokens: 16, messages: [{ role: 'user', content: 'SCEN:tooLong' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    const body = (err as InstanceType<typeof Anthropic.BadRequestError>).error as { error: Record<string, unknown> };
    expect(body.error).toEqual({ type: 'invalid_request_error', message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens." });
  });
});
