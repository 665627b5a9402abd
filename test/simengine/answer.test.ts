import { describe, expect, it } from 'vitest';
import { tokenize } from '../../src/engine/index.js';
import { planText, planTool } from '../../src/simengine/answer.js';
import { FILLER_WORDS, naturalLength } from '../../src/simengine/index.js';

const input = (seed: number, maxTokens: number, stop: string[] = [], ignoreEos = false) => ({ seed, maxTokens, stop, ignoreEos });

describe('simulated answers', () => {
  it('have a natural length of 8–60 tokens decided by the prompt hash', () => {
    const lengths = new Set<number>();
    for (let seed = 0; seed < 500; seed++) {
      const n = naturalLength(seed * 2654435761);
      expect(n).toBeGreaterThanOrEqual(8);
      expect(n).toBeLessThanOrEqual(60);
      lengths.add(n);
    }
    expect(lengths.size).toBeGreaterThan(40);
  });

  it('use filler words only, one token per piece, so usage matches the tokenizer', () => {
    const p = planText(input(12345, 1000, [], true));
    expect(p.tokens).toBe(1000);
    expect(tokenize(p.text)).toEqual(Array.from(p.ids));
    for (const w of p.text.split(/[ .,]+/).filter(Boolean)) expect(FILLER_WORDS).toContain(w.toLowerCase());
  });

  it('are prefix-stable: a smaller cap gives the start of the same answer', () => {
    const long = planText(input(99, 60, [], true));
    const short = planText(input(99, 10));
    expect(long.text.startsWith(short.text)).toBe(true);
    expect(short.finishReason).toBe(naturalLength(99) > 10 ? 'length' : 'stop');
  });

  it('end with a full stop when they end naturally', () => {
    const p = planText(input(7, 1000));
    expect(p.tokens).toBe(naturalLength(7));
    expect(p.finishReason).toBe('stop');
    expect(p.text.endsWith('.')).toBe(true);
  });

  it('stop at the earliest stop string, counting the tokens that completed it', () => {
    const free = planText(input(4242, 60, [], true));
    const word = free.pieces[5];
    const p = planText(input(4242, 60, [word, 'zzz'], true));
    expect(p.stopReason).toBe(word);
    expect(p.text.slice(0, p.cut)).toBe(free.text.slice(0, free.text.indexOf(word)));
    expect(p.tokens).toBe(free.pieces.indexOf(word) + 1);
  });

  it('fill a forced tool call\'s required arguments with values of the right types', () => {
    const schema = {
      type: 'object', required: ['s', 'n', 'i', 'b', 'a', 'o', 'e', 'nullable'],
      properties: {
        s: { type: 'string', minLength: 12 }, n: { type: 'number', minimum: 5, maximum: 6 }, i: { type: 'integer' }, b: { type: 'boolean' },
        a: { type: 'array', items: { type: 'integer' }, minItems: 2 }, o: { type: 'object', required: ['x'], properties: { x: { const: 3 } } },
        e: { enum: ['red', 'green'] }, nullable: { type: ['string', 'null'] }, optional: { type: 'string' },
      },
    };
    const p = planTool({ name: 'f', parameters: schema }, input(1, 1000));
    const args = JSON.parse(p.text);
    expect(Object.keys(args).sort()).toEqual(['a', 'b', 'e', 'i', 'n', 'nullable', 'o', 's']);
    expect(args.s.length).toBeGreaterThanOrEqual(12);
    expect(args.n >= 5 && args.n <= 6).toBe(true);
    expect(Number.isInteger(args.i)).toBe(true);
    expect(typeof args.b).toBe('boolean');
    expect(args.a).toHaveLength(2);
    expect(args.o).toEqual({ x: 3 });
    expect(['red', 'green']).toContain(args.e);
    expect(typeof args.nullable).toBe('string');
    expect(p.finishReason).toBe('tool_calls');
    expect(p.tokens).toBe(p.pieces.length);
  });

  it('cut a tool call short at max_tokens with finish_reason length', () => {
    const p = planTool({ name: 'f', parameters: { type: 'object', required: ['a'], properties: { a: { type: 'string' } } } }, input(1, 3));
    expect(p.tokens).toBe(3);
    expect(p.finishReason).toBe('length');
    expect(p.cut).toBe(p.ends[2]);
  });
});
