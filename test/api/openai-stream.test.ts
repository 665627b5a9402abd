import { describe, expect, it } from 'vitest';
import { openaiStream } from '../../src/api/index.js';
import { frames, tool, transcode, vllmChunks } from './fixtures.js';

const ctx = { requestId: 'req_o', model: 'llama-3.1-8b' };
const json = (sse: string) => frames(sse).filter((f) => f.data !== '[DONE]').map((f) => JSON.parse(f.data));

describe('OpenAI stream transcoding', () => {
  it('rewrites the model, keeps one id, hides usage the client did not ask for, and ends with [DONE]', () => {
    const t = openaiStream(ctx, false);
    const sse = transcode(t, vllmChunks({ prompt: 30, deltas: [{ content: 'Hi' }, { content: '!' }], finish: 'stop' }));
    const fs = frames(sse);
    expect(fs.every((f) => f.event === null)).toBe(true); // data-only framing
    expect(fs.at(-1)!.data).toBe('[DONE]');
    const chunks = json(sse);
    expect(chunks).toHaveLength(4); // role, 2 content, finish; the usage-only chunk is dropped
    for (const c of chunks) {
      expect(c.model).toBe('llama-3.1-8b');
      expect(c.id).toBe('chatcmpl-9f1c2d3e4b5a');
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
    expect(chunks.at(-1)).toMatchObject({ id: 'chatcmpl-9f1c2d3e4b5a', choices: [], usage: { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 } });
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
});
