import { describe, expect, it } from 'vitest';
import { PrefixIndex, SessionTable } from '../../src/fleet/index.js';
import type { Endpoint, RouteRequest } from '../../src/routing/endpoint.js';

function ep(slot: number): Endpoint {
  return { slot, region: 'us', routable: true, inflight: 0, inflightTokens: 0, pendingPrefill: 0, scraped: null, version: 'v1', versionWeight: 1 };
}

/** a request whose prompt is these chained block hashes (stride 1) */
function req(...hashes: number[]): RouteRequest {
  return {
    homeRegion: 'us', allowedRegions: null, exclude: null, prefix: Float64Array.from(hashes), prefixStride: 1,
    prefixBlocks: hashes.length, sessionKey: null, tokens: 100, promptTokens: 100, random: 0, sequence: 0, nowS: 0,
  };
}

const chain = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + k);

/** blocks of `r` each slot is believed to hold, in the order given */
function depths(index: PrefixIndex, slots: number[], r: RouteRequest): { deepest: number; each: number[] } {
  const c = slots.map(ep);
  const pos = Int32Array.from(slots.map((_, i) => i));
  const out = new Float64Array(slots.length);
  const deepest = index.match(c, pos, c.length, r, out);
  return { deepest, each: Array.from(out) };
}

const roomy = () => new PrefixIndex({ capacityBlocks: () => 1000, maxBlocks: 64 });

describe('prefix index', () => {
  it('reports, per slot, how far along the chained prefix it holds', () => {
    const index = roomy();
    index.record(0, req(...chain(1, 8)));
    index.record(1, req(...chain(1, 3)));
    index.record(2, req(...chain(50, 8))); // another prompt
    expect(depths(index, [0, 1, 2, 3], req(...chain(1, 8)))).toEqual({ deepest: 8, each: [8, 3, 0, 0] });
    // a prompt diverging after block 5
    expect(depths(index, [0, 1], req(1, 2, 3, 4, 5, 99, 100))).toEqual({ deepest: 5, each: [5, 3] });
  });

  it('reads every prefixStride-th hash', () => {
    const index = roomy();
    const strided: RouteRequest = { ...req(), prefix: Float64Array.from([-1, 1, -2, 2, -3, 3]), prefixStride: 2, prefixBlocks: 3 };
    index.record(4, strided);
    expect(index.heldBlocks(4)).toBe(3);
    expect(depths(index, [4], req(1, 2, 3)).each).toEqual([3]);
  });

  it('evicts least recently used blocks first once a slot holds capacityBlocks; a touched block survives', () => {
    const index = new PrefixIndex({ capacityBlocks: () => 4, maxBlocks: 64 });
    index.record(0, req(1, 2)); // A
    index.record(0, req(11, 12)); // B
    index.record(0, req(1, 2)); // A touched again
    index.record(0, req(21, 22)); // C: over capacity, B is the oldest
    expect(index.heldBlocks(0)).toBe(4);
    expect(depths(index, [0], req(1, 2)).each).toEqual([2]);
    expect(depths(index, [0], req(11, 12)).each).toEqual([0]);
    expect(depths(index, [0], req(21, 22)).each).toEqual([2]);
  });

  it('capacity is per slot: one slot filling up does not evict another', () => {
    const index = new PrefixIndex({ capacityBlocks: (slot) => (slot === 0 ? 2 : 100), maxBlocks: 64 });
    index.record(1, req(1, 2));
    index.record(0, req(1, 2));
    index.record(0, req(7, 8));
    expect(depths(index, [0, 1], req(1, 2)).each).toEqual([0, 2]);
  });

  it('a prompt longer than the cache leaves its leading blocks matchable (the tail goes first, as in vLLM)', () => {
    const index = new PrefixIndex({ capacityBlocks: () => 4, maxBlocks: 64 });
    index.record(0, req(...chain(1, 6)));
    expect(index.heldBlocks(0)).toBe(4);
    expect(depths(index, [0], req(...chain(1, 6))).each).toEqual([4]);
  });

  it('forget(slot) clears that slot only', () => {
    const index = roomy();
    index.record(0, req(1, 2, 3));
    index.record(1, req(1, 2, 3));
    index.forget(0);
    index.forget(9); // never recorded: nothing happens
    expect(index.heldBlocks(0)).toBe(0);
    expect(depths(index, [0, 1], req(1, 2, 3))).toEqual({ deepest: 3, each: [0, 3] });
  });

  it('maxBlocks caps both what is learnt and how far a match reaches', () => {
    const index = new PrefixIndex({ capacityBlocks: () => 1000, maxBlocks: 3 });
    index.record(0, req(...chain(1, 8)));
    expect(index.heldBlocks(0)).toBe(3);
    expect(depths(index, [0], req(...chain(1, 8))).deepest).toBe(3);
  });

  it('works for slots past 32 and 64, keeping what smaller slots learnt before the rows grew', () => {
    const index = roomy();
    index.record(5, req(...chain(1, 2)));
    index.record(31, req(...chain(1, 3)));
    index.record(40, req(...chain(1, 4)));
    index.record(63, req(...chain(1, 5)));
    index.record(70, req(...chain(1, 6)));
    const slots = [5, 31, 40, 63, 70, 100];
    expect(depths(index, slots, req(...chain(1, 6)))).toEqual({ deepest: 6, each: [2, 3, 4, 5, 6, 0] });
    index.forget(63);
    expect(depths(index, slots, req(...chain(1, 6))).each).toEqual([2, 3, 4, 0, 6, 0]);
  });
});

describe('session table', () => {
  it('remembers the last slot of a session and forgets the oldest sessions past capacity', () => {
    const t = new SessionTable(2);
    expect(t.slotOf('a')).toBe(-1);
    t.record('a', 1);
    t.record('b', 2);
    t.record('a', 3); // a refreshed (and moved)
    t.record('c', 4); // b is now the oldest
    expect(t.size).toBe(2);
    expect([t.slotOf('a'), t.slotOf('b'), t.slotOf('c')]).toEqual([3, -1, 4]);
    t.forget(3);
    expect(t.slotOf('a')).toBe(-1);
  });
});
