export { createMetrics } from './metrics.js';
export type { CostScrape, GatewayMetrics, ScrapeSources } from './metrics.js';
export { createLogger } from './log.js';
export type { Logger } from './log.js';
export { guardProcess } from './guard.js';
export type { AttemptTrace, RequestObserver, RequestTrace, TraceEnding, TraceHeaders, TraceStage, Tracing } from './types.js';
