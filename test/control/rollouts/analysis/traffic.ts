// Synthetic rollout traffic for the analysis specs: two regions, streamed and unary calls,
// lognormal prompt sizes, a prefix cache that hits for stable far more often than for a new
// candidate (cold), TTFT that grows with the tokens computed and drifts with load over time.
// Both sides draw from the same per-stratum distributions unless an `effect` says otherwise.

import type { CallSample, Side } from '../../../../src/control/rollouts/index.js';

/** splitmix32: small, seeded, good enough for traffic. */
export function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws, two per Box-Muller transform. */
function normals(r: () => number): () => number {
  let spare = NaN;
  return () => {
    if (!Number.isNaN(spare)) { const z = spare; spare = NaN; return z; }
    const m = Math.sqrt(-2 * Math.log(1 - r()));
    const a = 2 * Math.PI * r();
    spare = m * Math.sin(a);
    return m * Math.cos(a);
  };
}

export interface Effect {
  /** the candidate's error rate (stable's is `baseErrors`) */
  readonly errors?: number;
  readonly ttftFactor?: number;
  readonly outputFactor?: number;
}

export interface Traffic {
  readonly seed: number;
  /** calls per second, both sides */
  readonly rps?: number;
  /** the candidate's share of calls */
  readonly share?: number;
  readonly baseErrors?: number;
  readonly stableHit?: number;
  readonly candidateHit?: number;
  readonly ttftSigma?: number;
  readonly effect?: Effect;
  /** when the traffic starts (ms) */
  readonly startMs?: number;
}

const MAX_TOKENS = 2048;

/** Hands `visit` each call in time order until it returns false. */
export function drive(t: Traffic, visit: (side: Side, s: CallSample) => boolean): void {
  const r = rng(t.seed);
  const normal = normals(r);
  const rps = t.rps ?? 100;
  const share = t.share ?? 5_000 / 55_000;
  const baseErrors = t.baseErrors ?? 0.01;
  const sigma = t.ttftSigma ?? 0.5;
  const e = t.effect ?? {};
  let atMs = t.startMs ?? 0;
  for (;;) {
    atMs += (-Math.log(1 - r()) / rps) * 1000;
    const side: Side = r() < share ? 'candidate' : 'stable';
    const cand = side === 'candidate';
    const region = r() < 0.6 ? 'us-east' : 'eu-west';
    const stream = r() < 0.8;
    const promptTokens = Math.max(1, Math.round(Math.exp(Math.log(800) + 1.0 * normal())));
    const hit = r() < (cand ? (t.candidateHit ?? 0.15) : (t.stableHit ?? 0.85));
    const cachedTokens = hit ? Math.floor(promptTokens * (0.5 + 0.45 * r())) : 0;
    const failed = r() < (cand ? (e.errors ?? baseErrors) : baseErrors);
    // load drifts over the day (the same for both sides): matching in time keeps it out of the comparison
    const load = 1 + 0.4 * Math.sin(atMs / 600_000);
    const computed = promptTokens - cachedTokens;
    const ttftBase = (30 + 0.15 * computed) * load * (region === 'eu-west' ? 1.2 : 1);
    const ttft = ttftBase * Math.exp(sigma * normal()) * (cand ? (e.ttftFactor ?? 1) : 1);
    const itl = 18 * load * Math.exp(0.3 * normal());
    const want = Math.exp(Math.log(220) + 0.8 * normal()) * (cand ? (e.outputFactor ?? 1) : 1);
    const outputTokens = failed ? 0 : Math.max(1, Math.min(MAX_TOKENS, Math.round(want)));
    const go = visit(side, {
      atMs,
      region,
      stream,
      failed,
      ttftMs: failed || !stream ? null : ttft,
      itlMs: failed || outputTokens < 2 ? null : itl,
      promptTokens,
      // a failed call reports no usage
      cachedTokens: failed ? 0 : cachedTokens,
      outputTokens,
      truncated: !failed && outputTokens === MAX_TOKENS,
      costUsd: failed ? 0 : computed * 1e-6 + cachedTokens * 1e-7 + outputTokens * 4e-6,
    });
    if (!go) return;
  }
}

/** A sample with defaults, for hand-written cases. */
export function call(over: Partial<CallSample> = {}): CallSample {
  return {
    atMs: 0, region: 'us-east', stream: true, failed: false, ttftMs: 100, itlMs: 20,
    promptTokens: 1000, cachedTokens: 0, outputTokens: 200, truncated: false, costUsd: 0.001,
    ...over,
  };
}
