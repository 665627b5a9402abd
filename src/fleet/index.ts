// fleet/ — the live picture of the replicas: registry, health, /metrics scrapes, outliers, learned routing state.
export { FleetRegistry } from './registry.js';
export type { Replica, ReplicaSpec } from './registry.js';
export { HealthProber } from './health.js';
export type { HealthProberOptions } from './health.js';
export { PrefixIndex } from './prefix-index.js';
export { hash53, SessionTable } from './session-table.js';
export type { PrefixIndexOptions } from './prefix-index.js';
export { DEFAULT_OUTLIER_POLICY, OutlierDetector, outlierPolicy, outlierSchema } from './outlier.js';
export type { EjectionReason, OutlierConfig, OutlierEvent, OutlierPolicy, OutlierStats } from './outlier.js';
export { MetricsScraper, metricsUrl, parseVllmMetrics } from './scraper.js';
export type { MetricsScraperOptions, ScrapeTarget, Telemetry } from './scraper.js';
export { FleetWatch } from './watch.js';
export type { FleetEvent, FleetWatchOptions } from './watch.js';
export { OutlierPools } from './outlier-pools.js';
export type { OutlierActions, PoolMember } from './outlier-pools.js';
export { dispatched, prefilled, released } from './accounting.js';
export type { InFlightCounts } from './accounting.js';
