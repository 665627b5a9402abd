import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, DEMO_KEY, admin, eventually, startSwitchyard, type Running } from './harness.js';

// Two real Switchyards in a chain: A fronts one simulated replica; B fronts A as an upstream that
// speaks the Anthropic Messages API (protocol: anthropic). The official SDKs talk to B, unchanged,
// and what they hear is checked against A's own ledger.
const MODEL = 'llama-3.1-8b';
let a: Running;
let b: Running;
let viaFlag: Running;
let openai: OpenAI;
let anthropic: Anthropic;

const WEATHER = { type: 'function' as const, function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

beforeAll(async () => {
  a = await startSwitchyard({
    config: [
      `demo: [{ model: ${MODEL}, region: us-east, replicas: 1 }]`,
      'tiers:',
      '  default: { requestsPerMinute: 4000, inputTokensPerMinute: 2000000, outputTokensPerMinute: 400000 }',
      // one request a minute: the second is A's 429
      '  tiny: { requestsPerMinute: 1, inputTokensPerMinute: 2000000, outputTokensPerMinute: 400000 }',
    ].join('\n'),
  });
  const t = await admin(a.url, '/tenants', { method: 'POST', body: JSON.stringify({ name: 'tiny-upstream', tier: 'tiny' }) });
  expect(t.status, JSON.stringify(t.body)).toBe(201);
  const k = await admin(a.url, `/tenants/${t.body.id}/keys`, { method: 'POST', body: JSON.stringify({ name: 'b' }) });
  expect(k.status, JSON.stringify(k.body)).toBe(201);
  b = await startSwitchyard({
    config: [
      'fleet: { healthIntervalMs: 500 }',
      'models:',
      `  - { id: ${MODEL}, defaultMaxTokens: 48 }`,
      '  - { id: limited, defaultMaxTokens: 16 }',
      'replicas:',
      `  - { model: ${MODEL}, url: "${a.url}", protocol: anthropic, apiKey: "${DEMO_KEY}" }`,
      `  - { model: limited, servedModel: ${MODEL}, url: "${a.url}", protocol: anthropic, apiKey: "${k.body.secret}" }`,
    ].join('\n'),
  });
  // the --replica form, with no key for A: it must reach A as the Messages API and hear A's 401
  viaFlag = await startSwitchyard({ args: ['--replica', `${MODEL}=anthropic+${a.url}`] });
  openai = new OpenAI({ baseURL: `${b.url}/v1`, apiKey: DEMO_KEY, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: b.url, apiKey: DEMO_KEY, maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await Promise.all([viaFlag?.stop(), b?.stop()]);
  await a?.stop();
});

/** A's ledger rows for the demo tenant, newest first (what B's requests cost at A). */
async function usageAtA(): Promise<any[]> {
  const tenants = await admin(a.url, '/tenants?limit=100');
  const demo = tenants.body.data.find((t: { name: string }) => t.name !== 'tiny-upstream');
  return (await admin(a.url, `/tenants/${demo.id}/usage?limit=100`)).body.data;
}

/** A's row for the one request B sent it since `sinceMs` (the ledger is written in batches). */
const rowAtA = (sinceMs: number, stream: boolean): Promise<any> => eventually(async () =>
  (await usageAtA()).find((r) => Date.parse(r.started_at) >= sinceMs && r.stream === stream && r.status === 200));

describe('an OpenAI client served by an Anthropic-protocol upstream (Switchyard behind Switchyard)', () => {
  it('answers a non-streamed request, with usage equal to what A recorded', async () => {
    const since = Date.now();
    const c = await openai.chat.completions.create({ model: MODEL, max_tokens: 24, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello.' }] });
    expect(c.id).toMatch(/^chatcmpl-/);
    expect(c.choices[0].message.content!.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(c.choices[0].finish_reason);
    const row = await rowAtA(since, false);
    expect(row).toMatchObject({ wire: 'anthropic', stream: false, outcome: 'ok' });
    expect(c.usage).toMatchObject({ prompt_tokens: row.input_tokens, completion_tokens: row.output_tokens });
    expect(c.usage!.prompt_tokens).toBeGreaterThan(0);
  });

  it('streams, with one usage chunk equal to what A recorded for the stream', async () => {
    const since = Date.now();
    const stream = await openai.chat.completions.create({ model: MODEL, max_tokens: 24, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Tell me about rail yards.' }] });
    let text = '';
    let finish: string | null = null;
    const usages: OpenAI.CompletionUsage[] = [];
    for await (const ch of stream) {
      text += ch.choices[0]?.delta?.content ?? '';
      finish ??= ch.choices[0]?.finish_reason ?? null;
      if (ch.usage) usages.push(ch.usage);
    }
    expect(text.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(finish);
    expect(usages).toHaveLength(1);
    const row = await rowAtA(since, true);
    expect(row).toMatchObject({ wire: 'anthropic', stream: true, outcome: 'ok' });
    expect(usages[0]).toMatchObject({ prompt_tokens: row.input_tokens, completion_tokens: row.output_tokens });
  });

  it('says length when the upstream stopped at max_tokens', async () => {
    const c = await openai.chat.completions.create({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'Write a long essay about trains.' }] });
    expect(c.choices[0].finish_reason).toBe('length');
    expect(c.usage!.completion_tokens).toBe(2);
  });

  it('makes a forced tool call, streamed, and completes a tool-result round trip', async () => {
    const forced = { type: 'function' as const, function: { name: 'get_weather' } };
    const final = await openai.chat.completions.stream({ model: MODEL, max_tokens: 64, tools: [WEATHER], tool_choice: forced, messages: [{ role: 'user', content: 'Weather in Paris?' }] }).finalChatCompletion();
    const msg = final.choices[0].message;
    const call = msg.tool_calls![0];
    expect(call.type === 'function' && call.function.name).toBe('get_weather');
    expect(call.id.length).toBeGreaterThan(0);
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    const args = call.type === 'function' ? JSON.parse(call.function.arguments) : null;
    expect(typeof args).toBe('object');
    // the result goes back: A must see a tool_use answered by its tool_result, or it would refuse
    const next = await openai.chat.completions.create({
      model: MODEL, max_tokens: 24, tools: [WEATHER],
      messages: [{ role: 'user', content: 'Weather in Paris?' }, msg, { role: 'tool', tool_call_id: call.id, content: 'Sunny, 24 °C' }],
    });
    expect(next.choices[0].message.content!.length).toBeGreaterThan(0);
  });

  it("passes A's 400 on as a 400 in A's words", async () => {
    const err = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: '' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message).toContain('non-empty');
  });

  it("answers A's 429 (its limit on B's key) as overloaded: the client's own limits are B's", async () => {
    const first = await openai.chat.completions.create({ model: 'limited', messages: [{ role: 'user', content: 'one' }] });
    expect(first.choices[0].message.content!.length).toBeGreaterThan(0);
    const err = await openai.chat.completions.create({ model: 'limited', messages: [{ role: 'user', content: 'two' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(503);
    expect(err.headers.get('retry-after')).toBeTruthy();
  });
});

describe('an Anthropic client through the same chain', () => {
  it('streams a message whose usage matches what A recorded', async () => {
    const since = Date.now();
    const msg = await anthropic.messages.stream({ model: MODEL, max_tokens: 24, system: 'Be terse.', messages: [{ role: 'user', content: 'Hi there' }] }).finalMessage();
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.content[0].type).toBe('text');
    const row = await rowAtA(since, true);
    expect(msg.usage.input_tokens + (msg.usage.cache_read_input_tokens ?? 0)).toBe(row.input_tokens);
    expect(msg.usage.output_tokens).toBe(row.output_tokens);
  });

  it('makes a forced tool call and completes the tool-result round trip, toolu_ ids intact', async () => {
    const tools = [{ name: 'get_weather', description: 'Weather in a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } }];
    const first = await anthropic.messages.create({ model: MODEL, max_tokens: 64, tools, tool_choice: { type: 'tool', name: 'get_weather' }, messages: [{ role: 'user', content: 'Weather in Rome?' }] });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b) => b.type === 'tool_use')!;
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', id: expect.stringMatching(/^toolu_/) });
    const next = await anthropic.messages.create({
      model: MODEL, max_tokens: 24, tools,
      messages: [
        { role: 'user', content: 'Weather in Rome?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: (use as Anthropic.ToolUseBlock).id, content: 'Rain, 14 °C' }] },
      ],
    });
    expect(next.content[0].type).toBe('text');
    expect(next.usage.output_tokens).toBeGreaterThan(0);
  });

  it('counts tokens with A\'s count_tokens', async () => {
    const direct = await new Anthropic({ baseURL: a.url, apiKey: DEMO_KEY, maxRetries: 0 }).messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'How many tokens is this?' }] });
    const chained = await anthropic.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'How many tokens is this?' }] });
    expect(chained.input_tokens).toBe(direct.input_tokens);
  });
});

describe('the --replica MODEL=anthropic+URL form', () => {
  it('fronts the URL as a Messages API upstream (A refuses the missing key, so B says 502 with A\'s status)', async () => {
    const c = new OpenAI({ baseURL: `${viaFlag.url}/v1`, apiKey: DEMO_KEY, maxRetries: 0 });
    const err = await c.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(err.status).toBe(502);
    expect(err.message).toContain('401');
    // and the fleet view says which protocol the replica speaks
    const fleet = await fetch(`${viaFlag.url}/admin/v1/fleet`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then((r) => r.json());
    expect(JSON.stringify(fleet)).toContain('"protocol":"anthropic"');
  });
});
