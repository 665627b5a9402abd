import type { RegionView } from './types.js';

// How a rollout reads a fleet and what weight it gives each replica: one rule, written once, for
// the gateway's replicas and the simulator's. Each side says only what its replicas' states mean.

/** What the rule reads of a replica. */
export interface VersionedReplica {
  readonly region: string;
  readonly version: string;
  /** requests in flight on it (this gateway's count) */
  readonly inflight: number;
}

/** What a replica's state means, side by side: the fleet's own notions. */
export interface ReplicaStates<R> {
  /** could serve were it given traffic: healthy, not ejected, not draining (its weight not asked) */
  inService(r: R): boolean;
  /** may take a candidate's traffic: in service, probed since it joined, warmed if its version asks */
  ready(r: R): boolean;
  /** ejected by outlier detection now */
  ejected(r: R): boolean;
}

/** A version's full share of a region. */
export const FULL_SHARE = 100;

/** Each region with a replica of the stable or candidate version, in name order. */
export function regionViews<R extends VersionedReplica>(
  replicas: Iterable<R>, stable: string, candidate: string, perReplicaLimit: number, states: ReplicaStates<R>,
): RegionView[] {
  const by = new Map<string, { stableReplicas: number; stableReady: number; candidateReplicas: number; candidateReady: number; candidateEjected: number; inflight: number }>();
  for (const r of replicas) {
    const isStable = r.version === stable;
    if (!isStable && r.version !== candidate) continue;
    let v = by.get(r.region);
    if (v === undefined) by.set(r.region, (v = { stableReplicas: 0, stableReady: 0, candidateReplicas: 0, candidateReady: 0, candidateEjected: 0, inflight: 0 }));
    v.inflight += r.inflight;
    if (isStable) {
      v.stableReplicas++;
      if (states.inService(r)) v.stableReady++;
    } else {
      v.candidateReplicas++;
      if (states.ready(r)) v.candidateReady++;
      if (states.ejected(r)) v.candidateEjected++;
    }
  }
  const out: RegionView[] = [];
  for (const [region, v] of by) out.push({ region, ...v, perReplicaLimit });
  return out.sort((a, b) => (a.region < b.region ? -1 : a.region > b.region ? 1 : 0));
}

/**
 * Each replica's version weight for a rollout's shares: a ready candidate replica gets its region's
 * share, a stable one the rest (all of it where no candidate replica is ready), any other version none.
 * `weight(r, w)` is called once per replica.
 */
export function applyShares<R extends VersionedReplica>(
  replicas: readonly R[], stable: string, candidate: string, shares: Readonly<Record<string, number>>,
  ready: (r: R) => boolean, weight: (r: R, w: number) => void,
): void {
  const readyIn = new Set<string>();
  for (const r of replicas) if (r.version === candidate && ready(r)) readyIn.add(r.region);
  for (const r of replicas) {
    const w = clampShare(shares[r.region]);
    if (r.version === candidate) weight(r, ready(r) ? w : 0);
    else if (r.version === stable) weight(r, readyIn.has(r.region) ? FULL_SHARE - w : FULL_SHARE);
    else weight(r, 0);
  }
}

/** No rollout: the stable version takes everything, any other none. */
export function settleShares<R extends VersionedReplica>(replicas: readonly R[], stable: string, weight: (r: R, w: number) => void): void {
  for (const r of replicas) weight(r, r.version === stable ? FULL_SHARE : 0);
}

function clampShare(w: number | undefined): number {
  return typeof w === 'number' && w > 0 ? Math.min(FULL_SHARE, w) : 0;
}
