import { joinFleet, leaveFleet, type FleetJoinDeps } from '../../api/admin/index.js';
import type { FleetHands, PoolName, PoolSpec, ReplicaStats } from '../../control/index.js';
import type { Replica } from '../../fleet/index.js';
import type { Logger } from '../../observe/index.js';
import type { Clock, Timers } from '../../time/index.js';
import type { Backend } from '../backends.js';

// The fleet as the actuators drive it. A replica joins as one the operator adds through the fleet
// API would (the same code: its model's stable version, its region's weight, a backend in the map
// the proxy uses) and leaves by a drain: out of the fleet and its rotation at once, its calls in
// flight finished, then its connections closed. No request fails on a scale-down.

export interface FleetHandsOptions {
  readonly join: FleetJoinDeps<Backend>;
  readonly pools: ReadonlyMap<PoolName, PoolSpec>;
  readonly timers: Timers;
  readonly log: Logger;
  /** a replica joined: a configured model that had none may be served from now on */
  replicaAdded(): void;
}

/** The fleet's hands, and the replicas they are draining (out of the fleet, their calls still running). */
export interface GatewayHands extends FleetHands {
  leaving(id: string): Replica | undefined;
}

export function fleetHands(o: FleetHandsOptions): GatewayHands {
  const { fleet } = o.join;
  // a second drain of one replica waits for the first
  const draining = new Map<string, Promise<void>>();
  const gone = new Map<string, Replica>();
  const drain = async (id: string): Promise<void> => {
    const r = fleet.byId(id);
    if (r === undefined) return;
    gone.set(id, r);
    // out of the fleet at once, as the fleet API's DELETE does: routing never sees it again, its
    // calls in flight finish on the open connections, and no operator's undrain can put it back
    // into rotation halfway (the autoscaler's view lists it as draining until it is gone)
    try {
      await leaveFleet(o.join, r, o.timers);
    } catch (err) {
      // its calls are done: a connection that fails to close has nothing left to lose
      o.log.warn({ err, replica: id }, 'closing a drained replica\'s connections failed');
    }
  };
  return {
    join(pool, replica) {
      const p = o.pools.get(pool);
      if (p === undefined) throw new RangeError(`no autoscaled pool ${pool}`);
      const out = joinFleet(o.join, { id: replica.id, model: p.model, servedModel: p.model, region: p.region, url: replica.url }, undefined);
      if (!out.ok) throw new Error(`replica ${replica.id} could not join pool ${pool}: ${out.message}`);
      o.log.info({ pool, replica: replica.id, url: replica.url, version: out.replica.version }, 'autoscaled replica joined the fleet');
      o.replicaAdded();
    },
    drain(id) {
      let p = draining.get(id);
      if (p === undefined) {
        p = drain(id).finally(() => {
          draining.delete(id);
          gone.delete(id);
        });
        draining.set(id, p);
      }
      return p;
    },
    leaving: (id) => gone.get(id),
  };
}

/** What the registry knows of a replica for a ReplicaReport: its newest scrape (on the clock's nowMs) and its in-flight count. */
export function replicaStats(fleet: FleetJoinDeps<Backend>['fleet'], clock: Clock, hands?: GatewayHands): (id: string) => ReplicaStats | null {
  return (id) => {
    // a draining replica has left the fleet; its calls in flight still count
    const r = fleet.byId(id) ?? hands?.leaving(id);
    if (r === undefined) return null;
    const s = r.scraped;
    // scrapes are stamped on the monotonic clock; the driver compares on nowMs
    const reportedAtMs = s === null ? null : clock.nowMs() - (clock.monoMs() - s.atS * 1000);
    return { waiting: s?.waiting ?? 0, running: s?.running ?? 0, kvUsage: s?.kvUsage ?? 0, inflight: r.inflight, reportedAtMs };
  };
}
