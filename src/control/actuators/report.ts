import type { ReplicaPhase, ReplicaReport, ReplicaStats } from '../autoscaler/types.js';

// The one way an actuator turns what it tracks of a replica, and what the gateway's registry knows
// of it, into the driver's ReplicaReport: the process and the Kubernetes actuators share it.

/** `stats` null (nothing scraped, not in the fleet yet): no telemetry, nothing in flight. */
export function replicaReport(id: string, phase: ReplicaPhase, sinceMs: number, stats: ReplicaStats | null): ReplicaReport {
  return {
    id, phase, sinceMs, reportedAtMs: stats?.reportedAtMs ?? null,
    waiting: stats?.waiting ?? 0, running: stats?.running ?? 0, kvUsage: stats?.kvUsage ?? 0, inflight: stats?.inflight ?? 0,
  };
}
