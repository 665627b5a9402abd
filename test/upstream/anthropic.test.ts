import Anthropic from '@anthropic-ai/sdk';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startPlatform, type Platform } from '../../src/gateway/index.js';
import { createLogger } from '../../src/observe/index.js';
import { demoStore } from '../gateway/support.js';

// The gateway in-process in front of a scripted upstream that speaks the Anthropic Messages API
// (protocol: anthropic), on a real socket. Each served model name is one script; the specs say what
// the gateway sends it and what the OpenAI and Anthropic SDKs receive back.
const KEY = 'sk-sy-anthropic-upstream-test-key-0000000000';
const UPSTREAM_KEY = 'sk-ant-upstream-secret';
const ADMIN = 'anthropic-upstream-admin-token';
type Script = (res: ServerResponse, body: any) => void;

const frame = (o: { type: string }) => `event: ${o.type}\ndata: ${JSON.stringify(o)}\n\n`;
const msgStart = (input = 21) => frame({ type: 'message_start', message: { id: 'msg_up1', type: 'message', role: 'assistant', content: [], model: 'claude-up', stop_reason: null, stop_sequence: null, usage: { input_tokens: input, output_tokens: 1, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 } } } as never);
const textBlock = (i: number, ...parts: string[]) =>
  frame({ type: 'content_block_start', index: i, content_block: { type: 'text', text: '' } } as never) +
  parts.map((t) => frame({ type: 'content_block_delta', index: i, delta: { type: 'text_delta', text: t } } as never)).join('') +
  frame({ type: 'content_block_stop', index: i } as never);
const msgDelta = (stop: string, output: number) => frame({ type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: output } } as never);
const PING = frame({ type: 'ping' });
const STOP = frame({ type: 'message_stop' });
const message = (content: object[], stop: string, output = 5) => JSON.stringify({
  id: 'msg_up2', type: 'message', role: 'assistant', model: 'claude-up', content, stop_reason: stop, stop_sequence: null,
  usage: { input_tokens: 30, output_tokens: output, cache_read_input_tokens: 10, cache_creation_input_tokens: 2 },
});
const sse = (s: ServerResponse) => s.writeHead(200, { 'content-type': 'text/event-stream' });
const json = (s: ServerResponse, status: number, body: string) => void s.writeHead(status, { 'content-type': 'application/json' }).end(body);
const anthropicError = (type: string, msg: string) => JSON.stringify({ type: 'error', error: { type, message: msg } });

const scripts: Record<string, Script> = {
  text: (s, b) => {
    if (!b.stream) return json(s, 200, message([{ type: 'text', text: 'Hello ' }, { type: 'text', text: 'there.' }], 'end_turn'));
    sse(s);
    s.end(msgStart() + PING + textBlock(0, 'Hel', 'lo.') + msgDelta('end_turn', 3) + STOP);
  },
  // two calls at once, their argument fragments interleaved, after a line of text
  tools: (s, b) => {
    if (!b.stream) {
      return json(s, 200, message([{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_p', name: 'weather', input: { city: 'Paris' } }, { type: 'tool_use', id: 'toolu_r', name: 'weather', input: { city: 'Rome' } }], 'tool_use'));
    }
    sse(s);
    s.end(
      msgStart() + textBlock(0, 'Checking.') +
      frame({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_p', name: 'weather', input: {} } } as never) +
      frame({ type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_r', name: 'weather', input: {} } } as never) +
      frame({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":' } } as never) +
      frame({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city":"Rome"}' } } as never) +
      frame({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } } as never) +
      frame({ type: 'content_block_stop', index: 1 } as never) + frame({ type: 'content_block_stop', index: 2 } as never) +
      msgDelta('tool_use', 17) + STOP,
    );
  },
  long: (s, b) => (b.stream ? (sse(s), s.end(msgStart() + textBlock(0, 'a b c') + msgDelta('max_tokens', 3) + STOP)) : json(s, 200, message([{ type: 'text', text: 'a b c' }], 'max_tokens', 3))),
  refuses: (s) => json(s, 400, anthropicError('invalid_request_error', 'messages.0: all messages must have non-empty content')),
  overloaded: (s) => json(s, 529, anthropicError('overloaded_error', 'Overloaded')),
  limited: (s) => json(s, 429, anthropicError('rate_limit_error', 'Number of requests has exceeded your rate limit')),
  unauthorised: (s) => json(s, 401, anthropicError('authentication_error', 'invalid x-api-key')),
  midError: (s) => {
    sse(s);
    s.write(msgStart() + frame({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } as never) + frame({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'partial' } } as never));
    setTimeout(() => s.end(frame({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } as never)), 20);
  },
  // everything but message_stop, then the connection ends
  cut: (s) => {
    sse(s);
    s.end(msgStart() + textBlock(0, 'half') + msgDelta('end_turn', 2));
  },
  malformed: (s) => json(s, 200, '{"type":"message","content":'),
  // a tool input nested deeper than JSON.stringify can go: the translation fails, not the gateway
  deep: (s, b) => {
    const input = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    if (!b.stream) return json(s, 200, `{"type":"message","content":[{"type":"tool_use","id":"toolu_d","name":"f","input":${input}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}}`);
    sse(s);
    s.end(msgStart() + `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_d","name":"f","input":${input}}}\n\n` + msgDelta('tool_use', 1) + STOP);
  },
};

interface Seen { path: string; headers: IncomingHttpHeaders; body: any }
const seen: Record<string, Seen[]> = {};
let server: Server;
let upstreamUrl = '';
let healthProbes = 0;

function onRequest(q: IncomingMessage, s: ServerResponse): void {
  if (q.method === 'GET') {
    // the Messages API has no /health; /v1/models wants a key, as Anthropic's does
    if (q.url === '/v1/models') healthProbes++;
    return json(s, q.url === '/v1/models' ? 401 : 404, anthropicError('not_found_error', 'Not found'));
  }
  let raw = '';
  q.on('data', (d) => (raw += d)).on('end', () => {
    const body = JSON.parse(raw);
    (seen[body.model] ??= []).push({ path: q.url!, headers: q.headers, body });
    if (q.url === '/v1/messages/count_tokens') return json(s, 200, JSON.stringify({ input_tokens: 42 }));
    scripts[body.model](s, body);
  });
}

let platform: Platform;
let anthropic: Anthropic;
let openai: OpenAI;

beforeAll(async () => {
  server = createServer(onRequest);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const storeUrl = await demoStore(KEY);
  const config = loadConfig(undefined, { port: 0 });
  config.fleet.healthIntervalMs = 50;
  config.upstream.maxAttempts = 1;
  const names = Object.keys(scripts);
  for (const n of [...names, 'added']) config.models.push({ ...config.models[0], id: n, displayName: n, defaultMaxTokens: 333 });
  const replicas = names.map((n) => ({ id: `local/${n}/0`, model: n, servedModel: n, region: 'us-east', url: upstreamUrl, protocol: 'anthropic' as const, apiKey: UPSTREAM_KEY }));
  platform = await startPlatform({ config, replicas, storeUrl, adminToken: ADMIN, log: createLogger('silent') });
  anthropic = new Anthropic({ baseURL: platform.url, apiKey: KEY, maxRetries: 0 });
  openai = new OpenAI({ baseURL: `${platform.url}/v1`, apiKey: KEY, maxRetries: 0 });
});

afterAll(async () => {
  await platform?.close();
  server?.closeAllConnections();
  server?.close();
});

async function ledgerRows(pick: (r: { requestId: string; model: string }) => boolean) {
  await platform.ledger.flush();
  const tenants = await platform.store.listTenants();
  const rows = (await Promise.all(tenants.map((t) => platform.store.queryUsage({ tenantId: t.id, limit: 500 })))).flat();
  return rows.filter(pick);
}

const ledgerRow = async (requestId: string) => (await ledgerRows((r) => r.requestId === requestId))[0];

describe('what the gateway sends an Anthropic-protocol upstream', () => {
  it('POSTs /v1/messages with x-api-key and anthropic-version, and the body in Messages form', async () => {
    await openai.chat.completions.create({
      model: 'text', temperature: 1.5, stop: ['END'],
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }],
    });
    const req = seen.text.at(-1)!;
    expect(req.path).toBe('/v1/messages');
    expect(req.headers['x-api-key']).toBe(UPSTREAM_KEY);
    expect(req.headers['anthropic-version']).toBe('2023-06-01');
    expect(req.headers.authorization).toBeUndefined();
    // no max_tokens from the client: the model's default, since Anthropic requires one
    expect(req.body).toEqual({
      model: 'text', max_tokens: 333, system: 'Be brief.', messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      stop_sequences: ['END'], temperature: 1,
    });
  });

  it('keeps an upstream with no /health in rotation: its health probe reads any answer below 500', async () => {
    const before = healthProbes;
    await new Promise((r) => setTimeout(r, 150));
    expect(healthProbes).toBeGreaterThan(before);
    const c = await openai.chat.completions.create({ model: 'text', messages: [{ role: 'user', content: 'still there?' }] });
    expect(c.choices[0].message.content).toBe('Hello there.');
  });

  it('refuses, naming the field, what the Messages API cannot carry, and never calls the upstream', async () => {
    const before = seen.text?.length ?? 0;
    const err = await openai.chat.completions.create({
      model: 'text', messages: [{ role: 'user', content: 'as JSON please' }],
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' } } },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message).toContain('response_format');
    expect(seen.text.length).toBe(before);
  });

  it('counts tokens with the upstream\'s own /v1/messages/count_tokens', async () => {
    const r = await anthropic.messages.countTokens({ model: 'text', system: 'S', messages: [{ role: 'user', content: 'count me' }] });
    expect(r.input_tokens).toBe(42);
    const req = seen.text.at(-1)!;
    expect(req.path).toBe('/v1/messages/count_tokens');
    expect(req.body).toEqual({ model: 'text', system: 'S', messages: [{ role: 'user', content: [{ type: 'text', text: 'count me' }] }] });
  });
});

describe('an Anthropic-protocol answer as an OpenAI client receives it', () => {
  it('a whole answer: text, finish_reason stop, and usage with every input token counted once', async () => {
    const { data: c, response } = await openai.chat.completions.create({ model: 'text', max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    expect(c.choices[0].message.content).toBe('Hello there.');
    expect(c.choices[0].finish_reason).toBe('stop');
    // 30 uncached + 10 read + 2 written
    expect(c.usage).toMatchObject({ prompt_tokens: 42, completion_tokens: 5, total_tokens: 47, prompt_tokens_details: { cached_tokens: 10 } });
    const row = await ledgerRow(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ inputTokens: 42, cachedInputTokens: 10, outputTokens: 5, outcome: 'ok' });
  });

  it('a streamed answer: content deltas, a finish, and the usage chunk once', async () => {
    const stream = await openai.chat.completions.create({ model: 'text', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hi' }] });
    let text = '';
    const usages: unknown[] = [];
    let finish: string | null = null;
    for await (const ch of stream) {
      text += ch.choices[0]?.delta?.content ?? '';
      finish ??= ch.choices[0]?.finish_reason ?? null;
      if (ch.usage) usages.push(ch.usage);
    }
    expect(text).toBe('Hello.');
    expect(finish).toBe('stop');
    expect(usages).toEqual([expect.objectContaining({ prompt_tokens: 25, completion_tokens: 3 })]);
  });

  it('parallel tool calls, streamed with interleaved fragments, keep their names, order and arguments', async () => {
    const stream = openai.chat.completions.stream({
      model: 'tools', messages: [{ role: 'user', content: 'Paris and Rome?' }],
      tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    });
    const final = await stream.finalChatCompletion();
    const calls = final.choices[0].message.tool_calls!;
    expect(calls.map((c) => c.type === 'function' && [c.function.name, JSON.parse(c.function.arguments)])).toEqual([['weather', { city: 'Paris' }], ['weather', { city: 'Rome' }]]);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    expect(final.choices[0].message.content).toBe('Checking.');
    expect(final.choices[0].finish_reason).toBe('tool_calls');
  });

  it('a tool-result round trip sends the results back as tool_result blocks answering their calls', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const first = await openai.chat.completions.create({ model: 'tools', tool_choice: 'required', tools, messages: [{ role: 'user', content: 'Paris and Rome?' }] });
    const m = first.choices[0].message;
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    await openai.chat.completions.create({
      model: 'text', tools,
      messages: [{ role: 'user', content: 'Paris and Rome?' }, m, ...m.tool_calls!.map((c, i) => ({ role: 'tool' as const, tool_call_id: c.id, content: i === 0 ? 'sunny' : 'rain' }))],
    });
    const sent = seen.tools.at(-1)!.body;
    expect(sent.tool_choice).toEqual({ type: 'any' });
    const back = seen.text.at(-1)!.body.messages;
    expect(back[1]).toEqual({ role: 'assistant', content: [
      { type: 'text', text: 'Checking.' },
      { type: 'tool_use', id: m.tool_calls![0].id, name: 'weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: m.tool_calls![1].id, name: 'weather', input: { city: 'Rome' } },
    ] });
    expect(back[2]).toEqual({ role: 'user', content: [
      { type: 'tool_result', tool_use_id: m.tool_calls![0].id, content: 'sunny' },
      { type: 'tool_result', tool_use_id: m.tool_calls![1].id, content: 'rain' },
    ] });
  });

  it.each([false, true])('max_tokens from the upstream is finish_reason length (stream: %s)', async (stream) => {
    if (!stream) {
      const c = await openai.chat.completions.create({ model: 'long', max_tokens: 3, messages: [{ role: 'user', content: 'go' }] });
      expect(c.choices[0].finish_reason).toBe('length');
      return;
    }
    let finish: string | null = null;
    for await (const ch of await openai.chat.completions.create({ model: 'long', max_tokens: 3, stream: true, messages: [{ role: 'user', content: 'go' }] })) finish ??= ch.choices[0]?.finish_reason ?? null;
    expect(finish).toBe('length');
  });
});

describe('an Anthropic-protocol answer as an Anthropic client receives it', () => {
  it('a streamed tool-calling answer keeps its blocks, ids and usage', async () => {
    const msg = await anthropic.messages.stream({
      model: 'tools', max_tokens: 50, messages: [{ role: 'user', content: 'Paris and Rome?' }],
      tools: [{ name: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    }).finalMessage();
    expect(msg.content.map((b) => b.type)).toEqual(['text', 'tool_use', 'tool_use']);
    expect(msg.content.slice(1).map((b) => b.type === 'tool_use' && [b.id, b.input])).toEqual([['toolu_p', { city: 'Paris' }], ['toolu_r', { city: 'Rome' }]]);
    expect(msg.stop_reason).toBe('tool_use');
    // 21 uncached + 4 read on the way in; 17 out, counted once
    expect(msg.usage).toMatchObject({ input_tokens: 21, cache_read_input_tokens: 4, output_tokens: 17 });
  });
});

describe('an Anthropic-protocol upstream that fails', () => {
  it.each([
    // [script, OpenAI SDK class, status, why]
    ['refuses', OpenAI.BadRequestError, 400, "the request's fault: the client hears the upstream's own words"],
    ['overloaded', OpenAI.InternalServerError, 503, '529 is overloaded: shed, and retryable'],
    ['limited', OpenAI.InternalServerError, 503, "the upstream's limit on this gateway's key is capacity to the client, not its own limit"],
    ['unauthorised', OpenAI.InternalServerError, 502, "the gateway's upstream key is wrong: not the client's fault"],
    ['malformed', OpenAI.InternalServerError, 502, 'not a message'],
  ])('%s: answered with the right status', async (model, cls, status) => {
    const err = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(cls);
    expect(err.status).toBe(status);
    if (model === 'refuses') expect(err.message).toContain('all messages must have non-empty content');
  });

  it.each([false, true])('#11 – a tool input nested 20,000 deep is a 502 (stream: %s), and the gateway serves on', async (stream) => {
    const err = await (async () => {
      if (!stream) return openai.chat.completions.create({ model: 'deep', messages: [{ role: 'user', content: 'x' }] });
      for await (const _ of await openai.chat.completions.create({ model: 'deep', stream: true, messages: [{ role: 'user', content: 'x' }] }));
    })().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    if (!stream) expect(err.status).toBe(502);
    const ok = await openai.chat.completions.create({ model: 'text', messages: [{ role: 'user', content: 'still up?' }] });
    expect(ok.choices[0].message.content).toBe('Hello there.');
  });

  it('529 reaches an Anthropic client as 529 overloaded_error', async () => {
    const err = await anthropic.messages.create({ model: 'overloaded', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err.status).toBe(529);
    expect(err.error?.error?.type).toBe('overloaded_error');
  });

  it('an error event mid-stream ends the OpenAI stream with an error, not a clean finish', async () => {
    const stream = await openai.chat.completions.create({ model: 'midError', stream: true, messages: [{ role: 'user', content: 'x' }] });
    let text = '';
    const err = await (async () => {
      for await (const ch of stream) text += ch.choices[0]?.delta?.content ?? '';
    })().catch((e) => e);
    expect(text).toBe('partial');
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String(err.message)).toContain('Overloaded');
  });

  it('a stream cut before message_stop ends with the API\'s error event, and the ledger says so', async () => {
    const stream = anthropic.messages.stream({ model: 'cut', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    const err = await stream.finalMessage().catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    const rows = await ledgerRows((r) => r.model === 'cut');
    expect(rows.map((r) => r.outcome)).toEqual(['upstream_error']);
  });
});

describe('a replica added through the admin API', () => {
  it('may say it speaks the Anthropic protocol, and is then called as one', async () => {
    const res = await fetch(`${platform.url}/admin/v1/fleet/replicas`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'added-0', model: 'added', served_model: 'text', region: 'us-east', url: upstreamUrl, protocol: 'anthropic', api_key: 'sk-ant-added' }),
    });
    const view = await res.json();
    expect(res.status, JSON.stringify(view)).toBe(201);
    expect(view).toMatchObject({ id: 'added-0', protocol: 'anthropic' });
    // it takes traffic once its first probe (sent at once) has passed
    for (let i = 0; i < 250; i++) {
      const r = await fetch(`${platform.url}/admin/v1/fleet/replicas/added-0`, { headers: { authorization: `Bearer ${ADMIN}` } });
      if ((await r.json()).routable === true) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const c = await openai.chat.completions.create({ model: 'added', messages: [{ role: 'user', content: 'hi' }] });
    expect(c.choices[0].message.content).toBe('Hello there.');
    const req = seen.text.at(-1)!;
    expect(req.path).toBe('/v1/messages');
    expect(req.headers['x-api-key']).toBe('sk-ant-added');
  });
});
