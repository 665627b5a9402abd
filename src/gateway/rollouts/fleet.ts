import { applyShares, regionViews, settleShares, type FleetView, type RegionView, type ReplicaStates, type WeightSink } from '../../control/rollouts/index.js';
import { readyForTraffic, type FleetRegistry, type ModelVersions, type Replica } from '../../fleet/index.js';

// The rollout driver's ports over the gateway's fleet: what it reads (each region's replicas of the
// two versions, and the model's load there) and where its weights go (each replica's version weight,
// which routing draws by within a region). Candidate replicas that are not ready get no weight
// whatever the rollout says, so a cold or unprobed replica never takes traffic.

/** The gateway's replica states, as the shared rule reads them. */
const STATES: ReplicaStates<Replica> = {
  // stable's capacity is what it could carry were it given the traffic: its weight is not asked
  inService: (r) => r.healthy && r.ejectedUntilMs === 0 && !r.draining,
  ready: readyForTraffic,
  ejected: (r) => r.ejectedUntilMs > 0,
};

export class FleetWeights implements FleetView, WeightSink {
  readonly #set = (r: Replica, w: number): void => this.fleet.setVersionWeight(r, w);

  constructor(
    private readonly fleet: FleetRegistry,
    private readonly versions: ModelVersions,
    private readonly perReplicaLimit: number,
  ) {}

  regions(model: string, stable: string, candidate: string): readonly RegionView[] {
    return regionViews(this.fleet.replicasOf(model), stable, candidate, this.perReplicaLimit, STATES);
  }

  apply(model: string, stable: string, candidate: string, weights: Readonly<Record<string, number>>): void {
    applyShares(this.fleet.replicasOf(model), stable, candidate, weights, readyForTraffic, this.#set);
  }

  settle(model: string, stable: string): void {
    if (this.versions.stableOf(model) !== stable && this.versions.get(model, stable) !== undefined) this.versions.setStable(model, stable);
    settleShares(this.fleet.replicasOf(model), stable, this.#set);
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
