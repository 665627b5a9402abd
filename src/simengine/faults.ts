import { rng } from './args.js';
import type { RequestParse } from './wire.js';
import { badRequest } from './wire.js';
import type { Rng } from '../time/index.js';

// Fault injection. This is a simulator: a test (or the demo) can make a replica misbehave on
// purpose to exercise the gateway's timeouts, retries, outlier detection and rollouts (a candidate
// version that fails a share of its requests, or answers at length). Faults touch only the
// model-serving endpoints (/v1/chat/completions, /v1/completions, /tokenize); /health, /metrics and
// /v1/models keep answering, so the gateway must notice from the requests themselves.

export type FaultMode = 'none' | 'hang' | 'error' | 'slow';

export interface FaultSpec {
  /** hang: accept and never answer · error: 500 in vLLM's format · slow: step time × slowFactor */
  mode: FaultMode;
  /** slow: default 10; error: the requests not failed run this much slower (default 1) */
  slowFactor?: number;
  /** error: the share of requests answered 500, 0–1, drawn from a seeded source; default 1 */
  errorRate?: number;
  /** any mode: answers this many times as long as the model's natural length (capped by max_tokens); default 1 */
  outputFactor?: number;
  /** seeds the error draws (the same seed fails the same requests in order); default 1 */
  seed?: number;
}

/** Every field set: what GET /sim/faults reports. */
export type Faults = Required<FaultSpec>;

/** The spec with its defaults. */
export function resolveFaults(f: FaultSpec): Faults {
  return {
    mode: f.mode,
    slowFactor: f.slowFactor ?? (f.mode === 'slow' ? 10 : 1),
    errorRate: f.errorRate ?? 1,
    outputFactor: f.outputFactor ?? 1,
    seed: f.seed ?? 1,
  };
}

/** The error draws of one fault setting: each model-serving request asks once. */
export class ErrorDraw {
  readonly #rate: number;
  readonly #rng: Rng;

  constructor(f: Faults) {
    this.#rate = f.mode === 'error' ? f.errorRate : 0;
    this.#rng = rng(f.seed);
  }

  /** whether this request is answered 500 */
  fails(): boolean {
    if (this.#rate >= 1) return true;
    if (this.#rate <= 0) return false;
    return this.#rng() < this.#rate;
  }
}

const MODES: ReadonlySet<string> = new Set(['none', 'hang', 'error', 'slow']);
const USAGE = 'Send {"mode":"none"|"hang"|"error"|"slow","slowFactor"?:number,"errorRate"?:0–1,"outputFactor"?:number,"seed"?:integer}.';
const KEYS: ReadonlySet<string> = new Set(['mode', 'slowFactor', 'errorRate', 'outputFactor', 'seed']);

export function parseFaults(body: unknown): RequestParse<FaultSpec> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return badRequest(USAGE);
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!KEYS.has(k)) return badRequest(`Unknown field \`${k}\`. ${USAGE}`, k);
  if (typeof b.mode !== 'string' || !MODES.has(b.mode)) return badRequest('`mode` must be one of none, hang, error, slow.', 'mode');
  const out: FaultSpec = { mode: b.mode as FaultMode };
  if (b.slowFactor !== undefined) {
    if (!positive(b.slowFactor)) return badRequest('`slowFactor` must be a positive number.', 'slowFactor');
    out.slowFactor = b.slowFactor;
  }
  if (b.errorRate !== undefined) {
    if (typeof b.errorRate !== 'number' || !(b.errorRate >= 0 && b.errorRate <= 1)) return badRequest('`errorRate` must be a number from 0 to 1.', 'errorRate');
    out.errorRate = b.errorRate;
  }
  if (b.outputFactor !== undefined) {
    if (!positive(b.outputFactor)) return badRequest('`outputFactor` must be a positive number.', 'outputFactor');
    out.outputFactor = b.outputFactor;
  }
  if (b.seed !== undefined) {
    if (typeof b.seed !== 'number' || !Number.isSafeInteger(b.seed)) return badRequest('`seed` must be an integer.', 'seed');
    out.seed = b.seed;
  }
  return { ok: true, value: out };
}

const positive = (x: unknown): x is number => typeof x === 'number' && x > 0 && Number.isFinite(x);
