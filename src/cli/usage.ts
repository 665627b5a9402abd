import { ConfigError } from '../config/index.js';
import type { UsageTotals } from '../ledger/index.js';
import { findTenant, withStore, type StoreFlags } from './store.js';
import { table } from './table.js';

// `switchyard usage --tenant T [--since DATE] [--until DATE] [--json]`: a tenant's tokens and cost
// by UTC day and model. Both dates are whole UTC days and both are included; the default is the
// last 30 days up to today. One summary query per day keeps the work bounded by the days asked
// for, not by the number of requests in them.

const DAY_MS = 86_400_000;
const MAX_DAYS = 366;

export interface UsageOptions extends StoreFlags {
  tenant: string;
  since?: string;
  until?: string;
  json?: boolean;
}

interface DayRow extends UsageTotals {
  day: string;
  model: string;
}

export async function usage(opts: UsageOptions): Promise<void> {
  const until = opts.until === undefined ? Math.floor(Date.now() / DAY_MS) * DAY_MS : day('--until', opts.until);
  const since = opts.since === undefined ? until - 29 * DAY_MS : day('--since', opts.since);
  if (since > until) throw new ConfigError(`--since ${opts.since ?? iso(since)} is after --until ${opts.until ?? iso(until)}`);
  const days = (until - since) / DAY_MS + 1;
  if (days > MAX_DAYS) throw new ConfigError(`at most ${MAX_DAYS} days at once; asked for ${days} (narrow --since / --until)`);

  await withStore(opts, false, async (store) => {
    const tenant = await findTenant(store, opts.tenant);
    const rows: DayRow[] = [];
    for (let at = since; at <= until; at += DAY_MS) {
      const s = await store.usageSummary({ tenantId: tenant.id, since: at, before: at + DAY_MS });
      for (const m of s.byModel) if (m.requests > 0) rows.push({ day: iso(at), ...m });
    }
    const total = rows.reduce<UsageTotals>((t, r) => ({
      requests: t.requests + r.requests, inputTokens: t.inputTokens + r.inputTokens, cachedInputTokens: t.cachedInputTokens + r.cachedInputTokens,
      outputTokens: t.outputTokens + r.outputTokens, costUsd: t.costUsd + r.costUsd,
    }), { requests: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: 0 });

    if (opts.json) {
      const out = { tenant_id: tenant.id, since: iso(since), until: iso(until), data: rows.map((r) => ({ day: r.day, model: r.model, ...totalsJson(r) })), total: totalsJson(total) };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return;
    }
    if (rows.length === 0) return void process.stderr.write(`no usage for tenant ${tenant.id} (${tenant.name}) from ${iso(since)} to ${iso(until)}\n`);
    process.stdout.write(table(
      ['day', 'model', 'requests', 'input tokens', 'cached input', 'output tokens', 'cost USD'],
      [...rows.map((r) => [r.day, r.model, ...cells(r)]), ['total', '', ...cells(total)]],
    ));
  });
}

/** `YYYY-MM-DD` (a real calendar day) → its UTC midnight in ms. */
function day(flag: string, v: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : NaN;
  if (Number.isNaN(ms) || iso(ms) !== v) throw new ConfigError(`${flag} expects a UTC date such as 2026-01-31, got '${v}'`);
  return ms;
}

const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

const cells = (t: UsageTotals) => [t.requests, t.inputTokens, t.cachedInputTokens, t.outputTokens, t.costUsd.toFixed(6)];

const totalsJson = (t: UsageTotals) => ({
  requests: t.requests, input_tokens: t.inputTokens, cached_input_tokens: t.cachedInputTokens, output_tokens: t.outputTokens,
  // sums of float costs: rounded so JSON does not print 0.30000000000000004
  cost_usd: Math.round(t.costUsd * 1e9) / 1e9,
});
