import type { Store, UsageOutcome, UsageRecord } from '../../src/ledger/index.js';

// Fills a store with many realistic usage records, fast, through the normal insertUsage path (so
// the roll-up is kept exactly as in production). Deterministic for a seed: the same options give
// the same records, request ids included, so seeding twice adds nothing the second time.
//
// What "realistic" means here: tenants weighted ~1/rank (a few heavy tenants, a long tail), traffic
// with a daily peak (4× the trough, at 12:00 of each day counted from `since`), ~70 % streamed,
// ~96 % successes with 429s, 400s, 499s and a sprinkle of 5xx, log-normal prompt/completion sizes,
// ttft and per-token times; an incident window may raise the 5xx share.

export interface SeedTenant {
  tenantId: string;
  workspaceId: string;
  keyId: string;
  tier: string;
}

export interface SeedOptions {
  rows: number;
  tenants: readonly SeedTenant[];
  models: readonly string[];
  /** inclusive, epoch ms */
  since: number;
  /** exclusive, epoch ms */
  until: number;
  seed?: number;
  /** records per insertUsage call (default 5 000) */
  batch?: number;
  /** windows in which this share of requests fail with a 5xx instead (e.g. an SLO burn) */
  incidents?: ReadonlyArray<{ since: number; until: number; errorRatio: number }>;
  /** request ids are `req_seed<seed>_<n>`; a different prefix keeps two seedings of one store apart */
  idPrefix?: string;
}

/**
 * Creates `count` tenants (tiers round-robin), each with its default workspace and one key, and
 * returns them as seedUsage wants them. Usage rows need no tenant (the ledger has no foreign keys),
 * but the dashboard lists tenants from the store, so seeded usage should belong to real ones.
 */
export async function seedTenants(store: Store, opts: { count: number; tiers?: readonly string[]; namePrefix?: string }): Promise<SeedTenant[]> {
  const tiers = opts.tiers ?? ['default'];
  const out: SeedTenant[] = [];
  for (let i = 0; i < opts.count; i++) {
    const tier = tiers[i % tiers.length];
    const t = await store.createTenant({ name: `${opts.namePrefix ?? 'seed tenant'} ${i + 1}`, tier });
    if (!t.ok) throw new Error(`seedTenants: ${t.error.message}`);
    const k = await store.createKey({ tenantId: t.value.tenant.id, name: 'seed' });
    if (!k.ok) throw new Error(`seedTenants: ${k.error.message}`);
    out.push({ tenantId: t.value.tenant.id, workspaceId: t.value.workspace.id, keyId: k.value.key.id, tier });
  }
  return out;
}

const DAY = 86_400_000;

/** mulberry32: small, fast, good enough for test data */
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

/** Statuses and their shares among requests outside an incident (the rest are 200). */
const FAILURES: ReadonlyArray<{ status: number; outcome: UsageOutcome; share: number }> = [
  { status: 429, outcome: 'rate_limited', share: 0.02 },
  { status: 400, outcome: 'client_error', share: 0.01 },
  { status: 499, outcome: 'cancelled', share: 0.003 },
  { status: 502, outcome: 'upstream_error', share: 0.003 },
  { status: 504, outcome: 'timeout', share: 0.001 },
  { status: 529, outcome: 'overloaded', share: 0.001 },
  { status: 500, outcome: 'internal_error', share: 0.0005 },
];
const SERVER_FAILURES = FAILURES.filter((f) => f.status >= 500);

export async function seedUsage(store: Store, opts: SeedOptions): Promise<void> {
  const { rows, tenants, models, since, until } = opts;
  if (tenants.length === 0 || models.length === 0) throw new Error('seedUsage: give at least one tenant and one model');
  if (!(until > since)) throw new Error('seedUsage: until must be after since');
  const seed = opts.seed ?? 1;
  const rand = rng(seed);
  const batchSize = Math.max(1, opts.batch ?? 5_000);
  const prefix = opts.idPrefix ?? `req_seed${seed}_`;
  const incidents = opts.incidents ?? [];
  const span = until - since;
  const width = String(rows).length;

  // cumulative ~1/rank weights: tenant 1 gets the most traffic
  const tenantCdf = cdf(tenants.length, (i) => 1 / (i + 1));
  const modelCdf = cdf(models.length, (i) => 1 / (i + 1));
  // price per million tokens: a bigger model (later in the list here) costs more
  const inPrice = models.map((_, i) => 0.1 * (i + 1));
  const outPrice = models.map((_, i) => 0.4 * (i + 1));

  const normal = (): number => {
    // Box–Muller; one of the pair is enough here
    const u = 1 - rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const logNormal = (median: number, sigma: number): number => median * Math.exp(sigma * normal());

  let batch: UsageRecord[] = [];
  for (let i = 0; i < rows; i++) {
    const startedAt = warp(since, until, since + Math.floor(((i + rand()) / rows) * span));
    const t = tenants[pick(tenantCdf, rand())];
    const m = pick(modelCdf, rand());
    const stream = rand() < 0.7;

    let status = 200;
    let outcome: UsageOutcome = 'ok';
    const incident = incidents.find((w) => startedAt >= w.since && startedAt < w.until);
    const r = rand();
    if (incident !== undefined && r < incident.errorRatio) {
      const f = SERVER_FAILURES[Math.floor(rand() * SERVER_FAILURES.length)];
      status = f.status; outcome = f.outcome;
    } else {
      let acc = 0;
      for (const f of FAILURES) {
        acc += f.share;
        if (r < acc) { status = f.status; outcome = f.outcome; break; }
      }
    }

    let inputTokens = 0, cachedInputTokens = 0, outputTokens = 0, latencyMs: number, ttftMs: number | null = null;
    let replica: string | null = null;
    const region = i % 3 === 0 ? 'eu-west' : 'us-east';
    if (status === 200 || status === 499 || status >= 500 && status !== 529) {
      // served (or served part-way): a replica, a prompt, and time
      replica = `${region}/${models[m]}/${i % 4}`;
      inputTokens = Math.max(1, Math.round(logNormal(1_200, 1.1)));
      cachedInputTokens = rand() < 0.4 ? Math.floor(inputTokens * rand()) : 0;
      const ttft = Math.min(120_000, logNormal(350 + inputTokens / 40, 0.6));
      if (status === 200) {
        outputTokens = Math.max(1, Math.round(logNormal(220, 1)));
        latencyMs = ttft + outputTokens * logNormal(18, 0.35);
        if (stream) ttftMs = round3(ttft);
      } else if (status === 504) {
        latencyMs = 30_000 + rand() * 30_000;
      } else {
        outputTokens = status === 499 ? Math.round(rand() * 100) : 0;
        latencyMs = ttft * (1 + rand() * 4);
        if (stream && outputTokens > 0) ttftMs = round3(ttft);
      }
    } else {
      // refused at the door: no replica, no tokens, a few milliseconds
      latencyMs = 0.5 + rand() * 5;
    }
    const costUsd = status === 200 || status === 499
      ? ((inputTokens - cachedInputTokens + cachedInputTokens * 0.1) * inPrice[m] + outputTokens * outPrice[m]) / 1e6
      : 0;

    batch.push({
      requestId: prefix + String(i).padStart(width, '0'), startedAt, tenantId: t.tenantId, workspaceId: t.workspaceId, keyId: t.keyId,
      tier: t.tier, model: models[m], replica, region: replica === null ? null : region, wire: i % 5 === 0 ? 'openai' : 'anthropic',
      stream, status, outcome, inputTokens, cachedInputTokens, outputTokens, ttftMs, latencyMs: round3(latencyMs), costUsd,
    });
    if (batch.length === batchSize) {
      await store.insertUsage(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await store.insertUsage(batch);
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function cdf(n: number, weight: (i: number) => number): Float64Array {
  const out = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) out[i] = sum += weight(i);
  for (let i = 0; i < n; i++) out[i] /= sum;
  return out;
}

function pick(cdf: Float64Array, u: number): number {
  let lo = 0, hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A daily peak without breaking time order: within each whole day (counted from `since`) the time
 * moves by x + a·sin(2πx)/2π, a monotone map of [0, 1] onto itself whose density is 1/(1 + a·cos 2πx),
 * so times crowd around midday (4× the night's at a = 0.6). A partial last day is left uniform.
 */
function warp(since: number, until: number, t: number): number {
  const d = Math.floor((t - since) / DAY);
  const start = since + d * DAY;
  if (start + DAY > until) return t;
  const x = (t - start) / DAY;
  return Math.min(start + DAY - 1, start + Math.floor(DAY * (x + (0.6 * Math.sin(2 * Math.PI * x)) / (2 * Math.PI))));
}
