import type { HardwareProfile, ReplicaOptions } from '../../engine/index.js';

// The autoscaler's words. A pool is what scales as a unit: one model's replicas of one hardware
// profile in one region. Every tick the driver (driver.ts) reads each pool's replicas from a
// PoolSource, folds the requests and calls it was told of into PoolSignals, asks the pool's
// ScalingPolicy for a Decision, turns it into a ScalePlan (plan.ts) and hands that to an Actuator.
// The gateway and the simulator implement the source and the actuator; the policy, the signals,
// the plan and the driver are shared, on the time/ ports.

/** A pool's name: `region/model`. */
export type PoolName = string;

export function poolName(region: string, model: string): PoolName {
  return `${region}/${model}`;
}

/** A replica's life as the autoscaler sees it: asked for, taking requests, on its way out. */
export type ReplicaPhase = 'starting' | 'ready' | 'draining';

/** One replica of a pool, read at a tick. */
export interface ReplicaReport {
  readonly id: string;
  readonly phase: ReplicaPhase;
  /** clock ms it entered its phase: asked for (starting), first took requests (ready), drain began (draining) */
  readonly sinceMs: number;
  /** clock ms of its newest telemetry (a /metrics scrape); null: none yet. Stale telemetry is not a reason to freeze the pool. */
  readonly reportedAtMs: number | null;
  /** its engine's queue and batch at that report, and its KV cache use, 0–1 */
  readonly waiting: number;
  readonly running: number;
  readonly kvUsage: number;
  /** requests the gateway sent it and has not seen end: always current (the gateway's own count) */
  readonly inflight: number;
}

/**
 * What the gateway's registry knows of one replica, as an actuator reads it to make a
 * ReplicaReport: its newest scrape and the gateway's in-flight count (null: nothing known yet).
 */
export interface ReplicaStats {
  readonly waiting: number;
  readonly running: number;
  readonly kvUsage: number;
  readonly inflight: number;
  /** clock ms of the newest scrape; null: none yet */
  readonly reportedAtMs: number | null;
}

/** What a tick hands a policy for one pool. Counts cover the interval since the pool's previous tick. */
export interface PoolSignals {
  readonly pool: PoolName;
  readonly nowMs: number;
  /** the interval the counts cover, ms (the first tick: since the driver started) */
  readonly intervalMs: number;
  /** requests that reached the pool (served, queued or shed: all of it is demand) */
  readonly arrivals: number;
  /** prompt tokens of those arrivals (the gateway's estimate) */
  readonly promptTokens: number;
  /** output tokens of the calls that ended in the interval */
  readonly outputTokens: number;
  /** calls that ended in the interval (failed ones included) */
  readonly calls: number;
  /** requests the gateway shed for want of capacity in the interval */
  readonly shed: number;
  /** requests held in the gateway's admission queue now */
  readonly queued: number;
  /**
   * p99 of time to first token and of inter-token latency, ms, over the calls of the driver's
   * latency window that ran on replicas past their warm-up (cold-start samples are left out);
   * null: no such call in the window
   */
  readonly ttftP99Ms: number | null;
  readonly itlP99Ms: number | null;
  /** calls behind those percentiles */
  readonly latencySamples: number;
  /** every replica of the pool: starting, ready and draining */
  readonly replicas: readonly ReplicaReport[];
}

/** Why a decision is what it is. */
export type ScaleReason =
  /** the forecast arrival rate one start-up ahead needs more than the pool has */
  | 'forecast'
  /** the load now (reactive term) needs more */
  | 'load'
  /** a burst: the short window's demand is far above the stable window's; up only */
  | 'panic'
  /** latency is over the SLO on warm replicas */
  | 'slo'
  /** a queue threshold was crossed (the KEDA-style rule) */
  | 'queue'
  /** N−1 replicas carry the load within the SLO by the engine model: one fewer */
  | 'consolidate'
  /** no traffic for the idle window: down to the minimum (or zero) */
  | 'idle'
  /** nothing to change, or within the dead band */
  | 'hold'
  /** a lower answer is held back by the scale-down stabilisation window or cooldown */
  | 'stabilising'
  /** clamped to the pool's minimum or maximum */
  | 'min'
  | 'max'
  /** a fixed fleet: the policy never changes it */
  | 'fixed';

export interface Decision {
  /** replicas wanted, starting and ready together, within the pool's [min, max] (0 only when it may scale to zero) */
  readonly desired: number;
  readonly reason: ScaleReason;
  /** one sentence with the figures behind it, for the admin API, the audit trail and the logs */
  readonly detail: string;
}

/** A pool's scaling rule. It holds its own history (windows, forecasts), fed only by `decide`. */
export interface ScalingPolicy {
  readonly name: string;
  decide(s: PoolSignals): Decision;
}

/** What the policy needs to know of a pool that does not change tick to tick. */
export interface PoolSpec {
  readonly name: PoolName;
  readonly model: string;
  readonly region: string;
  /** the engine model of one replica: what per-replica capacity at the SLO is computed from */
  readonly profile: HardwareProfile;
  readonly engine: ReplicaOptions;
  readonly min: number;
  readonly max: number;
  /** may go to 0 replicas at zero traffic (then the first request waits a start-up) */
  readonly scaleToZero: boolean;
  /** ms from asking for a replica to its first request: the forecast looks this far ahead */
  readonly startupMs: number;
  /** the latency objective, p99 */
  readonly slo: { readonly ttftMs: number; readonly itlMs: number };
}

/** What a decision asks of the actuator: replicas to start, and which to drain (a starting one is cancelled). */
export interface ScalePlan {
  readonly start: number;
  readonly drain: readonly string[];
}

/**
 * What the driver reads of the pools. Synchronous: the gateway answers from its fleet registry,
 * the simulator from its replicas.
 */
export interface PoolSource {
  replicas(pool: PoolName): readonly ReplicaReport[];
  /** requests held in the gateway's admission queue for the pool now */
  queued(pool: PoolName): number;
}

/**
 * Where plans are carried out. Level-triggered, as a Kubernetes controller is: the next tick reads
 * the replicas again, so a start that failed is asked for again and nothing is counted twice. A
 * drained replica takes no new request; those in flight finish; then it is removed.
 */
export interface Actuator {
  apply(pool: PoolName, plan: ScalePlan): void;
}

/** One decision as the record keeps it (the admin API, the audit trail, the simulator's report). */
export interface ScaleDecision {
  readonly atMs: number;
  readonly pool: PoolName;
  readonly policy: string;
  /** replicas starting and ready before the decision */
  readonly from: number;
  readonly to: number;
  readonly reason: ScaleReason;
  readonly detail: string;
  readonly plan: ScalePlan;
}

/** Told of every decision (metrics, logs, the audit trail when `from !== to`). */
export type DecisionSink = (d: ScaleDecision, s: PoolSignals) => void;

/** One call as the autoscaler hears of it (the gateway's call report, the simulator's call end). */
export interface CallOutcome {
  /** when it was sent and when it ended, ms on any one clock: only the difference (how long it ran) is read */
  readonly sentAtMs: number;
  readonly atMs: number;
  readonly failed: boolean;
  readonly ttftMs: number | null;
  readonly itlMs: number | null;
  readonly outputTokens: number;
}

/**
 * The gateway's fleet as the embedded actuator drives it: a replica joins once its process
 * answers, and leaves only after a drain (no new requests, those in flight finished).
 */
export interface FleetHands {
  /** puts a replica that answers its health probe into rotation in the pool */
  join(pool: PoolName, replica: { readonly id: string; readonly url: string }): void;
  /** takes it out of rotation; resolves once nothing is in flight on it and it has left the fleet */
  drain(id: string): Promise<void>;
}
