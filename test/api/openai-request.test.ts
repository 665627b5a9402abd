import { describe, expect, it } from 'vitest';
import { parseOpenAIChat } from '../../src/api/index.js';

const base = { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'Hello' }] };
const fn = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } };
const call = (id: string) => ({ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });

describe('OpenAI request validation', () => {
  // [what is wrong, body, message, param]
  const cases: Array<[string, unknown, string, string | undefined]> = [
    ['model missing', { messages: base.messages }, "Missing required parameter: 'model'.", 'model'],
    ['model a number', { ...base, model: 1 }, "Invalid type for 'model': expected a string, but got an integer instead.", 'model'],
    ['messages missing', { model: 'm' }, "Missing required parameter: 'messages'.", 'messages'],
    ['messages empty', { ...base, messages: [] }, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages'],
    ['role unknown', { ...base, messages: [{ role: 'bot', content: 'x' }] }, "Invalid value: 'bot'. Supported values are: 'system', 'developer', 'user', 'assistant', and 'tool'.", 'messages[0].role'],
    ['content a number', { ...base, messages: [{ role: 'user', content: 5 }] }, "Invalid type for 'messages[0].content': expected one of a string or array of objects, but got an integer instead.", 'messages[0].content'],
    ['image part without url', { ...base, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, "Missing required parameter: 'messages[0].content[0].image_url.url'.", 'messages[0].content[0].image_url.url'],
    ['n of 2', { ...base, n: 2 }, "This gateway returns one choice per request, so 'n' must be 1 (got 2); send 2 requests for 2 samples.", 'n'],
    ['stream_options without stream', { ...base, stream_options: { include_usage: true } }, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options'],
    ['temperature above 2', { ...base, temperature: 2.5 }, "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead.", 'temperature'],
    ['max_tokens zero', { ...base, max_tokens: 0 }, "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.", 'max_tokens'],
    ['max_completion_tokens fractional', { ...base, max_completion_tokens: 1.5 }, "Invalid type for 'max_completion_tokens': expected an integer, but got a decimal instead.", 'max_completion_tokens'],
    ['five stop strings', { ...base, stop: ['a', 'b', 'c', 'd', 'e'] }, "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length 5 instead.", 'stop'],
    ['stop a number', { ...base, stop: 3 }, "Invalid type for 'stop': expected one of a string or array of strings, but got an integer instead.", 'stop'],
    ['tool of another type', { ...base, tools: [{ type: 'custom', custom: { name: 'x' } }] }, "Invalid value: 'custom'. Supported values are: 'function'.", 'tools[0].type'],
    ['tool without a name', { ...base, tools: [{ type: 'function', function: {} }] }, "Missing required parameter: 'tools[0].function.name'.", 'tools[0].function.name'],
    ['tool_choice without tools', { ...base, tool_choice: 'required' }, "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice'],
    ['tool_choice unknown string', { ...base, tools: [fn], tool_choice: 'always' }, "Invalid value: 'always'. Supported values are: 'none', 'auto', and 'required'.", 'tool_choice'],
    ['tool_choice names a missing function', { ...base, tools: [fn], tool_choice: { type: 'function', function: { name: 'nope' } } }, "Invalid value for 'tool_choice': function 'nope' is not among the tools provided.", 'tool_choice.function.name'],
    ['tool message without a preceding call', { ...base, messages: [{ role: 'user', content: 'q' }, { role: 'tool', tool_call_id: 'c1', content: 'r' }] }, "Invalid parameter: messages with role 'tool' must be a response to a preceding message with 'tool_calls'.", 'messages[1].role'],
    ['tool message without tool_call_id', { ...base, messages: [{ role: 'tool', content: 'r' }] }, "Missing required parameter: 'messages[0].tool_call_id'.", 'messages[0].tool_call_id'],
    [
      'tool call left unanswered',
      { ...base, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', tool_calls: [call('c1'), call('c2')] }, { role: 'tool', tool_call_id: 'c1', content: 'sunny' }, { role: 'user', content: 'and?' }] },
      "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: c2",
      'messages[1].role',
    ],
    ['assistant tool call without arguments', { ...base, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f' } }] }] }, "Missing required parameter: 'messages[1].tool_calls[0].function.arguments'.", 'messages[1].tool_calls[0].function.arguments'],
    ['assistant with neither content nor tool calls', { ...base, messages: [{ role: 'user', content: 'q' }, { role: 'assistant' }] }, "Missing required parameter: 'messages[1].content'.", 'messages[1].content'],
  ];

  it.each(cases)('rejects %s with 400 and the param', (_why, body, message, param) => {
    const r = parseOpenAIChat(JSON.stringify(body));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toEqual({ kind: 'invalid_request', message, param });
  });

  it('rejects malformed JSON as invalid_request', () => {
    const r = parseOpenAIChat('{not json');
    expect(!r.ok && r.error.kind).toBe('invalid_request');
  });
});

describe('OpenAI request pass-through', () => {
  it('keeps the client body, vLLM extensions included', () => {
    const body = { ...base, temperature: 0.7, top_k: 20, repetition_penalty: 1.1, chat_template_kwargs: { enable_thinking: false }, max_completion_tokens: 64, user: 'u1' };
    const r = parseOpenAIChat(JSON.stringify(body));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.upstream).toEqual(body);
    expect(r.value).toMatchObject({ wire: 'openai', model: 'llama-3.1-8b', stream: false, includeUsage: false, maxTokens: 64, userId: 'u1' });
  });

  it('takes the output cap from max_tokens when max_completion_tokens is absent, and null when neither is set', () => {
    const a = parseOpenAIChat(JSON.stringify({ ...base, max_tokens: 99 }));
    const b = parseOpenAIChat(JSON.stringify(base));
    expect(a.ok && a.value.maxTokens).toBe(99);
    expect(b.ok && b.value.maxTokens).toBe(null);
  });

  it('forces usage on every streamed chunk but remembers whether the client wanted it', () => {
    const plain = parseOpenAIChat(JSON.stringify({ ...base, stream: true }));
    const asked = parseOpenAIChat(JSON.stringify({ ...base, stream: true, stream_options: { include_usage: true } }));
    for (const r of [plain, asked]) {
      expect(r.ok && r.value.upstream.stream_options).toEqual({ include_usage: true, continuous_usage_stats: true });
    }
    expect(plain.ok && plain.value.includeUsage).toBe(false);
    expect(asked.ok && asked.value.includeUsage).toBe(true);
  });

  it('accepts a full tool round trip, developer messages and n=1', () => {
    const r = parseOpenAIChat(JSON.stringify({
      ...base,
      n: 1,
      tools: [fn],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      messages: [
        { role: 'developer', content: 'Be terse.' },
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }] },
        { role: 'assistant', content: null, tool_calls: [call('c1'), call('c2')] },
        { role: 'tool', tool_call_id: 'c2', content: 'rain' },
        { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: 'sun' }] },
      ],
    }));
    expect(r.ok).toBe(true);
  });

  it('takes userId from safety_identifier before the deprecated user', () => {
    const r = parseOpenAIChat(JSON.stringify({ ...base, user: 'old', safety_identifier: 'new' }));
    expect(r.ok && r.value.userId).toBe('new');
  });
});
