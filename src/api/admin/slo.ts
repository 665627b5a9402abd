import type { SloStatus } from '../../observe/slo/index.js';
import type { AdminView } from './api.js';
import type { Caller } from './caller.js';
import { strayParam } from './query.js';
import { badRequest, methodNotAllowed, ok, type AdminResponse } from './reply.js';

// GET /admin/v1/slo: every SLO's error budget, burn rates and alerts, judged as of the request.
// The admin token sees them all with their counts; a tenant key sees the SLOs its tier is held to
// (its own tier's and those for every tier), as ratios only: counts would tell it the fleet's traffic.

const PATH = '/admin/v1/slo';
const NO_PARAMS: readonly string[] = [];
const GET = ['GET'];

/** What the view reads of the gateway's SLO tracker. */
export interface SloSource {
  status(): readonly SloStatus[];
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function sloJson(s: SloStatus, counts: boolean) {
  return {
    name: s.name, kind: s.kind, model: s.model, tier: s.tier, objective: s.objective, window_days: s.windowDays,
    ...(s.signal === null ? {} : { signal: s.signal, threshold_ms: s.thresholdMs }),
    ...(counts ? { good: s.good, valid: s.valid } : {}),
    bad_ratio: s.badRatio, error_budget_remaining: s.errorBudgetRemaining, burn_rates: s.burnRates,
    alerts: s.alerts.map((a) => ({ severity: a.severity, rule: a.rule, factor: a.factor, firing: a.firing, since: iso(a.since) })),
  };
}

/** `tracker` null: no SLO is configured, answered as an empty list. */
export function sloView(tracker: SloSource | null): AdminView {
  return {
    matches: (pathname) => pathname === PATH || pathname === PATH + '/',
    handle(caller: Caller, method: string, _pathname: string, query: URLSearchParams): AdminResponse {
      if (method !== 'GET') return methodNotAllowed(method, GET);
      const stray = strayParam(query, NO_PARAMS);
      if (stray !== null) return badRequest(stray);
      const all = tracker?.status() ?? [];
      const seen = caller.admin ? all : all.filter((s) => s.tier === '*' || s.tier === caller.auth.tier);
      return ok(200, { data: seen.map((s) => sloJson(s, caller.admin)), evaluated_at: iso(all[0]?.evaluatedAt ?? null) });
    },
  };
}
