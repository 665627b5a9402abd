import {
  COST_KEYS, DEFAULT_COST_DAYS, MAX_COST_DAYS, costDayJson, costDays, costsByDay, profileWeights, totalOf, utcDay, type CostDay, type CostKey,
} from '../control/economics/index.js';
import { ConfigError } from '../config/index.js';
import { withStore, type StoreFlags } from './store.js';
import { table } from './table.js';

// `switchyard costs [--by model|pool|region|tenant] [--days N | --since DATE --until DATE] [--json]`:
// what the fleet cost per UTC day, from the replica time the gateway flushed to the store and the
// ledger's tokens, joined by control/economics costsByDay. Idle time is a cost: utilisation and the
// idle share stand beside it. Two range queries, whatever the number of days.

const DAY_MS = 86_400_000;

export interface CostsOptions extends StoreFlags {
  by?: string;
  /** the N days ending today (default 7); not with since/until */
  days?: string;
  since?: string;
  until?: string;
  json?: boolean;
  /** "today" for tests; default the clock */
  nowMs?: number;
}

export async function costs(opts: CostsOptions): Promise<void> {
  const by = keyOf(opts.by);
  const { since, until } = windowOf(opts);
  await withStore(opts, false, async (store) => {
    const w = { since, before: until + DAY_MS };
    const rows = costsByDay(await store.replicaTime(w), await store.tokensByDay(w), by, profileWeights());
    const total = totalOf(rows, 'total', '');
    if (opts.json) {
      // the admin API's body (GET /admin/v1/costs) field for field, but its `type`
      const out = { by, since: iso(since), until: iso(until), total_usd: costDayJson(total).usd, data: rows.map(costDayJson), total: costDayJson(total) };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return;
    }
    if (rows.length === 0) return void process.stderr.write(`no replica time or usage from ${iso(since)} to ${iso(until)}\n`);
    process.stdout.write(table(
      ['day', by, 'USD', 'GPU-h', 'util %', 'idle USD', 'tokens in', 'tokens out', '$/M in', '$/M out'],
      [...rows.map(cells), cells(total)],
    ));
  });
}

function keyOf(v: string | undefined): CostKey {
  if (v === undefined) return 'model';
  if ((COST_KEYS as readonly string[]).includes(v)) return v as CostKey;
  throw new ConfigError(`--by expects one of ${COST_KEYS.join(', ')}, got '${v}'`);
}

/** Whole UTC days, both ends included: --days N ending today, or --since/--until. */
function windowOf(o: CostsOptions): { since: number; until: number } {
  const nowMs = o.nowMs ?? Date.now();
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  if (o.days !== undefined && (o.since !== undefined || o.until !== undefined)) {
    throw new ConfigError('--days counts back from today; give it or --since/--until, not both');
  }
  if (o.since === undefined && o.until === undefined) {
    // digits only: Number() would take '', ' 7', '1e2' and '0x10'
    const n = o.days === undefined ? DEFAULT_COST_DAYS : /^\d{1,4}$/.test(o.days) ? Number(o.days) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > MAX_COST_DAYS) throw new ConfigError(`--days expects a whole number of days from 1 to ${MAX_COST_DAYS}, got '${o.days}'`);
    return { since: today - (n - 1) * DAY_MS, until: today };
  }
  // as the admin API: --since alone runs to today (or is the one day, when it is later)
  const w = costDays(o.since === undefined ? undefined : day('--since', o.since), o.until === undefined ? undefined : day('--until', o.until), nowMs);
  if (w.ok) return { since: w.since, until: w.until };
  if (w.problem === 'reversed') throw new ConfigError(`--since ${o.since ?? iso(w.since)} is after --until ${o.until ?? iso(w.until)}`);
  throw new ConfigError(`at most ${MAX_COST_DAYS} days at once; asked for ${w.days} (narrow --since / --until)`);
}

/** `YYYY-MM-DD` (a real calendar day) → its UTC midnight in ms. */
function day(flag: string, v: string): number {
  const ms = utcDay(v);
  if (ms === null) throw new ConfigError(`${flag} expects a UTC date such as 2026-01-31, got '${v}'`);
  return ms;
}

const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

const usd = (x: number) => x.toFixed(4);
const perM = (x: number | null) => (x === null ? '-' : x.toFixed(4));

const cells = (r: CostDay) => [
  r.day, r.key, usd(r.usd), r.gpuHours.toFixed(2), r.utilisation === null ? '-' : (r.utilisation * 100).toFixed(1), usd(r.idleUsd),
  r.inputTokens, r.outputTokens, perM(r.inputUsdPerM), perM(r.outputUsdPerM),
];
