import { describe, expect, it } from 'vitest';
import { createReplicaModel, getProfile, type EngineRequest, type ReplicaOptions } from '../../src/engine/index.js';

const H100 = getProfile('llama-3.1-8b-h100')!;

/** Distinct token ids per request unless a shared prefix is asked for. */
function req(id: string, promptLen: number, maxTokens: number, prefix: number[] = [], seed = id.length * 7919 + id.charCodeAt(id.length - 1)): EngineRequest {
  const p = prefix.slice();
  for (let i = p.length; i < promptLen; i++) p.push(1000 + ((seed * 131 + i * 17) % 90_000));
  return { id, promptTokens: p, maxTokens };
}

function model(o: ReplicaOptions = {}) {
  return createReplicaModel(H100, o);
}

/** Step until idle; returns the number of steps. */
function drain(m: ReturnType<typeof model>, limit = 100_000): number {
  let n = 0;
  while (m.hasWork && n < limit) { m.step(); n++; }
  return n;
}

describe('continuous batching', () => {
  it('uses vLLM V1 defaults for a big non-A100 GPU: 1024 seqs, 8192 tokens per step, 16-token blocks', () => {
    const m = model();
    expect(m.config).toMatchObject({ maxNumSeqs: 1024, maxNumBatchedTokens: 8192, blockSize: 16, enablePrefixCaching: true });
    expect(createReplicaModel(getProfile('llama-3.1-8b-a100')!).config).toMatchObject({ maxNumSeqs: 256, maxNumBatchedTokens: 2048 });
  });

  it('never schedules more tokens in a step than max_num_batched_tokens', () => {
    const m = model({ maxNumBatchedTokens: 512 });
    for (let i = 0; i < 20; i++) m.add(req(`r${i}`, 300, 20));
    let max = 0;
    while (m.hasWork) max = Math.max(max, m.step().scheduledTokens);
    expect(max).toBe(512);
  });

  it('runs at most max_num_seqs requests at once and queues the rest', () => {
    const m = model({ maxNumSeqs: 4 });
    for (let i = 0; i < 10; i++) m.add(req(`r${i}`, 20, 50));
    m.step();
    expect(m.stats()).toMatchObject({ running: 4, waiting: 6 });
    while (m.hasWork) { m.step(); expect(m.stats().running).toBeLessThanOrEqual(4); }
    expect(m.stats().finished).toBe(10);
  });

  it('chunks a long prompt across steps and emits the first token only when the prefill completes', () => {
    const m = model({ maxNumBatchedTokens: 1000 });
    m.add(req('long', 2500, 3));
    const first: number[] = [];
    for (let s = 0; s < 3; s++) {
      const r = m.step();
      expect(r.prefillTokens).toBe(s < 2 ? 1000 : 500);
      first.push(r.first.length);
    }
    expect(first).toEqual([0, 0, 1]);
    expect(m.stats().promptTokens).toBe(2500);
  });

  it('schedules running decodes before admitting a waiting prefill', () => {
    const m = model({ maxNumBatchedTokens: 100 });
    m.add(req('a', 50, 10));
    m.step(); // a prefilled, first token out
    m.add(req('b', 500, 10));
    const r = m.step();
    expect(r.decodeSeqs).toBe(1);
    expect(r.prefillTokens).toBe(99); // b gets what the decode left of the budget
  });

  it('generates exactly maxTokens tokens per request and counts them', () => {
    const m = model();
    m.add(req('a', 40, 7));
    m.add(req('b', 60, 13));
    const got = new Map<string | number, number>();
    while (m.hasWork) for (const s of m.step().tokens) got.set(s.req.id, (got.get(s.req.id) ?? 0) + 1);
    expect(Object.fromEntries(got)).toEqual({ a: 7, b: 13 });
    expect(m.stats()).toMatchObject({ generationTokens: 20, promptTokens: 100, finished: 2, kvUsage: 0 });
  });

  it('prices steps from the profile: an 8B decode step at small batch costs 6–8 ms', () => {
    const m = model();
    m.add(req('a', 1000, 5));
    const prefill = m.step().durationS;
    const decode = m.step().durationS;
    expect(decode).toBeGreaterThan(0.006);
    expect(decode).toBeLessThan(0.008);
    expect(prefill).toBeGreaterThan(decode); // 1000 prefill tokens cost more than one decode
    expect(1000 / (prefill - H100.step.fixedS)).toBeGreaterThan(10_000); // ≥10k tok/s prefill
  });

  it('does not spin: a step with no work costs nothing and reports nothing', () => {
    const r = model().step();
    expect(r.durationS).toBe(0);
    expect(r.tokens.length).toBe(0);
  });
});

describe('admission errors are values', () => {
  it('refuses prompt + maxTokens beyond max_model_len, and a request larger than the whole KV cache', () => {
    const m = model({ maxModelLen: 1000, numGpuBlocks: 10 });
    const tooLong = m.add(req('a', 900, 200));
    expect(tooLong.ok === false && tooLong.error.kind).toBe('context_length');
    const tooBig = m.add(req('b', 150, 20)); // 170 tokens > 160 of KV
    expect(tooBig.ok === false && tooBig.error.kind).toBe('kv_capacity');
    const dup = (m.add(req('c', 10, 1)), m.add(req('c', 10, 1)));
    expect(dup.ok === false && dup.error.kind).toBe('duplicate_id');
    expect(m.stats().waiting).toBe(1);
  });
});

describe('preemption', () => {
  it('sends the youngest running request back to the queue when KV runs out, and still finishes everything', () => {
    // 20 blocks = 320 tokens; four requests of 64 prompt + 64 output want 32 blocks together
    const m = model({ numGpuBlocks: 20 });
    for (let i = 0; i < 4; i++) m.add(req(`r${i}`, 64, 64));
    const preempted: Array<string | number> = [];
    let steps = 0;
    while (m.hasWork && steps++ < 10_000) for (const s of m.step().preempted) preempted.push(s.req.id);
    expect(preempted.length).toBeGreaterThan(0);
    expect(preempted[0]).toBe('r3'); // youngest first
    expect(m.stats()).toMatchObject({ finished: 4, preemptions: preempted.length, kvUsage: 0 });
  });

  it('recomputes a preempted request from its prompt and the tokens it already generated', () => {
    // 11 blocks: both fit until each needs a sixth block, then 'young' must yield
    const m = model({ numGpuBlocks: 11 });
    m.add(req('old', 64, 100));
    m.add(req('young', 64, 20));
    let resumed = 0;
    const seen = new Set<string | number>();
    while (m.hasWork) {
      const r = m.step();
      for (const s of r.preempted) seen.add(s.req.id);
      for (const s of r.tokens) if (seen.has(s.req.id)) resumed = Math.max(resumed, s.generated);
    }
    expect(seen.has('young')).toBe(true);
    expect(resumed).toBe(20); // it kept its progress: exactly 20 tokens in all
  });
});

describe('abort', () => {
  it('frees a running request\'s KV blocks immediately', () => {
    const m = model();
    const r = req('a', 200, 500);
    m.add(r);
    m.step();
    m.step();
    expect(m.stats().kvUsage).toBeGreaterThan(0);
    expect(m.abort('a')?.phase).toBe('aborted');
    expect(m.stats()).toMatchObject({ running: 0, kvUsage: 0, aborted: 1 });
    expect(m.hasWork).toBe(false);
    expect(m.abort('a')).toBeNull();
  });

  it('removes a waiting request from the queue', () => {
    const m = model({ maxNumSeqs: 1 });
    m.add(req('a', 10, 5));
    m.add(req('b', 10, 5));
    m.step();
    expect(m.abort('b')?.phase).toBe('aborted');
    expect(drain(m)).toBeGreaterThan(0);
    expect(m.stats()).toMatchObject({ finished: 1, waiting: 0 });
  });
});

describe('prefix cache', () => {
  const shared = Array.from({ length: 160 }, (_, i) => 5000 + i);

  it('reuses the longest cached prefix of a new request and counts queries and hits in tokens', () => {
    const m = model();
    const a = m.add(req('a', 200, 1, shared));
    drain(m);
    const b = m.add(req('b', 180, 1, shared));
    drain(m);
    expect(a.ok && a.seq.cachedTokens).toBe(0);
    expect(b.ok && b.seq.cachedTokens).toBe(160); // 10 full shared blocks
    expect(m.stats()).toMatchObject({ prefixCacheQueries: 380, prefixCacheHits: 160 });
  });

  it('hits the blocks of a request that is still running', () => {
    const m = model();
    m.add(req('a', 200, 50, shared));
    m.step();
    const b = m.add(req('b', 170, 5, shared));
    m.step();
    expect(b.ok && b.seq.cachedTokens).toBe(160);
  });

  it('always leaves one prompt token to compute, even when the whole prompt is cached', () => {
    const m = model();
    m.add(req('a', 160, 1, shared));
    drain(m);
    const b = m.add(req('b', 160, 1, shared));
    const r = m.step();
    expect(b.ok && b.seq.cachedTokens).toBe(144);
    expect(r.prefillTokens).toBe(16);
  });

  it('caches output blocks when the caller gives output tokens, so a follow-up turn hits them', () => {
    const m = model();
    const output = Array.from({ length: 64 }, (_, i) => 9000 + i);
    m.add({ id: 'turn1', promptTokens: shared, maxTokens: 64, outputTokens: output });
    drain(m);
    const turn2 = m.add({ id: 'turn2', promptTokens: [...shared, ...output, 1, 2, 3], maxTokens: 1 });
    drain(m);
    expect(turn2.ok && turn2.seq.cachedTokens).toBe(160 + 48); // the last output block was never computed
  });

  it('evicts the least recently freed cached blocks first', () => {
    // 30 blocks; a and b leave 11 blocks each in the cache (10 full, hashed), then a 12-block
    // request finds 8 never-used blocks and must evict 4 more: a's, freed before b's
    const m = model({ numGpuBlocks: 30 });
    const pa = Array.from({ length: 160 }, (_, i) => 100 + i);
    const pb = Array.from({ length: 160 }, (_, i) => 50_000 + i);
    m.add({ id: 'a', promptTokens: [...pa, 1], maxTokens: 1 });
    drain(m);
    m.add({ id: 'b', promptTokens: [...pb, 1], maxTokens: 1 });
    drain(m);
    m.add(req('big', 190, 1));
    drain(m);
    const b2 = m.add({ id: 'b2', promptTokens: [...pb, 2], maxTokens: 1 });
    drain(m);
    expect(b2.ok && b2.seq.cachedTokens).toBe(160); // b's blocks were freed later: kept
    const a2 = m.add({ id: 'a2', promptTokens: [...pa, 2], maxTokens: 1 });
    drain(m);
    // a lost its tail blocks 7–9 to 'big' (tails go first), and block 6 to b2's new block
    expect(a2.ok && a2.seq.cachedTokens).toBe(96);
  });

  it('does nothing when prefix caching is off', () => {
    const m = model({ enablePrefixCaching: false });
    m.add(req('a', 200, 1, shared));
    drain(m);
    const b = m.add(req('b', 200, 1, shared));
    drain(m);
    expect(b.ok && b.seq.cachedTokens).toBe(0);
    expect(m.stats().prefixCacheHits).toBe(0);
  });
});

describe('under random load with a tiny KV cache', () => {
  it('keeps its invariants: budget, seq cap, exact token counts, and every block back at the end', () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const m = model({ numGpuBlocks: 64, maxNumSeqs: 8, maxNumBatchedTokens: 96 });
    const prefixes = [0, 1, 2].map((p) => Array.from({ length: 48 }, (_, i) => 20_000 * (p + 1) + i));
    const want = new Map<string | number, number>();
    const got = new Map<string | number, number>();
    const aborted = new Set<string | number>();
    let next = 0;
    for (let step = 0; step < 3000; step++) {
      if (rand() < 0.3) {
        const id = `q${next++}`;
        const prompt = [...prefixes[Math.floor(rand() * 3)].slice(0, Math.floor(rand() * 48)), ...Array.from({ length: 1 + Math.floor(rand() * 100) }, () => Math.floor(rand() * 1e5))];
        const max = 1 + Math.floor(rand() * 200);
        const r = m.add({ id, promptTokens: prompt, maxTokens: max, outputTokens: rand() < 0.5 ? Array.from({ length: max }, (_, i) => i) : null });
        if (r.ok) want.set(id, max);
        else expect(r.error.kind).toBe('kv_capacity');
      }
      if (rand() < 0.02 && want.size > 0) {
        const ids = [...want.keys()].filter((k) => !aborted.has(k) && (got.get(k) ?? 0) < want.get(k)!);
        if (ids.length > 0) {
          const id = ids[Math.floor(rand() * ids.length)];
          if (m.abort(id)) aborted.add(id);
        }
      }
      const r = m.step();
      expect(r.scheduledTokens).toBeLessThanOrEqual(96);
      const st = m.stats();
      expect(st.running).toBeLessThanOrEqual(8);
      expect(st.kvBlocksFree).toBeGreaterThanOrEqual(0);
      for (const s of r.tokens) got.set(s.req.id, (got.get(s.req.id) ?? 0) + 1);
    }
    while (m.hasWork) for (const s of m.step().tokens) got.set(s.req.id, (got.get(s.req.id) ?? 0) + 1);
    const st = m.stats();
    expect(st.preemptions).toBeGreaterThan(0); // the cache really was tight
    expect(st.prefixCacheHits).toBeGreaterThan(0);
    expect(st).toMatchObject({ running: 0, waiting: 0, kvUsage: 0, kvBlocksFree: 64 });
    for (const [id, max] of want) if (!aborted.has(id)) expect(got.get(id), String(id)).toBe(max);
    expect(st.finished + st.aborted).toBe(want.size);
  });
});

describe('KV offloading to host memory (kvOffloadGiB)', () => {
  // A GPU cache of 64 blocks (1,024 tokens): a 960-token prefix is evicted by the next prompts.
  const evictingRun = (o: ReplicaOptions) => {
    const m = model({ numGpuBlocks: 64, ...o });
    const prefix = Array.from(req('p', 960, 1).promptTokens!);
    m.add(req('first', 960, 2, prefix));
    drain(m);
    // two unrelated prompts push the prefix out of the GPU's cache
    m.add(req('other1', 960, 2));
    drain(m);
    m.add(req('other2', 960, 2));
    drain(m);
    const again = m.add(req('again', 1000, 2, prefix));
    if (!again.ok) throw new Error('not added');
    // the result object is reused by the next step: read it now
    const firstStepS = m.step().durationS;
    drain(m);
    return { m, cached: again.seq.cachedTokens, firstStepS };
  };

  it('is off by default: a prefix evicted from the GPU is recomputed', () => {
    const { m, cached } = evictingRun({});
    expect(cached).toBe(0);
    expect(m.stats().offloadHits).toBe(0);
  });

  it('loads a prefix the GPU evicted back from the host instead of recomputing it, for less than the compute', () => {
    const off = evictingRun({});
    const on = evictingRun({ kvOffloadGiB: 1 });
    expect(on.cached).toBe(960);
    expect(on.m.stats().offloadHits).toBe(960);
    expect(on.m.stats().prefixCacheHits).toBe(0);
    // the step loads 960 tokens over PCIe and computes 40, against computing all 1,000
    expect(on.firstStepS).toBeLessThan(off.firstStepS);
    expect(on.firstStepS).toBeGreaterThan(0);
  });

  it('pays for the load in step time, more on a slower host link', () => {
    const fast = evictingRun({ kvOffloadGiB: 1, kvOffloadGBs: 50 });
    const slow = evictingRun({ kvOffloadGiB: 1, kvOffloadGBs: 1 });
    expect(slow.cached).toBe(960);
    expect(slow.firstStepS).toBeGreaterThan(fast.firstStepS);
  });

  it('keeps only what its host memory holds, least recently evicted first out', () => {
    // 8B BF16 KV is 128 KiB a token: 0.0001 GiB holds no block at all
    const tiny = evictingRun({ kvOffloadGiB: 0.0001 });
    expect(tiny.cached).toBe(0);
  });

  it('refuses a negative size or a zero bandwidth', () => {
    expect(() => model({ kvOffloadGiB: -1 })).toThrow(RangeError);
    expect(() => model({ kvOffloadGBs: 0 })).toThrow(RangeError);
  });
});
