import { describe, expect, it } from 'vitest';
import { POLICY_NAMES, routingPolicy, type PolicyInput, type PolicyView } from '../../src/routing/index.js';

const r = (region: string, inflight: number, scraped: PolicyView['scraped'] = null, healthy = true): PolicyView => ({ region, inflight, healthy, scraped });
const input = (candidates: PolicyView[], over: Partial<PolicyInput> = {}): PolicyInput =>
  ({ candidates, homeRegion: 'us-east', allowedRegions: null, exclude: null, random: 0, sequence: 0, ...over });

describe('named routing policies', () => {
  it('refuses an unknown name, listing the known ones', () => {
    expect(() => routingPolicy('fastest')).toThrow(/unknown routing policy "fastest"; known: least-outstanding, round-robin, random, power-of-two, queue-depth/);
  });

  for (const name of POLICY_NAMES) {
    it(`${name}: keeps to healthy, allowed, untried replicas and prefers the home region`, () => {
      const p = routingPolicy(name);
      for (let seq = 0; seq < 20; seq++) {
        const random = (seq * 0.137) % 1;
        expect(p(input([r('eu-west', 0), r('us-east', 9), r('us-east', 0, null, false)], { sequence: seq, random }))).toBe(1);
        expect(p(input([r('us-east', 0), r('eu-west', 3)], { sequence: seq, random, allowedRegions: ['eu-west'] }))).toBe(1);
        expect(p(input([r('us-east', 0), r('us-east', 3)], { sequence: seq, random, exclude: [0] }))).toBe(1);
        expect(p(input([r('us-east', 0, null, false)], { sequence: seq, random }))).toBe(-1);
      }
    });
  }

  it('round-robin visits every replica in turn, whatever their load', () => {
    const p = routingPolicy('round-robin');
    const c = [r('us-east', 5), r('us-east', 0), r('us-east', 9)];
    expect([0, 1, 2, 3, 4, 5].map((sequence) => p(input(c, { sequence })))).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('round-robin turns evenly over the home region, however many remote replicas sit between', () => {
    const p = routingPolicy('round-robin');
    const c = [r('us-east', 0), r('eu-west', 0), r('eu-west', 0), r('us-east', 0), r('eu-west', 0)];
    const got = Array.from({ length: 6 }, (_, sequence) => p(input(c, { sequence })));
    expect(got).toEqual([0, 3, 0, 3, 0, 3]);
  });

  it('random spreads over all eligible replicas as the random number varies', () => {
    const p = routingPolicy('random');
    const c = [r('us-east', 5), r('us-east', 0), r('us-east', 9), r('us-east', 1)];
    const seen = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const k = p(input(c, { random: (i * 0.618034) % 1 }));
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const n of seen.values()) expect(n).toBeGreaterThan(50);
  });

  it('power-of-two never picks the busiest of many, and spreads over the rest', () => {
    const p = routingPolicy('power-of-two');
    const c = [r('us-east', 9), r('us-east', 1), r('us-east', 2), r('us-east', 3), r('us-east', 4)];
    const seen = new Map<number, number>();
    for (let i = 0; i < 500; i++) {
      const k = p(input(c, { random: (i * 0.618034) % 1 }));
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    expect(seen.has(0)).toBe(false); // it loses every duel
    expect(seen.get(1)).toBeGreaterThan(seen.get(4) ?? 0); // the least loaded wins most
    expect(seen.size).toBe(4);
    expect(p(input([r('us-east', 5)]))).toBe(0); // one candidate: no duel
  });

  it('queue-depth goes by the scraped queue, not by what this gateway has outstanding', () => {
    const p = routingPolicy('queue-depth');
    const c = [r('us-east', 0, { waiting: 4, running: 10, kvUsage: 0.9 }), r('us-east', 7, { waiting: 0, running: 30, kvUsage: 0.5 })];
    expect(p(input(c))).toBe(1);
    // never scraped: falls back to outstanding requests
    expect(p(input([r('us-east', 3), r('us-east', 1)]))).toBe(1);
  });
});
