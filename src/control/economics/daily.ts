import { getProfile } from '../../engine/index.js';
import type { ReplicaTimeRecord, TokensByDay } from '../../ledger/types.js';
import { perMillion, phaseWeights, splitCost, type PhaseWeights, type Tokens } from './phases.js';

// The live unit economics: what each replica cost on each UTC day (its up time × GPUs × price),
// joined with the tokens the ledger says it served that day, per model, pool, region or tenant.
// The recipe is OpenCost's for inference: GPU cost is provisioned time, not busy time, so idle
// replicas are a cost too, reported beside utilisation. A replica-day's cost is split between
// input and output by the engine model's phase weights (phases.ts); a tenant's share of it is its
// phase-weighted tokens on that replica that day.

export type CostKey = 'model' | 'pool' | 'region' | 'tenant';
export const COST_KEYS: readonly CostKey[] = ['model', 'pool', 'region', 'tenant'];

/** the tenant key that carries the cost of replica-days that served no tokens, so totals add up */
export const IDLE_KEY = '(idle)';
/** the region (and pool) key of tokens whose replica and region the ledger does not know */
export const UNKNOWN_KEY = '(unknown)';

export interface CostDay {
  /** `YYYY-MM-DD`, UTC */
  readonly day: string;
  /** the model, pool, region or tenant id */
  readonly key: string;
  /** GPU cost: up seconds / 3600 × GPUs × USD per GPU-hour */
  readonly usd: number;
  readonly gpuHours: number;
  /** replica-seconds provisioned, and those with a call in flight */
  readonly upS: number;
  readonly busyS: number;
  /** busyS / upS; null when nothing was up */
  readonly utilisation: number | null;
  /** each replica-day's cost × (1 − its utilisation), summed */
  readonly idleUsd: number;
  readonly requests: number;
  /** prompt tokens, cached ones included */
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
  readonly inputUsd: number;
  readonly outputUsd: number;
  /** USD per million input tokens (cached ones count, and cost nothing); null with no input tokens */
  readonly inputUsdPerM: number | null;
  readonly outputUsdPerM: number | null;
  /** blended: USD per million input + output tokens */
  readonly usdPerM: number | null;
}

interface Acc {
  usd: number; gpuHours: number; upS: number; busyS: number; idleUsd: number;
  requests: number; inputTokens: number; cachedInputTokens: number; outputTokens: number;
  inputUsd: number; outputUsd: number;
}

const emptyAcc = (): Acc => ({
  usd: 0, gpuHours: 0, upS: 0, busyS: 0, idleUsd: 0, requests: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, inputUsd: 0, outputUsd: 0,
});

const nonNegative = (x: number): number => (Number.isFinite(x) && x > 0 ? x : 0);

interface TokenSum { requests: number; inputTokens: number; cachedInputTokens: number; outputTokens: number }

const addTokens = (a: TokenSum, t: TokenSum): void => {
  a.requests += nonNegative(t.requests);
  a.inputTokens += nonNegative(t.inputTokens);
  a.cachedInputTokens += nonNegative(t.cachedInputTokens);
  a.outputTokens += nonNegative(t.outputTokens);
};

/** replica-seconds an engine model would spend on these tokens: what a tenant's share is weighed by */
const weighed = (t: Tokens, w: PhaseWeights): number =>
  Math.max(0, t.inputTokens - t.cachedInputTokens) * w.inputS + Math.max(0, t.outputTokens) * w.outputS;

/** One replica-day's cost, and the part of it a share (0–1) of the replica carries. */
interface ReplicaDay {
  readonly rec: ReplicaTimeRecord;
  readonly usd: number;
  readonly upS: number;
  readonly busyS: number;
  readonly weights: PhaseWeights;
}

function replicaDay(rec: ReplicaTimeRecord, weightsOf: (profile: string | null) => PhaseWeights): ReplicaDay {
  const upS = nonNegative(rec.upS);
  const busyS = Math.min(upS, nonNegative(rec.busyS));
  const usd = (upS / 3600) * nonNegative(rec.gpus) * nonNegative(rec.usdPerGpuHour);
  return { rec, usd, upS, busyS, weights: weightsOf(rec.profile) };
}

/** Adds `share` of a replica-day's time and cost, with `tokens` served and their phase split. */
function addShare(a: Acc, r: ReplicaDay, share: number, tokens: TokenSum): void {
  const usd = r.usd * share;
  a.usd += usd;
  a.gpuHours += (r.upS / 3600) * nonNegative(r.rec.gpus) * share;
  a.upS += r.upS * share;
  a.busyS += r.busyS * share;
  a.idleUsd += r.upS > 0 ? usd * (1 - r.busyS / r.upS) : 0;
  addTokens(a, tokens);
  const split = splitCost(usd, tokens, r.weights);
  a.inputUsd += split.inputUsd;
  a.outputUsd += split.outputUsd;
}

const dayReplica = (day: string, replica: string): string => `${day}\u0000${replica}`;

/**
 * Cost per day and model, pool, region or tenant, from the ledger's replica time and tokens.
 * Tokens on a replica with no replica-time record that day (failed before placement, or served
 * before cost accounting began) are counted as tokens at no cost. By model, pool and region the
 * day's usd sums to the total GPU cost; by tenant, replica-days that served no tokens go to the
 * `(idle)` key, so it does too. Sorted by day, then key.
 */
export function costsByDay(
  time: readonly ReplicaTimeRecord[],
  tokens: readonly TokensByDay[],
  by: CostKey,
  weightsOf: (profile: string | null) => PhaseWeights,
): CostDay[] {
  const cache = new Map<string | null, PhaseWeights>();
  const weights = (profile: string | null): PhaseWeights => {
    let w = cache.get(profile);
    if (w === undefined) cache.set(profile, (w = weightsOf(profile)));
    return w;
  };
  // one replica-day per (day, replica); the store keeps one row each, but repeated rows add up
  const days = new Map<string, ReplicaDay>();
  for (const rec of time) {
    const k = dayReplica(rec.day, rec.replica);
    const prev = days.get(k);
    const merged = prev === undefined ? rec : { ...rec, upS: prev.rec.upS + rec.upS, busyS: prev.rec.busyS + rec.busyS };
    days.set(k, replicaDay(merged, weights));
  }
  // tokens per replica-day and tenant (a tenant's models on one replica sum)
  const served = new Map<string, Map<string, TokenSum>>();
  const orphans: TokensByDay[] = [];
  for (const t of tokens) {
    if (t.replica === null || !days.has(dayReplica(t.day, t.replica))) {
      orphans.push(t);
      continue;
    }
    const k = dayReplica(t.day, t.replica);
    let perTenant = served.get(k);
    if (perTenant === undefined) served.set(k, (perTenant = new Map()));
    let sum = perTenant.get(t.tenantId);
    if (sum === undefined) perTenant.set(t.tenantId, (sum = { requests: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 }));
    addTokens(sum, t);
  }

  const rows = new Map<string, { day: string; key: string; acc: Acc }>();
  const acc = (day: string, key: string): Acc => {
    const k = `${day}\u0000${key}`;
    let row = rows.get(k);
    if (row === undefined) rows.set(k, (row = { day, key, acc: emptyAcc() }));
    return row.acc;
  };
  const none: TokenSum = { requests: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 };

  for (const [k, r] of days) {
    const perTenant = served.get(k);
    if (by !== 'tenant') {
      const total = { ...none };
      for (const t of perTenant?.values() ?? []) addTokens(total, t);
      addShare(acc(r.rec.day, by === 'model' ? r.rec.model : by === 'pool' ? r.rec.pool : r.rec.region), r, 1, total);
      continue;
    }
    if (perTenant === undefined || perTenant.size === 0) {
      addShare(acc(r.rec.day, IDLE_KEY), r, 1, none);
      continue;
    }
    // shares by phase-weighted tokens; by requests when no token weighs anything (all cached, no output)
    const entries = [...perTenant];
    let total = entries.reduce((s, [, t]) => s + weighed(t, r.weights), 0);
    const measure = total > 0 ? (t: TokenSum) => weighed(t, r.weights) : (t: TokenSum) => t.requests;
    if (!(total > 0)) total = entries.reduce((s, [, t]) => s + t.requests, 0);
    for (const [tenant, t] of entries) {
      addShare(acc(r.rec.day, tenant), r, total > 0 ? measure(t) / total : 1 / entries.length, t);
    }
  }
  for (const t of orphans) {
    const region = t.region ?? UNKNOWN_KEY;
    const key = by === 'tenant' ? t.tenantId : by === 'model' ? t.model : by === 'region' ? region : t.region === null ? UNKNOWN_KEY : `${t.region}/${t.model}`;
    addTokens(acc(t.day, key), t);
  }

  return [...rows.values()]
    .sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ day, key, acc: a }) => ({
      day, key,
      usd: a.usd, gpuHours: a.gpuHours, upS: a.upS, busyS: a.busyS,
      utilisation: a.upS > 0 ? a.busyS / a.upS : null,
      idleUsd: a.idleUsd,
      requests: a.requests, inputTokens: a.inputTokens, cachedInputTokens: a.cachedInputTokens, outputTokens: a.outputTokens,
      inputUsd: a.inputUsd, outputUsd: a.outputUsd,
      inputUsdPerM: perMillion(a.inputUsd, a.inputTokens),
      outputUsdPerM: perMillion(a.outputUsd, a.outputTokens),
      usdPerM: perMillion(a.usd, a.inputTokens + a.outputTokens),
    }));
}

const round9 = (x: number): number => Math.round(x * 1e9) / 1e9;
const round9OrNull = (x: number | null): number | null => (x === null ? null : round9(x));

/** A row as the CLI's --json and the admin API print it: snake_case, floats rounded to 1e-9. */
export function costDayJson(r: CostDay): Record<string, string | number | null> {
  return {
    day: r.day, key: r.key,
    usd: round9(r.usd), gpu_hours: round9(r.gpuHours), up_s: round9(r.upS), busy_s: round9(r.busyS),
    utilisation: round9OrNull(r.utilisation), idle_usd: round9(r.idleUsd),
    requests: r.requests, input_tokens: r.inputTokens, cached_input_tokens: r.cachedInputTokens, output_tokens: r.outputTokens,
    input_usd: round9(r.inputUsd), output_usd: round9(r.outputUsd),
    input_usd_per_m: round9OrNull(r.inputUsdPerM), output_usd_per_m: round9OrNull(r.outputUsdPerM), usd_per_m: round9OrNull(r.usdPerM),
  };
}

/** Rows summed into one (day and key as given): utilisation and the per-million figures recomputed from the sums. */
export function totalOf(rows: readonly CostDay[], day: string, key: string): CostDay {
  const s = (f: (r: CostDay) => number) => rows.reduce((t, r) => t + f(r), 0);
  const usd = s((r) => r.usd), upS = s((r) => r.upS), busyS = s((r) => r.busyS);
  const inputTokens = s((r) => r.inputTokens), outputTokens = s((r) => r.outputTokens);
  const inputUsd = s((r) => r.inputUsd), outputUsd = s((r) => r.outputUsd);
  return {
    day, key, usd, gpuHours: s((r) => r.gpuHours), upS, busyS, utilisation: upS > 0 ? busyS / upS : null, idleUsd: s((r) => r.idleUsd),
    requests: s((r) => r.requests), inputTokens, cachedInputTokens: s((r) => r.cachedInputTokens), outputTokens, inputUsd, outputUsd,
    inputUsdPerM: perMillion(inputUsd, inputTokens), outputUsdPerM: perMillion(outputUsd, outputTokens), usdPerM: perMillion(usd, inputTokens + outputTokens),
  };
}

/** the profile whose phase weights stand in for a replica of unknown hardware (the engine's default) */
export const FALLBACK_WEIGHTS_PROFILE = 'llama-3.1-8b-h100';

/**
 * Phase weights by hardware-profile name, from the engine model at its default shape and SLO,
 * memoised; a replica with no (or an unknown) profile is weighed as the default profile.
 */
export function profileWeights(): (profile: string | null) => PhaseWeights {
  const memo = new Map<string, PhaseWeights>();
  return (name) => {
    const p = (name !== null ? getProfile(name) : undefined) ?? getProfile(FALLBACK_WEIGHTS_PROFILE);
    if (p === undefined) throw new Error(`the fallback profile ${FALLBACK_WEIGHTS_PROFILE} is not shipped`);
    let w = memo.get(p.name);
    if (w === undefined) memo.set(p.name, (w = phaseWeights(p)));
    return w;
  };
}

/** a costs query's default window, and the longest one answered at once: a year and a day (a longer one is almost always a typo, and the whole of it is read at once) */
export const DEFAULT_COST_DAYS = 7;
export const MAX_COST_DAYS = 366;
const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` of a real calendar day → its UTC midnight, ms; null otherwise (2026-02-30 does not round-trip). */
export function utcDay(v: string): number | null {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : NaN;
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== v ? null : ms;
}

export type CostDays =
  | { readonly ok: true; readonly since: number; readonly until: number }
  | { readonly ok: false; readonly problem: 'reversed' | 'too-long'; readonly since: number; readonly until: number; readonly days: number };

/**
 * Whole UTC days, both ends included, as the admin API and the CLI read `since` / `until` (UTC
 * midnights): neither, the last DEFAULT_COST_DAYS days to today; `since` alone, to today (or the one
 * day, when it is later); `until` alone, the DEFAULT_COST_DAYS days ending then.
 */
export function costDays(since: number | undefined, until: number | undefined, nowMs: number): CostDays {
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const u = until ?? (since === undefined ? today : Math.max(since, today));
  const s = since ?? u - (DEFAULT_COST_DAYS - 1) * DAY_MS;
  const days = (u - s) / DAY_MS + 1;
  if (s > u) return { ok: false, problem: 'reversed', since: s, until: u, days };
  if (days > MAX_COST_DAYS) return { ok: false, problem: 'too-long', since: s, until: u, days };
  return { ok: true, since: s, until: u };
}
