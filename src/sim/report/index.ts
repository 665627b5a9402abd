// sim/report — a run's records as figures, and the figures as JSON, a terminal table and an HTML page.
export type {
  Outcome, PolicyReport, Quantiles, ReplicaRecord, ReplicaReport, RequestRecord, RunRecords, Sample, ScenarioInfo, Series, SimReport, Slo, TenantReport,
} from './types.js';
export { buildReport, meetsSlo, summarize, tpot } from './summarize.js';
export { cdfPoints, jain, quantileSorted, quantiles } from './stats.js';
export { reportJson } from './json.js';
export type { JsonOptions } from './json.js';
export { renderText } from './text.js';
export { renderHtml } from './html.js';
export { createProgress, progressLine } from './progress.js';
export type { Progress, ProgressStream } from './progress.js';
