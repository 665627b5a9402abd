import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { blockHashes, type Segment } from '../../../src/sim/workload/index.js';

const BS = 16;
const seg = (key: number, length: number): Segment => ({ key, length });

/** the best of a few timed runs (the first ones are the JIT's, not the algorithm's) */
function bestMs(f: () => unknown): number {
  let best = Infinity;
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** the index of the first differing hash, or the shorter length */
function agree(a: Float64Array, b: Float64Array): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

describe('blockHashes', () => {
  it('hashes every full block and no partial one', () => {
    expect(blockHashes([seg(1, 100)], null, 0, BS)).toHaveLength(6); // 100 / 16 = 6.25
    expect(blockHashes([seg(1, 100)], 9, 30, BS)).toHaveLength(8); // with the output: 130 / 16
    expect(blockHashes([seg(1, 15)], null, 0, BS)).toHaveLength(0);
  });

  it('gives equal hashes for every full block inside a common segment prefix', () => {
    const a = blockHashes([seg(1, 100), seg(2, 50), seg(3, 40)], null, 0, BS);
    const b = blockHashes([seg(1, 100), seg(2, 50), seg(4, 400)], null, 0, BS);
    // the prompts agree on 150 tokens: blocks 0–8 (tokens 0–143) are whole inside that
    expect(agree(a, b)).toBe(9);
  });

  it('treats the same key with a different length as equal tokens as far as both go', () => {
    // [K:100] and [K:80, L:20] agree on 80 tokens: blocks 0–4 (0–79)
    const a = blockHashes([seg(7, 100)], null, 0, BS);
    const b = blockHashes([seg(7, 80), seg(8, 20)], null, 0, BS);
    expect(agree(a, b)).toBe(5);
  });

  it('changes a block and all later ones when the prompts differ mid-block', () => {
    const a = blockHashes([seg(1, 40), seg(2, 200)], null, 0, BS);
    const b = blockHashes([seg(1, 40), seg(3, 200)], null, 0, BS);
    // they differ from token 40, inside block 2 (32–47): blocks 0–1 agree, none after
    expect(agree(a, b)).toBe(2);
    for (let i = 2; i < a.length; i++) expect(b.includes(a[i])).toBe(false);
  });

  it('tells the same text at another offset apart (key and offset name a token)', () => {
    // [A:16][A:16] repeats A's first 16 tokens; [A:32] continues A: block 1 differs
    const a = blockHashes([seg(5, 16), seg(5, 16)], null, 0, BS);
    const b = blockHashes([seg(5, 32)], null, 0, BS);
    expect(a[0]).toBe(b[0]);
    expect(a[1]).not.toBe(b[1]);
  });

  it('puts the output after the prompt, so a follow-up that re-sends it shares those blocks', () => {
    const turn1 = blockHashes([seg(1, 500), seg(2, 37)], 99, 123, BS); // 660 tokens → 41 blocks
    const turn2 = blockHashes([seg(1, 500), seg(2, 37), seg(99, 123), seg(3, 80)], null, 0, BS);
    expect(turn1).toHaveLength(41);
    expect(Array.from(turn2.subarray(0, 41))).toEqual(Array.from(turn1));
    expect(turn2[41]).not.toBe(blockHashes([seg(1, 500), seg(2, 37), seg(99, 123), seg(4, 80)], null, 0, BS)[41]);
  });

  it('skips empty segments without changing the hashes', () => {
    expect(blockHashes([seg(1, 40), seg(2, 0), seg(3, 40)], null, 0, BS)).toEqual(blockHashes([seg(1, 40), seg(3, 40)], null, 0, BS));
  });

  it('tells keys apart above 2^32 and hashes to 53-bit integers', () => {
    const a = blockHashes([seg(2 ** 32 + 1, 64)], null, 0, BS);
    const b = blockHashes([seg(1, 64)], null, 0, BS);
    expect(a[0]).not.toBe(b[0]);
    for (const h of a) expect(Number.isSafeInteger(h) && h >= 0).toBe(true);
  });

  it('writes into a caller array when it is long enough', () => {
    const out = new Float64Array(64);
    const h = blockHashes([seg(1, 100)], null, 0, BS, out);
    expect(h.buffer).toBe(out.buffer);
    expect(Array.from(h)).toEqual(Array.from(blockHashes([seg(1, 100)], null, 0, BS)));
  });

  it('costs O(blocks), not O(tokens): a 100k-token prompt of 200 segments in under 5 ms', () => {
    const segs = Array.from({ length: 200 }, (_, i) => seg(i, 500));
    const h = blockHashes(segs, 1e6, 1000, BS);
    expect(h).toHaveLength(Math.floor(101_000 / BS));
    expect(bestMs(() => blockHashes(segs, 1e6, 1000, BS))).toBeLessThan(5);
  });

  it('costs the same for one long segment: time follows blocks, not tokens', () => {
    // 1M tokens at block size 1024 is ~1k blocks: as fast as a short prompt would be per block
    expect(blockHashes([seg(1, 1_000_000)], null, 0, 1024)).toHaveLength(976);
    expect(bestMs(() => blockHashes([seg(1, 1_000_000)], null, 0, 1024))).toBeLessThan(1);
  });
});
