import { describe, expect, it } from 'vitest';
import { applyShares, regionViews, settleShares, type ReplicaStates } from '../../../src/control/rollouts/index.js';

// The one rule the gateway's fleet and the simulator's both use to read a fleet for a rollout and
// to weigh its replicas.

interface R { id: string; region: string; version: string; inflight: number; up: boolean; ejected: boolean; warm: boolean }
const r = (id: string, region: string, version: string, o: Partial<R> = {}): R => ({ id, region, version, inflight: 0, up: true, ejected: false, warm: true, ...o });
const STATES: ReplicaStates<R> = {
  inService: (x) => x.up && !x.ejected,
  ready: (x) => x.up && !x.ejected && x.warm,
  ejected: (x) => x.ejected,
};

describe('a fleet as a rollout reads it', () => {
  it('counts each region\'s replicas of the two versions, ready and ejected, and their load; other versions are not counted', () => {
    const fleet = [
      r('s1', 'b', 'v1', { inflight: 3 }), r('s2', 'b', 'v1', { ejected: true }), r('c1', 'b', 'v2', { inflight: 2, warm: false }), r('c2', 'b', 'v2', { ejected: true }),
      r('s3', 'a', 'v1'), r('o1', 'a', 'v0', { inflight: 9 }), r('o2', 'c', 'v0'),
    ];
    expect(regionViews(fleet, 'v1', 'v2', 10, STATES)).toEqual([
      { region: 'a', stableReplicas: 1, stableReady: 1, candidateReplicas: 0, candidateReady: 0, candidateEjected: 0, inflight: 0, perReplicaLimit: 10 },
      { region: 'b', stableReplicas: 2, stableReady: 1, candidateReplicas: 2, candidateReady: 0, candidateEjected: 1, inflight: 5, perReplicaLimit: 10 },
    ]);
  });
});

describe('weighing replicas for a rollout\'s shares', () => {
  const fleet = [r('s1', 'a', 'v1'), r('c1', 'a', 'v2'), r('c2', 'a', 'v2', { warm: false }), r('s2', 'b', 'v1'), r('c3', 'b', 'v2', { up: false }), r('o1', 'a', 'v0')];
  const weigh = (shares: Record<string, number>) => {
    const out: Record<string, number> = {};
    applyShares(fleet, 'v1', 'v2', shares, STATES.ready, (x, w) => { out[x.id] = w; });
    return out;
  };

  it('gives a ready candidate replica its region\'s share and stable the rest; a candidate not ready gets none', () => {
    expect(weigh({ a: 30, b: 30 })).toEqual({ s1: 70, c1: 30, c2: 0, s2: 100, c3: 0, o1: 0 });
  });

  it('keeps a region whole on stable when none of its candidate replicas is ready, and clamps shares to 0–100', () => {
    expect(weigh({ a: 250, b: -5 })).toEqual({ s1: 0, c1: 100, c2: 0, s2: 100, c3: 0, o1: 0 });
  });

  it('with no rollout gives the stable version everything and any other none', () => {
    const out: Record<string, number> = {};
    settleShares(fleet, 'v2', (x, w) => { out[x.id] = w; });
    expect(out).toEqual({ s1: 0, c1: 100, c2: 100, s2: 0, c3: 100, o1: 0 });
  });
});
