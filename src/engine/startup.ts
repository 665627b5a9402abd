// How long a replica takes from being asked for to taking its first request. A vLLM server loads
// its weights, compiles, captures CUDA graphs and warms up before its /health answers 200; the
// autoscaler's forecast must look that far ahead, and the simulator charges the GPU for it.

export type StartupKind = 'cold' | 'tuned' | 'snapshot';

export const STARTUP_KINDS: readonly StartupKind[] = ['cold', 'tuned', 'snapshot'];

/** Seconds of the start-up spent in each stage, where the measurement names it; null: not reported. */
export interface StartupParts {
  readonly weightsLoadS: number | null;
  readonly compileS: number | null;
  readonly cudaGraphCaptureS: number | null;
  readonly warmupS: number | null;
}

export interface StartupProfile {
  readonly kind: StartupKind;
  /** asked for → ready, seconds */
  readonly seconds: number;
  /** where the figure comes from */
  readonly note: string;
  readonly parts: StartupParts;
}

const UNKNOWN: StartupParts = { weightsLoadS: null, compileS: null, cudaGraphCaptureS: null, warmupS: null };
const BLOG = 'llm-d blog 2026-08-26, vLLM cold-start evaluation (llm-d-extensions/vllm-cold-start-evaluation), Qwen3-32B TP1 on one H100';

export const STARTUP_PROFILES: Readonly<Record<StartupKind, StartupProfile>> = {
  cold: {
    kind: 'cold', seconds: 90.7, parts: UNKNOWN,
    note: `${BLOG}: time to ready with vLLM's defaults`,
  },
  tuned: {
    kind: 'tuned', seconds: 43.3, parts: { ...UNKNOWN, cudaGraphCaptureS: 11.4 },
    note: `${BLOG}: time to ready with a bytecode cache, fork start and fastsafetensors; CUDA-graph capture is 11.4 s of it`,
  },
  snapshot: {
    kind: 'snapshot', seconds: 5.5, parts: UNKNOWN,
    note: `${BLOG}: a CRIU + cuda-checkpoint restore of a started server (~5.5 s, against ~117 s for that prototype's cold boot)`,
  },
};

const isKind = (s: unknown): s is StartupKind => typeof s === 'string' && (STARTUP_KINDS as readonly string[]).includes(s);

const ALLOWED = `${STARTUP_KINDS.join(', ')} (${STARTUP_KINDS.map((k) => `${STARTUP_PROFILES[k].seconds} s`).join(', ')}) or a number of seconds ≥ 0`;

/** A start-up as milliseconds: a profile's name or seconds; an error value naming the choices otherwise. */
export function parseStartup(s: string | number): { ok: true; ms: number } | { ok: false; message: string } {
  if (isKind(s)) return { ok: true, ms: Math.round(STARTUP_PROFILES[s].seconds * 1000) };
  const n = typeof s === 'number' ? s : s.trim() === '' ? NaN : Number(s);
  if (!Number.isFinite(n) || n < 0) return { ok: false, message: `start-up '${String(s)}' is not one of ${ALLOWED}` };
  return { ok: true, ms: Math.round(n * 1000) };
}

/** 'cold' | 'tuned' | 'snapshot' | a number of seconds → ms; throws a RangeError naming the choices otherwise. */
export function startupMs(s: StartupKind | number): number {
  const r = parseStartup(s);
  if (!r.ok) throw new RangeError(r.message);
  return r.ms;
}
