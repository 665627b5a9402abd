import type { Registry } from 'prom-client';
import type { MetricsOptions } from '../config/index.js';
import type { RequestObserver } from './types.js';

export interface GenAiMetricsOptions {
  readonly options: MetricsOptions;
  /** whether the gateway serves a model (others are labelled `unknown`) */
  served(model: string): boolean;
}

/** The OpenTelemetry GenAI semantic-convention metrics, registered on `registry`, fed by settled requests. */
export function createGenAiMetrics(_registry: Registry, _o: GenAiMetricsOptions): RequestObserver {
  return { settled() {} }; // STUB: H2
}
