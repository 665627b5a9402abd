import type { FleetView, RegionView, WeightSink } from '../../control/rollouts/index.js';
import { readyForTraffic, type FleetRegistry, type ModelVersions, type Replica } from '../../fleet/index.js';

// The rollout driver's ports over the gateway's fleet: what it reads (each region's replicas of the
// two versions, and the model's load there) and where its weights go (each replica's version weight,
// which routing draws by within a region). Candidate replicas that are not ready get no weight
// whatever the rollout says, so a cold or unprobed replica never takes traffic.

/** A version's full share of a region: weights compare only among replicas a request may use. */
const FULL = 100;

export class FleetWeights implements FleetView, WeightSink {
  constructor(
    private readonly fleet: FleetRegistry,
    private readonly versions: ModelVersions,
    private readonly perReplicaLimit: number,
  ) {}

  regions(model: string, stable: string, candidate: string): readonly RegionView[] {
    const by = new Map<string, { stableReplicas: number; stableReady: number; candidateReplicas: number; candidateReady: number; candidateEjected: number; inflight: number }>();
    for (const r of this.fleet.replicasOf(model)) {
      const isStable = r.version === stable;
      const isCandidate = r.version === candidate;
      let v = by.get(r.region);
      if (v === undefined) by.set(r.region, (v = { stableReplicas: 0, stableReady: 0, candidateReplicas: 0, candidateReady: 0, candidateEjected: 0, inflight: 0 }));
      v.inflight += r.inflight;
      if (isStable) {
        v.stableReplicas++;
        // stable's capacity is what it could carry were it given the traffic: its weight is not asked
        if (inService(r)) v.stableReady++;
      } else if (isCandidate) {
        v.candidateReplicas++;
        if (readyForTraffic(r)) v.candidateReady++;
        if (r.ejectedUntilMs > 0) v.candidateEjected++;
      }
    }
    const out: RegionView[] = [];
    for (const [region, v] of by) {
      if (v.stableReplicas + v.candidateReplicas === 0) continue;
      out.push({ region, ...v, perReplicaLimit: this.perReplicaLimit });
    }
    return out.sort((a, b) => (a.region < b.region ? -1 : a.region > b.region ? 1 : 0));
  }

  apply(model: string, stable: string, candidate: string, weights: Readonly<Record<string, number>>): void {
    const replicas = this.fleet.replicasOf(model);
    // a region whose candidate has no ready replica stays whole on stable, whatever its weight says
    const readyIn = new Set<string>();
    for (const r of replicas) if (r.version === candidate && readyForTraffic(r)) readyIn.add(r.region);
    for (const r of replicas) {
      const w = clampShare(weights[r.region]);
      if (r.version === candidate) this.fleet.setVersionWeight(r, readyForTraffic(r) ? w : 0);
      else if (r.version === stable) this.fleet.setVersionWeight(r, readyIn.has(r.region) ? FULL - w : FULL);
      else this.fleet.setVersionWeight(r, 0);
    }
  }

  settle(model: string, stable: string): void {
    if (this.versions.stableOf(model) !== stable && this.versions.get(model, stable) !== undefined) this.versions.setStable(model, stable);
    for (const r of this.fleet.replicasOf(model)) this.fleet.setVersionWeight(r, r.version === stable ? FULL : 0);
  }

  /** Every model with no rollout under way: its stable version takes everything (at start-up, and for replicas added since). */
  settleAll(except: ReadonlySet<string>): void {
    for (const model of this.versions.models()) {
      if (except.has(model)) continue;
      const stable = this.versions.stableOf(model);
      if (stable !== undefined) this.settle(model, stable);
    }
  }
}

/** In rotation but for its weight: healthy, not ejected, not draining. */
function inService(r: Replica): boolean {
  return r.healthy && r.ejectedUntilMs === 0 && !r.draining;
}

function clampShare(w: number | undefined): number {
  return typeof w === 'number' && w > 0 ? Math.min(FULL, w) : 0;
}
