import { Redis, type RedisOptions } from 'ioredis';
import { bucketState } from './bucket.js';
import type { Correction, LimitDecision, LimitDimension, LimitRequest, RateLimiter, TierLimits } from './types.js';

// Buckets shared by every gateway instance through Redis: one hash per key, read, refilled,
// decided and charged by one Lua script, so concurrent instances cannot both spend the same tokens.
// The script mirrors bucket.ts. Time is the caller's clock (instances are NTP-synchronised; the
// refill arithmetic tolerates the skew), which keeps the limiter testable on a virtual clock.

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
local worst, wait = 0, 0
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
end
return { worst, wait, tostring(lv[1]), tostring(lv[2]), tostring(lv[3]) }
`;

// corrections to the input (l2) and output (l3) buckets: refilled to now, then moved by the
// correction (negative: a debt the refill pays off), never above capacity
const SETTLE = `
local now = tonumber(ARGV[1])
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

const DIMENSION: readonly LimitDimension[] = ['requests', 'input_tokens', 'output_tokens'];

interface ScriptedRedis extends Redis {
  syAdmit(key: string, ...args: Array<string | number>): Promise<[number, number, string, string, string]>;
  sySettle(key: string, ...args: Array<string | number>): Promise<number>;
}

export interface RedisLimiterOptions {
  /** `redis://host:port/db` */
  readonly url: string;
  /** prefix of every key this limiter writes */
  readonly prefix?: string;
  readonly redis?: RedisOptions;
}

export class RedisLimiter implements RateLimiter {
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;

  constructor(opts: RedisLimiterOptions) {
    const redis = new Redis(opts.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false, ...opts.redis });
    // a connection error surfaces as the failed command the caller falls back from; unheard here,
    // ioredis would print every reconnect attempt to stderr
    redis.on('error', () => {});
    redis.defineCommand('syAdmit', { numberOfKeys: 1, lua: ADMIT });
    redis.defineCommand('sySettle', { numberOfKeys: 1, lua: SETTLE });
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

  async admit(r: LimitRequest): Promise<LimitDecision> {
    const l = r.limits;
    const [worst, wait, a, b, c] = await this.#redis.syAdmit(
      this.#prefix + r.key, r.nowMs, l.requestsPerMinute, l.inputTokensPerMinute, l.outputTokensPerMinute, 1, r.inputTokens, r.outputTokens,
    );
    const state = {
      requests: bucketState(Number(a), l.requestsPerMinute),
      inputTokens: bucketState(Number(b), l.inputTokensPerMinute),
      outputTokens: bucketState(Number(c), l.outputTokensPerMinute),
    };
    if (worst === 0) return { ok: true, state };
    return { ok: false, dimension: DIMENSION[worst - 1], retryAfterMs: wait === -1 ? Infinity : wait, state };
  }

  async settle(key: string, limits: TierLimits, c: Correction, nowMs: number): Promise<void> {
    if (c.inputTokens === 0 && c.outputTokens === 0) return;
    await this.#redis.sySettle(this.#prefix + key, nowMs, limits.inputTokensPerMinute, c.inputTokens, limits.outputTokensPerMinute, c.outputTokens);
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
