import { COST_KEYS, MAX_COST_DAYS, costDayJson, costDays, costsByDay, totalOf, utcDay, type CostKey, type PhaseWeights } from '../../control/economics/index.js';
import type { CostStore } from '../../ledger/index.js';
import type { Clock } from '../../time/index.js';
import type { Caller } from './caller.js';
import { badRequest, forbidden, methodNotAllowed, notFound, ok, type AdminResponse } from './reply.js';
import { strayParam } from './query.js';

// Unit economics under /admin/v1/costs (admin token only: it shows every tenant's share):
//
//   GET /admin/v1/costs?by=model|pool|region|tenant&since=YYYY-MM-DD&until=YYYY-MM-DD
//       per UTC day and key, from the store: GPU cost, utilisation beside it, idle cost, tokens and
//       cost per million input and output tokens (control/economics costsByDay). Default: by model,
//       the last 7 UTC days, today included; `until` is inclusive.
//   GET /admin/v1/costs/live
//       this gateway's cost meter: per pool its replicas, GPUs, USD per hour now, and over the
//       trailing hour its utilisation and cost per million tokens; per tenant its share.

const PREFIX = '/admin/v1/costs';
const LIVE = PREFIX + '/live';
const DAY_MS = 86_400_000;

export interface LivePoolCost {
  readonly pool: string;
  readonly model: string;
  readonly region: string;
  /** in the fleet now */
  readonly replicas: number;
  readonly gpus: number;
  /** what its replicas cost per hour now */
  readonly usdPerHour: number;
  /** the trailing hour's */
  readonly usd: number;
  readonly upS: number;
  readonly busyS: number;
  readonly utilisation: number | null;
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
  readonly inputUsdPerM: number | null;
  readonly outputUsdPerM: number | null;
  /** its replicas now, grouped by what they run on and what it costs (profile null: unknown hardware) */
  readonly hardware: ReadonlyArray<{ profile: string | null; gpu: string | null; gpus: number; usdPerGpuHour: number; priceFrom: string; replicas: number }>;
}

export interface LiveTenantCost {
  readonly tenant: string;
  readonly usd: number;
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
  readonly inputUsdPerM: number | null;
  readonly outputUsdPerM: number | null;
}

export interface LiveCosts {
  /** this gateway writes replica time to the store */
  readonly leading: boolean;
  /** the trailing window, seconds */
  readonly windowS: number;
  readonly pools: readonly LivePoolCost[];
  readonly tenants: readonly LiveTenantCost[];
}

/** What the admin API reads of the gateway's cost meter (declared here: api/ does not import gateway/). */
export interface CostsLiveView {
  live(): LiveCosts;
}

export interface CostRoutesDeps {
  readonly store: Pick<CostStore, 'replicaTime' | 'tokensByDay'>;
  /** today, for the default window */
  readonly clock: Clock;
  /** the engine model's phase split for a hardware profile (null: unknown) */
  weights(profile: string | null): PhaseWeights;
  /** null: the gateway runs no cost meter (`costs.enabled: false`) */
  readonly live: CostsLiveView | null;
}

/** True for every path this file answers (the routes and anything mistyped under them). */
export function isCostsPath(pathname: string): boolean {
  return pathname === PREFIX || pathname.startsWith(PREFIX + '/');
}

const ADMIN_ONLY = forbidden('the costs API needs the admin token; tenant API keys cannot use it');

export type CostsHandler = (caller: Caller, method: string, pathname: string, query: URLSearchParams) => Promise<AdminResponse>;

export function createCostRoutes(d: CostRoutesDeps): CostsHandler {
  return async (caller, method, pathname, query) => {
    const path = pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
    if (path !== PREFIX && path !== LIVE) return notFound(`no admin route ${pathname}; see ${PREFIX} and ${LIVE}`);
    if (method !== 'GET') return methodNotAllowed(method, ['GET']);
    if (!caller.admin) return ADMIN_ONLY;
    const stray = strayParam(query, path === PREFIX ? DAILY_PARAMS : NO_PARAMS);
    if (stray !== null) return badRequest(stray);
    if (path === LIVE) {
      if (d.live === null) return ok(200, { type: 'costs_live', enabled: false, leading: false, window_s: 0, pools: [], tenants: [] });
      return ok(200, liveView(d.live.live()));
    }
    const q = dailyQuery(query, d.clock.nowMs());
    if (!q.ok) return badRequest(q.message);
    const w = { since: q.since, before: q.until + DAY_MS };
    const [time, tokens] = await Promise.all([d.store.replicaTime(w), d.store.tokensByDay(w)]);
    const rows = costsByDay(time, tokens, q.by, d.weights);
    // the same body as `switchyard costs --json`, with its type
    const total = costDayJson(totalOf(rows, 'total', ''));
    return ok(200, {
      type: 'costs', by: q.by, since: dayOf(q.since), until: dayOf(q.until),
      total_usd: total.usd,
      data: rows.map(costDayJson),
      total,
    });
  };
}

const NO_PARAMS: readonly string[] = [];
const DAILY_PARAMS: readonly string[] = ['by', 'since', 'until'];

type DailyQuery = { ok: true; by: CostKey; since: number; until: number } | { ok: false; message: string };

/** `by`, `since`, `until` (UTC midnights, ms); the message names the parameter at fault. */
function dailyQuery(query: URLSearchParams, nowMs: number): DailyQuery {
  const byRaw = query.get('by') ?? 'model';
  if (!(COST_KEYS as readonly string[]).includes(byRaw)) return { ok: false, message: `by: expected one of ${COST_KEYS.join(', ')}, got '${byRaw}'` };
  const since = parseDay(query, 'since');
  if (!since.ok) return since;
  const until = parseDay(query, 'until');
  if (!until.ok) return until;
  const w = costDays(since.value, until.value, nowMs);
  if (w.ok) return { ok: true, by: byRaw as CostKey, since: w.since, until: w.until };
  return {
    ok: false,
    message: w.problem === 'reversed'
      ? `since: ${dayOf(w.since)} is after until (${dayOf(w.until)}); until is inclusive, so one day is since=until`
      : `since: the window is ${w.days} days; ask for at most ${MAX_COST_DAYS} at a time`,
  };
}

function parseDay(query: URLSearchParams, field: string): { ok: true; value: number | undefined } | { ok: false; message: string } {
  const v = query.get(field);
  if (v === null) return { ok: true, value: undefined };
  const ms = utcDay(v);
  if (ms === null) return { ok: false, message: `${field}: expected a UTC day as YYYY-MM-DD, such as 2026-01-31, got '${v}'` };
  return { ok: true, value: ms };
}

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
/** to a billionth: no float noise in the JSON */
const round = (v: number): number => Math.round(v * 1e9) / 1e9;
const roundOrNull = (v: number | null): number | null => (v === null ? null : round(v));

function liveView(l: LiveCosts) {
  return {
    type: 'costs_live', enabled: true, leading: l.leading, window_s: l.windowS,
    pools: l.pools.map((p) => ({
      pool: p.pool, model: p.model, region: p.region, replicas: p.replicas, gpus: p.gpus, usd_per_hour: round(p.usdPerHour),
      usd: round(p.usd), up_s: round(p.upS), busy_s: round(p.busyS), utilisation: roundOrNull(p.utilisation),
      input_tokens: Math.round(p.inputTokens), cached_input_tokens: Math.round(p.cachedInputTokens), output_tokens: Math.round(p.outputTokens),
      input_usd_per_m: roundOrNull(p.inputUsdPerM), output_usd_per_m: roundOrNull(p.outputUsdPerM),
      hardware: p.hardware.map((h) => ({
        profile: h.profile, gpu: h.gpu, gpus: h.gpus, usd_per_gpu_hour: h.usdPerGpuHour, price_from: h.priceFrom, replicas: h.replicas,
        ...(h.profile === null ? { note: 'hardware unknown: counted as 1 GPU at the fallback price; state `profile` (and `usdPerGpuHour`) on the replica in `replicas:`' } : {}),
      })),
    })),
    tenants: l.tenants.map((t) => ({
      tenant: t.tenant, usd: round(t.usd), input_tokens: Math.round(t.inputTokens), cached_input_tokens: Math.round(t.cachedInputTokens), output_tokens: Math.round(t.outputTokens),
      input_usd_per_m: roundOrNull(t.inputUsdPerM), output_usd_per_m: roundOrNull(t.outputUsdPerM),
    })),
  };
}
