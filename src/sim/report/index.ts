// sim/report — a run's records as figures, and the figures as JSON, a terminal table and an HTML page.
export type {
  AdmissionReport, AdmissionTenantReport, AutoscaleReport, ClassReport, Outcome, PolicyReport, Quantiles, ReplicaRecord, ReplicaReport, RequestRecord, RunAdmission, RunRecords, RunUpstream,
  Sample, ScenarioInfo, Series, SimReport, Slo, TenantClass, TenantReport,
} from './types.js';
export { buildReport, meetsSlo, summarize, tpot } from './summarize.js';
export { cdfPoints, jain, maxMinShares, quantileSorted, quantiles } from './stats.js';
export { HEAVY_FACTOR } from './admission.js';
export { reportJson } from './json.js';
export type { JsonOptions } from './json.js';
export { renderText } from './text.js';
export { renderHtml } from './html.js';
export { createProgress, progressLine } from './progress.js';
export type { Progress, ProgressStream } from './progress.js';
