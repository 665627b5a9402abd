import { describe, expect, it } from 'vitest';
import { RandomStream, seededRandom } from '../../../src/sim/workload/index.js';
import { cv, mean, quantile } from './helpers.js';

const draw = (n: number, f: () => number): Float64Array => Float64Array.from({ length: n }, f);

describe('seeded random source', () => {
  it('gives the same sequence for the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    expect(draw(100, a)).toEqual(draw(100, b));
  });

  it('gives a different sequence for a different seed, including seeds above 2^32', () => {
    expect(draw(10, seededRandom(1))).not.toEqual(draw(10, seededRandom(2)));
    expect(draw(10, seededRandom(2 ** 40 + 1))).not.toEqual(draw(10, seededRandom(1)));
  });

  it('draws uniformly in [0, 1)', () => {
    const xs = draw(100_000, seededRandom(7));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(mean(xs)).toBeCloseTo(0.5, 2);
    expect(quantile(xs, 0.9)).toBeCloseTo(0.9, 2);
  });

  it('forks independent streams that do not depend on how much the parent drew', () => {
    const r = new RandomStream(5);
    const before = r.fork(1).float();
    r.float();
    expect(r.fork(1).float()).toBe(before);
    expect(r.fork(2).float()).not.toBe(before);
  });
});

describe('sampling', () => {
  const r = new RandomStream(11);
  it('exponential has the given mean and cv 1', () => {
    const xs = draw(200_000, () => r.exponential(3));
    expect(mean(xs)).toBeCloseTo(3, 1);
    expect(cv(xs)).toBeCloseTo(1, 1);
  });

  it('normal has mean 0 and sd 1', () => {
    const xs = draw(200_000, () => r.normal());
    expect(mean(xs)).toBeCloseTo(0, 2);
    expect(cv(xs.map((x) => x + 10)) * 10).toBeCloseTo(1, 1.5); // sd of x+10 over mean 10
  });

  it.each([
    [0.25, 2], // shape < 1: the boosted branch
    [1, 1],
    [4, 0.5],
  ])('gamma(shape %d, scale %d) has mean shape·scale and cv 1/√shape', (shape, scale) => {
    const xs = draw(200_000, () => r.gamma(shape, scale));
    expect(mean(xs) / (shape * scale)).toBeCloseTo(1, 1.5);
    expect(cv(xs) * Math.sqrt(shape)).toBeCloseTo(1, 1.5);
  });

  it('lognormal has median e^mu', () => {
    const xs = draw(100_000, () => r.lognormal(Math.log(500), 0.8));
    expect(quantile(xs, 0.5) / 500).toBeCloseTo(1, 1.5);
  });
});
