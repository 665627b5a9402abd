import { SLO_LATENCY_BOUNDS_MS } from '../config/observability.js';
import type { RollupQuery, UsagePeriod, UsageRecord } from './types.js';

// What both backends share about the roll-up: its counter columns, the SQL that computes them from
// usage records (the migration's back-fill and PostgreSQL's write path), the fold SQLite's write
// path does in JS (the same semantics, checked against each other by the rollup spec), and rows
// back to UsagePeriod. The bound columns follow SLO_LATENCY_BOUNDS_MS (the config's file, not its
// door, which would pull half the gateway into the ledger); a change to the bounds needs a new
// migration, as the shipped ones name today's columns.

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

const BOUNDS: readonly number[] = SLO_LATENCY_BOUNDS_MS;
const NB = BOUNDS.length;

/** The counter columns in value order: requests, errors, streamed, ttft bounds, succeeded, latency bounds, tokens, cost. */
export const COUNTERS: readonly string[] = [
  'requests', 'client_errors', 'server_errors', 'streamed', ...BOUNDS.map((b) => `ttft_le_${b}`),
  'succeeded', ...BOUNDS.map((b) => `latency_le_${b}`), 'input_tokens', 'cached_input_tokens', 'output_tokens', 'cost_usd',
];
const STREAMED = 3;
const TTFT = 4;
const SUCCEEDED = TTFT + NB;
const LATENCY = SUCCEEDED + 1;
const INPUT = LATENCY + NB;
export const COUNTER_COUNT = COUNTERS.length;

/** Column definitions for CREATE TABLE (cost is floating point, the rest whole numbers). */
export function counterColumns(int: string, real: string): string {
  return COUNTERS.map((c) => `${c} ${c === 'cost_usd' ? real : int} NOT NULL`).join(',\n    ');
}

/** `c = t.c + excluded.c` for every counter: concurrent writers add, never overwrite. */
export function addCounters(table: string): string {
  return COUNTERS.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ');
}

/** The counters as aggregates over usage records (`stream` is a boolean in PostgreSQL, 0/1 in SQLite: both test as truth). */
export function counterAggregates(): string {
  const ok = 'status < 400';
  const streamed = `${ok} AND stream AND ttft_ms IS NOT NULL`;
  const n = (cond: string) => `SUM(CASE WHEN ${cond} THEN 1 ELSE 0 END)`;
  return [
    'COUNT(*)', n('status >= 400 AND status < 500'), n('status >= 500'), n(streamed), ...BOUNDS.map((b) => n(`${streamed} AND ttft_ms <= ${b}`)),
    n(ok), ...BOUNDS.map((b) => n(`${ok} AND latency_ms <= ${b}`)),
    'SUM(input_tokens)', 'SUM(cached_input_tokens)', 'SUM(output_tokens)', 'SUM(cost_usd)',
  ].join(', ');
}

/** Adds one record to a counter vector, exactly as counterAggregates counts it. */
export function addRecord(acc: Float64Array, r: UsageRecord): void {
  acc[0]++;
  const s = r.status;
  if (s >= 400 && s < 500) acc[1]++;
  else if (s >= 500) acc[2]++;
  else {
    if (r.stream && r.ttftMs !== null) {
      acc[STREAMED]++;
      for (let i = 0; i < NB; i++) if (r.ttftMs <= BOUNDS[i]) acc[TTFT + i]++;
    }
    acc[SUCCEEDED]++;
    for (let i = 0; i < NB; i++) if (r.latencyMs <= BOUNDS[i]) acc[LATENCY + i]++;
  }
  acc[INPUT] += r.inputTokens;
  acc[INPUT + 1] += r.cachedInputTokens;
  acc[INPUT + 2] += r.outputTokens;
  acc[INPUT + 3] += r.costUsd;
}

/** One period's key and counters, as a write path folds a batch. */
export interface PeriodSums {
  at: number;
  tenantId: string | null;
  tier: string;
  model: string;
  c: Float64Array;
}

/**
 * Folds records into minute and day sums, keys sorted (minute, tier, model) and (day, tenant, tier,
 * model): a write takes its row locks in one global order, so concurrent writers cannot deadlock.
 * Keys are numbers (each text, then each pair, numbered the first time the batch shows it: all
 * below 2^26, so a pair of them is exact in a double), so the fold builds no string per record.
 */
export function foldPeriods(records: Iterable<UsageRecord>): { minutes: PeriodSums[]; days: PeriodSums[] } {
  const ids = new Map<string | number, number>();
  const id = (k: string | number): number => {
    let n = ids.get(k);
    if (n === undefined) ids.set(k, (n = ids.size));
    return n;
  };
  const minutes = new Periods();
  const days = new Periods();
  for (const r of records) {
    const tier = r.tier ?? '';
    const m = Math.floor(r.startedAt / MINUTE_MS);
    const tierModel = id(id(tier) * 2 ** 26 + id(r.model));
    addRecord(minutes.slot(m, tierModel, m * MINUTE_MS, null, tier, r.model), r);
    const d = Math.floor(m / 1_440);
    addRecord(days.slot(d, id(id(r.tenantId) * 2 ** 26 + tierModel), d * DAY_MS, r.tenantId, tier, r.model), r);
  }
  return { minutes: minutes.list.sort(byKey), days: days.list.sort(byKey) };
}

/** Sums by period number, then by a key within the period (the last period's map kept at hand: records come mostly in time order). */
class Periods {
  readonly list: PeriodSums[] = [];
  private readonly byPeriod = new Map<number, Map<number, PeriodSums>>();
  private lastPeriod = NaN;
  private last: Map<number, PeriodSums> | undefined;

  slot(period: number, key: number, at: number, tenantId: string | null, tier: string, model: string): Float64Array {
    if (period !== this.lastPeriod) {
      this.lastPeriod = period;
      this.last = this.byPeriod.get(period);
      if (!this.last) this.byPeriod.set(period, (this.last = new Map()));
    }
    let s = this.last!.get(key);
    if (!s) {
      this.last!.set(key, (s = { at, tenantId, tier, model, c: new Float64Array(COUNTER_COUNT) }));
      this.list.push(s);
    }
    return s.c;
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
function byKey(a: PeriodSums, b: PeriodSums): number {
  return a.at - b.at || cmp(a.tenantId ?? '', b.tenantId ?? '') || cmp(a.tier, b.tier) || cmp(a.model, b.model);
}

/** WHERE clause of a roll-up read: periods overlapping [since, before), then the equality filters. */
export function rollupWhere(q: RollupQuery, periodMs: number, col: string, withTenant: boolean, placeholder: (i: number) => string): { sql: string; args: unknown[] } {
  const args: unknown[] = [Math.floor(q.since / periodMs) * periodMs];
  let sql = `${col} >= ${placeholder(1)}`;
  if (q.before !== undefined) { args.push(q.before); sql += ` AND ${col} < ${placeholder(args.length)}`; }
  if (withTenant && q.tenantId !== undefined) { args.push(q.tenantId); sql += ` AND tenant_id = ${placeholder(args.length)}`; }
  if (q.tier !== undefined) { args.push(q.tier); sql += ` AND tier = ${placeholder(args.length)}`; }
  if (q.model !== undefined) { args.push(q.model); sql += ` AND model = ${placeholder(args.length)}`; }
  return { sql, args };
}

/** The columns a roll-up read selects, in the order periodFromValues reads them. */
export function periodColumns(withTenant: boolean): string {
  return [withTenant ? 'day, tenant_id' : 'minute', 'tier', 'model', ...COUNTERS].join(', ');
}

/**
 * A roll-up row as an array of periodColumns' values → UsagePeriod (arrays, not objects of 29
 * named fields: a 30-day history is tens of thousands of rows). PostgreSQL hands BIGINT back as strings.
 */
export function periodFromValues(v: readonly unknown[], withTenant: boolean): UsagePeriod {
  const o = withTenant ? 4 : 3;
  const ttftWithin = new Array<number>(NB);
  const latencyWithin = new Array<number>(NB);
  for (let i = 0; i < NB; i++) {
    ttftWithin[i] = Number(v[o + TTFT + i]);
    latencyWithin[i] = Number(v[o + LATENCY + i]);
  }
  return {
    at: Number(v[0]),
    tenantId: withTenant ? (v[1] as string) : null,
    tier: v[o - 2] as string,
    model: v[o - 1] as string,
    requests: Number(v[o]),
    clientErrors: Number(v[o + 1]),
    serverErrors: Number(v[o + 2]),
    streamed: Number(v[o + STREAMED]),
    ttftWithin,
    succeeded: Number(v[o + SUCCEEDED]),
    latencyWithin,
    inputTokens: Number(v[o + INPUT]),
    cachedInputTokens: Number(v[o + INPUT + 1]),
    outputTokens: Number(v[o + INPUT + 2]),
    costUsd: Number(v[o + INPUT + 3]),
  };
}
