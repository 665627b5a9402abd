// sim/ — the fleet simulator: the engine model and the gateway's admission and routing on a
// virtual clock, fed by synthetic workloads or real traces, reported as text, JSON and HTML.
export { loadScenario, parseScenario, scenarioSchema, ScenarioError } from './scenario.js';
export type { LoadedScenario, Scenario } from './scenario.js';
export { autoscaleOf, runScenario } from './run.js';
export type { RunOptions, ScenarioResult } from './run.js';
export { simulate } from './simulator.js';
export type { Network, SimulationInput, TenantPlacement } from './simulator.js';
export type { SimAdmissionInput, TenantAdmission } from './admission.js';
export type { SimReplicaSpec } from './replica.js';
export { describeFault, faultSchema } from './faults.js';
export { METHODS as ROLLOUT_METHODS } from './rollout.js';
export type { Detection, Method as RolloutMethod, RolloutRecord, RolloutStep, SimRolloutInput } from './rollout.js';
export type { Fault } from './faults.js';
export { oscillations, OSCILLATION_WINDOW_S } from './autoscale.js';
export type { AutoscaleRecord, AutoscaleSample, SimAutoscaleInput, SimAutoscalePool } from './autoscale.js';
export { createProgress, renderHtml, renderText, reportJson } from './report/index.js';
export type { AutoscaleReport, RunRecords, SimReport } from './report/index.js';
