import type { RolloutRecord } from '../rollout.js';
import type { AutoscaleRecord } from '../autoscale.js';
import type { Priority } from '../../admission/index.js';

// What a simulation run hands the report, and what the report says. Times are seconds of virtual
// time from the start of the run.

export type Outcome = 'ok' | 'rejected' | 'failed' | 'shed';

export interface RequestRecord {
  readonly id: number;
  readonly tenant: string;
  readonly model: string;
  /** at the gateway */
  readonly arrivalS: number;
  /** null when never placed */
  readonly replica: string | null;
  readonly region: string | null;
  /**
   * rejected: never reached an engine; failed: broke, ran out of attempts or of drain time;
   * shed: turned away by admission (a 529), at arrival or when its deadline passed in the queue
   */
  readonly outcome: Outcome;
  readonly promptLen: number;
  /** tokens generated (0 unless ok) */
  readonly outputLen: number;
  /** prompt tokens served from the prefix cache */
  readonly cachedTokens: number;
  /** as the client sees them; NaN unless ok (a shed request's finishS is when it was turned away) */
  readonly firstTokenS: number;
  readonly finishS: number;
  readonly preemptions: number;
  readonly retries: number;
  /** second calls sent while the first awaited its first token (absent: none) */
  readonly hedges?: number;
}

export interface ReplicaRecord {
  readonly id: string;
  readonly region: string;
  readonly model: string;
  readonly profile: string;
  /** tensor-parallel GPUs */
  readonly gpus: number;
  readonly costPerGpuHour: number;
  /** seconds provisioned during the run: a fixed replica's while its process was up, an autoscaled slot's from each ask to its end */
  readonly upS: number;
  /** modelled busy time */
  readonly busyS: number;
  readonly requests: number;
  readonly promptTokens: number;
  readonly generationTokens: number;
  readonly prefixQueries: number;
  readonly prefixHits: number;
  readonly preemptions: number;
}

/** The fleet every sampleS of virtual time. */
export interface Sample {
  readonly atS: number;
  /** waiting in the replicas' queues */
  readonly queued: number;
  readonly running: number;
  /** mean over replicas that are up, 0–1 */
  readonly kvUsage: number;
  /** in the order of RunRecords.replicas */
  readonly perReplicaRunning: readonly number[];
  /** waiting in the gateway's admission queues (runs with admission only) */
  readonly held?: number;
}

/** A tenant as admission sees it. */
export interface TenantClass {
  readonly priority: Priority;
  /** its weight in the fair queue against tenants of the same priority */
  readonly weight: number;
}

/** The admission discipline a run used; absent when it ran without admission. */
export interface RunAdmission {
  readonly label: string;
  readonly discipline: string;
  /** every tenant that sent a request, by name */
  readonly tenants: Readonly<Record<string, TenantClass>>;
}

export interface RunUpstream {
  /** retries sent (after a failure, within the budget) */
  readonly retries: number;
  readonly hedges: number;
  /** retries and hedges the retry budget refused */
  readonly overflows: number;
  /** calls that did not give the answer: failed, cancelled as a hedge race's loser, or cut by the drain limit */
  readonly wasted: number;
}

export interface RunRecords {
  readonly policy: string;
  readonly admission?: RunAdmission;
  /** what the gateway's retry rule did over the run (absent: no retry, hedge or overflow) */
  readonly upstream?: RunUpstream;
  /** the scenario's rollout: its transitions, when each analysis failed, calls per side (absent: none) */
  readonly rollout?: RolloutRecord;
  /** the autoscaler's decisions, GPU-hours of its pools, their replicas over time (absent: a fixed fleet) */
  readonly autoscale?: AutoscaleRecord;
  /** seconds of arrivals */
  readonly durationS: number;
  /** real seconds the run took; never in the deterministic report */
  readonly wallS: number;
  readonly requests: readonly RequestRecord[];
  readonly replicas: readonly ReplicaRecord[];
  readonly samples: readonly Sample[];
  readonly sampleS: number;
}

export interface Slo {
  readonly ttftS: number;
  readonly tpotS: number;
  readonly e2eS?: number;
  /** a TTFT bound per priority class in place of ttftS (runs with admission only) */
  readonly ttftSByPriority?: Readonly<Partial<Record<Priority, number>>>;
}

export interface ScenarioInfo {
  readonly name: string;
  readonly seed: number;
  readonly description: string;
  readonly workload: string;
  readonly fleet: string;
  readonly faults: readonly string[];
  readonly slo: Slo;
}

export interface Quantiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
}

export interface TenantReport {
  readonly tenant: string;
  readonly requests: number;
  readonly ok: number;
  readonly ttft: Quantiles;
  readonly e2e: Quantiles;
  /** share of its requests that met the SLO */
  readonly goodputFraction: number;
  readonly outputTokens: number;
  /** its share of all output tokens */
  readonly outputShare: number;
}

export interface ReplicaReport {
  readonly id: string;
  readonly region: string;
  readonly requests: number;
  /** busy time / time up */
  readonly busyFraction: number;
  readonly meanRunning: number;
  readonly prefixHitRate: number;
  readonly preemptions: number;
}

/** Bucketed over the whole run, drain included; a bucket's time is its start. */
export interface Series {
  readonly stepS: number;
  readonly t: readonly number[];
  readonly completionsPerS: readonly number[];
  readonly outputTokPerS: readonly number[];
  readonly queued: readonly number[];
  readonly running: readonly number[];
  /** waiting in the gateway's admission queues (runs with admission only) */
  readonly held?: readonly number[];
}

/** One priority class of a run with admission. */
export interface ClassReport {
  readonly priority: Priority;
  readonly requests: number;
  readonly ok: number;
  readonly shed: number;
  /** of those, shed after waiting in the queue until their deadline (not at once on arrival) */
  readonly shedWaited: number;
  /** over its ok requests */
  readonly ttft: Quantiles;
  /** share of its requests that met its class's SLO */
  readonly goodputFraction: number;
  /** its requests that met the SLO */
  readonly served: number;
}

/** One tenant of a run with admission: its class's figures, for its requests alone. */
export interface AdmissionTenantReport extends ClassReport {
  readonly tenant: string;
  readonly weight: number;
  /** its max-min fair share of all served requests, given its demand and weight */
  readonly fairShare: number;
  /** it offered more than twice its weighted share of all requests (an abuser, or just big) */
  readonly heavy: boolean;
}

export interface AdmissionReport {
  readonly label: string;
  readonly discipline: string;
  readonly shed: number;
  /** interactive, standard, batch: those that sent anything */
  readonly classes: readonly ClassReport[];
  readonly tenants: readonly AdmissionTenantReport[];
  /** Jain's index over tenants of served / max-min fair share (1 = every tenant got its fair share) */
  readonly jain: number;
  /** the same over the tenants that are not heavy */
  readonly jainOthers: number;
}

/** What the autoscaler did over a run (runs that autoscale only). */
export interface AutoscaleReport {
  /** GPU-hours of the autoscaled pools alone (the run's gpuHours counts every replica) */
  readonly gpuHours: number;
  readonly scaleEvents: number;
  readonly oscillations: number;
  /** replicas provisioned (starting, ready and draining) on the sample clock: the most, and the mean */
  readonly peakReplicas: number;
  readonly meanReplicas: number;
  /** the policy of each autoscaled pool */
  readonly policies: readonly string[];
}

export interface PolicyReport {
  readonly policy: string;
  /** present when the run autoscaled */
  readonly autoscale?: AutoscaleReport;
  /** present when the run used admission */
  readonly admission?: AdmissionReport;
  /** present when the scenario ran a rollout */
  readonly rollout?: RolloutRecord;
  readonly counts: { readonly arrived: number; readonly ok: number; readonly rejected: number; readonly failed: number; readonly retries: number };
  readonly ttft: Quantiles;
  /** per-request mean inter-token latency (TPOT) */
  readonly itl: Quantiles;
  readonly e2e: Quantiles;
  readonly goodput: { readonly reqPerS: number; readonly fraction: number };
  readonly throughput: { readonly reqPerS: number; readonly inputTokPerS: number; readonly outputTokPerS: number };
  readonly prefixCacheHitRate: number;
  readonly preemptions: number;
  readonly gpuHours: number;
  readonly costUsd: number;
  /** USD per million tokens, input and output together */
  readonly costPerMTokens: number;
  /** USD per million output tokens */
  readonly costPerMOutputTokens: number;
  /** Jain's index over tenants of their goodput fraction (1 = all equal) */
  readonly jainGoodput: number;
  /** Jain's index over tenants of their completed fraction (ok / arrived), SLO aside */
  readonly jainCompletion: number;
  readonly tenants: readonly TenantReport[];
  readonly replicas: readonly ReplicaReport[];
  readonly series: Series;
  /** [seconds, cumulative fraction] points */
  readonly cdf: { readonly ttft: readonly (readonly [number, number])[]; readonly itl: readonly (readonly [number, number])[]; readonly e2e: readonly (readonly [number, number])[] };
  /** real seconds the run took: reportJson leaves it out unless asked, the renderings never show it */
  readonly wallS: number;
}

export interface SimReport {
  readonly scenario: ScenarioInfo;
  readonly policies: readonly PolicyReport[];
  readonly notes: readonly string[];
}
