import { describe, expect, it } from 'vitest';
import { perMillion, phaseWeights, splitCost } from '../../../src/control/economics/index.js';
import { replicaCapacity } from '../../../src/control/autoscaler/capacity.js';
import { getProfile, resolveConfig, stepSeconds, type HardwareProfile } from '../../../src/engine/index.js';

const profile = (name: string): HardwareProfile => {
  const p = getProfile(name);
  if (p === undefined) throw new Error(`no profile ${name}`);
  return p;
};
const EIGHT_B = ['llama-3.1-8b-h100', 'llama-3.1-8b-a100', 'llama-3.1-8b-l40s', 'llama-3.1-8b-l4'] as const;

describe('phaseWeights', () => {
  it('prices an uncached prompt token at its marginal cost in a long, compute-bound prefill', () => {
    for (const name of EIGHT_B) {
      const p = profile(name);
      const at = (n: number) => stepSeconds(p.step, { prefillTokens: n, decodeSeqs: 0, kvTokens: n, scheduledTokens: n });
      expect(phaseWeights(p).inputS, name).toBeCloseTo((at(8192) - at(4096)) / 4096, 12);
    }
  });

  it('prices an output token below a lone decode step and above the weight read shared by the largest batch', () => {
    for (const name of EIGHT_B) {
      const p = profile(name);
      const w = phaseWeights(p);
      const lone = stepSeconds(p.step, { prefillTokens: 0, decodeSeqs: 1, kvTokens: 1100, scheduledTokens: 1 });
      expect(w.outputS, name).toBeLessThan(lone);
      expect(w.outputS, name).toBeGreaterThan(p.step.weightsS / resolveConfig(p).maxNumSeqs);
    }
  });

  it('shares the decode step among the batch the replica runs at its SLO capacity', () => {
    const p = profile('llama-3.1-8b-h100');
    const w = phaseWeights(p);
    const cap = replicaCapacity(p, {}, { promptTokens: 1000, outputTokens: 200 }, { ttftMs: 2000, itlMs: 100 });
    // the step at that batch is within the ITL objective, so an output token costs at most 100 ms / batch
    expect(w.outputS * cap.batch).toBeLessThanOrEqual(0.1);
    expect(w.outputS * cap.batch).toBeCloseTo(cap.stepMs / 1000, 2);
  });

  it('makes output tokens dearer relative to prompt tokens on slower memory', () => {
    const ratio = (n: string) => { const w = phaseWeights(profile(n)); return w.outputS / w.inputS; };
    expect(phaseWeights(profile('llama-3.1-8b-l4')).outputS).toBeGreaterThan(phaseWeights(profile('llama-3.1-8b-h100')).outputS);
    expect(ratio('llama-3.1-8b-l4')).toBeGreaterThan(ratio('llama-3.1-8b-h100'));
  });

  it('takes a shape longer than the context window as the engine would: cut to max_model_len', () => {
    const l4 = profile('llama-3.1-8b-l4');
    const maxLen = resolveConfig(l4, {}).maxModelLen;
    expect(maxLen).toBe(16_384);
    const cut = phaseWeights(l4, {}, { promptTokens: maxLen - 1, outputTokens: 1 });
    expect(phaseWeights(l4, {}, { promptTokens: 32_000, outputTokens: 200 })).toEqual(cut);
    // the cut shape is still the window's longest context: dearer per output token than a shorter one
    const fits = phaseWeights(l4, {}, { promptTokens: 8_000, outputTokens: 200 });
    expect(Number.isFinite(cut.outputS) && cut.outputS > fits.outputS).toBe(true);
  });

  it('depends on the request shape: longer contexts make each output token dearer', () => {
    const p = profile('llama-3.1-8b-h100');
    expect(phaseWeights(p, {}, { promptTokens: 8000, outputTokens: 200 }).outputS).toBeGreaterThan(phaseWeights(p).outputS);
  });
});

describe('splitCost', () => {
  const w = { inputS: 1e-4, outputS: 1e-3 };

  it('splits the cost in proportion to the modelled seconds of each phase, and adds back to it', () => {
    // 3,000 uncached prompt tokens = 0.3 s; 100 output tokens = 0.1 s
    const s = splitCost(8, { inputTokens: 3500, cachedInputTokens: 500, outputTokens: 100 }, w);
    expect(s.inputUsd).toBeCloseTo(6, 12);
    expect(s.outputUsd).toBeCloseTo(2, 12);
  });

  it('charges nothing for cached prompt tokens', () => {
    const s = splitCost(5, { inputTokens: 1000, cachedInputTokens: 1000, outputTokens: 10 }, w);
    expect(s).toEqual({ inputUsd: 0, outputUsd: 5 });
  });

  it('puts an idle cost on output when nothing was served, and never goes negative on odd counts', () => {
    expect(splitCost(3, { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 }, w)).toEqual({ inputUsd: 0, outputUsd: 3 });
    const odd = splitCost(3, { inputTokens: 10, cachedInputTokens: 20, outputTokens: -5 }, w);
    expect(odd).toEqual({ inputUsd: 0, outputUsd: 3 });
  });
});

describe('perMillion', () => {
  it('is USD per million tokens, and null with no tokens to divide by', () => {
    expect(perMillion(2, 4_000_000)).toBeCloseTo(0.5, 12);
    expect(perMillion(0, 10)).toBe(0);
    expect(perMillion(1, 0)).toBeNull();
  });
});
