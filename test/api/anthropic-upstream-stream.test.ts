import { describe, expect, it } from 'vitest';
import { AnthropicUpstreamStream, anthropicStream, openaiStream, type UpstreamChunk } from '../../src/api/index.js';
import { frames as sseFrames } from './fixtures.js';

// An Anthropic Messages SSE stream read as canonical chunks, and those chunks rendered by the
// gateway's own transcoders for an OpenAI and an Anthropic client.

const ev = (o: object) => JSON.stringify(o);
const start = (usage: object = { input_tokens: 25, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 }) =>
  ev({ type: 'message_start', message: { id: 'msg_up', type: 'message', role: 'assistant', content: [], model: 'm', stop_reason: null, stop_sequence: null, usage } });
const textStart = (i: number) => ev({ type: 'content_block_start', index: i, content_block: { type: 'text', text: '' } });
const text = (i: number, t: string) => ev({ type: 'content_block_delta', index: i, delta: { type: 'text_delta', text: t } });
const toolStart = (i: number, id: string, name: string) => ev({ type: 'content_block_start', index: i, content_block: { type: 'tool_use', id, name, input: {} } });
const json = (i: number, p: string) => ev({ type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: p } });
const stop = (i: number) => ev({ type: 'content_block_stop', index: i });
const delta = (stopReason: string, usage: object, seq: string | null = null) => ev({ type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: seq }, usage });
const PING = ev({ type: 'ping' });
const END = ev({ type: 'message_stop' });

function read(events: string[]): UpstreamChunk[] {
  const s = new AnthropicUpstreamStream();
  const out: UpstreamChunk[] = [];
  for (const e of events) {
    const c = s.read(e);
    if (c !== null) out.push(c);
  }
  return out;
}

/** What an OpenAI client receives for these events: the parsed data frames, [DONE] last. */
function asOpenAI(events: string[], includeUsage = true): { frames: any[]; done: boolean } {
  const t = openaiStream({ requestId: 'req_x', model: 'pub' }, includeUsage);
  let sse = '';
  for (const c of read(events)) sse += t.chunk(c);
  sse += t.finished ? t.finish() : '';
  const data = sseFrames(sse).map((f) => f.data);
  return { frames: data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d)), done: data.at(-1) === '[DONE]' };
}

const simpleText = [start(), PING, textStart(0), text(0, 'Hel'), PING, text(0, 'lo.'), stop(0), delta('end_turn', { output_tokens: 4 }), END];

describe('an Anthropic stream read as canonical chunks', () => {
  it('opens with the role and the prompt size, then one chunk per text delta; pings carry nothing', () => {
    const cs = read(simpleText);
    expect(cs[0]).toMatchObject({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage: { prompt_tokens: 25, completion_tokens: 1 } });
    expect(cs.slice(1, 3).map((c) => c.choices![0].delta!.content)).toEqual(['Hel', 'lo.']);
    expect(cs).toHaveLength(4);
  });

  it('holds the finish until message_stop: a stream cut after message_delta is not whole', () => {
    const cs = read(simpleText.slice(0, -1));
    expect(cs.some((c) => c.choices?.[0].finish_reason)).toBe(false);
    const last = read(simpleText).at(-1)!;
    expect(last.choices![0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
  });

  it.each([
    ['end_turn', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['stop_sequence', 'stop'],
    ['refusal', 'content_filter'],
  ])('maps stop_reason %s to finish_reason %s', (reason, finish) => {
    const cs = read([start(), textStart(0), text(0, 'x'), stop(0), delta(reason, { output_tokens: 1 }), END]);
    expect(cs.at(-1)!.choices![0].finish_reason).toBe(finish);
  });

  it('counts usage once: cumulative message_delta figures replace message_start ones, absent fields keep theirs', () => {
    const cs = read([
      start({ input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 90, cache_creation_input_tokens: 5 }),
      textStart(0), text(0, 'a'), stop(0),
      delta('end_turn', { output_tokens: 7 }),
      delta('end_turn', { output_tokens: 9, input_tokens: 11, cache_read_input_tokens: null }),
      END,
    ]);
    // 11 uncached + 90 read + 5 written = 106, once; 9 output tokens, not 1 + 7 + 9
    expect(cs.at(-1)!.usage).toEqual({ prompt_tokens: 106, completion_tokens: 9, total_tokens: 115, prompt_tokens_details: { cached_tokens: 90 } });
  });

  it('takes a message_start with input_tokens 0, corrected by message_delta, at the corrected figure', () => {
    const cs = read([start({ input_tokens: 0, output_tokens: 0 }), textStart(0), text(0, 'a'), stop(0), delta('end_turn', { input_tokens: 30, output_tokens: 2 }), END]);
    expect(cs.at(-1)!.usage).toMatchObject({ prompt_tokens: 30, completion_tokens: 2 });
  });

  it('gives parallel tool calls their own indices, with id and name on the first fragment, even when fragments interleave', () => {
    const cs = read([
      start(), textStart(0), text(0, 'Checking both.'), stop(0),
      toolStart(1, 'toolu_a', 'weather'), toolStart(2, 'toolu_b', 'time'),
      json(1, '{"city":'), json(2, '{"tz":"CET"}'), json(1, '"Paris"}'), json(1, ''),
      stop(1), stop(2), delta('tool_use', { output_tokens: 20 }), END,
    ]);
    const calls = cs.flatMap((c) => c.choices?.[0].delta?.tool_calls ?? []);
    expect(calls).toEqual([
      { index: 0, id: 'toolu_a', type: 'function', function: { name: 'weather', arguments: '' } },
      { index: 1, id: 'toolu_b', type: 'function', function: { name: 'time', arguments: '' } },
      { index: 0, function: { arguments: '{"city":' } },
      { index: 1, function: { arguments: '{"tz":"CET"}' } },
      { index: 0, function: { arguments: '"Paris"}' } },
    ]);
  });

  it('sends a tool input given whole at block start as its arguments', () => {
    const cs = read([start(), ev({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_w', name: 'f', input: { a: 1 } } }), stop(0), delta('tool_use', { output_tokens: 3 }), END]);
    expect(cs[1].choices![0].delta!.tool_calls).toEqual([{ index: 0, id: 'toolu_w', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }]);
  });

  it('carries thinking as reasoning_content and drops signatures, citations and unknown events', () => {
    const cs = read([
      start(),
      ev({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }),
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig' } }),
      stop(0),
      textStart(1),
      ev({ type: 'content_block_delta', index: 1, delta: { type: 'citations_delta', citation: {} } }),
      ev({ type: 'some_future_event', x: 1 }),
      text(1, 'ok'), stop(1), delta('end_turn', { output_tokens: 2 }), END,
    ]);
    expect(cs.map((c) => c.choices?.[0].delta)).toEqual([{ role: 'assistant', content: '' }, { reasoning_content: 'hmm' }, { content: 'ok' }, {}]);
  });

  it('makes an error event, or a malformed one, an error chunk (the exchange ends the call on it)', () => {
    const s = new AnthropicUpstreamStream();
    s.read(start());
    expect(s.read(ev({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }))).toEqual({ error: { type: 'overloaded_error', message: 'overloaded_error: Overloaded' } });
    expect(s.read('{not json')).toHaveProperty('error');
    expect(s.read('"a string"')).toHaveProperty('error');
  });

  it('ignores a second message_start', () => {
    const s = new AnthropicUpstreamStream();
    expect(s.read(start())).not.toBeNull();
    expect(s.read(start())).toBeNull();
  });
});

describe('an Anthropic stream as an OpenAI client receives it', () => {
  it('is a role chunk, content chunks, a finish chunk, one usage chunk and [DONE]', () => {
    const { frames, done } = asOpenAI(simpleText);
    expect(done).toBe(true);
    expect(frames.map((f) => f.choices[0]?.delta?.content ?? null)).toEqual(['', 'Hel', 'lo.', null, null]);
    expect(frames.at(-2).choices[0].finish_reason).toBe('stop');
    expect(frames.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 25, completion_tokens: 4, total_tokens: 29 } });
    // usage appears once, on the last chunk, as OpenAI sends it
    expect(frames.slice(0, -1).every((f) => f.usage === null)).toBe(true);
    expect(new Set(frames.map((f) => f.id)).size).toBe(1);
    expect(frames[0].id).toMatch(/^chatcmpl-/);
  });

  it('a tool name is never lost when text and tool calls come close together', () => {
    const { frames } = asOpenAI([start(), textStart(0), text(0, 'Sure.'), toolStart(1, 'toolu_z', 'lookup'), json(1, '{"q":"x"}'), stop(1), delta('tool_use', { output_tokens: 5 }), END]);
    const calls = frames.flatMap((f) => f.choices[0]?.delta?.tool_calls ?? []);
    // the id is the OpenAI client's own kind (call_…); the name and type come with it
    expect(calls[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'lookup' } });
    expect(calls.map((c: any) => c.function.arguments).join('')).toBe('{"q":"x"}');
    expect(frames.at(-2).choices[0].finish_reason).toBe('tool_calls');
  });
});

describe('an Anthropic stream relayed to an Anthropic client', () => {
  it('keeps the text, the tool_use blocks with their ids, the stop sequence and the usage', () => {
    const t = anthropicStream({ requestId: 'req_x', model: 'pub' });
    let sse = '';
    for (const c of read([
      start({ input_tokens: 40, output_tokens: 1, cache_read_input_tokens: 60 }), textStart(0), text(0, 'Hi'), stop(0),
      toolStart(1, 'toolu_k', 'f'), json(1, '{"a":'), json(1, '2}'), stop(1),
      delta('stop_sequence', { output_tokens: 6 }, 'STOP'), END,
    ])) sse += t.chunk(c);
    expect(t.finished).toBe(true);
    sse += t.finish();
    const events = sseFrames(sse).map((f) => JSON.parse(f.data));
    expect(events[0].message.usage).toMatchObject({ input_tokens: 40, cache_read_input_tokens: 60 });
    expect(events.find((e) => e.content_block?.type === 'tool_use').content_block).toMatchObject({ id: 'toolu_k', name: 'f' });
    const md = events.find((e) => e.type === 'message_delta');
    // a tool call in the answer makes it tool_use, as the gateway renders any tool-calling answer
    expect(md.delta.stop_reason).toBe('tool_use');
    expect(md.usage).toMatchObject({ input_tokens: 40, cache_read_input_tokens: 60, output_tokens: 6 });
    expect(events.at(-1).type).toBe('message_stop');
  });

  it('carries a matched stop sequence through to the client', () => {
    const t = anthropicStream({ requestId: 'req_x', model: 'pub' });
    let sse = '';
    for (const c of read([start(), textStart(0), text(0, 'a b'), stop(0), delta('stop_sequence', { output_tokens: 2 }, '###'), END])) sse += t.chunk(c);
    sse += t.finish();
    expect(sse).toContain('"stop_reason":"stop_sequence","stop_sequence":"###"');
  });
});
