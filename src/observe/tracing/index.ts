import type { TracingConfig } from '../../config/index.js';
import type { Logger } from '../log.js';
import type { Tracing } from '../types.js';

/** The gateway's tracer, or null when tracing is off (then nothing is traced, at no cost). */
export function createTracing(cfg: TracingConfig, _opts: { log: Logger }): Tracing | null {
  if (!cfg.enabled) return null;
  return null; // STUB: H1 builds the OpenTelemetry tracer here
}
