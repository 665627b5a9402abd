import { z } from 'zod';
import { admissionSchema, PRIORITIES } from '../admission/index.js';
import { switchyardKnobsSchema } from '../control/autoscaler/index.js';
import { FALLBACK_GPU_HOUR_USD } from '../control/economics/prices.js';
import { STARTUP_KINDS, getProfile, profileNames } from '../engine/index.js';
import { outlierSchema } from '../fleet/index.js';
import { BUILTIN_PROFILES, profileSchema } from '../routing/index.js';
import { observabilitySchema, sloSchema } from './observability.js';

export { outlierSchema };

// The configuration file's shape. Every field has a default, so an empty file (or none) is the
// embedded demo: two models, two regions, simulated replicas started by `switchyard up`.

/** How a fresh replica of a version is warmed before it takes traffic: a few small requests, so its first real ones do not pay for cold start. */
export const warmupSchema = z.strictObject({
  // bounded: a warm-up that cannot finish would keep the replica from ever taking traffic
  requests: z.number().int().min(1).max(100).default(2),
  prompt: z.string().min(1).max(100_000).default('Reply with one word: ready.'),
  maxTokens: z.number().int().positive().max(4_096).default(8),
});

/** One version of a model: what it serves and on what, so a rollout can compare two of them. */
export const versionSchema = z.strictObject({
  /** names the version in rollouts, the admin API and the replicas that serve it */
  id: z.string().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters'),
  /** what it serves, e.g. a checkpoint name */
  weights: z.string().min(1).optional(),
  /** what serves it, e.g. `vllm 0.11` */
  engine: z.string().min(1).optional(),
  /** engine or sampling settings it differs by, kept for the operator (Switchyard does not read them) */
  settings: z.record(z.string(), z.unknown()).optional(),
  /** absent: a new replica is ready as soon as a health probe passes */
  warmup: warmupSchema.optional(),
});

const modelFields = z.strictObject({
  id: z.string().min(1),
  displayName: z.string().optional(),
  /** engine profile used by demo pools of this model */
  profile: z.string().default('llama-3.1-8b-h100'),
  maxInputTokens: z.number().int().positive().default(131_072),
  maxOutputTokens: z.number().int().positive().default(8_192),
  /** output cap applied when an OpenAI client sets none */
  defaultMaxTokens: z.number().int().positive().default(1_024),
  /** a request for more than maxOutputTokens: capped to it (said in a response header), or refused with a 400 */
  maxTokensPolicy: z.enum(['cap', 'refuse']).default('cap'),
  /** USD per million tokens */
  pricing: z.strictObject({ input: z.number().nonnegative(), output: z.number().nonnegative() }).default({ input: 0, output: 0 }),
  created: z.string().default('2026-01-01T00:00:00Z'),
  /** the versions replicas of it may serve; default one, named like the model */
  versions: z.array(versionSchema).min(1, 'a model needs at least one version (or leave `versions` out)').optional(),
  /** the version serving when no rollout is under way; default the first version */
  stable: z.string().min(1).optional(),
});

export const modelSchema = modelFields.transform((m, ctx) => {
  const versions = m.versions ?? [{ id: m.id }];
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    if (seen.has(v.id)) ctx.addIssue({ code: 'custom', path: ['versions', i, 'id'], message: `two versions are named \`${v.id}\`; version ids must be unique within a model`, input: v.id });
    seen.add(v.id);
  });
  const stable = m.stable ?? versions[0].id;
  if (!seen.has(stable)) {
    ctx.addIssue({ code: 'custom', path: ['stable'], message: `\`${stable}\` is not one of the model's versions (${[...seen].map((x) => `\`${x}\``).join(', ')})`, input: stable });
  }
  return { ...m, versions, stable };
});

const region = z.strictObject({
  name: z.string().min(1),
  /** one-way latency to other regions, ms: spill-over goes to the nearest (either side may state it) */
  latencyMs: z.record(z.string(), z.number().nonnegative()).default({}),
});

const demoPool = z.strictObject({
  model: z.string().min(1),
  region: z.string().min(1),
  replicas: z.number().int().positive().default(2),
  profile: z.string().optional(),
  /** the model version its replicas serve; default the model's stable version */
  version: z.string().min(1).optional(),
  /** faults the simulated replicas start with (demos and live tests of a bad candidate) */
  faults: z.strictObject({
    /** share of requests answered 500, 0–1 */
    errorRate: z.number().min(0).max(1).optional(),
    /** every engine step takes this many times longer */
    slowFactor: z.number().positive().optional(),
    /** outputs this many times as long (capped by max_tokens) */
    outputFactor: z.number().positive().optional(),
  }).optional(),
});

/** The most replicas one autoscaled pool may have (a derived pool is held to it too). */
export const AUTOSCALER_MAX_REPLICAS = 1_000;
/** An hour: the longest window, warm-up or staleness the autoscaler takes (a longer one is a typo for seconds). */
const AUTOSCALER_MAX_WINDOW_MS = 3_600_000;
/** Kubernetes object names: a namespace is a DNS-1123 label, a Deployment a DNS-1123 subdomain. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** One pool the autoscaler sizes: a model's replicas in a region (docs/configuration.md, `autoscaler:`). */
export const autoscalerPoolSchema = z.strictObject({
  model: z.string().min(1),
  region: z.string().min(1),
  min: z.number().int().nonnegative().max(AUTOSCALER_MAX_REPLICAS).default(1),
  max: z.number().int().min(1).max(AUTOSCALER_MAX_REPLICAS).default(4),
  /** may go to 0 replicas at zero traffic (needs min 0; the first request then waits a start-up) */
  scaleToZero: z.boolean().default(false),
  /** a new replica's start-up: `cold`, `tuned`, `snapshot` (the demo engine simulates it) or seconds; what the forecast looks ahead by */
  startup: z.union([z.enum(STARTUP_KINDS), z.number().nonnegative().max(3_600)], { error: `must be one of ${STARTUP_KINDS.join(', ')} or a number of seconds (0–3600)` }).default('snapshot'),
  /** the latency objective, p99, ms */
  slo: z.strictObject({
    ttftMs: z.number().positive().max(600_000).default(2_000),
    itlMs: z.number().positive().max(60_000).default(100),
  }).prefault({}),
  /** scale a Deployment through the Kubernetes API instead of starting `switchyard engine` processes */
  kubernetes: z.strictObject({
    namespace: z.string().max(63).regex(DNS_LABEL, { error: 'must be a Kubernetes namespace name: lower-case letters, digits and -, at most 63' }).default('default'),
    deployment: z.string().max(253).regex(DNS_SUBDOMAIN, { error: 'must be a Kubernetes Deployment name: lower-case letters, digits, - and ., at most 253' }),
    /** the container port the model server listens on */
    port: z.number().int().min(1).max(65_535).default(8000),
    /** a kubeconfig file; absent: the default (in-cluster, or ~/.kube/config) */
    kubeconfig: z.string().min(1).max(4_096).optional(),
  }).optional(),
}).superRefine((p, ctx) => {
  if (p.min > p.max) ctx.addIssue({ code: 'custom', path: ['min'], message: `must be at most max (${p.max})`, input: p.min });
  if (p.scaleToZero && p.min !== 0) ctx.addIssue({ code: 'custom', path: ['scaleToZero'], message: `needs min: 0 (min is ${p.min})`, input: p.scaleToZero });
});

/** The autoscaler's loop (docs/autoscaling.md). With `enabled` and no pools, every demo pool is sized between 1 and twice its replicas. */
const autoscalerSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** how often each pool is decided (only by the gateway that leads the rollouts, which also leads this) */
  tickMs: z.number().int().min(100).max(600_000).default(5_000),
  /** the TTFT and ITL p99 cover the calls of this long */
  latencyWindowMs: z.number().int().min(1_000).max(AUTOSCALER_MAX_WINDOW_MS).default(60_000),
  /** calls within this long of a replica's becoming ready are cold-start samples, left out of the p99 */
  warmupMs: z.number().int().nonnegative().max(AUTOSCALER_MAX_WINDOW_MS).default(60_000),
  /** a replica's telemetry older than this is stale: it is drained first on a scale-down */
  staleAfterMs: z.number().int().min(1_000).max(AUTOSCALER_MAX_WINDOW_MS).default(30_000),
  knobs: switchyardKnobsSchema.prefault({}),
  pools: z.array(autoscalerPoolSchema).max(100).default([]),
});

export type AutoscalerConfig = z.infer<typeof autoscalerSchema>;
export type AutoscalerPoolConfig = AutoscalerConfig['pools'][number];

/** A replica's address: only http(s) with a host has an origin a connection pool can dial. */
/** No user or password in a URL (one that does not parse is the URL check's to refuse). */
function withoutUserinfo(u: string): boolean {
  try {
    const x = new URL(u);
    return x.username === '' && x.password === '';
  } catch {
    return true;
  }
}

export const replicaUrl = z.url({ protocol: /^https?$/, hostname: /^.+$/, error: 'must be an http:// or https:// URL with a host, such as http://10.0.0.1:8000/v1' })
  // a replica's URL is shown by GET /fleet and kept in the audit trail: no secret may ride in it
  .refine(withoutUserinfo, 'must not carry a user or password; give the replica\'s key as apiKey (api_key in the admin API)');

const replica = z.strictObject({
  model: z.string().min(1),
  url: replicaUrl,
  region: z.string().default('local'),
  /** the name the replica serves the model under, when it differs from the public name */
  servedModel: z.string().optional(),
  apiKey: z.string().optional(),
  /** the API it speaks: `openai` (vLLM's OpenAI-compatible server) or `anthropic` (the Messages API) */
  protocol: z.enum(['openai', 'anthropic']).default('openai'),
  /** the model version it serves; default the model's stable version */
  version: z.string().min(1).optional(),
  /** the engine profile it runs on (its GPU type and count, for unit costs); absent: unknown, 1 GPU at `costs.fallbackGpuHourUsd` */
  profile: z.string().refine((n) => getProfile(n) !== undefined, { error: (iss) => `unknown engine profile \`${String(iss.input)}\`; the profiles are ${profileNames().join(', ')}` }).optional(),
  /** its own price, USD per GPU-hour, over the `costs:` prices */
  usdPerGpuHour: z.number().nonnegative().max(1_000).optional(),
});

/** The GPU types the shipped engine profiles name: the only ones a replica's price is looked up by. */
function gpuTypes(): Set<string> {
  return new Set(profileNames().map((n) => getProfile(n)!.gpu.name));
}

/** GPU type → USD per GPU-hour; a type no profile names would never apply (a typo), so it is refused. */
const gpuPrices = z.record(z.string().min(1), z.number().nonnegative().max(1_000)).superRefine((prices, ctx) => {
  const known = gpuTypes();
  for (const gpu of Object.keys(prices)) {
    if (!known.has(gpu)) ctx.addIssue({ code: 'custom', path: [gpu], input: gpu, message: `\`${gpu}\` is not a GPU type of any engine profile, so no replica would be priced by it; the types are ${[...known].map((x) => `\`${x}\``).join(', ')}` });
  }
});

/**
 * What the fleet costs (docs/configuration.md, `costs:`): prices per GPU-hour, and how often the
 * leading gateway writes replica time to the store. A replica's price is its own `usdPerGpuHour`,
 * else its region's price for its GPU type, else `gpuHourUsd`'s, else the built-in default.
 */
export const costsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** by GPU type (the engine profile's), over the built-in defaults (H100-SXM-80GB 2.99, A100-SXM-80GB 1.79, …) */
  gpuHourUsd: gpuPrices.default({}),
  /** region → GPU type → price, over `gpuHourUsd` */
  regions: z.record(z.string().min(1), gpuPrices).default({}),
  /** a GPU type priced nowhere, or a replica whose hardware is unknown */
  fallbackGpuHourUsd: z.number().nonnegative().max(1_000).default(FALLBACK_GPU_HOUR_USD),
  /** how often the leading gateway writes the replica time it accrued to the store */
  flushIntervalMs: z.number().int().min(1_000).max(3_600_000).default(15_000),
  /** how often each replica's in-flight count is read for its busy time */
  sampleMs: z.number().int().min(10).max(60_000).default(250),
});

/**
 * How a failed upstream call is retried and hedged (`upstream.*` in the gateway's file). The
 * simulator's scenario takes the same block under the same names, so what it measures is these knobs.
 */
export const retryShape = {
  /** attempts per request, the first included: a failure before the first byte reached the client goes to another replica */
  maxAttempts: z.number().int().min(1).max(5).default(3),
  /**
   * Envoy's retry budget: retries waiting for their first byte stay under this share of the
   * requests in flight (but may always reach minConcurrency). Envoy's 20 % / 3 would fail most
   * requests of a crashed replica in a pool of four; 50 % / 10 absorbs one while still capping a storm.
   */
  retryBudget: z.strictObject({
    percent: z.number().min(0).max(100).default(50),
    minConcurrency: z.number().int().nonnegative().default(10),
  }).prefault({}),
  /** wait before a retry: full jitter, base × 2^(attempt−1), capped (Envoy's defaults) */
  backoff: z.strictObject({
    baseMs: z.number().int().nonnegative().default(25),
    maxMs: z.number().int().nonnegative().default(250),
  }).prefault({}),
  /**
   * Streamed requests: with no first token after delayMs, send the request to a second replica
   * too; the first to answer is relayed, the other cancelled. A hedge spends the retry budget.
   */
  hedge: z.strictObject({
    enabled: z.boolean().default(false),
    delayMs: z.number().int().positive().default(1_000),
  }).prefault({}),
};

/** Defaults the gateway and the simulator share (the simulator states intervals in seconds). */
export const KNOB_DEFAULTS = {
  /** fleet.healthIntervalMs: how often each replica is probed */
  healthIntervalMs: 2_000,
  /** fleet.scrapeIntervalMs: how often each replica's /metrics is read */
  scrapeIntervalMs: 1_000,
  /**
   * prompt tokens the prefix index considers: routing.prefix.maxBlocks is this in blocks of
   * blockChars / 4 characters (about four a token), the simulator's prefixMaxBlocks in blocks of
   * prefixBlockTokens; 128 × 512 characters and 256 × 64 tokens both come to 16 Ki tokens
   */
  prefixTokens: 16_384,
} as const;

/** Characters per token the gateway assumes where it has no tokenizer. */
export const CHARS_PER_TOKEN = 4;

/** A tier: the limits a tenant's workspaces get (per workspace and model, refilled continuously). */
export const tierSchema = z.strictObject({
  requestsPerMinute: z.number().positive(),
  inputTokensPerMinute: z.number().positive(),
  outputTokensPerMinute: z.number().positive(),
  /** requests of one workspace in flight at once, across every gateway instance when Redis holds the limits; null = no limit */
  concurrentRequests: z.number().int().positive().nullable().default(null),
  /** the priority of its keys' requests unless a key says otherwise; a request may ask for lower */
  priority: z.enum(PRIORITIES).default('standard'),
  /** its share of a saturated pool against other tenants of the same priority */
  weight: z.number().positive().default(1),
  /** USD a workspace may spend in a calendar month (UTC); null = no limit. A workspace may override it. */
  monthlySpendUsd: z.number().nonnegative().nullable().default(null),
});

const configFields = z.strictObject({
  server: z.strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** bodies above this get 413 request_too_large (Anthropic's own edge limit is 32 MB) */
    bodyLimitBytes: z.number().int().positive().default(32 * 1024 * 1024),
    /** how long a shutdown waits for in-flight requests before cutting them */
    drainTimeoutMs: z.number().int().nonnegative().default(30_000),
    /** access log line per request (pino, info level) */
    accessLog: z.boolean().default(false),
    /** a client must send its request line and headers within this (else a bare 408 and close) */
    headersTimeoutMs: z.number().int().positive().default(30_000),
    /** a request body must have arrived within this of its headers (else 408 in the wire format) */
    bodyTimeoutMs: z.number().int().positive().default(30_000),
    /** and, after its first 2 s, at this average rate at least; 0 = no floor */
    bodyMinBytesPerSecond: z.number().int().nonnegative().default(1_024),
    /**
     * how long a stream's head (200 and its SSE headers) waits for the first token, so that a failure
     * before it is still an HTTP status the SDKs retry; past it the head goes out, with a keep-alive
     * every 10 s until the first token, so no proxy cuts a long queue wait or prefill as idle. 0: at once
     */
    streamHeadAfterMs: z.number().int().nonnegative().default(5_000),
    /** an idle keep-alive connection is closed after this; above a load balancer's idle timeout (60 s) */
    keepAliveTimeoutMs: z.number().int().positive().default(65_000),
    /** when set (or SWITCHYARD_METRICS_TOKEN), /metrics wants `Authorization: Bearer <token>` */
    metricsToken: z.string().min(1).nullable().default(null),
  }).prefault({}),
  dataDir: z.string().default('.switchyard'),
  /** `sqlite:PATH` (default `sqlite:<dataDir>/switchyard.db`) or `postgres://…` */
  store: z.string().optional(),
  /** the store's deadlines: a partitioned database must not stall requests, or a shutdown */
  ledger: z.strictObject({
    /** the longest one store call may take, connecting included (PostgreSQL; SQLite waits this long for a lock) */
    timeoutMs: z.number().int().positive().default(5_000),
    /** how long a shutdown spends writing buffered usage records; what is left goes to <dataDir>/ledger-spill.jsonl (keep it well under the orchestrator's grace period) */
    finalFlushMs: z.number().int().nonnegative().default(5_000),
    /** how often buffered usage records are written when fewer than a batch (500) wait; a full batch goes at once */
    flushIntervalMs: z.number().int().positive().default(200),
  }).prefault({}),
  /** the region the gateway runs in; replicas here are preferred */
  region: z.string().default('us-east'),
  regions: z.array(region).default([{ name: 'us-east', latencyMs: { 'eu-west': 40 } }, { name: 'eu-west', latencyMs: {} }]),
  upstream: z.strictObject({
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
    ...retryShape,
  }).prefault({}),
  routing: z.strictObject({
    /** the profile that routes requests: a shipped one (docs/routing.md) or one defined under `profiles` */
    profile: z.string().default('default'),
    profiles: z.record(z.string(), profileSchema).default({}),
    /** session affinity key: this header, else Anthropic `metadata.user_id` / OpenAI `user` */
    sessionHeader: z.string().default('x-session-id'),
    /** the approximate prefix index: prompt characters per block, blocks per prompt, blocks per replica */
    prefix: z.strictObject({
      blockChars: z.number().int().positive().multipleOf(2).default(512),
      maxBlocks: z.number().int().positive().default(KNOB_DEFAULTS.prefixTokens / (512 / CHARS_PER_TOKEN)),
      capacityBlocks: z.number().int().positive().default(8_192),
    }).prefault({}),
  }).prefault({}).superRefine((r, ctx) => {
    if (!Object.hasOwn(r.profiles, r.profile) && !Object.hasOwn(BUILTIN_PROFILES, r.profile)) {
      ctx.addIssue({ code: 'custom', path: ['profile'], message: `unknown routing profile "${r.profile}"; known: ${[...Object.keys(r.profiles), ...Object.keys(BUILTIN_PROFILES)].join(', ')}` });
    }
  }),
  fleet: z.strictObject({
    healthIntervalMs: z.number().int().positive().default(KNOB_DEFAULTS.healthIntervalMs),
    healthTimeoutMs: z.number().int().positive().default(1_000),
    /** probes in a row without an answer before a replica leaves rotation (Kubernetes' failureThreshold); a refusal or an error status takes it out at once */
    unhealthyThreshold: z.number().int().positive().default(3),
    /** each replica's /metrics (vLLM names) is read this often; 0 turns scraping off */
    scrapeIntervalMs: z.number().int().nonnegative().default(KNOB_DEFAULTS.scrapeIntervalMs),
    /** Envoy-style outlier detection: replicas that fail or lag are ejected for a growing time */
    outlier: outlierSchema.prefault({}),
  }).prefault({}),
  /** rate-limit tiers by name; a tenant names its tier (unknown names get `default`) */
  // a fresh object per parse: one loaded config's tiers are never another's
  tiers: z.record(z.string(), tierSchema).default(() => ({
    default: { requestsPerMinute: 4_000, inputTokensPerMinute: 2_000_000, outputTokensPerMinute: 400_000, concurrentRequests: null, priority: 'standard' as const, weight: 1, monthlySpendUsd: null },
    free: { requestsPerMinute: 50, inputTokensPerMinute: 50_000, outputTokensPerMinute: 10_000, concurrentRequests: 5, priority: 'batch' as const, weight: 1, monthlySpendUsd: 10 },
  })).refine((t) => Object.hasOwn(t, 'default'), { message: 'tiers must define a `default` tier (tenants with an unknown tier get it)' }),
  /** per pool (a model): how many requests run at once, who waits, who is shed (docs/admission.md) */
  admission: admissionSchema.prefault({}),
  /** monthly spend limits: the ledger's month-to-date sum per workspace is re-read this often */
  spend: z.strictObject({ refreshMs: z.number().int().positive().default(5_000) }).prefault({}),
  limits: z.strictObject({
    /** `memory` (one gateway) or `redis` (shared by every gateway instance) */
    backend: z.enum(['memory', 'redis']).default('memory'),
    redisUrl: z.string().default('redis://127.0.0.1:6379/0'),
    /** prefix of every Redis key the limiter writes (gateways that share buckets share it) */
    redisKeyPrefix: z.string().min(1).default('sy:rl:'),
    /** Redis down or slow: `open` keeps serving on per-instance buckets, `closed` refuses with 503 */
    failMode: z.enum(['open', 'closed']).default('open'),
    /** a Redis call slower than this counts as failed (failMode decides): a slow store must not stall requests */
    timeoutMs: z.number().int().positive().default(200),
    /**
     * after `failures` failed Redis calls in a row, made over at least `minSpanMs` (a partition, not a
     * moment's stall of this process), stop asking it (failMode decides at once) and probe it every `probeMs`
     */
    breaker: z.strictObject({
      failures: z.number().int().positive().default(5),
      minSpanMs: z.number().int().nonnegative().default(1_000),
      probeMs: z.number().int().positive().default(2_000),
    }).prefault({}),
  }).prefault({}),
  /** the rollout controller's loop (docs/rollouts.md) */
  rollouts: z.strictObject({
    /** how often the leader advances and judges each rollout */
    tickMs: z.number().int().positive().default(1_000),
    /** a leader that stops renewing is replaced after this */
    leaseTtlMs: z.number().int().positive().default(10_000),
    /** how often a gateway renews (or seeks) the lead and followers re-read the rollouts */
    pollMs: z.number().int().positive().default(1_000),
    /** this gateway's name as lease holder; default one from host, pid and a random suffix */
    gatewayId: z.string().min(1).max(200).optional(),
  }).prefault({}).superRefine((r, ctx) => {
    // renewed every poll: a lease no longer than a poll lapses between renewals and the lead flaps
    if (r.leaseTtlMs <= r.pollMs) ctx.addIssue({ code: 'custom', path: ['leaseTtlMs'], message: `must be longer than pollMs (${r.pollMs}), or the lease lapses between renewals; 10 × pollMs is usual`, input: r.leaseTtlMs });
  }),
  models: z.array(modelSchema).prefault([
    { id: 'llama-3.1-8b', displayName: 'Llama 3.1 8B Instruct', profile: 'llama-3.1-8b-h100', maxInputTokens: 131_072, maxOutputTokens: 8_192, defaultMaxTokens: 1_024, maxTokensPolicy: 'cap', pricing: { input: 0.05, output: 0.08 }, created: '2024-07-23T00:00:00Z' },
    { id: 'llama-3.3-70b', displayName: 'Llama 3.3 70B Instruct (FP8)', profile: 'llama-3.3-70b-fp8-h100-tp2', maxInputTokens: 131_072, maxOutputTokens: 8_192, defaultMaxTokens: 1_024, maxTokensPolicy: 'cap', pricing: { input: 0.6, output: 0.8 }, created: '2024-12-06T00:00:00Z' },
  ]),
  /**
   * simulated pools started by `switchyard up` when no external replicas are given; absent, every
   * model gets two in every region (loadConfig derives them, so a file that names its own models
   * never meets hidden pools of the default ones)
   */
  demo: z.array(demoPool).optional(),
  /** existing OpenAI-compatible endpoints; when any are given, no demo fleet is started */
  replicas: z.array(replica).default([]),
  autoscaler: autoscalerSchema.prefault({}),
  costs: costsSchema.prefault({}),
  /** traces and metrics options (config/observability.ts) */
  observability: observabilitySchema,
  /** service level objectives per model and tier, with error budgets and burn-rate alerts */
  slos: z.array(sloSchema).max(200).default([]),
});

export type ModelConfig = z.infer<typeof modelSchema>;
export type VersionConfig = ModelConfig['versions'][number];
export type WarmupConfig = z.infer<typeof warmupSchema>;
/** `version` is resolved: the model's stable version unless the entry names one */
export type ReplicaConfig = z.infer<typeof replica> & { version: string };
export type DemoPoolConfig = z.infer<typeof demoPool> & { version: string };
export type DemoFaults = NonNullable<DemoPoolConfig['faults']>;
export type RolloutsConfig = z.infer<typeof configFields>['rollouts'];
export type CostsConfig = z.infer<typeof costsSchema>;

type Fields = z.infer<typeof configFields>;
type Resolved = Omit<Fields, 'demo' | 'replicas'> & { demo?: DemoPoolConfig[]; replicas: ReplicaConfig[] };

/**
 * The file's shape, with each replica's and demo pool's version resolved against its model. A
 * replica of a model the file does not describe serves the version named like the model (loadConfig
 * gives such a model its defaults).
 */
export const configSchema = configFields.transform((c, ctx): Resolved => {
  const models = new Map(c.models.map((m) => [m.id, m]));
  const resolve = (model: string, version: string | undefined, path: Array<string | number>): string => {
    const m = models.get(model);
    if (m === undefined) return version ?? model;
    const v = version ?? m.stable;
    if (!m.versions.some((x) => x.id === v)) {
      ctx.addIssue({ code: 'custom', path, input: v, message: `model \`${model}\` has no version \`${v}\`; its versions are ${m.versions.map((x) => `\`${x.id}\``).join(', ')} (add it under \`models[].versions\`)` });
    }
    return v;
  };
  // a pool names a model and a region the gateway serves (an external replica's count: loadConfig adds them)
  const modelIds = new Set([...models.keys(), ...c.replicas.map((r) => r.model)]);
  const regionNames = new Set([...c.regions.map((r) => r.name), ...c.replicas.map((r) => r.region)]);
  const pools = new Set<string>();
  c.autoscaler.pools.forEach((p, i) => {
    const at = ['autoscaler', 'pools', i];
    if (!modelIds.has(p.model)) ctx.addIssue({ code: 'custom', path: [...at, 'model'], input: p.model, message: `\`${p.model}\` is not a configured model; the models are ${[...modelIds].map((x) => `\`${x}\``).join(', ')}` });
    if (!regionNames.has(p.region)) ctx.addIssue({ code: 'custom', path: [...at, 'region'], input: p.region, message: `\`${p.region}\` is not a configured region; the regions are ${[...regionNames].map((x) => `\`${x}\``).join(', ')}` });
    const name = `${p.region}/${p.model}`;
    if (pools.has(name)) ctx.addIssue({ code: 'custom', path: at, input: name, message: `the pool ${name} is listed twice; one entry per model and region` });
    pools.add(name);
  });
  // a misspelt region's prices would silently never apply
  for (const r of Object.keys(c.costs.regions)) {
    if (!regionNames.has(r)) ctx.addIssue({ code: 'custom', path: ['costs', 'regions', r], input: r, message: `\`${r}\` is not a configured region; the regions are ${[...regionNames].map((x) => `\`${x}\``).join(', ')}` });
  }
  // an SLO names a configured model and tier (or `*`), once
  const sloNames = new Set<string>();
  c.slos.forEach((o, i) => {
    const at = ['slos', i];
    if (sloNames.has(o.name)) ctx.addIssue({ code: 'custom', path: [...at, 'name'], input: o.name, message: `the SLO \`${o.name}\` is defined twice; names are unique` });
    sloNames.add(o.name);
    if (o.model !== '*' && !modelIds.has(o.model)) ctx.addIssue({ code: 'custom', path: [...at, 'model'], input: o.model, message: `\`${o.model}\` is not a configured model; the models are ${[...modelIds].map((x) => `\`${x}\``).join(', ')}, or \`*\`` });
    if (o.tier !== '*' && !Object.hasOwn(c.tiers, o.tier)) ctx.addIssue({ code: 'custom', path: [...at, 'tier'], input: o.tier, message: `\`${o.tier}\` is not a configured tier; the tiers are ${Object.keys(c.tiers).map((x) => `\`${x}\``).join(', ')}, or \`*\`` });
  });
  return {
    ...c,
    replicas: c.replicas.map((r, i) => ({ ...r, version: resolve(r.model, r.version, ['replicas', i, 'version']) })),
    demo: c.demo?.map((p, i) => ({ ...p, version: resolve(p.model, p.version, ['demo', i, 'version']) })),
  };
});

/** The loaded configuration: `demo` is always resolved (empty when replicas are given). */
export type Config = Omit<Resolved, 'demo'> & { demo: DemoPoolConfig[] };
