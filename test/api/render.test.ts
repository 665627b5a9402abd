import { describe, expect, it, vi } from 'vitest';
import {
  newMessageId, newRequestId, renderAnthropicMessage, renderError, renderModel, renderModels, renderOpenAIChat,
  type GatewayError, type ModelInfo, type UpstreamCompletion,
} from '../../src/api/index.js';

const ctx = { requestId: 'req_test', model: 'llama-3.1-8b' };

function completion(message: UpstreamCompletion['choices'][number]['message'], finish: string, extra: Partial<UpstreamCompletion['choices'][number]> = {}): UpstreamCompletion {
  return {
    id: 'chatcmpl-abc123',
    created: 1_760_000_000,
    model: 'served-llama-8b',
    choices: [{ index: 0, message, finish_reason: finish, ...extra }],
    usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 } },
  };
}

describe('Anthropic non-stream rendering', () => {
  it('renders text, the public model, a msg_ id and usage with cached tokens split out', () => {
    const r = renderAnthropicMessage(ctx, completion({ role: 'assistant', content: 'Hi there.' }, 'stop'));
    const m = JSON.parse(r.body);
    expect(m).toMatchObject({ type: 'message', role: 'assistant', model: 'llama-3.1-8b', stop_reason: 'end_turn', stop_sequence: null });
    expect(m.id).toMatch(/^msg_[0-9A-Za-z]{24}$/);
    // #11: no `citations: null` — the AI SDK accepts an array or no field, and rejects null
    expect(m.content).toEqual([{ type: 'text', text: 'Hi there.' }]);
    expect(r.body).not.toContain('citations');
    // input_tokens excludes cache reads; the three add up to the prompt, as Anthropic counts them
    expect(m.usage).toMatchObject({ input_tokens: 20, cache_read_input_tokens: 100, cache_creation_input_tokens: 0, output_tokens: 30 });
    expect(r.usage).toEqual({ inputTokens: 120, cachedInputTokens: 100, outputTokens: 30 });
  });

  it('renders tool calls as tool_use blocks with toolu_ ids and parsed input, and bad JSON arguments as {}', () => {
    const r = renderAnthropicMessage(ctx, completion({
      role: 'assistant',
      content: 'Let me check.',
      tool_calls: [
        { id: 'chatcmpl-tool-1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","days":2}' } },
        { id: 'chatcmpl-tool-2', type: 'function', function: { name: 'get_time', arguments: '{"tz": "Europe/Par' } },
      ],
    }, 'tool_calls'));
    const m = JSON.parse(r.body);
    expect(m.stop_reason).toBe('tool_use');
    expect(m.content).toMatchObject([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', name: 'get_weather', input: { city: 'Paris', days: 2 } },
      { type: 'tool_use', name: 'get_time', input: {} },
    ]);
    // #11: vLLM's chatcmpl-tool-… ids are replaced by Anthropic's own, one per call
    const ids = m.content.slice(1).map((b: { id: string }) => b.id);
    for (const id of ids) expect(id).toMatch(/^toolu_[0-9A-Za-z]{24}$/);
    expect(new Set(ids).size).toBe(2);
  });

  it('keeps a tool_use id that is already Anthropic\'s', () => {
    const m = JSON.parse(renderAnthropicMessage(ctx, completion({
      role: 'assistant', content: null,
      tool_calls: [{ id: 'toolu_01ABCdef', type: 'function', function: { name: 'f', arguments: '{}' } }],
    }, 'tool_calls')).body);
    expect(m.content).toEqual([{ type: 'tool_use', id: 'toolu_01ABCdef', name: 'f', input: {} }]);
  });

  // [upstream finish_reason, vLLM stop_reason, has tool calls, expected stop_reason, expected stop_sequence]
  const stops: Array<[string, string | number | null, boolean, string, string | null]> = [
    ['stop', null, false, 'end_turn', null],
    ['stop', 'END', false, 'stop_sequence', 'END'], // vLLM names the matched stop string
    ['stop', 128009, false, 'end_turn', null], // a stop token id is an ordinary end of turn
    ['length', null, false, 'max_tokens', null],
    ['tool_calls', null, true, 'tool_use', null],
    ['stop', null, true, 'tool_use', null], // vLLM with a named tool_choice finishes "stop"
    ['content_filter', null, false, 'refusal', null],
    ['abort', null, false, 'end_turn', null],
  ];
  it.each(stops)('maps finish_reason %s (stop_reason %s, tools %s) to %s', (finish, stopReason, tools, reason, seq) => {
    const msg = tools
      ? { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function' as const, function: { name: 'f', arguments: '{}' } }] }
      : { role: 'assistant', content: 'x' };
    const m = JSON.parse(renderAnthropicMessage(ctx, completion(msg, finish, { stop_reason: stopReason })).body);
    expect(m.stop_reason).toBe(reason);
    expect(m.stop_sequence).toBe(seq);
  });

  it('renders an empty answer as empty content, not a crash', () => {
    const m = JSON.parse(renderAnthropicMessage(ctx, { choices: [{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'stop' }] }).body);
    expect(m.content).toEqual([]);
    expect(m.usage.input_tokens).toBe(0);
  });
});

describe('a replica\'s OpenAI refusal, as a whole Anthropic message', () => {
  const REFUSAL = 'I cannot help with that.';

  it('is a text block with the refusal text and stop_reason refusal, whatever the finish_reason', () => {
    for (const finish of ['stop', 'content_filter', 'length']) {
      const m = JSON.parse(renderAnthropicMessage(ctx, completion({ role: 'assistant', content: null, refusal: REFUSAL } as never, finish)).body);
      expect(m.content).toEqual([{ type: 'text', text: REFUSAL }]);
      expect(m).toMatchObject({ stop_reason: 'refusal', stop_sequence: null });
    }
  });

  it('follows the answer\'s own text in a block of its own, and outranks a matched stop sequence', () => {
    const m = JSON.parse(renderAnthropicMessage(ctx, completion({ role: 'assistant', content: 'Well.', refusal: REFUSAL } as never, 'stop', { stop_reason: '###' } as never)).body);
    expect(m.content).toEqual([{ type: 'text', text: 'Well.' }, { type: 'text', text: REFUSAL }]);
    expect(m).toMatchObject({ stop_reason: 'refusal', stop_sequence: null });
  });

  it('counts only when it is text: a null, an object or an empty refusal is no refusal', () => {
    for (const refusal of [null, { text: REFUSAL }, 7, '']) {
      const m = JSON.parse(renderAnthropicMessage(ctx, completion({ role: 'assistant', content: 'ok', refusal } as never, 'stop')).body);
      expect(m.content).toEqual([{ type: 'text', text: 'ok' }]);
      expect(m.stop_reason).toBe('end_turn');
    }
  });
});

describe('OpenAI non-stream rendering', () => {
  it('gives its own chatcmpl- id, swaps in the public model and carries usage', () => {
    const r = renderOpenAIChat(ctx, completion({ role: 'assistant', content: 'Hi.' }, 'stop'));
    const c = JSON.parse(r.body);
    expect(c).toMatchObject({ object: 'chat.completion', created: 1_760_000_000, model: 'llama-3.1-8b' });
    expect(c.id).toMatch(/^chatcmpl-[0-9A-Za-z]{24}$/); // not the replica's
    expect(c.id).not.toBe('chatcmpl-abc123');
    expect(c.choices).toEqual([{ index: 0, message: { role: 'assistant', content: 'Hi.', refusal: null }, logprobs: null, finish_reason: 'stop' }]);
    expect(c.usage).toEqual({ prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 } });
    expect(r.usage).toEqual({ inputTokens: 120, cachedInputTokens: 100, outputTokens: 30 });
  });

  it('makes a chatcmpl- id when the replica gave none, and drops an empty tool_calls list', () => {
    const up = completion({ role: 'assistant', content: 'x', tool_calls: [] }, 'stop');
    delete up.id;
    const c = JSON.parse(renderOpenAIChat(ctx, up).body);
    expect(c.id).toMatch(/^chatcmpl-[0-9A-Za-z]{24}$/);
    expect(c.choices[0].message.tool_calls).toBeUndefined();
  });
});

describe('OpenAI non-stream rendering: nothing of the replica leaks (#11)', () => {
  // what vLLM 0.1x really returns beside the OpenAI fields
  const vllm = {
    id: 'chatcmpl-3b1f0c6f2f7a4e5d9b8a7c6d5e4f3a2b', object: 'chat.completion', created: 1_760_000_000, model: 'meta-llama/Llama-3.1-8B-Instruct',
    choices: [{
      index: 0, logprobs: null, finish_reason: 'tool_calls', stop_reason: 128008, token_ids: null,
      message: {
        role: 'assistant', content: null, refusal: null, annotations: null, audio: null, function_call: null, reasoning_content: null,
        tool_calls: [{ id: 'chatcmpl-tool-9e8d7c6b5a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
      },
    }],
    service_tier: null, system_fingerprint: null, prompt_logprobs: null, prompt_token_ids: null, kv_transfer_params: null,
    usage: { prompt_tokens: 40, total_tokens: 52, completion_tokens: 12, prompt_tokens_details: null },
  } as unknown as UpstreamCompletion;

  it('#11 – writes only OpenAI\'s fields: no stop_reason, prompt_logprobs, kv_transfer_params, null service_tier or fingerprint', () => {
    const c = JSON.parse(renderOpenAIChat(ctx, vllm).body);
    expect(Object.keys(c).sort()).toEqual(['choices', 'created', 'id', 'model', 'object', 'usage']);
    expect(Object.keys(c.choices[0]).sort()).toEqual(['finish_reason', 'index', 'logprobs', 'message']);
    expect(c.choices[0].message).toEqual({
      role: 'assistant', content: null, refusal: null,
      tool_calls: [{ id: expect.stringMatching(/^call_[0-9A-Za-z]{24}$/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
    });
    expect(c.usage).toEqual({ prompt_tokens: 40, completion_tokens: 12, total_tokens: 52, prompt_tokens_details: { cached_tokens: 0 } });
  });

  it('keeps a replica\'s real fingerprint and an OpenAI-style call_ id', () => {
    const up = structuredClone(vllm) as unknown as Record<string, unknown> & UpstreamCompletion;
    up.system_fingerprint = 'fp_44709d6fcb';
    up.choices[0].message.tool_calls![0].id = 'call_abc';
    const c = JSON.parse(renderOpenAIChat(ctx, up).body);
    expect(c.system_fingerprint).toBe('fp_44709d6fcb');
    expect(c.choices[0].message.tool_calls[0].id).toBe('call_abc');
  });
});

describe('a broken replica\'s whole answer', () => {
  const junk = { choices: [null, { index: 0, message: { role: 'assistant', content: 'ok', tool_calls: [null, 'x', { id: 5, function: { name: 7, arguments: {} } }] }, finish_reason: 9 }] } as unknown as UpstreamCompletion;

  it('is rendered from what is well formed, not read as if it all were', () => {
    const o = JSON.parse(renderOpenAIChat(ctx, junk).body);
    expect(o.choices).toEqual([{
      index: 0, logprobs: null, finish_reason: 'stop',
      message: { role: 'assistant', content: 'ok', refusal: null, tool_calls: [{ id: expect.stringMatching(/^call_/), type: 'function', function: { name: '', arguments: '{}' } }] },
    }]);
    const a = JSON.parse(renderAnthropicMessage(ctx, { choices: [null] } as unknown as UpstreamCompletion).body);
    expect(a).toMatchObject({ content: [], stop_reason: 'end_turn' });
  });
});

describe('error rendering', () => {
  // [error, anthropic status, anthropic type, openai status, openai type, openai code]
  const table: Array<[GatewayError, number, string, number, string, string | null]> = [
    [{ kind: 'invalid_request', message: 'm', param: 'temperature' }, 400, 'invalid_request_error', 400, 'invalid_request_error', null],
    [{ kind: 'authentication', message: 'm' }, 401, 'authentication_error', 401, 'invalid_request_error', 'invalid_api_key'],
    [{ kind: 'permission', message: 'm' }, 403, 'permission_error', 403, 'invalid_request_error', 'permission_denied'],
    [{ kind: 'not_found', message: 'm', param: 'model' }, 404, 'not_found_error', 404, 'invalid_request_error', 'model_not_found'],
    [{ kind: 'not_found', message: 'm' }, 404, 'not_found_error', 404, 'invalid_request_error', null],
    [{ kind: 'method_not_allowed', message: 'm' }, 405, 'invalid_request_error', 405, 'invalid_request_error', null],
    [{ kind: 'request_too_large', message: 'm' }, 413, 'request_too_large', 413, 'invalid_request_error', 'request_too_large'],
    [{ kind: 'rate_limited', message: 'm', retryAfterS: 3 }, 429, 'rate_limit_error', 429, 'rate_limit_error', 'rate_limit_exceeded'],
    [{ kind: 'overloaded', message: 'm' }, 529, 'overloaded_error', 503, 'server_error', 'overloaded'],
    [{ kind: 'timeout', message: 'm' }, 504, 'timeout_error', 504, 'server_error', 'timeout'],
    [{ kind: 'request_timeout', message: 'm' }, 408, 'timeout_error', 408, 'invalid_request_error', 'request_timeout'],
    [{ kind: 'upstream', message: 'm' }, 502, 'api_error', 502, 'server_error', null],
    [{ kind: 'internal', message: 'm' }, 500, 'api_error', 500, 'server_error', null],
  ];
  it.each(table)('renders %o on both wires', (e, aStatus, aType, oStatus, oType, oCode) => {
    const a = renderError('anthropic', e, 'req_1');
    expect(a.status).toBe(aStatus);
    expect(JSON.parse(a.body)).toEqual({ type: 'error', error: { type: aType, message: 'm' }, request_id: 'req_1' });
    const o = renderError('openai', e, 'req_1');
    expect(o.status).toBe(oStatus);
    expect(JSON.parse(o.body)).toEqual({ error: { message: 'm', type: oType, param: 'param' in e ? (e.param ?? null) : null, code: oCode } });
  });

  it('sends retry-after in whole seconds on 429, and on overload only when known', () => {
    expect(renderError('anthropic', { kind: 'rate_limited', message: 'slow down', retryAfterS: 2.2 }, 'r').headers).toEqual({ 'retry-after': '3' });
    expect(renderError('openai', { kind: 'overloaded', message: 'busy', retryAfterS: 0.2 }, 'r').headers).toEqual({ 'retry-after': '1' });
    expect(renderError('anthropic', { kind: 'overloaded', message: 'busy' }, 'r').headers).toEqual({});
  });

  it('escapes messages so the body stays valid JSON', () => {
    const a = renderError('anthropic', { kind: 'invalid_request', message: 'bad "quote"\nline' }, 'req_x');
    expect(JSON.parse(a.body).error.message).toBe('bad "quote"\nline');
  });
});

describe('models', () => {
  const models: ModelInfo[] = [
    { id: 'old', displayName: 'Old', created: 1_700_000_000, maxInputTokens: 8192, maxOutputTokens: 2048 },
    { id: 'new', displayName: 'New', created: 1_760_000_000, maxInputTokens: 131072, maxOutputTokens: 8192 },
    { id: 'mid', displayName: 'Mid', created: 1_730_000_000, maxInputTokens: 32768, maxOutputTokens: 4096 },
  ];
  const list = (q: string) => {
    const r = renderModels('anthropic', models, new URLSearchParams(q));
    if (!r.ok) throw new Error(r.error.message);
    return JSON.parse(r.value);
  };

  it('lists Anthropic models newest first with RFC 3339 created_at', () => {
    const l = list('');
    expect(l.data.map((m: { id: string }) => m.id)).toEqual(['new', 'mid', 'old']);
    expect(l.data[0]).toEqual({ type: 'model', id: 'new', display_name: 'New', created_at: '2025-10-09T08:53:20Z', max_input_tokens: 131072, max_tokens: 8192 });
    expect(l).toMatchObject({ has_more: false, first_id: 'new', last_id: 'old' });
  });

  it('pages forward with after_id and back with before_id', () => {
    const p1 = list('limit=2');
    expect(p1).toMatchObject({ has_more: true, first_id: 'new', last_id: 'mid' });
    const p2 = list(`limit=2&after_id=${p1.last_id}`);
    expect(p2.data.map((m: { id: string }) => m.id)).toEqual(['old']);
    expect(p2.has_more).toBe(false);
    const back = list('limit=1&before_id=old');
    expect(back).toMatchObject({ first_id: 'mid', last_id: 'mid', has_more: true });
  });

  it.each([
    ['limit=0', 'limit: Input should be greater than or equal to 1'],
    ['limit=1001', 'limit: Input should be less than or equal to 1000'],
    ['limit=abc', 'limit: Input should be a valid integer'],
  ])('rejects %s', (q, message) => {
    const r = renderModels('anthropic', models, new URLSearchParams(q));
    expect(!r.ok && r.error.message).toBe(message);
  });

  it('lists OpenAI models as a plain list owned by switchyard', () => {
    const r = renderModels('openai', models, new URLSearchParams('limit=1'));
    expect(r.ok && JSON.parse(r.value)).toEqual({
      object: 'list',
      data: models.map((m) => ({ id: m.id, object: 'model', created: m.created, owned_by: 'switchyard' })),
    });
  });

  it('renders one model per wire', () => {
    expect(JSON.parse(renderModel('openai', models[0]))).toEqual({ id: 'old', object: 'model', created: 1_700_000_000, owned_by: 'switchyard' });
    expect(JSON.parse(renderModel('anthropic', models[0]))).toMatchObject({ type: 'model', id: 'old', created_at: '2023-11-14T22:13:20Z' });
  });
});

describe('ids', () => {
  it('makes req_ and msg_ ids of 24 base62 characters that do not repeat', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(newRequestId());
    expect(seen.size).toBe(10_000);
    for (const id of seen) expect(id).toMatch(/^req_[0-9A-Za-z]{24}$/);
    expect(newMessageId()).toMatch(/^msg_[0-9A-Za-z]{24}$/);
  });

  it('draws a fresh random prefix when the module loads again, so ids stay unique across restarts', async () => {
    const a = newRequestId();
    vi.resetModules();
    const again = await import('../../src/api/ids.js');
    const b = again.newRequestId();
    // a fresh module instance stands in for a restarted process
    expect(b.slice(4, 16)).not.toBe(a.slice(4, 16));
    expect(b).toMatch(/^req_[0-9A-Za-z]{24}$/);
  });
});

describe('Anthropic non-stream rendering, written as text', () => {
  it('gives the content blocks JSON.stringify would give for the array', () => {
    const r = renderAnthropicMessage(ctx, completion({
      role: 'assistant', content: 'a "q"\n🙂',
      tool_calls: [{ id: 'toolu_keep', type: 'function', function: { name: 'f', arguments: '{"a":[1,{"b":null}]}' } }, null as never, { id: 'x', type: 'function', function: { arguments: 'not json' } as never }],
    }, 'tool_calls'));
    const m = JSON.parse(r.body);
    expect(r.body).toContain(',"content":' + JSON.stringify(m.content) + ',');
    expect(m.content.map((b: { type: string }) => b.type)).toEqual(['text', 'tool_use', 'tool_use']);
    expect(m.content[1]).toEqual({ type: 'tool_use', id: 'toolu_keep', name: 'f', input: { a: [1, { b: null }] } });
  });
});

describe('OpenAI non-stream rendering, written as text', () => {
  // The body is concatenated field by field; it must be exactly what JSON.stringify gives for the
  // chat.completion object with OpenAI's field order, for any answer a replica may send.
  const reference = (c: Record<string, unknown>, up: UpstreamCompletion): string => {
    const u = (up.usage ?? {}) as { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null };
    const input = u.prompt_tokens ?? 0;
    const output = u.completion_tokens ?? 0;
    const out: Record<string, unknown> = {
      id: c.id, object: 'chat.completion', created: c.created, model: ctx.model,
      choices: up.choices.filter((x) => x !== null && typeof x === 'object').map((x) => {
        const m = (x.message !== null && typeof x.message === 'object' ? x.message : {}) as Record<string, unknown>;
        const message: Record<string, unknown> = { role: 'assistant', content: typeof m.content === 'string' ? m.content : null, refusal: null };
        const calls = Array.isArray(m.tool_calls) ? m.tool_calls.filter((t) => t !== null && typeof t === 'object') : [];
        if (calls.length > 0) message.tool_calls = (c.choices as Array<{ message: { tool_calls: unknown } }>)[0].message.tool_calls;
        if (typeof m.reasoning_content === 'string') message.reasoning_content = m.reasoning_content;
        return { index: typeof x.index === 'number' ? x.index : 0, message, logprobs: (x as { logprobs?: unknown }).logprobs ?? null, finish_reason: typeof x.finish_reason === 'string' ? x.finish_reason : 'stop' };
      }),
      usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output, prompt_tokens_details: { cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0 } },
    };
    const fp = (up as { system_fingerprint?: unknown }).system_fingerprint;
    if (typeof fp === 'string') out.system_fingerprint = fp;
    return JSON.stringify(out);
  };
  const answers: Array<[string, UpstreamCompletion]> = [
    ['plain text, with characters to escape', completion({ role: 'assistant', content: 'a "quoted"\nline \u2028 and \\ emoji 🙂' }, 'stop')],
    ['a tool call, reasoning and logprobs', completion({ role: 'assistant', content: null, reasoning_content: 'think', tool_calls: [{ id: 'call_keep', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, 'tool_calls', { logprobs: { content: [{ token: 'x', logprob: -0.5 }] } } as never)],
    ['no usage, no created, a fingerprint', { choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: null }], system_fingerprint: 'fp_1' } as UpstreamCompletion],
    ['junk in place of choices', { choices: [null, 7, { message: null, finish_reason: 3 }] as never, usage: { prompt_tokens: 1, completion_tokens: 2 } } as UpstreamCompletion],
  ];
  for (const [what, up] of answers) {
    it(`gives the same bytes as the object would serialise to: ${what}`, () => {
      const r = renderOpenAIChat(ctx, up);
      expect(r.body).toBe(reference(JSON.parse(r.body), up));
    });
  }

  it('dates an answer the replica sent without `created` by the clock it is given', () => {
    const r = renderOpenAIChat(ctx, { choices: [] } as unknown as UpstreamCompletion, { nowMs: () => 1_234_567_890_999, monoMs: () => 0 });
    expect(JSON.parse(r.body).created).toBe(1_234_567_890);
  });
});
