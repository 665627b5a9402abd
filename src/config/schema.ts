import { z } from 'zod';
import { admissionSchema, PRIORITIES } from '../admission/index.js';
import { BUILTIN_PROFILES, profileSchema } from '../routing/index.js';

// The configuration file's shape. Every field has a default, so an empty file (or none) is the
// embedded demo: two models, two regions, simulated replicas started by `switchyard up`.

export const modelSchema = z.object({
  id: z.string().min(1),
  displayName: z.string().optional(),
  /** engine profile used by demo pools of this model */
  profile: z.string().default('llama-3.1-8b-h100'),
  maxInputTokens: z.number().int().positive().default(131_072),
  maxOutputTokens: z.number().int().positive().default(8_192),
  /** output cap applied when an OpenAI client sets none */
  defaultMaxTokens: z.number().int().positive().default(1_024),
  /** USD per million tokens */
  pricing: z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() }).default({ input: 0, output: 0 }),
  created: z.string().default('2026-01-01T00:00:00Z'),
});

const region = z.object({
  name: z.string().min(1),
  /** one-way latency to other regions, ms: spill-over goes to the nearest (either side may state it) */
  latencyMs: z.record(z.string(), z.number().nonnegative()).default({}),
});

const demoPool = z.object({
  model: z.string(),
  region: z.string(),
  replicas: z.number().int().positive().default(2),
  profile: z.string().optional(),
});

const replica = z.object({
  model: z.string(),
  url: z.url(),
  region: z.string().default('local'),
  /** the name the replica serves the model under, when it differs from the public name */
  servedModel: z.string().optional(),
  apiKey: z.string().optional(),
});

/** Envoy-style outlier detection: replicas that fail or lag are ejected for a growing time */
export const outlierSchema = z.object({
  enabled: z.boolean().default(true),
  consecutiveFailures: z.number().int().positive().default(5),
  intervalMs: z.number().int().positive().default(10_000),
  baseEjectionMs: z.number().int().positive().default(30_000),
  maxEjectionMs: z.number().int().positive().default(300_000),
  maxEjectionPercent: z.number().min(0).max(100).default(50),
  failureRate: z.object({ threshold: z.number().min(0).max(1).default(0.5), minRequests: z.number().int().positive().default(20) }).prefault({}),
  latency: z.object({ factor: z.number().min(1).default(3), minRequests: z.number().int().positive().default(20), minPoolSize: z.number().int().positive().default(3) }).nullable().prefault({}),
});

/** A tier: the limits a tenant's workspaces get (per workspace and model, refilled continuously). */
export const tierSchema = z.object({
  requestsPerMinute: z.number().positive(),
  inputTokensPerMinute: z.number().positive(),
  outputTokensPerMinute: z.number().positive(),
  /** requests of one workspace in flight at once, per gateway instance; null = no limit */
  concurrentRequests: z.number().int().positive().nullable().default(null),
  /** the priority of its keys' requests unless a key says otherwise; a request may ask for lower */
  priority: z.enum(PRIORITIES).default('standard'),
  /** its share of a saturated pool against other tenants of the same priority */
  weight: z.number().positive().default(1),
  /** USD a workspace may spend in a calendar month (UTC); null = no limit. A workspace may override it. */
  monthlySpendUsd: z.number().nonnegative().nullable().default(null),
}).strict();

export const configSchema = z.object({
  server: z.object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** bodies above this get 413 request_too_large (Anthropic's own edge limit is 32 MB) */
    bodyLimitBytes: z.number().int().positive().default(32 * 1024 * 1024),
    /** how long a shutdown waits for in-flight requests before cutting them */
    drainTimeoutMs: z.number().int().nonnegative().default(30_000),
    /** access log line per request (pino, info level) */
    accessLog: z.boolean().default(false),
  }).prefault({}),
  dataDir: z.string().default('.switchyard'),
  /** `sqlite:PATH` (default `sqlite:<dataDir>/switchyard.db`) or `postgres://…` */
  store: z.string().optional(),
  /** the region the gateway runs in; replicas here are preferred */
  region: z.string().default('us-east'),
  regions: z.array(region).default([{ name: 'us-east', latencyMs: { 'eu-west': 40 } }, { name: 'eu-west', latencyMs: {} }]),
  upstream: z.object({
    connectTimeoutMs: z.number().int().positive().default(2_000),
    /** until the replica's response headers arrive */
    headersTimeoutMs: z.number().int().positive().default(60_000),
    /** streamed: until the first token arrives */
    firstTokenTimeoutMs: z.number().int().positive().default(60_000),
    /** longest silence between two chunks of a response */
    idleTimeoutMs: z.number().int().positive().default(30_000),
    /** a whole request, end to end */
    requestTimeoutMs: z.number().int().positive().default(600_000),
    /** connections per replica */
    connections: z.number().int().positive().default(256),
    /** attempts per request, the first included: a failure before the first byte reached the client goes to another replica */
    maxAttempts: z.number().int().min(1).max(5).default(3),
    /**
     * Envoy's retry budget: retries waiting for their first byte stay under this share of the
     * requests in flight (but may always reach minConcurrency). Envoy's 20 % / 3 would fail most
     * requests of a crashed replica in a pool of four; 50 % / 10 absorbs one while still capping a storm.
     */
    retryBudget: z.object({
      percent: z.number().min(0).max(100).default(50),
      minConcurrency: z.number().int().nonnegative().default(10),
    }).prefault({}),
    /** wait before a retry: full jitter, base × 2^(attempt−1), capped (Envoy's defaults) */
    backoff: z.object({
      baseMs: z.number().int().nonnegative().default(25),
      maxMs: z.number().int().nonnegative().default(250),
    }).prefault({}),
    /**
     * Streamed requests: with no first token after delayMs, send the request to a second replica
     * too; the first to answer is relayed, the other cancelled. A hedge spends the retry budget.
     */
    hedge: z.object({
      enabled: z.boolean().default(false),
      delayMs: z.number().int().positive().default(1_000),
    }).prefault({}),
  }).prefault({}),
  routing: z.object({
    /** the profile that routes requests: a shipped one (docs/routing.md) or one defined under `profiles` */
    profile: z.string().default('default'),
    profiles: z.record(z.string(), profileSchema).default({}),
    /** session affinity key: this header, else Anthropic `metadata.user_id` / OpenAI `user` */
    sessionHeader: z.string().default('x-session-id'),
    /** the approximate prefix index: prompt characters per block, blocks per prompt, blocks per replica */
    prefix: z.object({
      blockChars: z.number().int().positive().multipleOf(2).default(512),
      maxBlocks: z.number().int().positive().default(128),
      capacityBlocks: z.number().int().positive().default(8_192),
    }).prefault({}),
  }).prefault({}).superRefine((r, ctx) => {
    if (!Object.hasOwn(r.profiles, r.profile) && !Object.hasOwn(BUILTIN_PROFILES, r.profile)) {
      ctx.addIssue({ code: 'custom', path: ['profile'], message: `unknown routing profile "${r.profile}"; known: ${[...Object.keys(r.profiles), ...Object.keys(BUILTIN_PROFILES)].join(', ')}` });
    }
  }),
  fleet: z.object({
    healthIntervalMs: z.number().int().positive().default(2_000),
    healthTimeoutMs: z.number().int().positive().default(1_000),
    /** each replica's /metrics (vLLM names) is read this often; 0 turns scraping off */
    scrapeIntervalMs: z.number().int().nonnegative().default(1_000),
    /** Envoy-style outlier detection: replicas that fail or lag are ejected for a growing time */
    outlier: outlierSchema.prefault({}),
  }).prefault({}),
  /** rate-limit tiers by name; a tenant names its tier (unknown names get `default`) */
  tiers: z.record(z.string(), tierSchema).default({
    default: { requestsPerMinute: 4_000, inputTokensPerMinute: 2_000_000, outputTokensPerMinute: 400_000, concurrentRequests: null, priority: 'standard', weight: 1, monthlySpendUsd: null },
    free: { requestsPerMinute: 50, inputTokensPerMinute: 50_000, outputTokensPerMinute: 10_000, concurrentRequests: 5, priority: 'batch', weight: 1, monthlySpendUsd: 10 },
  }).refine((t) => Object.hasOwn(t, 'default'), { message: 'tiers must define a `default` tier (tenants with an unknown tier get it)' }),
  /** per pool (a model): how many requests run at once, who waits, who is shed (docs/admission.md) */
  admission: admissionSchema.prefault({}),
  /** monthly spend limits: the ledger's month-to-date sum per workspace is re-read this often */
  spend: z.object({ refreshMs: z.number().int().positive().default(5_000) }).strict().prefault({}),
  limits: z.object({
    /** `memory` (one gateway) or `redis` (shared by every gateway instance) */
    backend: z.enum(['memory', 'redis']).default('memory'),
    redisUrl: z.string().default('redis://127.0.0.1:6379/0'),
    /** prefix of every Redis key the limiter writes (gateways that share buckets share it) */
    redisKeyPrefix: z.string().min(1).default('sy:rl:'),
    /** Redis down or slow: `open` keeps serving on per-instance buckets, `closed` refuses with 503 */
    failMode: z.enum(['open', 'closed']).default('open'),
    /** a Redis call slower than this counts as failed (failMode decides): a slow store must not stall requests */
    timeoutMs: z.number().int().positive().default(200),
  }).prefault({}),
  models: z.array(modelSchema).default([
    { id: 'llama-3.1-8b', displayName: 'Llama 3.1 8B Instruct', profile: 'llama-3.1-8b-h100', maxInputTokens: 131_072, maxOutputTokens: 8_192, defaultMaxTokens: 1_024, pricing: { input: 0.05, output: 0.08 }, created: '2024-07-23T00:00:00Z' },
    { id: 'llama-3.3-70b', displayName: 'Llama 3.3 70B Instruct (FP8)', profile: 'llama-3.3-70b-fp8-h100-tp2', maxInputTokens: 131_072, maxOutputTokens: 8_192, defaultMaxTokens: 1_024, pricing: { input: 0.6, output: 0.8 }, created: '2024-12-06T00:00:00Z' },
  ]),
  /** simulated pools started by `switchyard up` when no external replicas are given */
  demo: z.array(demoPool).default([
    { model: 'llama-3.1-8b', region: 'us-east', replicas: 2 },
    { model: 'llama-3.1-8b', region: 'eu-west', replicas: 2 },
    { model: 'llama-3.3-70b', region: 'us-east', replicas: 2 },
    { model: 'llama-3.3-70b', region: 'eu-west', replicas: 2 },
  ]),
  /** existing OpenAI-compatible endpoints; when any are given, no demo fleet is started */
  replicas: z.array(replica).default([]),
});

export type Config = z.infer<typeof configSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type ReplicaConfig = z.infer<typeof replica>;
export type DemoPoolConfig = z.infer<typeof demoPool>;
