export * from './types.js';
export { analysisSchema, DEFAULT_STEPS, durationMs, rolloutSpecSchema, stepSchema } from './spec.js';
export type { AnalysisSpec, RolloutSpec, RolloutSpecInput, RolloutStep } from './spec.js';
