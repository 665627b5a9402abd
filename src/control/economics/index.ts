// control/economics — what serving costs: GPU-hour prices, and the engine model's split of replica
// time between prefill and decode that turns GPU cost into cost per million input and output tokens.
// The planner's report, the simulator's cost curve and the gateway's live figures all use it.
export { DEFAULT_GPU_HOUR_USD, FALLBACK_GPU_HOUR_USD, gpuHourUsd } from './prices.js';
export { perMillion, phaseWeights, splitCost } from './phases.js';
export type { CostSplit, PhaseWeights, Tokens } from './phases.js';
export {
  COST_KEYS, DEFAULT_COST_DAYS, FALLBACK_WEIGHTS_PROFILE, IDLE_KEY, MAX_COST_DAYS, UNKNOWN_KEY, costDayJson, costDays, costsByDay, profileWeights, totalOf, utcDay,
} from './daily.js';
export type { CostDay, CostKey } from './daily.js';
