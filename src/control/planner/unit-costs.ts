import { getProfile } from '../../engine/index.js';
import { perMillion, phaseWeights, splitCost, type PhaseWeights } from '../economics/index.js';
import type { Offer, PlanProblem, PlanSolution, UnitCost } from './types.js';

// What a plan's tokens cost: each offer's GPU cost over the horizon, split between prefill and
// decode by the engine model's phase weights for its profile and the tokens the normal scenario
// routes to it, then summed per model and region. The failure scenarios' routing is spare capacity
// held, not tokens served, so only the normal scenario's tokens count.

/** the phase weights of an offer's profile (engine options default); an unknown profile splits by tokens alone */
function defaultWeights(offer: Offer): PhaseWeights {
  const profile = getProfile(offer.profile);
  return profile === undefined ? { inputS: 1, outputS: 1 } : phaseWeights(profile);
}

/**
 * Cost per million input and output tokens per (model, region) that holds replicas, in the plan's
 * model-then-region order. `weightsOf` gives an offer's phase weights (default: its profile's with
 * the engine's default options). The usd figures add up to the solution's.
 */
export function unitCostsOf(p: PlanProblem, s: PlanSolution, weightsOf: (offer: Offer) => PhaseWeights = defaultWeights): UnitCost[] {
  if (s.status !== 'optimal') return [];
  const input = new Array<number>(p.offers.length).fill(0);
  const output = new Array<number>(p.offers.length).fill(0);
  for (const r of s.routes) {
    if (r.scenario !== 'normal') continue;
    const b = p.streams[r.stream].buckets[r.bucket];
    input[r.offer] += r.ratePerS * 3600 * b.promptTokens;
    output[r.offer] += r.ratePerS * 3600 * b.outputTokens;
  }

  interface Sum { usd: number; inputUsd: number; outputUsd: number; inputTokens: number; outputTokens: number }
  const sums = new Map<string, Sum & { model: string; region: string }>();
  p.offers.forEach((of, o) => {
    const replicaHours = s.replicas.reduce((a, row) => a + (row[o] ?? 0), 0);
    if (replicaHours <= 0) return;
    const usd = replicaHours * of.gpus * of.usdPerGpuHour;
    const split = splitCost(usd, { inputTokens: input[o], cachedInputTokens: 0, outputTokens: output[o] }, weightsOf(of));
    const key = `${of.model}\u0000${of.region}`;
    const acc = sums.get(key) ?? { model: of.model, region: of.region, usd: 0, inputUsd: 0, outputUsd: 0, inputTokens: 0, outputTokens: 0 };
    acc.usd += usd;
    acc.inputUsd += split.inputUsd;
    acc.outputUsd += split.outputUsd;
    acc.inputTokens += input[o];
    acc.outputTokens += output[o];
    sums.set(key, acc);
  });

  const models = [...new Set(p.offers.map((of) => of.model))];
  const out: UnitCost[] = [];
  for (const model of models) {
    for (const region of p.regions) {
      const a = sums.get(`${model}\u0000${region}`);
      if (a === undefined) continue;
      out.push({
        model, region, usd: a.usd, inputTokens: a.inputTokens, outputTokens: a.outputTokens,
        inputUsdPerM: perMillion(a.inputUsd, a.inputTokens), outputUsdPerM: perMillion(a.outputUsd, a.outputTokens),
      });
    }
  }
  return out;
}

/**
 * The plan's planned load ÷ the capacity it holds over the horizon, 0–1: replica-hours of load the
 * normal scenario routes (a bucket's rate ÷ one replica's full capacity for it) over replica-hours
 * up (replicas × availability). `utilisation` is the plan's ceiling, which the problem's capacities
 * already include: dividing it out gives the replica's full capacity, so a plan filled to its
 * ceiling reads as that ceiling. 0 when nothing is held.
 */
export function plannedUtilisation(p: PlanProblem, s: PlanSolution, utilisation: number): number {
  if (s.status !== 'optimal') return 0;
  let held = 0;
  s.replicas.forEach((row) => row.forEach((n, o) => { held += n * p.offers[o].availability; }));
  if (!(held > 0)) return 0;
  let load = 0;
  for (const r of s.routes) {
    if (r.scenario !== 'normal') continue;
    const cap = p.capacity[r.stream]?.[r.bucket]?.[r.offer] ?? 0;
    if (cap > 0) load += (r.ratePerS * utilisation) / cap;
  }
  return Math.min(1, Math.max(0, load / held));
}
