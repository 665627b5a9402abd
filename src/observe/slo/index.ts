// Service level objectives: each SLO's good and bad requests in time rings, its error budget over
// its window, its burn rates, and the SRE workbook's multi-window burn-rate alerts (docs/slo.md).
export { createSloTracker } from './tracker.js';
export type { SloAlert, SloHistory, SloStatus, SloTracker, SloTrackerOptions } from './tracker.js';
export { ALERT_RULES, BURN_WINDOWS } from './objective.js';
export type { AlertRule, BurnWindow, Severity } from './objective.js';
