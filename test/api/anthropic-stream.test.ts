import { afterEach, describe, expect, it, vi } from 'vitest';
import { anthropicStream, renderAnthropicMessage, type UpstreamChunk, type UpstreamCompletion } from '../../src/api/index.js';
import { ManualTime } from '../../src/time/index.js';
import { frames as allFrames, tool, transcode, vllmChunks, type Frame } from './fixtures.js';

const ctx = { requestId: 'req_stream', model: 'llama-3.1-8b' };
const data = (f: Frame) => JSON.parse(f.data);
const types = (fs: Frame[]) => fs.map((f) => f.event);
/** The frames that carry the message; the ping after message_start has its own spec. */
const frames = (sse: string) => allFrames(sse).filter((f) => f.event !== 'ping');
const TOOLU = /^toolu_[0-9A-Za-z]{24}$/;

/** Reassembles tool inputs the way clients do: concatenate partial_json per index, parse at the stop. */
function toolInputs(fs: Frame[]): Record<number, unknown> {
  const buf: Record<number, string> = {};
  const out: Record<number, unknown> = {};
  for (const f of fs) {
    const d = data(f);
    if (d.type === 'content_block_delta' && d.delta.type === 'input_json_delta') buf[d.index] = (buf[d.index] ?? '') + d.delta.partial_json;
    if (d.type === 'content_block_start' && d.content_block.type === 'tool_use') buf[d.index] = '';
    if (d.type === 'content_block_stop' && buf[d.index] !== undefined) out[d.index] = buf[d.index] === '' ? {} : JSON.parse(buf[d.index]);
  }
  return out;
}

describe('Anthropic stream transcoding', () => {
  it('streams text as message_start, a ping, one text block, message_delta and message_stop, each with its event line', () => {
    const t = anthropicStream(ctx);
    const fs = allFrames(transcode(t, vllmChunks({ prompt: 57, deltas: [{ content: 'Hello' }, { content: ', world' }], finish: 'stop' })));
    expect(types(fs)).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    for (const f of fs) expect(data(f).type).toBe(f.event);
    const start = data(fs[0]).message;
    expect(start).toMatchObject({ type: 'message', role: 'assistant', model: 'llama-3.1-8b', content: [], stop_reason: null, stop_sequence: null });
    expect(start.id).toMatch(/^msg_/);
    // input tokens come from the first chunk's continuous usage, never a placeholder 0 (LiteLLM #41406)
    expect(start.usage.input_tokens).toBe(57);
    expect(data(fs[1])).toEqual({ type: 'ping' });
    expect(data(fs[2])).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    expect(fs.slice(3, 5).map((f) => data(f).delta.text).join('')).toBe('Hello, world');
    expect(data(fs[6])).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 57, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 3 },
    });
    expect(t.finished).toBe(true);
    expect(t.usage).toEqual({ inputTokens: 57, cachedInputTokens: 0, outputTokens: 3 });
  });

  it('reports cached prompt tokens as cache reads, outside input_tokens', () => {
    const t = anthropicStream(ctx);
    const fs = frames(transcode(t, vllmChunks({ prompt: 1000, cached: 960, deltas: [{ content: 'x' }], finish: 'stop' })));
    expect(data(fs[0]).message.usage).toMatchObject({ input_tokens: 40, cache_read_input_tokens: 960 });
    expect(data(fs.at(-2)!).usage).toMatchObject({ input_tokens: 40, cache_read_input_tokens: 960, output_tokens: 2 });
    expect(t.usage).toEqual({ inputTokens: 1000, cachedInputTokens: 960, outputTokens: 2 });
  });

  it('turns a tool call arriving in fragments into one tool_use block whose input parses (LiteLLM #25321)', () => {
    const fs = frames(transcode(anthropicStream(ctx), vllmChunks({
      prompt: 80,
      deltas: [tool(0, 'chatcmpl-tool-7f', 'get_weather'), tool(0, undefined, undefined, '{"city": '), tool(0, undefined, undefined, '"Paris", "unit"'), tool(0, undefined, undefined, ': "C"}')],
      finish: 'tool_calls',
    })));
    // vLLM's chatcmpl-tool-… id is foreign to Anthropic clients: the block gets a toolu_ id
    expect(data(fs[1])).toMatchObject({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', name: 'get_weather', input: {} } });
    expect(data(fs[1]).content_block.id).toMatch(TOOLU);
    expect(toolInputs(fs)).toEqual({ 0: { city: 'Paris', unit: 'C' } });
    expect(data(fs.at(-2)!).delta.stop_reason).toBe('tool_use');
  });

  it('gives each of two parallel tool calls its own block with the right index (LiteLLM #18238)', () => {
    const fs = frames(transcode(anthropicStream(ctx), vllmChunks({
      prompt: 80,
      deltas: [
        { content: 'Checking both.' },
        tool(0, 'call_a', 'get_weather', '{"city":'), tool(0, undefined, undefined, '"Paris"}'),
        tool(1, 'call_b', 'get_weather', '{"city":'), tool(1, undefined, undefined, '"Rome"}'),
      ],
      finish: 'tool_calls',
    })));
    const starts = fs.filter((f) => f.event === 'content_block_start').map((f) => data(f));
    expect(starts.map((s) => [s.index, s.content_block.type])).toEqual([[0, 'text'], [1, 'tool_use'], [2, 'tool_use']]);
    const ids = starts.slice(1).map((s) => s.content_block.id);
    for (const id of ids) expect(id).toMatch(TOOLU);
    expect(ids[0]).not.toBe(ids[1]);
    expect(toolInputs(fs)).toEqual({ 1: { city: 'Paris' }, 2: { city: 'Rome' } });
    // blocks open one at a time: each stop comes before the next start
    const order = fs.filter((f) => f.event === 'content_block_start' || f.event === 'content_block_stop').map((f) => `${f.event === 'content_block_start' ? '+' : '-'}${data(f).index}`);
    expect(order).toEqual(['+0', '-0', '+1', '-1', '+2', '-2']);
  });

  it('keeps text and the tool name when one chunk carries both (Portkey #1275)', () => {
    const fs = frames(transcode(anthropicStream(ctx), vllmChunks({
      prompt: 20,
      deltas: [{ content: 'Sure.', tool_calls: [{ index: 0, id: 'call_x', type: 'function', function: { name: 'lookup', arguments: '{"q":"vllm"}' } }] }],
      finish: 'tool_calls',
    })));
    expect(types(fs)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(data(fs[2]).delta).toEqual({ type: 'text_delta', text: 'Sure.' });
    expect(data(fs[4]).content_block).toMatchObject({ type: 'tool_use', name: 'lookup', input: {} });
    expect(toolInputs(fs)).toEqual({ 1: { q: 'vllm' } });
  });

  it('holds a tool call until its name arrives, then opens the block with the earlier arguments', () => {
    const fs = frames(transcode(anthropicStream(ctx), vllmChunks({
      prompt: 20,
      deltas: [{ tool_calls: [{ index: 0, id: 'toolu_01late', type: 'function', function: { arguments: '{"a":' } }] }, tool(0, undefined, 'late_name', '1}')],
      finish: 'tool_calls',
    })));
    const start = fs.find((f) => f.event === 'content_block_start')!;
    // an id that is already Anthropic's (an Anthropic-protocol replica) is kept
    expect(data(start).content_block).toEqual({ type: 'tool_use', id: 'toolu_01late', name: 'late_name', input: {} });
    expect(toolInputs(fs)).toEqual({ 0: { a: 1 } });
  });

  it('maps a length stop to max_tokens', () => {
    const fs = frames(transcode(anthropicStream(ctx), vllmChunks({ prompt: 5, deltas: [{ content: 'a' }], finish: 'length' })));
    expect(data(fs.at(-2)!).delta).toEqual({ stop_reason: 'max_tokens', stop_sequence: null });
  });

  it('names the matched stop sequence from vLLM stop_reason', () => {
    const fs = frames(transcode(anthropicStream(ctx), vllmChunks({ prompt: 5, deltas: [{ content: 'a' }], finish: 'stop', stopReason: '###' })));
    expect(data(fs.at(-2)!).delta).toEqual({ stop_reason: 'stop_sequence', stop_sequence: '###' });
  });

  it('ends a broken stream with an error event and no message_stop (Portkey #1797)', () => {
    const t = anthropicStream(ctx);
    const chunks = vllmChunks({ prompt: 9, deltas: [{ content: 'half an ans' }, { content: 'wer' }], finish: 'stop' });
    let sse = '';
    for (const c of chunks.slice(0, 2)) sse += t.chunk(c);
    expect(t.finished).toBe(false);
    sse += t.fail({ kind: 'upstream', message: 'The replica ended the response before it was complete.' });
    const fs = frames(sse);
    expect(fs.at(-1)!.event).toBe('error');
    expect(data(fs.at(-1)!)).toEqual({ type: 'error', error: { type: 'api_error', message: 'The replica ended the response before it was complete.' }, request_id: 'req_stream' });
    expect(types(fs)).not.toContain('message_stop');
    expect(t.finish()).toBe(''); // nothing more once failed
    expect(t.usage.outputTokens).toBe(1);
  });

  it('emits nothing for the usage-only chunk but uses its counts', () => {
    const t = anthropicStream(ctx);
    const chunks = vllmChunks({ prompt: 9, deltas: [{ content: 'x' }], finish: 'stop' });
    t.chunk(chunks[0]);
    t.chunk(chunks[1]);
    t.chunk(chunks[2]);
    expect(t.chunk({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 7 } })).toBe('');
    expect(t.usage.outputTokens).toBe(7);
  });

  it('skips what a broken replica sends in place of a choice, delta or tool call', () => {
    const t = anthropicStream(ctx);
    const junk = [
      { choices: [null] },
      { choices: [{ index: 0, delta: 'text?' }] },
      { choices: [{ index: 0, delta: { content: 'ok', tool_calls: [null, 'x'] }, finish_reason: 7 }] },
      { choices: {} },
    ] as unknown as UpstreamChunk[];
    let sse = '';
    expect(() => { for (const c of junk) sse += t.chunk(c); }).not.toThrow();
    const fs = frames(sse + t.finish());
    expect(types(fs)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    for (const f of fs) expect(() => data(f)).not.toThrow();
    expect(t.finished).toBe(false); // 7 is no finish_reason
  });

  it('#11 – pings once right after message_start, as Anthropic streams do', () => {
    const fs = allFrames(anthropicStream(ctx).chunk(vllmChunks({ prompt: 3, deltas: [], finish: 'stop' })[0]));
    expect(types(fs)).toEqual(['message_start', 'ping']);
    expect(data(fs[1])).toEqual({ type: 'ping' });
  });
});

/** The message content a client builds from the stream: text deltas joined, tool inputs parsed. */
function contentOf(fs: Frame[]): unknown[] {
  const blocks: Array<Record<string, unknown>> = [];
  const inputs = toolInputs(fs);
  for (const f of fs) {
    const d = data(f);
    if (d.type === 'content_block_start') blocks[d.index] = { ...d.content_block };
    if (d.type === 'content_block_delta' && d.delta.type === 'text_delta') blocks[d.index].text += d.delta.text;
  }
  return blocks.map((b, i) => (b.type === 'tool_use' ? { ...b, input: inputs[i] } : b));
}

describe('a replica\'s OpenAI refusal, streamed to an Anthropic client', () => {
  const refusalDeltas = [{ refusal: 'I cannot ' }, { refusal: 'help with that.' }] as unknown as Parameters<typeof vllmChunks>[0]['deltas'];
  const whole = (message: Record<string, unknown>, finish: string) =>
    JSON.parse(renderAnthropicMessage(ctx, { choices: [{ index: 0, message, finish_reason: finish }] } as unknown as UpstreamCompletion).body);

  it('is text deltas of one text block, and stop_reason refusal although the replica said stop', () => {
    const fs = frames(transcode(anthropicStream(ctx), vllmChunks({ prompt: 5, deltas: refusalDeltas, finish: 'stop' })));
    expect(types(fs)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(contentOf(fs)).toEqual([{ type: 'text', text: 'I cannot help with that.' }]);
    expect(data(fs.at(-2)!).delta).toEqual({ stop_reason: 'refusal', stop_sequence: null });
  });

  it('gives the content and stop_reason the whole answer gives, text and tool call beside it', () => {
    const deltas = [{ content: 'Let me see. ' }, ...refusalDeltas, tool(0, 'call_1', 'f', '{"a":1}')];
    const fs = frames(transcode(anthropicStream(ctx), vllmChunks({ prompt: 5, deltas, finish: 'tool_calls' })));
    const m = whole({ role: 'assistant', content: 'Let me see. ', refusal: 'I cannot help with that.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, 'tool_calls');
    const content = [{ type: 'text', text: 'Let me see. ' }, { type: 'text', text: 'I cannot help with that.' }, { type: 'tool_use', id: expect.stringMatching(TOOLU), name: 'f', input: { a: 1 } }];
    expect(contentOf(fs)).toEqual(content);
    expect(m.content).toEqual(content);
    expect(data(fs.at(-2)!).delta.stop_reason).toBe('refusal');
    expect(m.stop_reason).toBe('refusal');
  });

  it('is nothing when what the replica sent as one is not text: OpenAI\'s refusal null, an object, a number, ""', () => {
    const junk = [{ content: 'ok', refusal: null }, { refusal: { text: 'no' } }, { refusal: 7 }, { refusal: '' }] as unknown as Parameters<typeof vllmChunks>[0]['deltas'];
    const fs = frames(transcode(anthropicStream(ctx), vllmChunks({ prompt: 5, deltas: junk, finish: 'stop' })));
    expect(contentOf(fs)).toEqual([{ type: 'text', text: 'ok' }]);
    expect(data(fs.at(-2)!).delta.stop_reason).toBe('end_turn');
    expect(whole({ role: 'assistant', content: 'ok', refusal: { text: 'no' } }, 'stop')).toMatchObject({ content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn' });
  });
});

describe('Anthropic stream keep-alive', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Stands in for the client's response: records what is written, as a socket that keeps up. */
  function sink() {
    const writes: string[] = [];
    return { writes, writableLength: 0, writableEnded: false, destroyed: false, write: (s: string) => (writes.push(s), true) };
  }

  it('#11 – pings a stream the replica has left silent for 10 to 15 s, and not one that keeps talking', () => {
    vi.useFakeTimers();
    const quiet = sink();
    const busy = sink();
    const chunks = vllmChunks({ prompt: 3, deltas: Array.from({ length: 40 }, () => ({ content: 'x' })), finish: 'stop' });
    const q = anthropicStream(ctx, quiet);
    const b = anthropicStream(ctx, busy);
    q.chunk(chunks[0]);
    b.chunk(chunks[0]);
    vi.advanceTimersByTime(9_999);
    expect(quiet.writes).toEqual([]); // under 10 s of silence: nothing yet
    for (let i = 1; i <= 30; i++) {
      b.chunk(chunks[i]); // one chunk a second keeps it from ever being silent
      vi.advanceTimersByTime(1_000);
    }
    expect(busy.writes).toEqual([]);
    // 40 s of silence in all: one ping per 15 s tick window
    expect(quiet.writes.length).toBeGreaterThanOrEqual(2);
    expect(quiet.writes.length).toBeLessThanOrEqual(4);
    for (const w of quiet.writes) expect(allFrames(w)).toEqual([{ event: 'ping', data: '{"type":"ping"}' }]);
    q.finish();
    b.finish();
    expect(vi.getTimerCount()).toBe(0); // no stream left to watch, no timer
  });

  it('keeps a stream alive on the timers it is given, one timer for all its streams', () => {
    const time = new ManualTime();
    const a = sink();
    const b = sink();
    const first = () => vllmChunks({ prompt: 3, deltas: [{ content: 'x' }], finish: 'stop' })[0];
    const sa = anthropicStream(ctx, a, time);
    const sb = anthropicStream(ctx, b, time);
    sa.chunk(first());
    sb.chunk(first());
    expect(time.armed).toBe(1);
    time.advance(15_000);
    expect(a.writes).toHaveLength(1);
    expect(b.writes).toHaveLength(1);
    sa.finish();
    sb.finish();
    expect(time.armed).toBe(0);
  });

  it('#11 – stops pinging once the stream has ended, and never pings a client that is gone or still draining', () => {
    vi.useFakeTimers();
    const done = sink();
    const gone = sink();
    const slow = sink();
    const first = () => vllmChunks({ prompt: 3, deltas: [{ content: 'x' }], finish: 'stop' })[0];
    const d = anthropicStream(ctx, done);
    d.chunk(first());
    d.finish();
    anthropicStream(ctx, gone).chunk(first());
    gone.destroyed = true;
    const sl = anthropicStream(ctx, slow);
    sl.chunk(first());
    slow.writableLength = 65_536; // bytes queued: the connection is not idle
    vi.advanceTimersByTime(60_000);
    expect(done.writes).toEqual([]);
    expect(gone.writes).toEqual([]);
    expect(slow.writes).toEqual([]);
    // the keep-alive is still watching the slow stream: once its queue empties, silence gets a ping
    slow.writableLength = 0;
    vi.advanceTimersByTime(15_000);
    expect(slow.writes).toHaveLength(1);
    sl.finish();
    expect(vi.getTimerCount()).toBe(0);
  });
});
