import { describe, expect, it } from 'vitest';
import { BlockIndex } from '../../src/engine/block-index.js';

describe('the prefix cache index behaves as a Map of hash → block', () => {
  it('agrees with a Map through a long random mix of adds, lookups and deletes', () => {
    const idx = new BlockIndex(512);
    const ref = new Map<number, number>();
    let a = 7;
    const rnd = (): number => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 4294967296);
    // few distinct keys so collisions, long probe runs and deletes inside them are common
    const keys = Array.from({ length: 600 }, (_, i) => (i % 3 === 0 ? i : Math.floor(rnd() * 2 ** 53)));
    for (let step = 0; step < 50_000; step++) {
      const k = keys[Math.floor(rnd() * keys.length)];
      const op = rnd();
      if (op < 0.45 && (ref.size < 512 || ref.has(k))) {
        const v = Math.floor(rnd() * 1000);
        idx.set(k, v);
        ref.set(k, v);
      } else if (op < 0.6) {
        idx.delete(k);
        ref.delete(k);
      } else if (op < 0.7 && (ref.size < 512 || ref.has(k))) {
        const v = Math.floor(rnd() * 1000);
        expect(idx.add(k, v)).toBe(!ref.has(k));
        if (!ref.has(k)) ref.set(k, v);
      } else if (op < 0.8) {
        const v = ref.get(k) ?? 0;
        const match = rnd() < 0.5;
        idx.deleteIf(k, match ? v : v + 1);
        if (match && ref.get(k) === v) ref.delete(k);
      }
      expect(idx.get(k)).toBe(ref.get(k) ?? -1);
      expect(idx.size).toBe(ref.size);
    }
    for (const k of keys) expect(idx.get(k)).toBe(ref.get(k) ?? -1);
  });
});
