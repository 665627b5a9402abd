import { Redis, type RedisOptions } from 'ioredis';
import { bucketState } from './bucket.js';
import { Breaker, type BreakerOptions, type BreakerState, type Permit } from './breaker.js';
import { wallTimers, withDeadline, type Timers } from '../time/index.js';
import type { Correction, Lease, LimitDecision, LimitDimension, LimitRequest, RateLimiter, TierLimits } from './types.js';

// Buckets shared by every gateway instance through Redis: one hash per key, read, refilled,
// decided and charged by one Lua script, so concurrent instances cannot both spend the same tokens.
// Concurrent requests hold leases in a sorted set scored by expiry, taken in the same call and given
// back in the committing (or refunding) one, so an instance that dies holding some loses them at their expiry.
// Keys of one scope share a {hash tag} when the caller puts one in them (Redis Cluster).
// The script mirrors bucket.ts. Time is the caller's clock (instances are NTP-synchronised; the
// refill arithmetic tolerates the skew), which keeps the limiter testable on a virtual clock.
// A circuit breaker (breaker.ts) stands in front of every call: a Redis that has stopped answering
// is not asked again until a probe finds it, so callers fall back at once instead of each waiting
// out its timeout.

const ADMIT = `
local caps = { tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]) }
local need = { tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]) }
local now = tonumber(ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'l1', 'a1', 'l2', 'a2', 'l3', 'a3')
local lv = {}
for d = 1, 3 do
  local t = tonumber(v[2 * d - 1])
  if t == nil then lv[d] = caps[d]
  else lv[d] = math.min(caps[d], t + math.max(0, now - tonumber(v[2 * d])) * caps[d] / 60000) end
end
-- concurrency (optional): leases in a sorted set scored by expiry; expired ones (a dead holder) go
local climit = tonumber(ARGV[8])
local worst, wait = 0, 0
if climit ~= nil then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= climit then worst, wait = 4, 1000 end
end
for d = 1, 3 do
  local w = 0
  if need[d] > caps[d] then w = -1
  elseif lv[d] < need[d] then w = math.ceil((need[d] - lv[d]) * 60000 / caps[d]) end
  if w == -1 and wait ~= -1 then worst, wait = d, -1
  elseif wait ~= -1 and w > wait then worst, wait = d, w end
end
if worst == 0 then
  for d = 1, 3 do lv[d] = lv[d] - need[d] end
  redis.call('HSET', KEYS[1], 'l1', tostring(lv[1]), 'a1', ARGV[1], 'l2', tostring(lv[2]), 'a2', ARGV[1], 'l3', tostring(lv[3]), 'a3', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], 120000)
  if climit ~= nil then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[10]), ARGV[9])
    redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[10]))
  end
end
return { worst, wait, tostring(lv[1]), tostring(lv[2]), tostring(lv[3]) }
`;

// corrections to the input (l2) and output (l3) buckets: refilled to now, then moved by the
// correction (negative: a debt the refill pays off), never above capacity
const COMMIT = `
local now = tonumber(ARGV[1])
if ARGV[6] ~= '' then redis.call('ZREM', KEYS[2], ARGV[6]) end
for d = 2, 3 do
  local by = tonumber(ARGV[2 * d - 1])
  local cap = tonumber(ARGV[2 * d - 2])
  local t = tonumber(redis.call('HGET', KEYS[1], 'l' .. d))
  if t ~= nil and by ~= 0 then
    local at = tonumber(redis.call('HGET', KEYS[1], 'a' .. d))
    local lv = math.min(cap, math.min(cap, t + math.max(0, now - at) * cap / 60000) + by)
    redis.call('HSET', KEYS[1], 'l' .. d, tostring(lv), 'a' .. d, ARGV[1])
  end
end
return 1
`;

const DIMENSION: readonly LimitDimension[] = ['requests', 'input_tokens', 'output_tokens', 'concurrency'];

interface ScriptedRedis extends Redis {
  syAdmit(key: string, concurrencyKey: string, ...args: Array<string | number>): Promise<[number, number, string, string, string]>;
  syCommit(key: string, concurrencyKey: string, ...args: Array<string | number>): Promise<number>;
}

export interface RedisLimiterOptions {
  /** `redis://host:port/db` */
  readonly url: string;
  /** prefix of every key this limiter writes */
  readonly prefix?: string;
  readonly redis?: RedisOptions;
  /** when to stop asking a Redis that does not answer, and how often to probe it */
  readonly breaker?: BreakerOptions;
  /**
   * a call not answered in this long fails (default 200 ms). Judged on `timers` after the answers
   * already in are read, so a stall of this process does not fail calls Redis answered in time
   * (ioredis' own commandTimeout would).
   */
  readonly timeoutMs?: number;
  /** the deadlines' timers (default Node's) */
  readonly timers?: Timers;
}

/** The breaker is open: Redis was not asked. The caller falls back at once, as for a failed call. */
export class StoreSkipped extends Error {
  constructor() {
    super('the rate-limit store is not answering; not asked until a probe succeeds');
  }
}

const SKIPPED = Promise.reject(new StoreSkipped());
SKIPPED.catch(() => {});

export class RedisLimiter implements RateLimiter {
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;
  readonly #breaker: Breaker;
  readonly #timeoutMs: number;
  readonly #timers: Timers;

  constructor(opts: RedisLimiterOptions) {
    this.#breaker = new Breaker(opts.breaker);
    this.#timeoutMs = opts.timeoutMs ?? 200;
    this.#timers = opts.timers ?? wallTimers;
    const redis = new Redis(opts.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false, ...opts.redis });
    // a connection error surfaces as the failed command the caller falls back from; unheard here,
    // ioredis would print every reconnect attempt to stderr
    redis.on('error', () => {});
    redis.defineCommand('syAdmit', { numberOfKeys: 2, lua: ADMIT });
    redis.defineCommand('syCommit', { numberOfKeys: 2, lua: COMMIT });
    this.#redis = redis as ScriptedRedis;
    this.#prefix = opts.prefix ?? 'sy:rl:';
  }

  /** Resolves once connected (a limiter used before that fails its calls). */
  ready(): Promise<void> {
    if (this.#redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#redis.once('ready', () => resolve());
      this.#redis.once('error', reject);
    });
  }

  /** closed, open (Redis not asked) or half-open (one probe out) */
  get breaker(): BreakerState {
    return this.#breaker.state;
  }

  /** times the breaker has opened */
  get breakerOpens(): number {
    return this.#breaker.opens;
  }

  admit(r: LimitRequest): Promise<LimitDecision> {
    const permit = this.#breaker.permit(r.nowMs);
    if (permit === 'skip') return SKIPPED;
    return this.#watch(this.#admit(r), permit, r.nowMs);
  }

  #watch<T>(p: Promise<T>, permit: Permit, nowMs: number): Promise<T> {
    return withDeadline(this.#timers, p, this.#timeoutMs, `Redis did not answer in ${this.#timeoutMs} ms`).then(
      (v) => {
        this.#breaker.success(permit);
        return v;
      },
      (err: unknown) => {
        this.#breaker.failure(permit, nowMs);
        throw err;
      },
    );
  }

  async #admit(r: LimitRequest): Promise<LimitDecision> {
    const l = r.limits;
    const c0 = r.concurrency;
    const [worst, wait, a, b, c] = await this.#redis.syAdmit(
      this.#prefix + r.key, this.#prefix + (c0?.lease.key ?? r.key) + ':c',
      r.nowMs, l.requestsPerMinute, l.inputTokensPerMinute, l.outputTokensPerMinute, 1, r.inputTokens, r.outputTokens,
      c0?.limit ?? '', c0?.lease.id ?? '', c0?.leaseMs ?? 0,
    );
    const state = {
      requests: bucketState(Number(a), l.requestsPerMinute),
      inputTokens: bucketState(Number(b), l.inputTokensPerMinute),
      outputTokens: bucketState(Number(c), l.outputTokensPerMinute),
    };
    if (worst === 0) return { ok: true, state };
    return { ok: false, dimension: DIMENSION[worst - 1], retryAfterMs: wait === -1 ? Infinity : wait, state };
  }

  commit(key: string, limits: TierLimits, c: Correction, nowMs: number, release?: Lease): Promise<void> {
    if (c.inputTokens === 0 && c.outputTokens === 0 && release === undefined) return Promise.resolve();
    // committing is never a probe: an admission decides when Redis is back
    if (this.#breaker.state !== 'closed') return SKIPPED;
    return this.#watch(this.#correct(key, limits, c, nowMs, release), 'call', nowMs);
  }

  /** All of `charged` goes back: the same correction in Redis, with nothing used. */
  refund(key: string, limits: TierLimits, charged: Correction, nowMs: number, release?: Lease): Promise<void> {
    return this.commit(key, limits, charged, nowMs, release);
  }


  async #correct(key: string, limits: TierLimits, c: Correction, nowMs: number, release?: Lease): Promise<void> {
    await this.#redis.syCommit(
      this.#prefix + key, this.#prefix + (release?.key ?? key) + ':c',
      nowMs, limits.inputTokensPerMinute, c.inputTokens, limits.outputTokensPerMinute, c.outputTokens, release?.id ?? '',
    );
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
