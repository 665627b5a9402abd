import { describe, expect, it } from 'vitest';
import { classify } from '../../src/upstream/classify.js';

// A replica's refusal of a request, as the client hears it: its message always, its param and code
// when they are well formed, and OpenAI's code for a context overflow that vLLM codes as a bare 400.

const refusal = (body: unknown) => classify({ kind: 'status', status: 400, body: JSON.stringify(body) }, 'm');

describe('a replica\'s 400', () => {
  it('names OpenAI\'s context_length_exceeded when vLLM words an overflow as OpenAI does but codes it 400', () => {
    const message = "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens (8900 in the messages, 100 in the completion).";
    expect(refusal({ object: 'error', message, type: 'BadRequestError', param: null, code: 400 })).toEqual({
      kind: 'invalid_request', message, param: 'messages', code: 'context_length_exceeded',
    });
  });

  it('keeps the replica\'s own code and param over the wording', () => {
    const message = "This model's maximum context length is 8192 tokens.";
    expect(refusal({ error: { message, param: 'max_tokens', code: 'too_long' } })).toMatchObject({ param: 'max_tokens', code: 'too_long' });
  });

  it('adds no code to another refusal', () => {
    expect(refusal({ object: 'error', message: 'temperature must be positive', code: 400 })).toEqual({ kind: 'invalid_request', message: 'temperature must be positive' });
  });
});
