import { resolveConfig } from '../../engine/config.js';
import { stepSeconds, type HardwareProfile } from '../../engine/profile.js';
import type { ReplicaOptions } from '../../engine/types.js';

// What one replica carries within the latency objective, from the engine's roofline (engine/profile.ts)
// rather than a constant per model. The engine runs chunked prefill: a prompt's chunks share steps
// with the decodes, so every prefill stretches the inter-token gaps of everything decoding at the
// time. At a request rate r, prefill takes ρ = r·prefill of each second and the decode batch follows
// from Little's law, so the mean inter-token latency is t(B)/(1 − ρ); the objective is a p99, so the
// prefills landing in one request's decode are counted at their 99th percentile, and time to
// first token at the 99th percentile of an M/M/1 wait for prefill. Capacity is the highest rate whose
// modelled p99s are both within the SLO. Cold-start samples never enter it: it is a model, not a fit.

export interface ReplicaCapacity {
  /** requests a second one replica completes at the SLO, at full use (the policy plans below it) */
  readonly requestsPerS: number;
  /** decode batch at that rate (Little's law), within max_num_seqs and the KV cache */
  readonly batch: number;
  /** requests in flight on one replica at that rate, prefilling and decoding: the concurrency it holds */
  readonly inflight: number;
  /** modelled pure decode step at that rate's batch, ms */
  readonly stepMs: number;
  /** modelled p99 time to first token at requestsPerS, ms (above the SLO when no load meets it) */
  readonly ttftMs: number;
  /** modelled p99 inter-token latency of one request at requestsPerS, ms (above the SLO when no load meets it) */
  readonly itlMs: number;
}

/** One replica's modelled latency at a given request rate. */
export interface ReplicaLatency {
  /** p99 time to first token, ms; Infinity when the rate overloads the replica */
  readonly ttftMs: number;
  /** p99 of a request's mean inter-token latency, ms; Infinity when overloaded */
  readonly itlMs: number;
  /** decoding sequences (Little's law) and the pure decode step at that batch, ms */
  readonly decoding: number;
  readonly stepMs: number;
  /** requests in flight: prefilling and decoding */
  readonly inflight: number;
}

/** the request shape assumed before any traffic is seen */
export const DEFAULT_SHAPE = { promptTokens: 1000, outputTokens: 200 } as const;

/**
 * the least prefill utilisation planned for: when the objectives are not met even by an idle
 * replica, capacity stays finite, so the pool does not ask for its maximum on a model error; the
 * latency estimates then show the breach
 */
const MIN_RHO = 0.1;
/** the standard normal's 99th percentile */
const Z99 = 2.326;

const positive = (x: number, def: number): number => (Number.isFinite(x) && x > 0 ? x : def);

interface Model {
  readonly P: number;
  readonly O: number;
  readonly bMax: number;
  readonly prefillS: number;
  decodeS(b: number): number;
}

function modelOf(profile: HardwareProfile, engine: ReplicaOptions, shape: { promptTokens: number; outputTokens: number }): Model {
  const cfg = resolveConfig(profile, engine);
  const c = profile.step;
  const kvTokens = cfg.numGpuBlocks * cfg.blockSize;
  // a request longer than the context window is refused by the engine; the rest are what the pool serves
  const P = Math.max(1, Math.min(positive(shape.promptTokens, DEFAULT_SHAPE.promptTokens), cfg.maxModelLen - 1));
  const O = Math.max(1, Math.min(positive(shape.outputTokens, DEFAULT_SHAPE.outputTokens), cfg.maxModelLen - P));
  // each running sequence holds prompt + half its output on average, and needs room for all of it
  const ctx = P + O / 2;
  const bMax = Math.max(1, Math.min(cfg.maxNumSeqs, cfg.maxNumBatchedTokens, Math.floor(kvTokens / (P + O))));
  // prefill of one prompt in chunks of max_num_batched_tokens, each attending to what precedes it
  let prefillS = 0;
  for (let done = 0; done < P; done += cfg.maxNumBatchedTokens) {
    const chunk = Math.min(cfg.maxNumBatchedTokens, P - done);
    prefillS += stepSeconds(c, { prefillTokens: chunk, decodeSeqs: 0, kvTokens: done + chunk, scheduledTokens: chunk });
  }
  const decodeS = (b: number) => stepSeconds(c, { prefillTokens: 0, decodeSeqs: b, kvTokens: b * ctx, scheduledTokens: Math.max(1, b) });
  return { P, O, bMax, prefillS, decodeS };
}

const OVERLOADED: ReplicaLatency = { ttftMs: Infinity, itlMs: Infinity, decoding: Infinity, stepMs: Infinity, inflight: Infinity };

function latencyAt(m: Model, r: number): ReplicaLatency {
  const rho = r * m.prefillS;
  if (!(rho < 1)) return OVERLOADED;
  // the decode batch and the gap between its tokens, to their fixed point: B = r·(O − 1)·ITL, ITL = t(B)/(1 − ρ)
  const decodes = Math.max(0, m.O - 1);
  let itl = m.decodeS(1) / (1 - rho);
  let b = 0;
  for (let i = 0; i < 50; i++) {
    b = r * decodes * itl;
    if (b > m.bMax) return OVERLOADED;
    const next = m.decodeS(Math.max(1, b)) / (1 - rho);
    if (Math.abs(next - itl) < 1e-7) {
      itl = next;
      break;
    }
    itl = next;
  }
  const tB = m.decodeS(Math.max(1, b));
  // prefills landing in one request's decode window: Poisson arrivals, mean λ = r·(O − 1)·ITL;
  const lambda = r * decodes * itl;
  // each prefill lengthens the window and so lets more in: the count's spread is √λ/(1 − ρ), not a
  // plain Poisson's √λ; its p99 by the Cornish–Fisher normal approximation
  const spread = Math.sqrt(lambda) / (1 - rho);
  const itlP99 = decodes > 0 ? tB + ((lambda + Z99 * spread + (Z99 * Z99 - 1) / 6) * m.prefillS) / decodes : 0;
  // waiting for prefill: an M/M/1 wait's p99 is S/(1 − ρ)·ln(100ρ) (zero below 1 % busy); then its own
  // prefill and a step. Exponential service is right for traces, whose prompt lengths spread about as
  // widely as their mean; for one fixed prompt length it is twice the truth (M/D/1 waits half as long).
  const wait = rho > 0.01 ? (m.prefillS / (1 - rho)) * Math.log(100 * rho) : 0;
  const ttft = wait + m.prefillS + tB;
  const ttftMean = (rho * m.prefillS) / (1 - rho) + m.prefillS + tB;
  return { ttftMs: ttft * 1000, itlMs: itlP99 * 1000, decoding: b, stepMs: tB * 1000, inflight: b + r * ttftMean };
}

/** One replica's modelled p99 latency at `ratePerS` requests a second of the given shape. */
export function replicaLatency(
  profile: HardwareProfile,
  engine: ReplicaOptions,
  shape: { promptTokens: number; outputTokens: number },
  ratePerS: number,
): ReplicaLatency {
  return latencyAt(modelOf(profile, engine, shape), Math.max(0, Number.isFinite(ratePerS) ? ratePerS : 0));
}

export function replicaCapacity(
  profile: HardwareProfile,
  engine: ReplicaOptions,
  shape: { promptTokens: number; outputTokens: number },
  slo: { ttftMs: number; itlMs: number },
): ReplicaCapacity {
  const m = modelOf(profile, engine, shape);
  const itlMs = positive(slo.itlMs, Infinity);
  const ttftMs = positive(slo.ttftMs, Infinity);
  const meets = (l: ReplicaLatency) => l.itlMs <= itlMs && l.ttftMs <= ttftMs;
  // latency rises with the rate: the highest rate within both objectives, by bisection below saturation
  let lo = 0;
  let hi = 1 / m.prefillS;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (meets(latencyAt(m, mid))) lo = mid;
    else hi = mid;
  }
  const r = Math.max(lo, MIN_RHO / m.prefillS);
  const at = latencyAt(m, r);
  const finite = (x: number, def: number) => (Number.isFinite(x) ? x : def);
  return {
    requestsPerS: r,
    batch: Math.max(1, Math.min(m.bMax, finite(at.decoding, m.bMax))),
    inflight: Math.max(1, finite(at.inflight, m.bMax)),
    stepMs: finite(at.stepMs, m.decodeS(m.bMax) * 1000),
    ttftMs: finite(at.ttftMs, Number.MAX_VALUE),
    itlMs: finite(at.itlMs, Number.MAX_VALUE),
  };
}
