import { describe, expect, it } from 'vitest';
import { extractKey } from '../../src/tenancy/index.js';

describe('finding the API key in request headers', () => {
  it.each([
    ['x-api-key (Anthropic SDK with apiKey, curl)', { 'x-api-key': 'sk-sy-a' }, 'sk-sy-a'],
    ['Authorization: Bearer (OpenAI SDK, Anthropic SDK 1.x)', { authorization: 'Bearer sk-sy-b' }, 'sk-sy-b'],
    ['a lower-case bearer scheme', { authorization: 'bearer sk-sy-c' }, 'sk-sy-c'],
    ['surrounding spaces', { 'x-api-key': '  sk-sy-d  ' }, 'sk-sy-d'],
    ['x-api-key over Bearer when both are sent, as Anthropic does', { 'x-api-key': 'sk-sy-x', authorization: 'Bearer sk-sy-y' }, 'sk-sy-x'],
    ['Bearer when x-api-key is blank', { 'x-api-key': ' ', authorization: 'Bearer sk-sy-e' }, 'sk-sy-e'],
    ['the first of repeated x-api-key headers', { 'x-api-key': ['sk-sy-1', 'sk-sy-2'] }, 'sk-sy-1'],
    ['nothing when no header carries a key', {}, null],
    ['nothing for another scheme', { authorization: 'Basic dXNlcjpwYXNz' }, null],
    ['nothing for a Bearer without a token', { authorization: 'Bearer   ' }, null],
  ])('takes %s', (_why, headers, expected) => {
    expect(extractKey(headers as Record<string, string | string[]>)).toBe(expected);
  });
});
