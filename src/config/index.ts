export { CHARS_PER_TOKEN, configSchema, KNOB_DEFAULTS, outlierSchema, replicaUrl, retryShape, tierSchema } from './schema.js';
export type { Config, ModelConfig, ReplicaConfig, DemoPoolConfig } from './schema.js';
export { loadConfig, ConfigError } from './load.js';
export type { ConfigOverrides } from './load.js';
