import { describe, expect, it } from 'vitest';
import { SseReader } from '../../src/upstream/index.js';

function read(parts: string[]): string[] {
  const out: string[] = [];
  const r = new SseReader({ onSseData: (d) => out.push(d) });
  for (const p of parts) r.push(Buffer.from(p));
  return out;
}

describe('reading an upstream SSE stream', () => {
  it('yields each data payload, in order', () => {
    expect(read(['data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'])).toEqual(['{"a":1}', '{"b":2}', '[DONE]']);
  });

  it('joins an event split across chunks, even inside a line', () => {
    expect(read(['da', 'ta: {"a"', ':1}\n', '\nda', 'ta: x\n\n'])).toEqual(['{"a":1}', 'x']);
  });

  it('accepts CRLF line ends, also when a CR and its LF arrive in different chunks', () => {
    expect(read(['data: one\r', '\n\r\ndata: two\r\n\r\n'])).toEqual(['one', 'two']);
  });

  it('ignores comments and other fields, and joins multi-line data with a newline', () => {
    expect(read([': keep-alive\n\nevent: x\nid: 3\ndata: a\ndata: b\n\n'])).toEqual(['a\nb']);
  });

  it('keeps an unfinished event pending rather than emitting it', () => {
    const out: string[] = [];
    const r = new SseReader({ onSseData: (d) => out.push(d) });
    r.push(Buffer.from('data: {"half":'));
    expect(out).toEqual([]);
    expect(r.pending).toBeGreaterThan(0);
  });

  it('reads a multi-byte character split between chunks', () => {
    const bytes = Buffer.from('data: héllo\n\n');
    const r: string[] = [];
    const reader = new SseReader({ onSseData: (d) => r.push(d) });
    // Split inside the two-byte é: the reader must not decode half of it.
    reader.push(bytes.subarray(0, 8));
    reader.push(bytes.subarray(8));
    expect(r).toEqual(['héllo']);
  });
});
