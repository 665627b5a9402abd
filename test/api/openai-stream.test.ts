import { describe, expect, it } from 'vitest';
import { openaiStream } from '../../src/api/index.js';
import type { UpstreamChunk } from '../../src/api/index.js';
import { frames, tool, transcode, vllmChunks } from './fixtures.js';

const ctx = { requestId: 'req_o', model: 'llama-3.1-8b' };
const json = (sse: string) => frames(sse).filter((f) => f.data !== '[DONE]').map((f) => JSON.parse(f.data));

describe('OpenAI stream transcoding', () => {
  it('rewrites the model, gives its own id on every chunk, hides usage the client did not ask for, and ends with [DONE]', () => {
    const t = openaiStream(ctx, false);
    const sse = transcode(t, vllmChunks({ prompt: 30, deltas: [{ content: 'Hi' }, { content: '!' }], finish: 'stop' }));
    const fs = frames(sse);
    expect(fs.every((f) => f.event === null)).toBe(true); // data-only framing
    expect(fs.at(-1)!.data).toBe('[DONE]');
    const chunks = json(sse);
    expect(chunks).toHaveLength(4); // role, 2 content, finish; the usage-only chunk is dropped
    const id = chunks[0].id;
    expect(id).toMatch(/^chatcmpl-[0-9A-Za-z]{24}$/);
    expect(id).not.toBe('chatcmpl-9f1c2d3e4b5a'); // not the replica's
    for (const c of chunks) {
      expect(c.model).toBe('llama-3.1-8b');
      expect(c.id).toBe(id);
      expect(c.object).toBe('chat.completion.chunk');
      expect('usage' in c).toBe(false);
    }
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks[3].choices[0].finish_reason).toBe('stop');
    expect(t.finished).toBe(true);
    expect(t.usage).toEqual({ inputTokens: 30, cachedInputTokens: 0, outputTokens: 3 });
  });

  it('with include_usage, nulls usage on content chunks and keeps the final usage-only chunk', () => {
    const chunks = json(transcode(openaiStream(ctx, true), vllmChunks({ prompt: 30, cached: 16, deltas: [{ content: 'Hi' }], finish: 'stop' })));
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 30, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 16 } } });
  });

  it('makes the usage chunk itself when the replica sent none', () => {
    const chunks = json(transcode(openaiStream(ctx, true), vllmChunks({ prompt: 11, deltas: [{ content: 'a' }], finish: 'length', noUsageChunk: true })));
    expect(chunks.at(-1)).toMatchObject({ id: chunks[0].id, choices: [], usage: { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 } });
  });

  it('adds the role to the first delta when the replica left it out, and type to a tool call first fragment', () => {
    const t = openaiStream(ctx, false);
    const a = json(t.chunk({ id: 'x1', choices: [{ index: 0, delta: { content: 'A' }, finish_reason: null }] }))[0];
    expect(a.choices[0].delta).toEqual({ content: 'A', role: 'assistant' });
    expect(a.id).toMatch(/^chatcmpl-/); // a non-chatcmpl id is replaced, once
    const b = json(t.chunk({ id: 'x1', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '' } }] }, finish_reason: null }] }))[0];
    expect(b.id).toBe(a.id);
    expect(b.choices[0].delta.role).toBeUndefined();
    expect(b.choices[0].delta.tool_calls[0].type).toBe('function');
    expect(b.choices[0].delta.tool_calls[0].id).toBe('call_1'); // already OpenAI-shaped: kept
  });

  it('passes tool call fragments through with their indices', () => {
    const chunks = json(transcode(openaiStream(ctx, false), vllmChunks({
      prompt: 10,
      deltas: [tool(0, 'call_a', 'f', '{"x":'), tool(1, 'call_b', 'g', '{}'), tool(0, undefined, undefined, '1}')],
      finish: 'tool_calls',
    })));
    const frags = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    expect(frags.map((f: { index: number }) => f.index)).toEqual([0, 1, 0]);
  });

  it('#11 – writes only OpenAI\'s chunk fields: vLLM\'s stop_reason, token ids, kv_transfer_params and null fingerprint stay behind', () => {
    const t = openaiStream(ctx, true);
    const extra = { service_tier: null, system_fingerprint: null, prompt_token_ids: [1, 2, 3], kv_transfer_params: null };
    const up = vllmChunks({ prompt: 5, deltas: [{ content: 'Hi' }], finish: 'stop', stopReason: 128009 }).map((c) => ({ ...extra, ...c }));
    (up[1].choices![0] as Record<string, unknown>).token_ids = [9906];
    const chunks = json(transcode(t, up));
    for (const c of chunks) {
      expect(Object.keys(c).sort()).toEqual(['choices', 'created', 'id', 'model', 'object', 'usage']);
      for (const ch of c.choices) expect(Object.keys(ch).sort()).toEqual(['delta', 'finish_reason', 'index', 'logprobs']);
    }
    expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([{ role: 'assistant', content: '' }, { content: 'Hi' }, { content: '' }, undefined]);
  });

  it('#11 – gives a foreign tool call id one call_ id for the whole call, even when the replica repeats it', () => {
    const t = openaiStream(ctx, false);
    const chunks = json(transcode(t, vllmChunks({
      prompt: 10,
      deltas: [tool(0, 'chatcmpl-tool-abc', 'f', '{"x":'), tool(0, 'chatcmpl-tool-abc', undefined, '1}'), tool(1, 'chatcmpl-tool-def', 'g', '{}')],
      finish: 'tool_calls',
    })));
    const frags = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    const [a, again, b] = frags.map((f: { id: string }) => f.id);
    expect(a).toMatch(/^call_[0-9A-Za-z]{24}$/);
    expect(again).toBe(a);
    expect(b).toMatch(/^call_/);
    expect(b).not.toBe(a);
    expect(frags[0]).toEqual({ index: 0, id: a, type: 'function', function: { name: 'f', arguments: '{"x":' } });
  });

  it('passes a replica\'s real system_fingerprint on every chunk', () => {
    const up = vllmChunks({ prompt: 2, deltas: [{ content: 'a' }], finish: 'stop' }).map((c) => ({ ...c, system_fingerprint: 'fp_1' }));
    expect(json(transcode(openaiStream(ctx, false), up)).every((c) => c.system_fingerprint === 'fp_1')).toBe(true);
  });

  it('ends a failed stream with an error payload the O-SDK throws on, and no [DONE]', () => {
    const t = openaiStream(ctx, false);
    const c = vllmChunks({ prompt: 1, deltas: [{ content: 'a' }], finish: 'stop' });
    let sse = t.chunk(c[0]) + t.chunk(c[1]);
    sse += t.fail({ kind: 'timeout', message: 'The replica took too long.' });
    const last = frames(sse).at(-1)!;
    expect(JSON.parse(last.data)).toEqual({ error: { message: 'The replica took too long.', type: 'server_error', param: null, code: 'timeout' } });
    expect(sse).not.toContain('[DONE]');
    expect(t.finished).toBe(false);
  });

  it('skips what a broken replica sends in place of a choice, delta or tool call, and stays valid JSON', () => {
    const t = openaiStream(ctx, false);
    const junk = [
      { id: 'x', choices: [null, { index: 0, delta: 'text?', finish_reason: null }] },
      { id: 'x', choices: [{ index: 0, delta: { tool_calls: [null, 7, tool(0, 'call_ok', 'f', '{}').tool_calls![0]] }, finish_reason: 5 }] },
      { id: 'x', choices: 'none' },
    ] as unknown as UpstreamChunk[];
    let sse = '';
    expect(() => { for (const c of junk) sse += t.chunk(c); }).not.toThrow();
    const chunks = json(sse);
    expect(chunks[0].choices).toEqual([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    expect(chunks[1].choices[0].delta.tool_calls).toEqual([{ index: 0, id: 'call_ok', type: 'function', function: { name: 'f', arguments: '{}' } }]);
    expect(chunks[1].choices[0].finish_reason).toBeNull(); // a number is no finish_reason
    expect(t.finished).toBe(false);
  });
});

describe('a replica\'s legacy function_call, streamed to an OpenAI client', () => {
  type Deltas = Parameters<typeof vllmChunks>[0]['deltas'];
  const fc = (function_call: unknown) => ({ function_call }) as unknown as Deltas[number];

  it('passes each fragment\'s name and arguments through, beside finish_reason function_call', () => {
    const chunks = json(transcode(openaiStream(ctx, false), vllmChunks({
      prompt: 10,
      deltas: [fc({ name: 'get_weather', arguments: '' }), fc({ arguments: '{"city":' }), fc({ arguments: '"Oslo"}' })],
      finish: 'function_call',
    })));
    const frags = chunks.map((c) => c.choices[0]?.delta?.function_call).filter((f) => f !== undefined);
    expect(frags).toEqual([{ name: 'get_weather', arguments: '' }, { arguments: '{"city":' }, { arguments: '"Oslo"}' }]);
    expect(frags.map((f: { arguments: string }) => f.arguments).join('')).toBe('{"city":"Oslo"}');
    expect(chunks.at(-1).choices[0].finish_reason).toBe('function_call');
  });

  it('copies only the fields that are text, and leaves out a fragment with none', () => {
    const t = openaiStream(ctx, false);
    const sse = [fc({ name: 7, arguments: '{}' }), fc({ name: 'f', arguments: { a: 1 } }), fc({ name: null }), fc('call'), fc([1]), fc(null)]
      .map((d) => t.chunk({ id: 'x', choices: [{ index: 0, delta: d, finish_reason: null }] })).join('');
    const deltas = json(sse).map((c) => c.choices[0].delta);
    expect(deltas[0]).toEqual({ role: 'assistant', content: '', function_call: { arguments: '{}' } });
    expect(deltas[1]).toEqual({ function_call: { name: 'f' } });
    expect(deltas.slice(2)).toEqual([{}, {}, {}, {}]);
  });
});

describe('OpenAI stream: the time it reads', () => {
  it('dates chunks the replica sent without `created` by the clock it is given', () => {
    const t = openaiStream({ requestId: 'req_t', model: 'm' }, false, { nowMs: () => 1_700_000_000_500, monoMs: () => 0 });
    const frame = t.chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }] } as never);
    expect(JSON.parse(frame.slice('data: '.length)).created).toBe(1_700_000_000);
  });
});
