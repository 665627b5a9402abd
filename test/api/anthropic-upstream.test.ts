import { describe, expect, it } from 'vitest';
import { fromAnthropicMessage, toAnthropicRequest, type AnthropicRequest, type UpstreamChatBody } from '../../src/api/index.js';

// The canonical (OpenAI-compatible) body → an Anthropic Messages request, and an Anthropic
// message → the canonical completion: what an Anthropic-protocol upstream is sent and how its
// answer is read.

const body = (extra: Partial<UpstreamChatBody> & Record<string, unknown>): UpstreamChatBody =>
  ({ model: 'claude-x', messages: [{ role: 'user', content: 'hi' }], ...extra }) as UpstreamChatBody;

function translate(b: UpstreamChatBody, maxTokens: number | null = 1024): AnthropicRequest {
  const r = toAnthropicRequest(b, maxTokens);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe('the request sent to an Anthropic-protocol upstream', () => {
  it.each([
    // [what, body fields, expected max_tokens, why]
    ['max_completion_tokens', { max_completion_tokens: 50, max_tokens: 70 }, 50, 'the newer field wins, as OpenAI reads them'],
    ['max_tokens', { max_tokens: 70 }, 70, 'the deprecated field still counts'],
    ['neither', {}, 1024, 'Anthropic requires a cap: the model default'],
  ])('sets max_tokens from %s', (_w, extra, expected, _why) => {
    expect(translate(body(extra)).max_tokens).toBe(expected);
  });

  it('leaves max_tokens out of a count_tokens body', () => {
    expect(translate(body({}), null)).not.toHaveProperty('max_tokens');
  });

  it('lifts system and developer messages, wherever they are, into one system prompt', () => {
    const r = translate(body({
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'hi' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in ' }, { type: 'text', text: 'French.' }] },
        { role: 'user', content: 'again' },
      ],
    }));
    expect(r.system).toBe('Be terse.\n\nAnswer in French.');
    // the two user turns, now adjacent, are one turn: Anthropic alternates roles
    expect(r.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'text', text: 'again' }] }]);
  });

  it('#11 – turns an assistant tool_calls turn with no content key into tool_use blocks with parsed input', () => {
    const r = translate(body({
      messages: [
        { role: 'user', content: 'weather in Paris and Rome?' },
        {
          role: 'assistant',
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
          ],
        } as never,
        { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'rain' }] } as never,
        { role: 'user', content: 'thanks; which is warmer?' },
      ],
    }));
    expect(r.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'weather in Paris and Rome?' }] },
      {
        role: 'assistant', content: [
          { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'weather', input: { city: 'Rome' } },
        ],
      },
      // every result answers its call in the next user turn, before the user's own words
      {
        role: 'user', content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
          { type: 'tool_result', tool_use_id: 'call_2', content: 'rain' },
          { type: 'text', text: 'thanks; which is warmer?' },
        ],
      },
    ]);
  });

  it('keeps an assistant text beside its tool calls, drops an empty one (Anthropic refuses empty text blocks)', () => {
    const turn = (content: unknown) => translate(body({
      messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: 'not json' } }] } as never],
    })).messages[1].content;
    expect(turn('Checking.')).toEqual([{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 't', name: 'f', input: {} }]);
    expect(turn('')).toEqual([{ type: 'tool_use', id: 't', name: 'f', input: {} }]);
    expect(turn(null)).toEqual([{ type: 'tool_use', id: 't', name: 'f', input: {} }]);
  });

  it('sends images as base64 or url sources', () => {
    const r = translate(body({
      messages: [{ role: 'user', content: [
        { type: 'text', text: 'what is this?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } },
      ] }],
    }));
    expect(r.messages[0].content).toEqual([
      { type: 'text', text: 'what is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ]);
  });

  it.each([
    // [tool_choice, parallel_tool_calls, expected, why]
    ['auto', undefined, { type: 'auto' }, ''],
    ['required', undefined, { type: 'any' }, 'OpenAI "required" is Anthropic "any"'],
    ['none', undefined, { type: 'none' }, ''],
    [{ type: 'function', function: { name: 'weather' } }, undefined, { type: 'tool', name: 'weather' }, 'a named tool'],
    [undefined, false, { type: 'auto', disable_parallel_tool_use: true }, 'no parallel calls: said on tool_choice'],
    ['required', false, { type: 'any', disable_parallel_tool_use: true }, ''],
    [undefined, undefined, undefined, 'nothing said, nothing sent'],
  ])('maps tool_choice %j with parallel_tool_calls %j', (tc, ptc, expected, _why) => {
    const r = translate(body({
      tools: [{ type: 'function', function: { name: 'weather', description: 'Weather now', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      ...(tc === undefined ? {} : { tool_choice: tc as never }),
      ...(ptc === undefined ? {} : { parallel_tool_calls: ptc }),
    }));
    expect(r.tools).toEqual([{ name: 'weather', description: 'Weather now', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]);
    expect(r.tool_choice).toEqual(expected);
  });

  it('gives a tool without parameters the empty object schema Anthropic requires', () => {
    expect(translate(body({ tools: [{ type: 'function', function: { name: 'now' } }] })).tools).toEqual([{ name: 'now', input_schema: { type: 'object', properties: {} } }]);
  });

  it.each([
    // [field, value, expected fields, why]
    ['stop', 'END', { stop_sequences: ['END'] }, 'a single string is a list of one'],
    ['stop', ['a', 'b'], { stop_sequences: ['a', 'b'] }, ''],
    ['temperature', 0.3, { temperature: 0.3 }, ''],
    ['temperature', 1.7, { temperature: 1 }, "OpenAI's range runs to 2, Anthropic's to 1"],
    ['top_p', 0.9, { top_p: 0.9 }, ''],
    ['top_k', 40, { top_k: 40 }, ''],
    ['top_k', -1, {}, "vLLM's -1 means off: left out"],
    ['stream', true, { stream: true }, ''],
    ['stream_options', { include_usage: true }, {}, 'Anthropic streams always carry usage'],
    ['user', 'u-1', {}, 'not sent'],
  ])('translates %s = %j', (field, value, expected, _why) => {
    const r = translate(body({ [field]: value }));
    const { model: _m, messages: _ms, max_tokens: _mt, ...rest } = r;
    expect(rest).toEqual(expected);
  });

  it.each([
    // [what, body, the path named in the 400]
    ['an audio part', { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] }] }, 'messages[0].content[0].type'],
    ['a file part', { messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'f' } }] }] }, 'messages[0].content[0].type'],
    ['an image that is not a URL', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }] }, 'messages[0].content[0].image_url.url'],
    ['a json_schema response_format', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } } }, 'response_format'],
    ['an unknown role', { messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role'],
    ['a tool call with no name', { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: null, tool_calls: [{ id: 'x', type: 'function', function: {} }] }] }, 'messages[1].tool_calls[0]'],
  ])('refuses %s, naming the field, instead of sending something else', (_w, extra, param) => {
    const r = toAnthropicRequest(body(extra as never), 1024);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('invalid_request');
      expect((r.error as { param?: string }).param).toBe(param);
    }
  });

  it('is linear in the number of tool calls (150,000 answered in reverse order)', () => {
    const n = 150_000;
    const calls = Array.from({ length: n }, (_, i) => ({ id: `c${i}`, type: 'function', function: { name: 'f', arguments: '{}' } }));
    const results = Array.from({ length: n }, (_, i) => ({ role: 'tool', tool_call_id: `c${n - 1 - i}`, content: 'ok' }));
    const t0 = performance.now();
    const r = translate(body({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: null, tool_calls: calls }, ...results] as never }));
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(r.messages[2].content).toHaveLength(n);
  });
});

describe('an Anthropic message read back as the canonical completion', () => {
  const message = (extra: Record<string, unknown>) => JSON.stringify({
    id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: 'Hi.' }],
    stop_reason: 'end_turn', stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 3, cache_read_input_tokens: 100, cache_creation_input_tokens: 8 },
    ...extra,
  });

  it('joins text blocks and counts every input token once: uncached + cache read + cache write', () => {
    const c = fromAnthropicMessage(message({ content: [{ type: 'text', text: 'Hi, ', citations: null }, { type: 'text', text: 'there.' }] }))!;
    expect(c.choices[0]).toEqual({ index: 0, message: { role: 'assistant', content: 'Hi, there.' }, finish_reason: 'stop' });
    expect(c.usage).toEqual({ prompt_tokens: 120, completion_tokens: 3, total_tokens: 123, prompt_tokens_details: { cached_tokens: 100 } });
  });

  it.each([
    // [stop_reason, finish_reason]
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'stop'],
    ['model_context_window_exceeded', 'length'],
    [null, 'stop'],
  ])('maps stop_reason %s to finish_reason %s', (stop, finish) => {
    expect(fromAnthropicMessage(message({ stop_reason: stop }))!.choices[0].finish_reason).toBe(finish);
  });

  it('carries a matched stop sequence, so an Anthropic client still hears which one', () => {
    const c = fromAnthropicMessage(message({ stop_reason: 'stop_sequence', stop_sequence: '###' }))!;
    expect(c.choices[0].stop_reason).toBe('###');
  });

  it('turns tool_use blocks into tool calls, in order, with their ids, names and JSON arguments', () => {
    const c = fromAnthropicMessage(message({
      stop_reason: 'tool_use',
      content: [
        { type: 'tool_use', id: 'toolu_a', name: 'weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_b', name: 'time', input: {} },
      ],
    }))!;
    expect(c.choices[0].message).toEqual({
      role: 'assistant', content: null,
      tool_calls: [
        { id: 'toolu_a', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
        { id: 'toolu_b', type: 'function', function: { name: 'time', arguments: '{}' } },
      ],
    });
    expect(c.choices[0].finish_reason).toBe('tool_calls');
  });

  it('keeps thinking as reasoning_content and leaves out what OpenAI has no form for', () => {
    const c = fromAnthropicMessage(message({
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 's' },
        { type: 'redacted_thinking', data: 'x' },
        { type: 'server_tool_use', id: 'srv', name: 'web_search', input: {} },
        { type: 'text', text: 'Done.' },
      ],
    }))!;
    expect(c.choices[0].message).toEqual({ role: 'assistant', content: 'Done.', reasoning_content: 'hmm' });
  });

  it.each([
    ['not JSON', '{"id":'],
    ['no content array', '{"type":"message","content":"x"}'],
    ['an array', '[]'],
  ])('is null for a body that is not a message (%s)', (_w, text) => {
    expect(fromAnthropicMessage(text)).toBeNull();
  });
});
