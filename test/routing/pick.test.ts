import { describe, expect, it } from 'vitest';
import { pickReplica, type ReplicaView } from '../../src/routing/index.js';

const r = (region: string, inflight: number, healthy = true): ReplicaView => ({ region, inflight, healthy });
const pick = (candidates: ReplicaView[], over: Partial<Parameters<typeof pickReplica>[0]> = {}) =>
  pickReplica({ candidates, homeRegion: 'us-east', allowedRegions: null, exclude: null, random: 0, ...over });

describe('choosing a replica', () => {
  it.each([
    { why: 'fewest outstanding requests wins', c: [r('us-east', 3), r('us-east', 1), r('us-east', 2)], want: 1 },
    { why: 'the home region wins over a less loaded remote one', c: [r('eu-west', 0), r('us-east', 5)], want: 1 },
    { why: 'an unhealthy replica is never chosen', c: [r('us-east', 0, false), r('us-east', 9)], want: 1 },
    { why: 'a remote region is used when the home one is down', c: [r('us-east', 0, false), r('eu-west', 4)], want: 1 },
    { why: 'nothing healthy means no choice', c: [r('us-east', 0, false)], want: -1 },
  ])('$why', ({ c, want }) => {
    expect(pick(c)).toBe(want);
  });

  it('keeps to the regions the tenant is allowed', () => {
    expect(pick([r('us-east', 0), r('eu-west', 7)], { allowedRegions: ['eu-west'] })).toBe(1);
    expect(pick([r('us-east', 0)], { allowedRegions: ['eu-west'] })).toBe(-1);
  });

  it('skips replicas already tried for this request', () => {
    expect(pick([r('us-east', 0), r('us-east', 1)], { exclude: [0] })).toBe(1);
    expect(pick([r('us-east', 0), r('us-east', 1)], { exclude: [0, 1] })).toBe(-1);
  });

  it('spreads ties over all equal replicas as the random number varies', () => {
    const c = [r('us-east', 0), r('us-east', 0), r('us-east', 0), r('us-east', 0)];
    const seen = new Set<number>();
    for (let i = 0; i < 40; i++) seen.add(pick(c, { random: i / 40 }));
    expect(seen).toEqual(new Set([0, 1, 2, 3]));
  });
});
