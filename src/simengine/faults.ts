import type { RequestParse } from './wire.js';
import { badRequest } from './wire.js';

// Fault injection. This is a simulator: a test (or the demo) can make a replica misbehave on
// purpose to exercise the gateway's timeouts, retries and outlier detection. Faults touch only
// the model-serving endpoints (/v1/chat/completions, /v1/completions, /tokenize); /health,
// /metrics and /v1/models keep answering, so the gateway must notice from the requests themselves.

export type FaultMode = 'none' | 'hang' | 'error' | 'slow';

export interface FaultSpec {
  /** hang: accept and never answer · error: 500 in vLLM's format · slow: step time × slowFactor */
  mode: FaultMode;
  slowFactor?: number;
}

const MODES: ReadonlySet<string> = new Set(['none', 'hang', 'error', 'slow']);

export function parseFaults(body: unknown): RequestParse<FaultSpec> {
  if (typeof body !== 'object' || body === null) return badRequest('Send {"mode":"none"|"hang"|"error"|"slow","slowFactor"?:number}.');
  const b = body as Record<string, unknown>;
  if (typeof b.mode !== 'string' || !MODES.has(b.mode)) return badRequest('`mode` must be one of none, hang, error, slow.', 'mode');
  const factor = b.slowFactor ?? (b.mode === 'slow' ? 10 : 1);
  if (typeof factor !== 'number' || !(factor > 0) || !Number.isFinite(factor)) return badRequest('`slowFactor` must be a positive number.', 'slowFactor');
  return { ok: true, value: { mode: b.mode as FaultMode, slowFactor: factor } };
}
