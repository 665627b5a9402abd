import { describe, expect, it } from 'vitest';
import { gamma, poisson, WorkloadError, type SyntheticOptions } from '../../../src/sim/workload/index.js';
import { cv, drain, gaps, mean } from './helpers.js';

const base: SyntheticOptions = { ratePerS: 5, seed: 1, prompt: { kind: 'lognormal', p50: 800, p90: 2000 }, output: { kind: 'uniform', min: 10, max: 300 } };

describe('poisson workload', () => {
  it('is the same for the same seed and different for another', () => {
    const a = drain(poisson({ ...base, durationS: 60 }));
    expect(drain(poisson({ ...base, durationS: 60 }))).toEqual(a);
    expect(drain(poisson({ ...base, durationS: 60, seed: 2 }))).not.toEqual(a);
  });

  it('numbers arrivals 0, 1, 2… in non-decreasing time, with no prefix shared between requests', () => {
    const as = drain(poisson({ ...base, durationS: 100 }));
    expect(as.every((a, i) => a.id === i)).toBe(true);
    expect(gaps(as).every((g) => g >= 0)).toBe(true);
    const keys = new Set(as.flatMap((a) => [...a.segments.map((s) => s.key), a.outputKey]));
    expect(keys.size).toBe(2 * as.length);
    for (const a of as) {
      expect(a.segments.reduce((s, x) => s + x.length, 0)).toBe(a.promptLen);
      expect(a.session).toBeNull();
      expect(a.tenant).toBe('default');
      expect(a.model).toBeNull();
    }
  });

  it('keeps its mean rate over a long run (within 2%) with exponential gaps (cv ≈ 1)', () => {
    const as = drain(poisson({ ...base, ratePerS: 20, durationS: 2000 })); // ~40k arrivals
    expect(as.length / 2000 / 20).toBeCloseTo(1, 1.7);
    expect(cv(gaps(as))).toBeCloseTo(1, 1.5);
  });

  it('stops at durationS and stays stopped', () => {
    const w = poisson({ ...base, durationS: 10 });
    const as = drain(w);
    expect(as.at(-1)!.atS).toBeLessThanOrEqual(10);
    for (let i = 0; i < 50; i++) expect(w.next()).toBeNull();
  });

  it('runs without end when no durationS is given', () => {
    expect(drain(poisson(base), 5000)).toHaveLength(5000);
  });

  it('draws tenants by weight without moving any arrival time or length', () => {
    const mixed = drain(poisson({ ...base, durationS: 2000, tenants: [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }] }));
    const plain = drain(poisson({ ...base, durationS: 2000 }));
    expect(mixed.map((a) => [a.atS, a.promptLen, a.outputLen])).toEqual(plain.map((a) => [a.atS, a.promptLen, a.outputLen]));
    const shareA = mixed.filter((a) => a.tenant === 'a').length / mixed.length;
    expect(shareA).toBeCloseTo(0.75, 1.5);
  });

  it('stamps a fixed tenant and model', () => {
    const [a] = drain(poisson({ ...base, tenant: 'acme', model: 'llama' }), 1);
    expect([a.tenant, a.model]).toEqual(['acme', 'llama']);
  });

  it('refuses a rate ≤ 0 and both tenant and tenants', () => {
    expect(() => poisson({ ...base, ratePerS: 0 })).toThrow(/ratePerS must be a finite number > 0/);
    expect(() => poisson({ ...base, tenant: 'x', tenants: [{ name: 'y', weight: 1 }] })).toThrow(WorkloadError);
  });

  it('describes itself in one line', () => {
    expect(poisson({ ...base, durationS: 600 }).description).toBe('Poisson 5 req/s for 600 s (~3,000 requests), prompt lognormal p50 800 p90 2000, output uniform 10–300');
    expect(poisson({ ...base, startS: 120, durationS: 60 }).description).toMatch(/^Poisson 5 req\/s from 120 s for 60 s \(~300 requests\)/);
  });

  it('starts late when given startS: arrivals from startS to startS + durationS, at the same rate (a spike)', () => {
    const as = drain(poisson({ ...base, ratePerS: 50, startS: 120, durationS: 60 }));
    expect(as[0].atS).toBeGreaterThan(120);
    expect(as.at(-1)!.atS).toBeLessThanOrEqual(180);
    expect(as.length / 60 / 50).toBeCloseTo(1, 1);
    // the same draws as without the offset, shifted: only the clock moved
    const plain = drain(poisson({ ...base, ratePerS: 50, durationS: 60 }));
    expect(as.map((a) => a.atS - 120)).toEqual(plain.map((a) => expect.closeTo(a.atS, 9)));
  });
});

describe('gamma workload', () => {
  it.each([
    [3, 'bursty'],
    [0.5, 'regular'],
  ])('has inter-arrival cv %d (%s) at the asked mean rate', (c) => {
    const as = drain(gamma({ ...base, ratePerS: 10, cv: c, durationS: 10_000 })); // ~100k arrivals
    expect(as.length / 10_000 / 10).toBeCloseTo(1, 1.3);
    expect(cv(gaps(as)) / c).toBeCloseTo(1, 1.3);
  });

  it('with cv 1 is as random as Poisson', () => {
    const as = drain(gamma({ ...base, ratePerS: 10, cv: 1, durationS: 5000 }));
    expect(cv(gaps(as))).toBeCloseTo(1, 1.5);
  });

  it('is bursty where Poisson is not: its busiest second holds far more arrivals', () => {
    const peak = (ts: number[]) => {
      const per = new Map<number, number>();
      for (const t of ts) per.set(Math.floor(t), (per.get(Math.floor(t)) ?? 0) + 1);
      return Math.max(...per.values());
    };
    const g = drain(gamma({ ...base, ratePerS: 5, cv: 5, durationS: 3600 })).map((a) => a.atS);
    const p = drain(poisson({ ...base, ratePerS: 5, durationS: 3600 })).map((a) => a.atS);
    expect(peak(g)).toBeGreaterThan(2 * peak(p));
    expect(mean(gaps(drain(gamma({ ...base, ratePerS: 5, cv: 5, durationS: 3600 }))))).toBeCloseTo(0.2, 1);
  });

  it('refuses cv ≤ 0', () => {
    expect(() => gamma({ ...base, cv: 0 })).toThrow(/cv must be a finite number > 0, got 0/);
  });
});
