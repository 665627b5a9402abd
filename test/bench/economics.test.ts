import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/sim/index.js';

// The economics bench (bench/economics/) is plain JS run by `npm run bench:economics`; these specs
// keep its two pure parts honest without running a simulation: the fixed fleet's search, and the
// scenarios it hands the simulator (which must stay valid as the scenario schema moves).

interface Case {
  readonly id: string;
  readonly rateScale: number;
  readonly model: string;
}
type Policy = { name: 'fixed'; replicas: number } | { name: 'switchyard'; initial: number; max: number };
interface Cases {
  readonly CASES: readonly Case[];
  readonly LEVELS: readonly number[];
  readonly QUICK_LEVELS: readonly number[];
  scenarioOf(c: Case, level: number, quick: boolean, policy: Policy): unknown;
}
interface Search {
  smallestPassing(pass: (n: number) => boolean, guess: number, max: number): number;
}

const bench = (f: string) => new URL(`../../bench/economics/${f}`, import.meta.url).href;
const { smallestPassing } = (await import(bench('search.js'))) as Search;
const cases = (await import(bench('cases.js'))) as Cases;

describe('the fixed fleet search (smallestPassing)', () => {
  it('finds the smallest passing size from any guess, asking about each size at most once', () => {
    const max = 40;
    for (let need = 1; need <= max; need++) {
      for (let guess = 1; guess <= max; guess++) {
        const asked: number[] = [];
        const got = smallestPassing((n) => {
          asked.push(n);
          return n >= need;
        }, guess, max);
        expect(got, `need ${need}, guess ${guess}`).toBe(need);
        expect(new Set(asked).size, `need ${need}, guess ${guess}: asked ${asked.join(',')}`).toBe(asked.length);
        expect(asked.every((n) => n >= 1 && n <= max)).toBe(true);
        // galloping then bisecting: logarithmic in the distance from the guess
        expect(asked.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(Math.abs(need - guess) + 2)) + 2);
      }
    }
  });

  it('answers max when nothing up to max passes', () => {
    expect(smallestPassing(() => false, 3, 9)).toBe(9);
  });
});

describe('the bench scenarios', () => {
  it('are valid scenarios at every level, quick and full, with the level as the rate multiple', () => {
    for (const c of cases.CASES) {
      for (const [quick, levels] of [[false, cases.LEVELS], [true, cases.QUICK_LEVELS]] as const) {
        for (const level of levels) {
          const fixed = parseScenario(cases.scenarioOf(c, level, quick, { name: 'fixed', replicas: 3 }), `${c.id} ${level}x fixed`);
          const auto = parseScenario(cases.scenarioOf(c, level, quick, { name: 'switchyard', initial: 3, max: 17 }), `${c.id} ${level}x autoscaled`);
          for (const s of [fixed, auto]) {
            expect(s.workload.kind).toBe('diurnal');
            if (s.workload.kind === 'diurnal') expect(s.workload.of.rateScale).toBeCloseTo(c.rateScale * level, 12);
            expect(s.fleet).toHaveLength(1);
            expect(s.fleet[0].model).toBe(c.model);
          }
          expect(fixed.autoscale?.policy).toBe('fixed');
          expect(fixed.autoscale?.pools[0]).toMatchObject({ min: 1, max: 3, initial: 3 });
          expect(auto.autoscale?.policy).toBe('switchyard');
          expect(auto.autoscale?.pools[0]).toMatchObject({ min: 1, max: 17, initial: 3 });
        }
      }
    }
  });

  it('give the fixed fleets and the autoscaled run of a level the same arrivals (workload and seed)', () => {
    for (const c of cases.CASES) {
      for (const level of cases.LEVELS) {
        const fixed = parseScenario(cases.scenarioOf(c, level, false, { name: 'fixed', replicas: 2 }));
        const auto = parseScenario(cases.scenarioOf(c, level, false, { name: 'switchyard', initial: 2, max: 9 }));
        expect(auto.workload).toEqual(fixed.workload);
        expect(auto.seed).toBe(fixed.seed);
        expect(auto.durationS).toBe(fixed.durationS);
      }
    }
  });
});
