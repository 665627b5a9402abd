import { describe, expect, it } from 'vitest';
import { MemoryLimiter, type LimitRequest } from '../../src/limits/index.js';

// Issue 11: every in-memory index needs a bound. The memory limiter's buckets are keyed by
// workspace and model; one left alone for a minute without debt is full, the same as no bucket,
// and is dropped, so the map holds what the last minute used rather than every key ever seen.

const limits = { requestsPerMinute: 100, inputTokensPerMinute: 10_000, outputTokensPerMinute: 10_000 };
const req = (key: string, nowMs: number, inputTokens = 10): LimitRequest => ({ key, limits, inputTokens, outputTokens: 10, nowMs });

describe('#11 – the memory limiter\'s buckets', () => {
  it('are dropped once a minute has refilled them, however many keys have come and gone', () => {
    const m = new MemoryLimiter();
    for (let minute = 0; minute < 10; minute++) {
      for (let i = 0; i < 20_000; i++) expect(m.admitNow(req(`{wrk_${minute}_${i}}:m`, minute * 61_000)).ok).toBe(true);
    }
    // 200 000 keys seen; at most the last two minutes' worth are held
    expect(m.size).toBeLessThanOrEqual(40_000);
  });

  it('keep a bucket that is still refilling, or in debt, and its state with it', () => {
    const m = new MemoryLimiter();
    const hot = '{wrk_hot}:m';
    for (let i = 0; i < 100; i++) m.admitNow(req(hot, 0)); // spent
    m.commitNow(hot, limits, { inputTokens: -50_000, outputTokens: 0 }, 0); // deep in input debt
    for (let i = 0; i < 30_000; i++) m.admitNow(req(`{wrk_${i}}:m`, 61_000));
    // a minute on, the request bucket is full again but the input bucket still owes: refused
    const d = m.admitNow(req(hot, 61_000));
    expect(d.ok).toBe(false);
    expect(!d.ok && d.dimension).toBe('input_tokens');
  });
});

describe('the memory limiter, corrected by a count that is not a number', () => {
  it('leaves the bucket as it was, so it still refills, limits and is swept', () => {
    const m = new MemoryLimiter();
    const key = '{wrk_nan}:m';
    expect(m.admitNow(req(key, 0, 1_000)).ok).toBe(true);
    for (const by of [NaN, Infinity, -Infinity]) m.commitNow(key, limits, { inputTokens: by, outputTokens: by }, 0);
    const d = m.admitNow(req(key, 0, 1_000));
    expect(d.ok).toBe(true);
    expect(d.state.inputTokens.remaining).toBe(10_000 - 2_000);
    expect(d.state.outputTokens.remaining).toBe(10_000 - 20);
    expect(Number.isFinite(d.state.inputTokens.untilFullMs)).toBe(true);
    // more than the bucket holds is still refused, with a wait that is a number
    const over = m.admitNow(req(key, 0, 9_000));
    expect(over.ok).toBe(false);
    expect(!over.ok && over.retryAfterMs).toBe(6_000);
  });
});
