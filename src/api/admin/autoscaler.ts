import type { PoolName, PoolSpec, ScaleDecision } from '../../control/index.js';
import type { Caller } from './caller.js';
import { badRequest, forbidden, methodNotAllowed, notFound, ok, type AdminResponse } from './reply.js';
import { limitParam, strayParam } from './query.js';

// The autoscaler under /admin/v1/autoscaler (admin token only, like the fleet): what each pool is,
// has and wants, and the decisions behind it. Read-only: the loop decides; a person changes its
// pools in the configuration.
//
//   GET /admin/v1/autoscaler                          every pool: limits, replicas, desired, last decision
//   GET /admin/v1/autoscaler/decisions?pool=&limit=   newest first

const PREFIX = '/admin/v1/autoscaler';
const DECISIONS = PREFIX + '/decisions';
/** the driver keeps the last 200 decisions per pool */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;

/** One pool as the autoscaler holds it now. */
export interface PoolStatus {
  readonly spec: PoolSpec;
  readonly replicas: { readonly starting: number; readonly ready: number; readonly draining: number };
  readonly latest: ScaleDecision | null;
}

export interface AutoscalerStatus {
  readonly enabled: boolean;
  /** this gateway runs the loop (it leads; the others only count what they see) */
  readonly leading: boolean;
  readonly pools: readonly PoolStatus[];
}

/** What the admin API reads of the gateway's autoscaler (declared here: api/ does not import gateway/). */
export interface AutoscalerView {
  status(): AutoscalerStatus;
  /** newest last: one pool's, or every pool's in time order */
  decisions(pool?: PoolName): readonly ScaleDecision[];
}

/** True for every path this file answers (the routes and anything mistyped under them). */
export function isAutoscalerPath(pathname: string): boolean {
  return pathname === PREFIX || pathname.startsWith(PREFIX + '/');
}

const ADMIN_ONLY = forbidden('the autoscaler API needs the admin token; tenant API keys cannot use it');
const OFF: AutoscalerStatus = { enabled: false, leading: false, pools: [] };

export type AutoscalerHandler = (caller: Caller, method: string, pathname: string, query: URLSearchParams) => AdminResponse;

/** `view` null: the autoscaler is off, and says so with 200 and no pools. */
export function createAutoscalerRoutes(view: AutoscalerView | null): AutoscalerHandler {
  return (caller, method, pathname, query) => {
    const path = pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
    if (path !== PREFIX && path !== DECISIONS) return notFound(`no admin route ${pathname}; see ${PREFIX} and ${DECISIONS}`);
    if (method !== 'GET') return methodNotAllowed(method, ['GET']);
    if (!caller.admin) return ADMIN_ONLY;
    const unknown = strayParam(query, path === PREFIX ? NO_PARAMS : DECISION_PARAMS);
    if (unknown !== null) return badRequest(unknown);
    const status = view?.status() ?? OFF;
    if (path === PREFIX) return ok(200, { type: 'autoscaler', enabled: status.enabled, leading: status.leading, pools: status.pools.map(poolView) });
    const limit = limitParam(query, DEFAULT_LIMIT, MAX_LIMIT);
    if (!limit.ok) return badRequest(limit.message);
    const pool = query.get('pool');
    const known = status.pools.map((p) => p.spec.name).join(', ') || '(none: the autoscaler is off)';
    if (pool === '') return badRequest(`pool: empty; name a pool (${known}) or leave it out`);
    if (pool !== null && !status.pools.some((p) => p.spec.name === pool)) return notFound(`pool: no autoscaled pool ${pool}; the pools are ${known}`);
    const all = view?.decisions(pool ?? undefined) ?? [];
    const newest: ReturnType<typeof decisionView>[] = [];
    for (let i = all.length - 1; i >= 0 && newest.length < limit.value; i--) newest.push(decisionView(all[i]));
    return ok(200, { data: newest, has_more: all.length > newest.length });
  };
}

const NO_PARAMS: readonly string[] = [];
const DECISION_PARAMS: readonly string[] = ['pool', 'limit'];

const iso = (ms: number): string => new Date(ms).toISOString();

function poolView(p: PoolStatus) {
  const s = p.spec;
  const d = p.latest;
  return {
    pool: s.name, model: s.model, region: s.region, min: s.min, max: s.max, scale_to_zero: s.scaleToZero, startup_ms: s.startupMs,
    slo: { ttft_ms: s.slo.ttftMs, itl_ms: s.slo.itlMs },
    replicas: { starting: p.replicas.starting, ready: p.replicas.ready, draining: p.replicas.draining },
    desired: d?.to ?? null,
    last_decision: d === null ? null : { at: iso(d.atMs), from: d.from, to: d.to, reason: d.reason, detail: d.detail },
  };
}

function decisionView(d: ScaleDecision) {
  return {
    type: 'autoscaler_decision', at: iso(d.atMs), pool: d.pool, policy: d.policy, from: d.from, to: d.to, reason: d.reason, detail: d.detail,
    plan: { start: d.plan.start, drain: d.plan.drain },
  };
}
