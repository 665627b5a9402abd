// The capacity planner's words. A plan (PLAN.yaml, spec.ts) is turned into a PlanProblem of plain
// numbers (problem.ts), solved exactly as a mixed-integer programme (solve.ts), and every solution
// is checked by running the simulator on it (check.ts). The report (report/) puts the plan beside
// its baselines (one GPU type; each region at its own peak) and its what-ifs.

/** A region lost in a failure scenario; `normal` is the world with every region up. */
export type FailureScenario = 'normal' | `lost:${string}`;

/** Where a replica can be bought: one hardware profile in one region, on demand or spot. */
export interface Offer {
  /** `REGION/PROFILE` or `REGION/PROFILE/spot`; unique */
  readonly id: string;
  readonly region: string;
  /** a hardware profile (engine/profiles.ts) */
  readonly profile: string;
  /** the model it serves: the plan's model id */
  readonly model: string;
  /** the GPU type (the profile's `gpu.name`): budgets count GPUs by it */
  readonly gpu: string;
  /** GPUs one replica holds (the profile's tensor-parallel degree) */
  readonly gpus: number;
  /** USD per GPU-hour */
  readonly usdPerGpuHour: number;
  readonly spot: boolean;
  /**
   * the share of its replicas' time they are up to serve: 1 on demand; a spot replica is lost for
   * `replaceS` at every preemption, so 1 − preemptionsPerHour · replaceS / 3600
   */
  readonly availability: number;
  /** preemptions per replica-hour (0 on demand): the check injects them */
  readonly preemptionsPerHour: number;
  /** seconds a preempted replica is down before its replacement serves */
  readonly replaceS: number;
}

/** A request-size class of one demand stream (Mélange's buckets): its share and mean shape. */
export interface Bucket {
  /** e.g. `p≤1024,o≤256` */
  readonly id: string;
  /** share of the stream's requests, 0–1; a stream's buckets sum to 1 */
  readonly share: number;
  /** mean prompt and output tokens of its requests */
  readonly promptTokens: number;
  readonly outputTokens: number;
}

/** Demand that originates in one region for one model at one tier. */
export interface Stream {
  /** the plan's demand entry name; unique */
  readonly id: string;
  /** where its clients are */
  readonly origin: string;
  readonly model: string;
  readonly tier: string;
  /** regions it may be served in (residency), origin first */
  readonly allowed: readonly string[];
  /** mean requests a second, one per hour of the horizon */
  readonly ratesPerS: readonly number[];
  readonly buckets: readonly Bucket[];
}

/** GPUs one region may hold at once: of the listed GPU types (null: of any type). */
export interface Budget {
  readonly region: string;
  readonly gpuTypes: readonly string[] | null;
  readonly gpus: number;
}

/**
 * How a fleet may change over the horizon. `hourly`: one fleet per hour; `static`: one fleet held
 * for the whole horizon (peak provisioning). `local`: every stream is served in its origin region
 * only (regions planned apart, as when each is provisioned for its own peak).
 */
export interface PlanMode {
  readonly fleet: 'hourly' | 'static';
  readonly local: boolean;
}

/** The planner's whole input as plain numbers. */
export interface PlanProblem {
  readonly hours: number;
  readonly regions: readonly string[];
  readonly offers: readonly Offer[];
  readonly streams: readonly Stream[];
  /**
   * capacity[s][b][o]: requests a second one replica of offers[o] serves of streams[s].buckets[b]
   * within its tier's SLO (the TTFT budget less the network between origin and the offer's region),
   * already times the plan's utilisation ceiling; 0 where it cannot serve them (another model, too
   * long for its context, or the objective is out of its reach)
   */
  readonly capacity: readonly (readonly (readonly number[])[])[];
  /**
   * prefillS[s][b][o]: seconds one replica of offers[o] takes to prefill a mean prompt of
   * streams[s].buckets[b], from the same engine model as `capacity` (0 where capacity is 0)
   */
  readonly prefillS: readonly (readonly (readonly number[])[])[];
  /**
   * blocking[s][b][o]: seconds, max over the streams t that may reach offers[o] of the share-weighted
   * Σ_b′ (prefillS[s][b][o] − B_t,b′)⁺ over t's classes b′, B the wait a request of t's class b′ can
   * bear behind another's prefill and still meet its TTFT (its tier's TTFT less the network, its own
   * prefill and first step). A request of bucket b makes that share of the time's arrivals of the
   * tightest stream miss (head-of-line blocking, solve.ts); 0 where capacity is 0
   */
  readonly blocking: readonly (readonly (readonly number[])[])[];
  /**
   * the share of a replica's time it may spend blocking tight requests (ε): Σ rate · blocking ≤ ε ·
   * availability · replicas per (scenario, hour, offer); half the plan's miss budget, 1 − attainment
   */
  readonly blockingShare: number;
  /**
   * false: one GPU type per (model, region, hour), spot and on-demand of it together, as a
   * size-blind router needs; true: any mix (Mélange), for a router that sends each size to its type
   */
  readonly mixTypesInRegion: boolean;
  readonly budgets: readonly Budget[];
  /** the failure scenarios the fleet must carry its demand through: `normal`, then each region lost */
  readonly scenarios: readonly FailureScenario[];
  readonly mode: PlanMode;
}

/** Request rate routed from one stream's bucket to one offer, in one scenario and hour (bucket −1 in the JSON report: summed over buckets). */
export interface Route {
  readonly scenario: FailureScenario;
  readonly hour: number;
  readonly stream: number;
  readonly bucket: number;
  readonly offer: number;
  readonly ratePerS: number;
}

export type SolveStatus = 'optimal' | 'infeasible' | 'error';

export interface PlanSolution {
  readonly status: SolveStatus;
  /** why, when not optimal: the solver's status, or the demand no offer can serve */
  readonly message: string | null;
  /** replicas[h][o]: replicas of offers[o] in hour h (all zero unless optimal) */
  readonly replicas: readonly (readonly number[])[];
  /** USD over the horizon */
  readonly usd: number;
  readonly gpuHours: number;
  /** the routing the solver found, every scenario (rates > 0 only) */
  readonly routes: readonly Route[];
  /** demand that cannot move when its region is lost (residency pins it there): stream ids per scenario */
  readonly unprotected: readonly { readonly scenario: FailureScenario; readonly stream: string }[];
  /** wall ms the solver took (never in the deterministic report) */
  readonly solveMs: number;
}

/** What the simulator made of one hour of a plan, in one failure scenario. */
export interface CheckRun {
  readonly hour: number;
  readonly scenario: FailureScenario;
  /** per stream: requests sent, requests within their tier's TTFT and ITL objectives */
  readonly streams: readonly { readonly stream: string; readonly requests: number; readonly met: number }[];
  /**
   * per offer with replicas: requests served after the warm-up, each weighed by 1 ÷ one replica's
   * modelled SLO capacity for its stream and size class, per replica-second. 1 = the p99s at the
   * SLO (a plan fills `utilisation` of it); above 1 = more than the model says the replicas carry
   */
  readonly utilisation: readonly { readonly offer: string; readonly replicas: number; readonly busy: number }[];
  /** tokens the run served per model and region (cached prompt tokens included in input) */
  readonly tokens: readonly TokenCount[];
  /** preemptions injected (spot offers) */
  readonly preemptions: number;
}

export interface TokenCount {
  readonly model: string;
  readonly region: string;
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
}

export interface CheckResult {
  readonly runs: readonly CheckRun[];
  /** met ÷ requests over every run of the normal scenario; and the worst stream's */
  readonly attainment: number;
  readonly worstStream: { readonly stream: string; readonly attainment: number } | null;
  /** the same over the failure scenarios' runs (null: none were run) */
  readonly failureAttainment: number | null;
  /** the attainment the plan requires */
  readonly target: number;
  readonly ok: boolean;
  /** virtual seconds simulated, and the wall ms it took (never in the deterministic report) */
  readonly simulatedS: number;
  readonly wallMs: number;
}

/** Cost per million tokens of one model in one region, from a plan's GPU cost and the tokens it serves. */
export interface UnitCost {
  readonly model: string;
  readonly region: string;
  /** GPU cost over the horizon, USD, split between the phases (control/economics) */
  readonly usd: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** null where nothing is served */
  readonly inputUsdPerM: number | null;
  readonly outputUsdPerM: number | null;
}

/** One solved and checked plan: the plan itself, a baseline, or a what-if. */
export interface PlanOutcome {
  /** `plan`, `single type: GPU`, `per-region peak`, or the what-if's name */
  readonly label: string;
  readonly mode: PlanMode;
  /** the GPU types it may buy (null: every type) */
  readonly gpuTypes: readonly string[] | null;
  /** the offers it was solved over (what-ifs change them); solution.replicas index these */
  readonly offers: readonly Offer[];
  readonly solution: PlanSolution;
  /** planned load ÷ planned capacity (before the utilisation ceiling), over the horizon, 0–1 */
  readonly utilisation: number;
  readonly unitCosts: readonly UnitCost[];
  /** the simulator's check (null: not checked) */
  readonly check: CheckResult | null;
}

export type WhatIfKind = 'region-lost' | 'demand' | 'price' | 'spot';

export interface WhatIfRow {
  readonly name: string;
  readonly kind: WhatIfKind;
  readonly outcome: PlanOutcome;
  /** outcome's cost ÷ the plan's − 1 (null when either is infeasible) */
  readonly deltaVsPlan: number | null;
  /** region-lost only: the plan's own fleet with that region down, checked in the simulator at its busiest hour */
  readonly survivors: CheckResult | null;
}

export interface PlanReport {
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  readonly hours: number;
  readonly regions: readonly string[];
  readonly streams: readonly Stream[];
  readonly plan: PlanOutcome;
  /** one per GPU type that can serve every stream (Mélange's baseline); the cheapest feasible first */
  readonly singleType: readonly PlanOutcome[];
  /**
   * peak provisioning: each region's fleet held for the whole horizon (mode static), sized by the
   * same solver for its busiest hour under the same failure policy and residency
   */
  readonly peak: PlanOutcome;
  readonly whatIfs: readonly WhatIfRow[];
  /** what the plan cannot use and why: offers that can serve none of the demand that may reach them, hardware no demand asks for */
  readonly warnings: readonly string[];
  /** 1 − plan ÷ baseline (null when either is infeasible) */
  readonly savings: { readonly vsPeak: number | null; readonly vsBestSingleType: number | null };
}
