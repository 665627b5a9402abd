import type { Replica } from '../../fleet/index.js';
import type { SloStatus } from '../../observe/slo/index.js';
import type { AdminView } from './api.js';
import type { Caller } from './caller.js';
import type { Resolved } from './dashboard.js';
import { fleetSpend, ownSpend, usd } from './dashboard-spend.js';
import { strayParam } from './query.js';
import { badRequest, methodNotAllowed, ok } from './reply.js';

// The dashboard's first view in one answer, so it renders after one round trip: the fleet by
// region and pool, the last minutes of traffic, the SLOs, the month's spend, the active rollouts
// and the autoscaler. A tenant key gets its own tenant's traffic, SLOs (its tier's) and spend; the
// fleet, rollouts and autoscaler are the operator's (null, and no rollouts).
//
//   GET /admin/v1/overview

const PATH = '/admin/v1/overview';
/** the traffic summary's reach: recent enough to be "now", long enough to hold a p95 */
const SUMMARY_MS = 5 * 60_000;
const MAX_ROLLOUTS = 20;

interface Pool {
  model: string;
  replicas: number;
  routable: number;
  unhealthy: number;
  ejected: number;
  draining: number;
  inflight: number;
  /** the mean KV-cache use (0–1) of its replicas with a scrape; null with none */
  kv_usage: number | null;
  kvSum: number;
  kvN: number;
}

function fleetView(all: readonly Replica[]) {
  const regions = new Map<string, Map<string, Pool>>();
  for (const r of all) {
    let pools = regions.get(r.region);
    if (pools === undefined) regions.set(r.region, (pools = new Map()));
    let p = pools.get(r.model);
    if (p === undefined) pools.set(r.model, (p = { model: r.model, replicas: 0, routable: 0, unhealthy: 0, ejected: 0, draining: 0, inflight: 0, kv_usage: null, kvSum: 0, kvN: 0 }));
    p.replicas++;
    if (r.routable) p.routable++;
    if (!r.healthy) p.unhealthy++;
    if (r.ejectedUntilMs !== 0) p.ejected++;
    if (r.draining) p.draining++;
    p.inflight += r.inflight;
    if (r.scraped !== null) {
      p.kvSum += r.scraped.kvUsage;
      p.kvN++;
    }
  }
  const byName = <T>(m: Map<string, T>): Array<[string, T]> => [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    regions: byName(regions).map(([name, pools]) => ({
      name,
      pools: byName(pools).map(([, p]) => ({
        model: p.model, replicas: p.replicas, routable: p.routable, unhealthy: p.unhealthy, ejected: p.ejected, draining: p.draining,
        inflight: p.inflight, kv_usage: p.kvN === 0 ? null : Math.round((p.kvSum / p.kvN) * 1e4) / 1e4,
      })),
    })),
  };
}

function trafficSummary(d: Resolved, caller: Caller) {
  const w = d.traffic;
  const ms = Math.min(SUMMARY_MS, w.windowMs);
  const t = w.totals(caller.admin ? null : { tenant: caller.auth.tenantId }, ms);
  return {
    window_s: ms / 1000, requests: t.requests, rps: Math.round((t.requests / (ms / 1000)) * 1000) / 1000,
    error_ratio: t.requests === 0 ? 0 : Math.round((t.errors5xx / t.requests) * 1e6) / 1e6,
    p50_ms: t.latency.p50, p95_ms: t.latency.p95, ttft_p50_ms: t.ttft.p50, ttft_p95_ms: t.ttft.p95,
  };
}

/** `burning`: SLOs spending their budget faster than it lasts over the last hour (burn > 1). */
function sloSummary(all: readonly SloStatus[], caller: Caller) {
  let total = 0, burning = 0, firing = 0;
  for (const s of all) {
    if (!caller.admin && s.tier !== '*' && s.tier !== caller.auth.tier) continue;
    total++;
    if (s.burnRates['1h'] > 1) burning++;
    for (const a of s.alerts) if (a.firing) firing++;
  }
  return { total, burning, alerts_firing: firing };
}

async function activeRollouts(d: Resolved) {
  if (d.rollouts == null) return [];
  const rows = await d.rollouts.list({ active: true, limit: MAX_ROLLOUTS });
  return rows.map(({ state: s }) => ({
    id: s.id, model: s.model, stable: s.stable, candidate: s.candidate, phase: s.phase, weights: s.weights,
    step: { index: s.step, of: s.spec.steps.length }, wave: { index: s.wave, of: s.waves.length },
    updated_at: new Date(s.updatedAtMs).toISOString(),
  }));
}

function autoscalerSummary(d: Resolved) {
  const st = d.autoscaler?.status();
  if (st === undefined) return { enabled: false, leading: false, pools: [] };
  return {
    enabled: st.enabled, leading: st.leading,
    pools: st.pools.map((p) => ({
      pool: p.spec.name, model: p.spec.model, region: p.spec.region, min: p.spec.min, max: p.spec.max,
      ready: p.replicas.ready, starting: p.replicas.starting, draining: p.replicas.draining, desired: p.latest?.to ?? null,
    })),
  };
}

async function spendSummary(d: Resolved, caller: Caller) {
  if (caller.admin) {
    const f = await fleetSpend(d);
    return f === null ? null : { month_to_date_usd: f.monthToDateUsd, tenants_over_budget: f.tenantsOverBudget };
  }
  const own = await ownSpend(d, caller.auth.tenantId);
  return own === null ? null : { month_to_date_usd: usd(own.monthToDateUsd), tenants_over_budget: own.overBudget ? 1 : 0 };
}

export function overviewView(d: Resolved): AdminView {
  return {
    matches: (p) => p === PATH || p === PATH + '/',
    async handle(caller, method, _pathname, query) {
      if (method !== 'GET') return methodNotAllowed(method, ['GET']);
      const stray = strayParam(query, []);
      if (stray !== null) return badRequest(stray);
      // the store's parts at once; the rest is memory
      const [spend, rollouts] = await Promise.all([spendSummary(d, caller), caller.admin ? activeRollouts(d) : []]);
      return ok(200, {
        fleet: caller.admin && d.fleet !== undefined ? fleetView(d.fleet.all) : null,
        traffic: trafficSummary(d, caller),
        slo: sloSummary(d.slo?.status() ?? [], caller),
        spend,
        rollouts,
        autoscaler: caller.admin ? autoscalerSummary(d) : null,
        generated_at: new Date(d.clock.nowMs()).toISOString(),
      });
    },
  };
}
