import type { HardwareProfile } from '../../engine/index.js';
import type { ReplicaOptions } from '../../engine/types.js';
import { DEFAULT_SHAPE, replicaCapacity } from '../autoscaler/capacity.js';
import { resolveConfig } from '../../engine/config.js';
import { stepSeconds } from '../../engine/profile.js';

// Cost per million tokens needs the replica's time split between the two phases it is spent on:
// prefill (every prompt token not served from the prefix cache is computed once) and decode (every
// output token is one sequence's share of a decode step). The split is the engine model's: replica
// seconds an uncached prompt token costs against those an output token costs on this hardware, at
// the batch the replica runs at its SLO capacity. Cached prompt tokens cost nothing here, which is
// why cache hits lower the cost per million input tokens.

export interface PhaseWeights {
  /** replica seconds one uncached prompt token costs */
  readonly inputS: number;
  /** replica seconds one output token costs (its share of a decode step) */
  readonly outputS: number;
}

export interface Tokens {
  /** prompt tokens, cached ones included */
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
}

export interface CostSplit {
  readonly inputUsd: number;
  readonly outputUsd: number;
}

/** the SLO the default split is taken at (the simulator's and the autoscaler's default) */
const DEFAULT_SLO = { ttftMs: 2_000, itlMs: 100 } as const;

/** The engine model's phase weights for a profile, at a request shape (default 1,000 in / 200 out). */
export function phaseWeights(profile: HardwareProfile, engine: ReplicaOptions = {}, shape: { promptTokens: number; outputTokens: number } = DEFAULT_SHAPE): PhaseWeights {
  const c = profile.step;
  const cap = replicaCapacity(profile, engine, shape, DEFAULT_SLO);
  const b = Math.max(1, Math.round(cap.batch));
  // the shape as the engine would take it: no longer than its context window
  const maxLen = resolveConfig(profile, engine).maxModelLen;
  const P = Math.max(1, Math.min(shape.promptTokens, maxLen - 1));
  const O = Math.max(1, Math.min(shape.outputTokens, maxLen - P));
  const ctx = P + O / 2;
  const step = stepSeconds(c, { prefillTokens: 0, decodeSeqs: b, kvTokens: b * ctx, scheduledTokens: b });
  return { inputS: c.computePerTokenS + c.tpCommPerTokenS, outputS: step / b };
}

/** Splits `usd` between the phases by the modelled time each used; all to output when no tokens were served. */
export function splitCost(usd: number, t: Tokens, w: PhaseWeights): CostSplit {
  const input = Math.max(0, t.inputTokens - t.cachedInputTokens) * w.inputS;
  const output = Math.max(0, t.outputTokens) * w.outputS;
  const total = input + output;
  if (!(total > 0)) return { inputUsd: 0, outputUsd: usd };
  return { inputUsd: (usd * input) / total, outputUsd: (usd * output) / total };
}

/** USD per million tokens; null when no tokens were served (a cost with nothing to divide it by). */
export function perMillion(usd: number, tokens: number): number | null {
  return tokens > 0 ? (usd * 1e6) / tokens : null;
}
