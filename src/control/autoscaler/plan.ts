import type { ReplicaReport, ScalePlan } from './types.js';

// From a number of replicas wanted to what the actuator must do. Replicas already draining are on
// their way out: they are neither counted nor drained again. Going down, the cheapest replica to
// lose goes first: one still starting (it serves nothing yet, and the newest is the furthest from
// serving), then a ready one whose telemetry went stale (it may be gone already), then the ready
// one with the least in flight (the fewest requests to wait out).

export const NO_CHANGE: ScalePlan = Object.freeze({ start: 0, drain: Object.freeze([]) as readonly string[] });

const newestFirst = (a: ReplicaReport, b: ReplicaReport): number => b.sinceMs - a.sinceMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function isStale(r: ReplicaReport, nowMs: number, staleAfterMs: number): boolean {
  return r.reportedAtMs === null || nowMs - r.reportedAtMs > staleAfterMs;
}

/** A plan that takes the pool's starting and ready replicas to `desired` (a count ≥ 0; a fraction is rounded up). */
export function planScale(desired: number, replicas: readonly ReplicaReport[], nowMs: number, staleAfterMs: number): ScalePlan {
  const want = Number.isFinite(desired) ? Math.max(0, Math.ceil(desired)) : 0;
  const starting: ReplicaReport[] = [];
  const stale: ReplicaReport[] = [];
  const fresh: ReplicaReport[] = [];
  for (const r of replicas) {
    if (r.phase === 'starting') starting.push(r);
    else if (r.phase === 'ready') (isStale(r, nowMs, staleAfterMs) ? stale : fresh).push(r);
  }
  const active = starting.length + stale.length + fresh.length;
  if (want > active) return { start: want - active, drain: [] };
  if (want === active) return NO_CHANGE;
  starting.sort(newestFirst);
  stale.sort(newestFirst);
  fresh.sort((a, b) => a.inflight - b.inflight || newestFirst(a, b));
  const order = [...starting, ...stale, ...fresh];
  return { start: 0, drain: order.slice(0, active - want).map((r) => r.id) };
}

export const isEmptyPlan = (p: ScalePlan): boolean => p.start === 0 && p.drain.length === 0;
