// control/planner — the capacity planner: PLAN.yaml → the cheapest fleet per region and hour that
// meets every tier's SLO (an exact MILP), checked in the simulator, beside its baselines and
// what-ifs. Not re-exported from control/index.ts: the planner imports the simulator, which imports
// control/index.ts.
export { loadPlan, parsePlan, planSchema, PlanError, MAX_HOURS } from './spec.js';
export type { DemandSpec, LoadedPlan, PlanSpec, PlanSpecInput, WhatIf } from './spec.js';
export { runPlan } from './run.js';
export type { RunPlanOptions } from './run.js';
export { streamsOf } from './demand.js';
export { applyWhatIf, buildProblem, offerWarnings, whatIfName } from './problem.js';
export { solvePlan } from './solve.js';
export { checkHours, checkPlan } from './check.js';
export { plannedUtilisation, unitCostsOf } from './unit-costs.js';
export { planJson, renderPlanHtml, renderPlanText } from './report/index.js';
export type {
  Bucket, Budget, CheckResult, CheckRun, FailureScenario, Offer, PlanMode, PlanOutcome, PlanProblem, PlanReport, PlanSolution, Route, SolveStatus, Stream,
  TokenCount, UnitCost, WhatIfKind, WhatIfRow,
} from './types.js';
