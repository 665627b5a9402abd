export * from './types.js';
export { analysisSchema, DEFAULT_STEPS, durationMs, rolloutSpecSchema, stepSchema } from './spec.js';
export type { AnalysisSpec, RolloutSpec, RolloutSpecInput, RolloutStep } from './spec.js';
export { advance, applyCommand, desiredWeight, initialState } from './machine.js';
export type { StartContext, Step, StepTransition, TickInput } from './machine.js';
export { RolloutDriver } from './driver.js';
export type { RolloutDriverOptions } from './driver.js';
export * from './analysis/index.js';
