import { describe, expect, it } from 'vitest';
import { KvBlockPool } from '../../src/engine/kv.js';

describe('KV block pool', () => {
  it('hands out blocks in LRU order and takes a referenced cached block off the free queue', () => {
    const kv = new KvBlockPool(4);
    const a = kv.take();
    const b = kv.take();
    expect([a, b]).toEqual([0, 1]);
    kv.register(a, 111);
    kv.release(b); // b freed first → evicted first
    kv.release(a);
    expect(kv.numFree).toBe(4);
    const out = new Int32Array(1);
    expect(kv.match(new Float64Array([111]), 1, out)).toBe(1);
    kv.touch(out[0]);
    expect(kv.refCount(a)).toBe(1);
    expect(kv.numFree).toBe(3);
    expect([kv.take(), kv.take(), kv.take()]).toEqual([2, 3, 1]);
  });

  it('forgets a cached hash when its block is reused for new data', () => {
    const kv = new KvBlockPool(1);
    const a = kv.take();
    kv.register(a, 42);
    kv.release(a);
    expect(kv.numCached).toBe(1);
    kv.take();
    expect(kv.numCached).toBe(0);
    expect(kv.match(new Float64Array([42]), 1, new Int32Array(1))).toBe(0);
  });

  it('counts shared blocks once and frees them only when the last reference goes', () => {
    const kv = new KvBlockPool(2);
    const a = kv.take();
    kv.register(a, 7);
    kv.touch(a);
    kv.release(a);
    expect(kv.numFree).toBe(1);
    kv.release(a);
    expect(kv.numFree).toBe(2);
  });

  it('refuses to take from an empty pool instead of corrupting it', () => {
    const kv = new KvBlockPool(1);
    kv.take();
    expect(() => kv.take()).toThrow(/exhausted/);
  });
});
