import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLimiter, RedisLimiter, type LimitRequest, type RateLimiter, type TierLimits } from '../../src/limits/index.js';

// One spec, two limiters: what the memory limiter promises one gateway, the Redis one promises a
// fleet of them. The Redis spec runs against the real Redis at 127.0.0.1:6379. If it is unreachable
// these specs fail (never skip), each on its own: a green run means the Redis backend was exercised,
// as the PostgreSQL specs promise for theirs.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const TIER: TierLimits = { requestsPerMinute: 60, inputTokensPerMinute: 6_000, outputTokensPerMinute: 1_200 };

async function redisUp(): Promise<boolean> {
  const probe = new RedisLimiter({ url: REDIS_URL, redis: { connectTimeout: 1_000, retryStrategy: () => null } });
  try {
    await probe.ready();
    return true;
  } catch {
    return false;
  } finally {
    await probe.close();
  }
}

const REDIS_UP = await redisUp();
const REDIS_DOWN = `Redis is not reachable at ${REDIS_URL}; start it (redis-server) to run these specs`;

const backends: Array<[string, () => RateLimiter]> = [
  ['in memory', () => new MemoryLimiter()],
  ['in Redis', () => new RedisLimiter({ url: REDIS_URL, prefix: `sy:test:${randomUUID()}:` })],
];

for (const [name, make] of backends) {
  describe(`rate limits ${name}`, () => {
    let limiter: RateLimiter;
    const redis = name === 'in Redis';
    // each case fails on its own when Redis is away, so the report counts them as failed
    beforeEach(() => {
      if (redis && !REDIS_UP) throw new Error(REDIS_DOWN);
    });
    beforeAll(async () => {
      if (redis && !REDIS_UP) return;
      limiter = make();
      if (limiter instanceof RedisLimiter) await limiter.ready();
    });
    afterAll(async () => limiter?.close());
    const req = (key: string, nowMs: number, inputTokens = 10, outputTokens = 10, limits = TIER): LimitRequest => ({ key, limits, inputTokens, outputTokens, nowMs });

    it('admits a burst up to the requests per minute, then says when the next one fits', async () => {
      const key = randomUUID();
      for (let i = 0; i < 60; i++) expect((await limiter.admit(req(key, 1_000, 1, 1))).ok).toBe(true);
      const d = await limiter.admit(req(key, 1_000, 1, 1));
      expect(d).toMatchObject({ ok: false, dimension: 'requests' });
      // 60 a minute refill one a second, continuously: not at the top of the next minute
      if (!d.ok) expect(d.retryAfterMs).toBe(1_000);
      expect((await limiter.admit(req(key, 1_999, 1, 1))).ok).toBe(false);
      expect((await limiter.admit(req(key, 2_000, 1, 1))).ok).toBe(true);
    });

    it('charges input tokens up front and refuses what the bucket cannot cover, charging nothing', async () => {
      const key = randomUUID();
      expect((await limiter.admit(req(key, 0, 5_000, 10))).ok).toBe(true);
      const d = await limiter.admit(req(key, 0, 2_000, 10));
      expect(d).toMatchObject({ ok: false, dimension: 'input_tokens' });
      // 1,000 short, at 100 a second: 10 s
      if (!d.ok) expect(d.retryAfterMs).toBe(10_000);
      // the refused request took nothing: a smaller one still fits, and the request count is intact
      const ok = await limiter.admit(req(key, 0, 900, 10));
      expect(ok.ok).toBe(true);
      expect(ok.state.requests.remaining).toBe(58);
      expect(ok.state.inputTokens).toMatchObject({ limit: 6_000, remaining: 100 });
    });

    it('reserves max_tokens of output and gives back what the request did not use', async () => {
      const key = randomUUID();
      expect((await limiter.admit(req(key, 0, 10, 1_000))).ok).toBe(true);
      expect(await limiter.admit(req(key, 0, 10, 500))).toMatchObject({ ok: false, dimension: 'output_tokens' });
      await limiter.commit(key, TIER, { inputTokens: 0, outputTokens: 1_000 - 120 }, 0);
      const d = await limiter.admit(req(key, 0, 10, 500));
      expect(d.ok).toBe(true);
      expect(d.state.outputTokens.remaining).toBe(1_200 - 120 - 500);
    });

    it('refunds a request that never ran: all it was charged goes back, and its slot', async () => {
      const key = randomUUID();
      const scope = randomUUID();
      const slot = { lease: { key: scope, id: 'a' }, limit: 1, leaseMs: 60_000 };
      expect((await limiter.admit({ ...req(key, 0, 5_000, 1_000), concurrency: slot })).ok).toBe(true);
      await limiter.refund(key, TIER, { inputTokens: 5_000, outputTokens: 1_000 }, 0, slot.lease);
      const d = await limiter.admit({ ...req(key, 0, 10, 10), concurrency: { ...slot, lease: { key: scope, id: 'b' } } });
      expect(d.ok).toBe(true);
      // the request count is not refunded: it was a request
      expect(d.state).toMatchObject({ requests: { remaining: 58 }, inputTokens: { remaining: 6_000 - 10 }, outputTokens: { remaining: 1_200 - 10 } });
    });

    it('sets the input charge right once the real count is known, in either direction', async () => {
      const key = randomUUID();
      // estimated 5,000 of 6,000; it really was 1,000: 4,000 come back
      expect((await limiter.admit(req(key, 0, 5_000, 10))).ok).toBe(true);
      await limiter.commit(key, TIER, { inputTokens: 4_000, outputTokens: 0 }, 0);
      const d = await limiter.admit(req(key, 0, 10, 10));
      expect(d.state.inputTokens.remaining).toBe(6_000 - 1_000 - 10);
      // underestimated by 6,000: the bucket owes it (below zero) and the next request waits for refill
      await limiter.commit(key, TIER, { inputTokens: -6_000, outputTokens: 0 }, 0);
      const owed = await limiter.admit(req(key, 0, 100, 10));
      expect(owed).toMatchObject({ ok: false, dimension: 'input_tokens' });
      // 1,010 below zero and 100 more needed, at 100 a second
      if (!owed.ok) expect(owed.retryAfterMs).toBe(11_100);
    });

    it('holds a scope to its concurrent slots until they are released, charging nothing when refused', async () => {
      const key = randomUUID();
      const scope = randomUUID();
      const withSlot = (id: string): LimitRequest => ({ ...req(key, 0), concurrency: { lease: { key: scope, id }, limit: 2, leaseMs: 60_000 } });
      expect((await limiter.admit(withSlot('a'))).ok).toBe(true);
      expect((await limiter.admit(withSlot('b'))).ok).toBe(true);
      const full = await limiter.admit(withSlot('c'));
      expect(full).toMatchObject({ ok: false, dimension: 'concurrency', retryAfterMs: 1_000 });
      // refused: its request was not counted
      expect(full.state.requests.remaining).toBe(58);
      await limiter.commit(key, TIER, { inputTokens: 0, outputTokens: 0 }, 0, { key: scope, id: 'a' });
      expect((await limiter.admit(withSlot('c'))).ok).toBe(true);
    });

    it('refuses for good a request larger than the whole limit', async () => {
      const d = await limiter.admit(req(randomUUID(), 0, 7_000, 10));
      expect(d).toMatchObject({ ok: false, dimension: 'input_tokens', retryAfterMs: Infinity });
    });

    it('keeps each key to its own buckets', async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      for (let i = 0; i < 60; i++) await limiter.admit(req(a, 0, 1, 1));
      expect((await limiter.admit(req(a, 0, 1, 1))).ok).toBe(false);
      expect((await limiter.admit(req(b, 0, 1, 1))).ok).toBe(true);
    });

    it('reports, for the response headers, each limit, what is left and when it is full again', async () => {
      const d = await limiter.admit(req(randomUUID(), 0, 3_000, 600));
      expect(d.state).toEqual({
        requests: { limit: 60, remaining: 59, untilFullMs: 1_000 },
        inputTokens: { limit: 6_000, remaining: 3_000, untilFullMs: 30_000 },
        outputTokens: { limit: 1_200, remaining: 600, untilFullMs: 30_000 },
      });
    });
  });
}

/** Three limiters sharing one key space in the real Redis. */
async function threeInstances(): Promise<RedisLimiter[]> {
  if (!REDIS_UP) throw new Error(REDIS_DOWN);
  const prefix = `sy:test:${randomUUID()}:`;
  const instances = [0, 1, 2].map(() => new RedisLimiter({ url: REDIS_URL, prefix }));
  await Promise.all(instances.map((i) => i.ready()));
  return instances;
}

describe('rate limits shared by three gateway instances through one Redis', () => {
  it('hold, in total, exactly the concurrent limit under a burst, and free a dead holder\'s slots at their lease', async () => {
    const instances = await threeInstances();
    const limits: TierLimits = { requestsPerMinute: 1e6, inputTokensPerMinute: 1e9, outputTokensPerMinute: 1e9 };
    const now = Date.now();
    let n = 0;
    const results = await Promise.all(instances.flatMap((inst) => Array.from({ length: 50 }, () =>
      inst.admit({ key: 'b', limits, inputTokens: 1, outputTokens: 1, nowMs: now, concurrency: { lease: { key: 'ws', id: `l${n++}` }, limit: 20, leaseMs: 1_000 } }))));
    expect(results.filter((r) => r.ok).length).toBe(20);
    // nobody released them (their holders "died"): after the lease they are free again
    const later = await instances[0].admit({ key: 'b', limits, inputTokens: 1, outputTokens: 1, nowMs: now + 1_001, concurrency: { lease: { key: 'ws', id: 'late' }, limit: 20, leaseMs: 1_000 } });
    expect(later.ok).toBe(true);
    await Promise.all(instances.map((i) => i.close()));
  });

  it('admit, in total, within 2 % of the limit under a concurrent burst', async () => {
    const instances = await threeInstances();
    const limits: TierLimits = { requestsPerMinute: 1_000, inputTokensPerMinute: 1e9, outputTokensPerMinute: 1e9 };
    // 3 × 600 requests at once, all within the same millisecond of the shared clock
    const now = Date.now();
    const results = await Promise.all(instances.flatMap((inst) =>
      Array.from({ length: 600 }, () => inst.admit({ key: 'tenant-a', limits, inputTokens: 1, outputTokens: 1, nowMs: now }))));
    const admitted = results.filter((r) => r.ok).length;
    expect(Math.abs(admitted - 1_000) / 1_000).toBeLessThanOrEqual(0.02);
    await Promise.all(instances.map((i) => i.close()));
  });
});
