import { describe, expect, it } from 'vitest';
import { BOS_ID, countTokens, renderChat, tokenPieces, tokenize } from '../../src/engine/index.js';

describe('simulated tokenizer', () => {
  it('splits words with their leading space, long words in 4-letter pieces, symbols alone', () => {
    expect(tokenPieces('Hello, internationalization 12345!')).toEqual([
      'Hell', 'o', ',', ' inte', 'rnat', 'iona', 'liza', 'tion', ' 123', '45', '!',
    ]);
  });

  it('treats chat markers as single special tokens at Llama 3 ids', () => {
    const ids = tokenize('<|begin_of_text|><|start_header_id|>user<|end_header_id|>');
    expect(ids[0]).toBe(BOS_ID);
    expect(ids).toEqual([128_000, 128_006, expect.any(Number), 128_007]);
  });

  it('is deterministic and about 4 characters per token on English prose', () => {
    const text = 'The scheduler batches requests continuously and reuses cached prefixes whenever it can. '.repeat(30);
    expect(tokenize(text)).toEqual(tokenize(text));
    const ratio = text.length / countTokens(text);
    expect(ratio).toBeGreaterThan(3.2);
    expect(ratio).toBeLessThan(5);
  });

  it('keeps every id inside the vocabulary', () => {
    for (const id of tokenize('naïve café — 東京 🚂 <|weird|> \t\n')) {
      expect(id).toBeGreaterThanOrEqual(0);
      expect(id).toBeLessThan(128_256);
    }
  });
});

describe('chat template', () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];

  it('renders the next turn of a conversation as an extension of the previous prompt', () => {
    const turn1 = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi there' }];
    const p1 = renderChat(turn1, { tools });
    const p2 = renderChat([...turn1, { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'More' }], { tools });
    expect(p2.startsWith(p1)).toBe(true);
    const t1 = tokenize(p1);
    expect(tokenize(p2).slice(0, t1.length)).toEqual(t1);
  });

  it('renders tools, tool calls and tool results into the prompt', () => {
    const text = renderChat([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'rain' },
    ], { tools });
    expect(text).toContain('"name":"get_weather"');
    expect(text).toContain('{"name": "get_weather", "parameters": {"city":"Oslo"}}');
    expect(text).toContain('<|start_header_id|>ipython<|end_header_id|>\n\nrain<|eot_id|>');
    expect(text.endsWith('<|start_header_id|>assistant<|end_header_id|>\n\n')).toBe(true);
  });

  it('leaves a final assistant message open to continue it (an Anthropic prefill)', () => {
    const text = renderChat([{ role: 'user', content: 'x' }, { role: 'assistant', content: 'The answer is' }], { addGenerationPrompt: false, continueFinalMessage: true });
    expect(text.endsWith('<|start_header_id|>assistant<|end_header_id|>\n\nThe answer is')).toBe(true);
  });

  it('leaves the generation prompt off when asked', () => {
    expect(renderChat([{ role: 'user', content: 'x' }], { addGenerationPrompt: false }).endsWith('<|eot_id|>')).toBe(true);
  });
});
