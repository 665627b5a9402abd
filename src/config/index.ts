export { CHARS_PER_TOKEN, configSchema, KNOB_DEFAULTS, modelSchema, outlierSchema, replicaUrl, retryShape, tierSchema, versionSchema, warmupSchema } from './schema.js';
export type { Config, DemoFaults, DemoPoolConfig, ModelConfig, ReplicaConfig, RolloutsConfig, VersionConfig, WarmupConfig } from './schema.js';
export { loadConfig, ConfigError } from './load.js';
export type { ConfigOverrides } from './load.js';
export { SLO_LATENCY_BOUNDS_MS } from './observability.js';
export type { MetricsOptions, ObservabilityConfig, SloConfig, TracingConfig } from './observability.js';
