import type { DbRow } from './common.js';
import type { DayWindow, ReplicaTimeRecord, TokensByDay } from './types.js';

// What both backends' cost records share: checking records, merging a batch, day strings, the
// token query and reading rows back, so SQLite and PostgreSQL give the same answers to the same
// questions.

const DAY_MS = 86_400_000;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
// Window bounds past these days map to strings outside every valid day, so ranges still compare.
const FIRST_DAY_MS = Date.parse('0000-01-01T00:00:00Z');
const PAST_LAST_DAY_MS = Date.parse('9999-12-31T00:00:00Z') + DAY_MS;

/** A record or window the cost store refuses; `path` names the offending field. */
export class CostStoreError extends Error {
  readonly kind = 'invalid' as const;
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'CostStoreError';
  }
}

/** `YYYY-MM-DD` of the UTC day with this number (days since the epoch). */
export function dayString(dayNumber: number): string {
  return new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
}

function isDay(s: unknown): s is string {
  return typeof s === 'string' && DAY.test(s) && !Number.isNaN(Date.parse(s + 'T00:00:00Z')) && new Date(s + 'T00:00:00Z').toISOString().startsWith(s);
}

/** The first day whose midnight is at or after `ms`: day D is in [since, before) iff bound(since) ≤ D < bound(before). */
function dayBound(ms: number): string {
  if (ms <= FIRST_DAY_MS) return '0000-01-01';
  if (ms > PAST_LAST_DAY_MS - DAY_MS) return '9999-99-99'; // after every valid day
  return dayString(Math.ceil(ms / DAY_MS));
}

function checkWindow(w: DayWindow): void {
  for (const f of ['since', 'before'] as const) {
    if (typeof w?.[f] !== 'number' || Number.isNaN(w[f])) throw new CostStoreError(`window.${f}`, `must be a time in ms since the epoch, got ${String(w?.[f])}`);
  }
}

/** The window as day strings, for the replica-time key range. */
export function dayRange(w: DayWindow): { from: string; to: string } {
  checkWindow(w);
  return { from: dayBound(w.since), to: dayBound(w.before) };
}

/**
 * The window as whole ms for a started_at range (both dialects bind integers: PostgreSQL refuses a
 * fraction for a BIGINT). Usage times are whole ms, so t ≥ x ⇔ t ≥ ⌈x⌉ and t < x ⇔ t < ⌈x⌉.
 */
function msRange(w: DayWindow): { since: number; before: number } {
  checkWindow(w);
  const clamp = (x: number) => Math.max(-8.64e15, Math.min(8.64e15, Math.ceil(x)));
  return { since: clamp(w.since), before: clamp(w.before) };
}

const cmp = (a: string | null, b: string | null): number => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1);

const isSeconds = (n: unknown): boolean => typeof n === 'number' && Number.isFinite(n) && n >= 0;

function check(r: ReplicaTimeRecord, i: number): void {
  const at = (f: string) => `replicaTime[${i}].${f}`;
  if (r === null || typeof r !== 'object') throw new CostStoreError(`replicaTime[${i}]`, 'must be a record');
  if (!isDay(r.day)) throw new CostStoreError(at('day'), `must be a UTC day as YYYY-MM-DD, got ${JSON.stringify(r.day)}`);
  if (typeof r.replica !== 'string' || r.replica === '') throw new CostStoreError(at('replica'), 'must be a non-empty replica id');
  for (const f of ['pool', 'region', 'model'] as const) {
    if (typeof r[f] !== 'string') throw new CostStoreError(at(f), `must be a string, got ${JSON.stringify(r[f])}`);
  }
  for (const f of ['profile', 'gpu'] as const) {
    if (r[f] !== null && typeof r[f] !== 'string') throw new CostStoreError(at(f), `must be a string or null, got ${JSON.stringify(r[f])}`);
  }
  if (!Number.isInteger(r.gpus) || r.gpus < 0) throw new CostStoreError(at('gpus'), `must be a whole number ≥ 0, got ${String(r.gpus)}`);
  for (const f of ['usdPerGpuHour', 'upS', 'busyS'] as const) {
    if (!isSeconds(r[f])) throw new CostStoreError(at(f), `must be a finite number ≥ 0, got ${String(r[f])}`);
  }
}

/**
 * The batch checked (the first bad record throws, before anything is written) and merged to one
 * record per (day, replica): seconds summed, other fields the last record's. PostgreSQL needs the
 * merge (one upsert statement may not touch a row twice); SQLite writes fewer rows for it.
 */
export function mergeReplicaTime(batch: readonly ReplicaTimeRecord[]): ReplicaTimeRecord[] {
  batch.forEach(check);
  const rows = new Map<string, ReplicaTimeRecord>();
  for (const r of batch) {
    const key = r.day + '\u0000' + r.replica;
    const had = rows.get(key);
    rows.set(key, had ? { ...r, upS: had.upS + r.upS, busyS: had.busyS + r.busyS } : { ...r });
  }
  // in key order: two writers upserting overlapping batches then lock rows in the same order (no deadlock)
  return [...rows.values()].sort((a, b) => cmp(a.day, b.day) || cmp(a.replica, b.replica));
}

export const REPLICA_TIME_COLUMNS = ['day', 'replica', 'pool', 'region', 'model', 'profile', 'gpu', 'gpus', 'usd_per_gpu_hour', 'up_s', 'busy_s'] as const;

/** How each column is read from a record, in REPLICA_TIME_COLUMNS order. */
export const REPLICA_TIME_VALUES: ReadonlyArray<(r: ReplicaTimeRecord) => unknown> = [
  (r) => r.day, (r) => r.replica, (r) => r.pool, (r) => r.region, (r) => r.model, (r) => r.profile, (r) => r.gpu,
  (r) => r.gpus, (r) => r.usdPerGpuHour, (r) => r.upS, (r) => r.busyS,
];

/** The upsert's conflict action, `existing` naming the stored row (SQLite: the table; PostgreSQL: its alias). */
export function addOnConflict(existing: string): string {
  return `ON CONFLICT (day, replica) DO UPDATE SET up_s = ${existing}.up_s + excluded.up_s, busy_s = ${existing}.busy_s + excluded.busy_s, ` +
    'pool = excluded.pool, region = excluded.region, model = excluded.model, profile = excluded.profile, gpu = excluded.gpu, ' +
    'gpus = excluded.gpus, usd_per_gpu_hour = excluded.usd_per_gpu_hour';
}

export function replicaTimeFromRow(r: DbRow): ReplicaTimeRecord {
  return {
    day: r.day as string, replica: r.replica as string, pool: r.pool as string, region: r.region as string, model: r.model as string,
    profile: (r.profile as string | null) ?? null, gpu: (r.gpu as string | null) ?? null, gpus: Number(r.gpus),
    usdPerGpuHour: Number(r.usd_per_gpu_hour), upS: Number(r.up_s), busyS: Number(r.busy_s),
  };
}

/**
 * Token sums per UTC day (`day` is the day's number: `dayExpr`, started_at integer-divided by
 * 86 400 000, spelled exactly as the usage_day_tokens index spells it), replica, region, tenant
 * and model. The day bounds make the window one range of that index, in GROUP BY order; the
 * started_at bounds cut a window that starts or ends inside a day. Placeholders in order:
 * first day, last day, since, before (see tokenArgs).
 */
export function tokensSelect(dayExpr: string, placeholder: (i: number) => string): string {
  return `SELECT ${dayExpr} AS day, replica, region, tenant_id, model, COUNT(*) AS n, SUM(input_tokens) AS input, ` +
    'SUM(cached_input_tokens) AS cached, SUM(output_tokens) AS output FROM usage_records ' +
    `WHERE ${dayExpr} >= ${placeholder(1)} AND ${dayExpr} <= ${placeholder(2)} AND started_at >= ${placeholder(3)} AND started_at < ${placeholder(4)} ` +
    'GROUP BY 1, 2, 3, 4, 5';
}

/**
 * tokensSelect's arguments, or null for an empty window. The day bounds truncate as SQL's integer
 * division does; it never decreases as the time grows, so every time in the window has its day
 * between them.
 */
export function tokenArgs(w: DayWindow): [number, number, number, number] | null {
  const { since, before } = msRange(w);
  if (since >= before) return null;
  return [Math.trunc(since / DAY_MS), Math.trunc((before - 1) / DAY_MS), since, before];
}

/**
 * Rows of tokensSelect → records, ordered by day, replica, region, tenant, model (nulls first,
 * code-unit order): sorted here, since the dialects order nulls and text differently.
 */
export function tokensFromRows(rows: readonly DbRow[]): TokensByDay[] {
  const out = rows.map((r): TokensByDay => ({
    day: dayString(Number(r.day)), replica: (r.replica as string | null) ?? null, region: (r.region as string | null) ?? null,
    tenantId: r.tenant_id as string, model: r.model as string, requests: Number(r.n),
    inputTokens: Number(r.input ?? 0), cachedInputTokens: Number(r.cached ?? 0), outputTokens: Number(r.output ?? 0),
  }));
  return out.sort((a, b) => cmp(a.day, b.day) || cmp(a.replica, b.replica) || cmp(a.region, b.region) || cmp(a.tenantId, b.tenantId) || cmp(a.model, b.model));
}

