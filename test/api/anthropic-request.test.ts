import { describe, expect, it } from 'vitest';
import { parseAnthropicMessages, parseCountTokens, renderCountTokens, type InferenceRequest } from '../../src/api/index.js';

const base = { model: 'llama-3.1-8b', max_tokens: 256, messages: [{ role: 'user', content: 'Hello' }] };

function ok(body: unknown): InferenceRequest {
  const r = parseAnthropicMessages(JSON.stringify(body));
  if (!r.ok) throw new Error(`expected ok, got ${r.error.message}`);
  return r.value;
}

const toolUse = (id: string, name = 'get_weather', input: unknown = { city: 'Paris' }) => ({ type: 'tool_use', id, name, input });
const toolResult = (id: string, content?: unknown, extra: object = {}) => ({ type: 'tool_result', tool_use_id: id, ...(content !== undefined ? { content } : {}), ...extra });
const weatherTool = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };

describe('Anthropic request validation', () => {
  // [what is wrong, body, the message the user sees]
  const cases: Array<[string, unknown, string]> = [
    ['max_tokens missing', { model: 'm', messages: base.messages }, 'max_tokens: Field required'],
    ['max_tokens a string', { ...base, max_tokens: '100' }, 'max_tokens: Input should be a valid integer'],
    ['max_tokens zero', { ...base, max_tokens: 0 }, 'max_tokens: Input should be greater than or equal to 1'],
    ['model missing', { max_tokens: 10, messages: base.messages }, 'model: Field required'],
    ['model not a string', { ...base, model: 7 }, 'model: Input should be a valid string'],
    ['messages missing', { model: 'm', max_tokens: 10 }, 'messages: Field required'],
    ['messages not a list', { ...base, messages: 'hi' }, 'messages: Input should be a valid list'],
    ['messages empty', { ...base, messages: [] }, 'messages: at least one message is required'],
    ['role unknown', { ...base, messages: [{ role: 'bot', content: 'x' }] }, "messages.0.role: Input should be 'user' or 'assistant'"],
    [
      '#11 – a mid-conversation system message, in the words Claude Code falls back on',
      { ...base, messages: [{ role: 'user', content: 'hi' }, { role: 'system', content: 'Agents: …' }] },
      'messages.1: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.',
    ],
    ['content missing', { ...base, messages: [{ role: 'user' }] }, 'messages.0.content: Field required'],
    [
      'unknown block type',
      { ...base, messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: [{ type: 'video' }] }] },
      "messages.1.content.0.type: Input tag 'video' found using 'type' does not match any of the expected tags: 'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'",
    ],
    ['empty text block', { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, 'messages: text content blocks must be non-empty'],
    ['text block without text', { ...base, messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages.0.content.0.text.text: Field required'],
    [
      'empty content before the end',
      { ...base, messages: [{ role: 'user', content: '' }, { role: 'assistant', content: 'ok' }] },
      'messages.0: all messages must have non-empty content except for the optional final assistant message',
    ],
    ['temperature above 1', { ...base, temperature: 1.5 }, 'temperature: Input should be less than or equal to 1'],
    ['temperature negative', { ...base, temperature: -0.1 }, 'temperature: Input should be greater than or equal to 0'],
    ['top_p above 1', { ...base, top_p: 2 }, 'top_p: Input should be less than or equal to 1'],
    ['top_k fractional', { ...base, top_k: 1.5 }, 'top_k: Input should be a valid integer'],
    ['stop_sequences a string', { ...base, stop_sequences: 'END' }, 'stop_sequences: Input should be a valid list'],
    ['stream not boolean', { ...base, stream: 'yes' }, 'stream: Input should be a valid boolean'],
    ['metadata.user_id a number', { ...base, metadata: { user_id: 5 } }, 'metadata.user_id: Input should be a valid string'],
    [
      'image media type unsupported',
      { ...base, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: 'AA==' } }] }] },
      "messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'",
    ],
    [
      'tool_use in a user message',
      { ...base, messages: [{ role: 'user', content: [toolUse('toolu_1')] }] },
      'messages.0.content.0: tool_use blocks are only allowed in assistant messages',
    ],
    [
      'tool_use without input',
      { ...base, messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'n' }] }] },
      'messages.1.content.0.tool_use.input: Field required',
    ],
    [
      'tool_use left unanswered (verified wording, claude-code#3512)',
      {
        ...base,
        messages: [
          { role: 'user', content: 'weather?' },
          { role: 'assistant', content: [toolUse('toolu_01A'), toolUse('toolu_01B')] },
          { role: 'user', content: [toolResult('toolu_01A', 'sunny')] },
        ],
      },
      'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01B. Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
    ],
    [
      'tool_use as the last message',
      { ...base, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [toolUse('toolu_9')] }] },
      'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_9. Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
    ],
    [
      'tool_result with no matching tool_use',
      { ...base, messages: [{ role: 'user', content: [toolResult('toolu_X', 'r')] }] },
      'messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_X. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
    ],
    ['prefill ending in whitespace', { ...base, messages: [...base.messages, { role: 'assistant', content: 'The answer is ' }] }, 'messages: final assistant content cannot end with trailing whitespace'],
    ['tool without input_schema', { ...base, tools: [{ name: 'x' }] }, 'tools.0.input_schema: Field required'],
    ['tool name with spaces', { ...base, tools: [{ name: 'get weather', input_schema: {} }] }, "tools.0.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'"],
    ['server tool', { ...base, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, "tools.0.type: server tool 'web_search_20250305' is not supported by this gateway; define a client tool with name and input_schema instead"],
    ['tool_choice unknown type', { ...base, tools: [weatherTool], tool_choice: { type: 'some' } }, "tool_choice.type: Input tag 'some' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"],
    ['tool_choice names a missing tool', { ...base, tools: [weatherTool], tool_choice: { type: 'tool', name: 'nope' } }, "tool_choice.tool.name: no tool named 'nope' is defined in tools"],
    ['tool_choice any without tools', { ...base, tool_choice: { type: 'any' } }, "tool_choice: tool_choice 'any' needs tools; define them in tools or drop tool_choice"],
    ['thinking budget too small', { ...base, thinking: { type: 'enabled', budget_tokens: 100 } }, 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024'],
    ['thinking budget above max_tokens', { ...base, max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 4000 } }, '`max_tokens` must be greater than `thinking.budget_tokens`; raise max_tokens or lower the budget.'],
  ];

  it.each(cases)('rejects %s with 400 invalid_request', (_why, body, message) => {
    const r = parseAnthropicMessages(JSON.stringify(body));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('invalid_request');
    expect(r.error.message).toBe(message);
  });

  it('rejects malformed JSON as invalid_request, naming the problem', () => {
    const r = parseAnthropicMessages(Buffer.from('{"model": "m", '));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('invalid_request');
      expect(r.error.message).toMatch(/^The request body is not valid JSON/);
    }
  });

  it('rejects a body that is JSON but not an object', () => {
    const r = parseAnthropicMessages('[1,2]');
    expect(!r.ok && r.error.message).toBe('The request body must be a JSON object.');
  });

  it('accepts newer top-level fields it does not use (service_tier, container, …)', () => {
    expect(ok({ ...base, service_tier: 'auto', inference_geo: 'us' }).model).toBe('llama-3.1-8b');
  });
});

describe('Anthropic request translation', () => {
  it('puts a string system prompt first and always sets max_tokens upstream', () => {
    const r = ok({ ...base, system: 'Be brief.' });
    expect(r.upstream.messages).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }]);
    expect(r.upstream.max_tokens).toBe(256);
    expect(r.maxTokens).toBe(256);
    expect(r.wire).toBe('anthropic');
    expect(r.stream).toBe(false);
    expect(r.upstream.stream).toBeUndefined();
  });

  it('joins system text blocks (cache_control ignored) into one system message', () => {
    const r = ok({ ...base, system: [{ type: 'text', text: 'Rules.', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'Today is Monday.' }] });
    expect(r.upstream.messages[0]).toEqual({ role: 'system', content: 'Rules.\nToday is Monday.' });
  });

  it('merges consecutive same-role turns into one', () => {
    const r = ok({ ...base, messages: [{ role: 'user', content: 'a' }, { role: 'user', content: [{ type: 'text', text: 'b' }] }, { role: 'assistant', content: 'c' }, { role: 'assistant', content: 'd' }, { role: 'user', content: 'e' }] });
    expect(r.upstream.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
      { role: 'assistant', content: 'cd' },
      { role: 'user', content: 'e' },
    ]);
  });

  it('turns images into image_url parts: base64 as a data: URL, url as is', () => {
    const r = ok({
      ...base,
      messages: [{ role: 'user', content: [
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
        { type: 'text', text: 'Compare these.' },
      ] }],
    });
    expect(r.upstream.messages).toEqual([{ role: 'user', content: [
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
      { type: 'text', text: 'Compare these.' },
    ] }]);
  });

  it('round-trips tool_use → tool_calls and tool_result → one tool message each, then the rest of the user turn', () => {
    const r = ok({
      ...base,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'two calls', signature: 'sig' }, { type: 'text', text: 'Checking.' }, toolUse('toolu_A'), toolUse('toolu_B', 'get_weather', { city: 'Rome' })] },
        // the tool_result blocks first, as the real API wants them
        { role: 'user', content: [
          toolResult('toolu_B', [{ type: 'text', text: '21C' }, { type: 'text', text: 'clear' }]),
          toolResult('toolu_A', 'timeout', { is_error: true }),
          { type: 'text', text: 'Here you go.' },
        ] },
      ],
    });
    expect(r.upstream.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [
        { id: 'toolu_A', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'toolu_B', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
      ] },
      // tool messages must directly follow the assistant that called them
      { role: 'tool', tool_call_id: 'toolu_B', content: '21C\nclear' },
      { role: 'tool', tool_call_id: 'toolu_A', content: 'Error: timeout' },
      { role: 'user', content: 'Here you go.' },
    ]);
    expect(r.upstream.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherTool.input_schema } }]);
  });

  it('sends an assistant turn of only tool calls with content null', () => {
    const r = ok({ ...base, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [toolUse('t1')] }, { role: 'user', content: [toolResult('t1', 'r')] }] });
    expect(r.upstream.messages[1]).toMatchObject({ role: 'assistant', content: null });
  });

  it('moves images inside a tool_result to a user message after the tool messages', () => {
    const img = { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/' } };
    const r = ok({ ...base, messages: [{ role: 'user', content: 'shot?' }, { role: 'assistant', content: [toolUse('t1', 'screenshot', {})] }, { role: 'user', content: [toolResult('t1', [{ type: 'text', text: 'taken' }, img])] }] });
    expect(r.upstream.messages.slice(2)).toEqual([
      { role: 'tool', tool_call_id: 't1', content: 'taken' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/' } }] },
    ]);
  });

  it('keeps a final assistant turn as a prefill the replica continues', () => {
    const r = ok({ ...base, messages: [{ role: 'user', content: 'JSON please' }, { role: 'assistant', content: '{"answer":' }] });
    expect(r.upstream.messages.at(-1)).toEqual({ role: 'assistant', content: '{"answer":' });
    expect(r.upstream.continue_final_message).toBe(true);
    expect(r.upstream.add_generation_prompt).toBe(false);
  });

  it('drops an empty final assistant turn instead of continuing it', () => {
    const r = ok({ ...base, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: '' }] });
    expect(r.upstream.messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(r.upstream.continue_final_message).toBeUndefined();
  });

  it('maps sampling, stop sequences, tool_choice and metadata', () => {
    const r = ok({ ...base, temperature: 0.2, top_p: 0.9, top_k: 40, stop_sequences: ['\n\nHuman:', 'END'], tools: [weatherTool], tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true }, metadata: { user_id: 'u-42' } });
    expect(r.upstream).toMatchObject({ temperature: 0.2, top_p: 0.9, top_k: 40, stop: ['\n\nHuman:', 'END'], tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false });
    expect(r.userId).toBe('u-42');
  });

  it.each([
    ['auto', 'auto'],
    ['any', 'required'],
    ['none', 'none'],
  ])('maps tool_choice %s to %s', (from, to) => {
    expect(ok({ ...base, tools: [weatherTool], tool_choice: { type: from } }).upstream.tool_choice).toBe(to);
  });

  it('asks a streaming replica for usage on every chunk', () => {
    const r = ok({ ...base, stream: true });
    expect(r.stream).toBe(true);
    expect(r.upstream.stream).toBe(true);
    expect(r.upstream.stream_options).toEqual({ include_usage: true, continuous_usage_stats: true });
  });

  it('turns a text document into text and refuses a PDF with a way out', () => {
    const r = ok({ ...base, messages: [{ role: 'user', content: [{ type: 'document', title: 'Notes', source: { type: 'text', media_type: 'text/plain', data: 'line 1' } }] }] });
    expect(r.upstream.messages[0]).toEqual({ role: 'user', content: 'Notes\n\nline 1' });
    const pdf = parseAnthropicMessages(JSON.stringify({ ...base, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' } }] }] }));
    expect(!pdf.ok && pdf.error.message).toMatch(/^messages\.0\.content\.0\.document\.source: only text and content documents/);
  });
});

describe('count_tokens', () => {
  it('needs no max_tokens and builds a /tokenize chat body with the tools', () => {
    const r = parseCountTokens(JSON.stringify({ model: 'm', system: 'S', messages: [{ role: 'user', content: 'hi' }], tools: [weatherTool] }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.model).toBe('m');
    expect(r.value.upstream).toEqual({
      model: 'm',
      messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'hi' }],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherTool.input_schema } }],
    });
  });

  it('validates messages like /v1/messages does', () => {
    const r = parseCountTokens(JSON.stringify({ model: 'm', messages: [] }));
    expect(!r.ok && r.error.message).toBe('messages: at least one message is required');
  });

  it('renders the count as {"input_tokens":n}', () => {
    expect(JSON.parse(renderCountTokens(1234))).toEqual({ input_tokens: 1234 });
  });
});
