// The rollout room's shared shapes: what a call tells the analysis, what the analysis answers,
// a rollout's persisted state, and the ports its driver works through (the fleet it reads, the
// weights it sets, the store it persists to). The gateway and the simulator both implement the
// ports, so the driver and the analysis that run in production are the ones measured on traces.

import type { RolloutSpec } from './spec.js';

/** Which side of a rollout a call was served by. */
export type Side = 'stable' | 'candidate';

/** One upstream call (an attempt: a retried request gives one sample per attempt), as the analysis sees it. */
export interface CallSample {
  /** monotonic ms when the call ended: samples are compared only with others close in time */
  readonly atMs: number;
  /**
   * monotonic ms when the call was sent (its version was drawn then): after a region's share
   * changes, calls sent before the change are not compared (absent: taken as `atMs`)
   */
  readonly sentAtMs?: number;
  readonly region: string;
  readonly stream: boolean;
  /** the version's fault: a 5xx, a broken stream, a timeout, a refused connection (never a 4xx, nor a call the gateway cancelled) */
  readonly failed: boolean;
  /** call sent → first token; null when failed or not streamed */
  readonly ttftMs: number | null;
  /** streamed: mean gap between tokens after the first; not streamed: call duration per output token; null when failed or < 2 tokens streamed */
  readonly itlMs: number | null;
  readonly promptTokens: number;
  /** prompt tokens the replica reported cached (its prefix cache) */
  readonly cachedTokens: number;
  readonly outputTokens: number;
  /** stopped at its token limit (finish reason `length`) */
  readonly truncated: boolean;
  /** what the call would bill at the model's prices */
  readonly costUsd: number;
}

/** The metrics a rollout is judged on. */
export const METRICS = ['errors', 'ttft', 'itl', 'output_tokens', 'truncations', 'cost'] as const;
export type MetricName = (typeof METRICS)[number];

/** What the evidence says now. Too little data is inconclusive: it never passes and never fails. */
export type Verdict =
  | { readonly kind: 'inconclusive'; readonly reason: string }
  | { readonly kind: 'pass'; readonly reason: string }
  | { readonly kind: 'fail'; readonly metric: MetricName; readonly reason: string };

/** One metric's evidence, for status and the audit trail. */
export interface MetricEvidence {
  readonly metric: MetricName;
  /** comparisons made (matched groups, or intervals for the baselines) */
  readonly comparisons: number;
  /** the test's statistic (an e-value for the sequential test) and the level at which it fails */
  readonly statistic: number;
  readonly threshold: number;
  /** candidate against stable, as a ratio (rates, medians); null when unknown */
  readonly ratio: number | null;
}

export interface AnalysisSummary {
  /** which test: `sequential`, `interval-threshold`, `mann-whitney` */
  readonly method: string;
  readonly candidateCalls: number;
  readonly stableCalls: number;
  readonly candidateFailures: number;
  readonly stableFailures: number;
  readonly metrics: readonly MetricEvidence[];
}

/**
 * A judge of candidate against stable. Pure: it decides from the samples handed to it and the
 * time it is told, nothing else.
 */
export interface Analysis {
  observe(side: Side, s: CallSample): void;
  /** Marks the start of a gate (an analysis step): `pass` needs enough data since the latest mark. */
  mark(nowMs: number): void;
  /**
   * The region's shares changed now. Calls still running were drawn under the old shares, so the
   * sides' mixes of short and long calls differ until they end: calls sent before now are not compared.
   */
  shift(region: string, nowMs: number): void;
  verdict(nowMs: number): Verdict;
  summary(): AnalysisSummary;
}

// ── a rollout's state ──────────────────────────────────────────────────────────

export type RolloutPhase =
  /** waiting for the candidate's replicas in the wave's regions to be ready (probed, warmed) */
  | 'pending'
  | 'progressing'
  /** held: by hand, at a pause step, for want of evidence, or of capacity */
  | 'paused'
  /** an analysis failed (or an abort): the candidate's share is going back to stable */
  | 'rolling_back'
  /** terminal: the candidate serves every region and is the model's stable version */
  | 'succeeded'
  /** terminal: an analysis failed and the candidate's share is back at 0 */
  | 'rolled_back'
  /** terminal: stopped by hand and the candidate's share is back at 0 */
  | 'aborted';

export const TERMINAL_PHASES: ReadonlySet<RolloutPhase> = new Set(['succeeded', 'rolled_back', 'aborted']);

export type PauseReason =
  | { readonly kind: 'manual'; readonly message: string }
  /** a `pause` step: until `untilMs` (wall ms), or until promoted by hand when null */
  | { readonly kind: 'step'; readonly message: string; readonly untilMs: number | null }
  | { readonly kind: 'inconclusive'; readonly message: string }
  | { readonly kind: 'capacity'; readonly message: string };

/** What a rollout is and where it stands: the row the store keeps, the same on every gateway. */
export interface RolloutState {
  /** `rol_…` */
  readonly id: string;
  readonly spec: RolloutSpec;
  readonly model: string;
  readonly stable: string;
  readonly candidate: string;
  /** the waves, resolved when it started: regions in the order they are rolled */
  readonly waves: readonly (readonly string[])[];
  readonly phase: RolloutPhase;
  readonly pause: PauseReason | null;
  /** index into `waves` and into `spec.steps` */
  readonly wave: number;
  readonly step: number;
  /**
   * wall ms the current step began; while rolling_back, the time of the latest gradual move (set one
   * `rollback.stepInterval` back on entry, so the first move is due at once)
   */
  readonly stepStartedAtMs: number;
  /** the candidate's share of each region's traffic, 0–100, as the leader set it; a region absent is 0 */
  readonly weights: Readonly<Record<string, number>>;
  /** the failed verdict that started a rollback, when one did */
  readonly failure: { readonly metric: string; readonly reason: string; readonly atMs: number } | null;
  /** the latest evidence, for status (the leader refreshes it) */
  readonly evidence: AnalysisSummary | null;
  readonly createdBy: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** A change a person (or the leader) made, for the audit trail: who, why, and the state before and after. */
export interface RolloutTransition {
  readonly actor: string;
  /** `rollout.start`, `rollout.step`, `rollout.pause`, `rollout.resume`, `rollout.promote`, `rollout.abort`, `rollout.rollback`, `rollout.succeed`… */
  readonly action: string;
  readonly reason: string;
  readonly requestId?: string;
  readonly before: RolloutState | null;
  readonly after: RolloutState;
  /** false for a refresh of the evidence only: persisted, not audited */
  readonly audited: boolean;
}

/** A hand on a rollout: any gateway may take one; the leader acts on it at its next tick. */
export type RolloutCommand =
  /** `reason`: the operator's words, which become the pause's message (default "paused by hand") */
  | { readonly kind: 'pause'; readonly reason?: string }
  | { readonly kind: 'resume' }
  /** past the current pause or analysis step; `full`: straight to every region at 100 % */
  | { readonly kind: 'promote'; readonly full: boolean }
  | { readonly kind: 'abort' };

// ── the ports ──────────────────────────────────────────────────────────────────

/** One region as a rollout sees it: the two versions' replicas, and the model's load there. */
export interface RegionView {
  readonly region: string;
  readonly stableReplicas: number;
  /** in rotation: probed healthy, not ejected, not draining */
  readonly stableReady: number;
  readonly candidateReplicas: number;
  /** probed healthy since added, warmed if the version asks for it, not ejected, not draining */
  readonly candidateReady: number;
  /** candidate replicas outlier detection has ejected now (absent: not known) */
  readonly candidateEjected?: number;
  /** requests of the model in flight in the region, both versions */
  readonly inflight: number;
  /** what one replica may run at once (admission's maxInflightPerReplica) */
  readonly perReplicaLimit: number;
}

/** The fleet as the rollout driver reads it (synchronously). */
export interface FleetView {
  /** every region with a replica of the model's stable or candidate version */
  regions(model: string, stable: string, candidate: string): readonly RegionView[];
}

/** Where the driver's weights go: the candidate's share per region; every other version of the model gets none. */
export interface WeightSink {
  apply(model: string, stable: string, candidate: string, weights: Readonly<Record<string, number>>): void;
  /** no rollout for the model: its stable version takes everything */
  settle(model: string, stable: string): void;
}

/** A stored rollout and its revision (every write bumps it; a write names the revision it read). */
export interface StoredRollout {
  readonly revision: number;
  readonly state: RolloutState;
}

/** The lead: who holds it, its epoch (bumped on every change of holder) and until when (store ms). */
export interface LeaseToken {
  readonly name: string;
  readonly holder: string;
  readonly epoch: number;
  readonly expiresAtMs: number;
}

export type RolloutStoreError = { readonly kind: 'not_found' | 'conflict' | 'invalid' | 'not_leader'; readonly message: string };
export type RolloutStoreResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: RolloutStoreError };

/** Rollouts and the lead, kept by the store (SQLite or PostgreSQL); each write audits its transition in the same transaction. */
export interface RolloutStore {
  /** conflict when the model already has a rollout that is not terminal */
  createRollout(state: RolloutState, t: RolloutTransition): Promise<RolloutStoreResult<StoredRollout>>;
  getRollout(id: string): Promise<StoredRollout | null>;
  /** newest first; `active`: only those not terminal */
  listRollouts(q?: { model?: string; active?: boolean; limit?: number }): Promise<StoredRollout[]>;
  /**
   * Writes `t.after` if the row is still at `revision` (conflict otherwise) and, when `lease` is
   * given, only while that lease is still held (not_leader otherwise).
   */
  updateRollout(id: string, revision: number, t: RolloutTransition, lease?: LeaseToken): Promise<RolloutStoreResult<StoredRollout>>;
  /** Takes the lease when free or expired, renews it when `holder` has it; null when another holds it. */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseToken | null>;
  /** Lets it go at once (a clean shutdown), if still held by the token's holder and epoch. */
  releaseLease(token: LeaseToken): Promise<void>;
  /** The model's stable version as the latest succeeded rollout left it; null when none has. */
  stableVersion(model: string): Promise<string | null>;
}
