import { describe, expect, it } from 'vitest';
import { createReplicaModel, getProfile, type HashedRequest, type ReplicaModel, type ReplicaOptions } from '../../src/engine/index.js';

// A decode run (`decodeRun` + `advanceDecode`) is how the simulator skips quiet stretches. It is
// only correct if it is indistinguishable from stepping one at a time: these specs drive two
// replicas with the same arrivals, one stepping singly and one taking every run it is offered,
// and require the same finishes at the same modelled times, the same counters and the same cache.

const H100 = getProfile('llama-3.1-8b-h100')!;

/** A small deterministic PRNG (mulberry32): the specs must not depend on Math.random. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Arrival { atStep: number; req: HashedRequest }

/** Requests sharing one of three prefixes (so the prefix cache matters), hashes known for prompt and output. */
function arrivals(seed: number, count: number, bs: number): Arrival[] {
  const r = rng(seed);
  const out: Arrival[] = [];
  let step = 0;
  for (let id = 0; id < count; id++) {
    step += Math.floor(r() * 30);
    const promptLen = 1 + Math.floor(r() * 700);
    const maxTokens = 1 + Math.floor(r() * 200);
    const family = Math.floor(r() * 3);
    const shared = Math.floor(r() * (promptLen / bs));
    const hashes = new Float64Array(Math.floor((promptLen + maxTokens) / bs));
    for (let b = 0; b < hashes.length; b++) hashes[b] = b < shared ? family * 1e6 + b + 1 : 1e9 + id * 1e4 + b;
    out.push({ atStep: step, req: { id, promptLen, maxTokens, blockHashes: hashes } });
  }
  return out;
}

interface Trace { finishes: string[]; firsts: string[]; stats: unknown }

function run(opts: ReplicaOptions, list: Arrival[], coalesce: boolean): Trace {
  const m: ReplicaModel<HashedRequest> = createReplicaModel(H100, opts);
  const finishes: string[] = [];
  const firsts: string[] = [];
  let t = 0;
  let step = 0;
  let next = 0;
  while (next < list.length || m.hasWork) {
    while (next < list.length && list[next].atStep <= step) m.add(list[next++].req);
    if (!m.hasWork) { step = list[next].atStep; continue; }
    // never run past the next arrival: both replicas must see it at the same step
    const room = next < list.length ? list[next].atStep - step : 1e9;
    const k = coalesce && room > 1 ? m.decodeRun(room) : 0;
    if (k >= 2) {
      // time advances step by step, as the simulator's clock does
      for (let i = 0; i < k; i++) t += m.decodeStepSeconds(i);
      const r = m.advanceDecode(k);
      expect(r.steps).toBe(k);
      step += k;
      for (const s of r.finished) finishes.push(`${s.req.id}@${step}:${t}`);
      continue;
    }
    const r = m.step();
    t += r.durationS;
    step++;
    for (const s of r.first) firsts.push(`${s.req.id}@${step}`);
    for (const s of r.finished) finishes.push(`${s.req.id}@${step}:${t}`);
  }
  return { finishes, firsts, stats: m.stats() };
}

describe('a decode run is indistinguishable from single steps', () => {
  const cases: [string, ReplicaOptions][] = [
    ['ample KV', {}],
    ['scarce KV (preemption and eviction in play)', { numGpuBlocks: 160 }],
    ['a full batch with a queue behind it', { maxNumSeqs: 6, numGpuBlocks: 400 }],
    ['one-token blocks', { blockSize: 1, numGpuBlocks: 4000 }],
  ];
  for (const [name, opts] of cases) {
    it(`same finishes, times, counters and cache: ${name}`, () => {
      for (const seed of [1, 2, 3]) {
        const list = arrivals(seed, 60, opts.blockSize ?? 16);
        const single = run(opts, list, false);
        const coalesced = run(opts, list, true);
        expect(coalesced.finishes).toEqual(single.finishes);
        expect(coalesced.firsts).toEqual(single.firsts);
        expect(coalesced.stats).toEqual(single.stats);
        expect(single.finishes).toHaveLength(60);
      }
    });
  }

  it('actually coalesces: far fewer calls than steps on a decode-heavy load', () => {
    const m = createReplicaModel<HashedRequest>(H100);
    for (let id = 0; id < 8; id++) m.add({ id, promptLen: 100, maxTokens: 500 + id * 10, blockHashes: new Float64Array(0) });
    let calls = 0;
    while (m.hasWork) {
      const k = m.decodeRun(1e6);
      if (k >= 2) m.advanceDecode(k);
      else m.step();
      calls++;
    }
    expect(m.stats().steps).toBe(570); // one prefill step, then 569 decode steps for the longest
    expect(calls).toBeLessThan(20);
  });
});

describe('decodeRun says when a run is not possible', () => {
  it('is 0 while a request is prefilling or could be admitted', () => {
    const m = createReplicaModel<HashedRequest>(H100);
    m.add({ id: 1, promptLen: 100, maxTokens: 50, blockHashes: new Float64Array(0) });
    expect(m.decodeRun(100)).toBe(0); // waiting, admissible
    m.step();
    expect(m.decodeRun(100)).toBe(49); // decoding; stops at its last token
    m.add({ id: 2, promptLen: 100, maxTokens: 50, blockHashes: new Float64Array(0) });
    expect(m.decodeRun(100)).toBe(0);
  });

  it('stops before the step that would have to preempt', () => {
    // 2 requests, 4 blocks of 16: each holds one block after prefill; both cross into a second at
    // token 17, and a third block is not there for anyone at token 33
    const m = createReplicaModel<HashedRequest>(H100, { numGpuBlocks: 4 });
    m.add({ id: 1, promptLen: 16, maxTokens: 40, blockHashes: new Float64Array(0) });
    m.add({ id: 2, promptLen: 16, maxTokens: 40, blockHashes: new Float64Array(0) });
    m.step();
    const k = m.decodeRun(100);
    expect(k).toBe(16);
    m.advanceDecode(k);
    expect(m.stats().kvBlocksFree).toBe(0);
    expect(m.decodeRun(100)).toBe(0);
    expect(() => m.advanceDecode(2)).toThrow(/not all pure decode/);
  });
});
