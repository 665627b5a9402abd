import { describe, expect, it } from 'vitest';
import type { Endpoint, RouteRequest, RoutingState } from '../../src/routing/endpoint.js';
import { resolveProfile } from '../../src/routing/profile.js';
import { Router } from '../../src/routing/router.js';

// A rollout's weights are per region: the version is drawn among the replicas the profile's filters
// kept (the region filter keeps the nearest usable region), by those replicas' weights.

const NOW = 100;
const ORDER: Record<string, string[]> = { a: ['a', 'b'], b: ['b', 'a'] };
const NO_STATE: RoutingState = { prefixIndex: null, cachedBlocks: null, sessions: null };

function ep(slot: number, region: string, version: string, versionWeight: number, over: Partial<Endpoint> = {}): Endpoint {
  return { slot, region, routable: true, inflight: 0, inflightTokens: 0, pendingPrefill: 0, scraped: null, version, versionWeight, ...over };
}

function req(homeRegion: string, random: number, sequence: number): RouteRequest {
  return {
    homeRegion, allowedRegions: null, exclude: null, prefix: null, prefixStride: 1, prefixBlocks: 0, sessionKey: null,
    tokens: 100, promptTokens: 80, random, sequence, nowS: NOW,
  };
}

const router = (profile = 'default') => new Router({ profile: resolveProfile(profile), regionOrder: (h) => ORDER[h] ?? [h], state: NO_STATE });

/** xorshift32: seeded, so a tolerance is a fixed fact, not a flake */
function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

/** Share of n requests homed in `home` sent to a replica of `version`. */
function share(r: Router, c: Endpoint[], home: string, version: string, n = 4000, seed = 7): number {
  const rnd = seeded(seed);
  let hits = 0;
  for (let k = 0; k < n; k++) {
    const i = r.pick(c, req(home, rnd(), k));
    expect(i).toBeGreaterThanOrEqual(0);
    if (c[i].version === version) hits++;
  }
  return hits / n;
}

// region a: stable 90, candidate 10; region b: the candidate has no traffic there (weight 0)
const fleet = (): Endpoint[] => [
  ep(0, 'a', 'stable', 90), ep(1, 'a', 'stable', 90), ep(2, 'a', 'cand', 10),
  ep(3, 'b', 'stable', 100), ep(4, 'b', 'stable', 100), ep(5, 'b', 'cand', 0),
];

describe('the version draw, per region', () => {
  it.each(['default', 'round-robin', 'least-outstanding', 'power-of-two', 'queue-depth'])('%s: a request homed in a region with the candidate at 10 goes to it about 10 % of the time', (profile) => {
    const s = share(router(profile), fleet(), 'a', 'cand');
    // 4000 seeded draws: σ ≈ 0.5 %, so ±2.5 % is five of them
    expect(s).toBeGreaterThan(0.075);
    expect(s).toBeLessThan(0.125);
  });

  it('a request homed in a region where the candidate is weighted 0 never goes to it', () => {
    expect(share(router(), fleet(), 'b', 'cand')).toBe(0);
  });

  it('weights of one region do not leak into another: b\'s draw reads b\'s weights alone', () => {
    // if the draw read every candidate's weights (a's 10 included), requests homed in b would reach
    // the candidate only when the region filter let them spill to a; here they never spill
    const c = [ep(0, 'a', 'cand', 50), ep(1, 'a', 'stable', 50), ep(2, 'b', 'stable', 100)];
    expect(share(router(), c, 'b', 'cand')).toBe(0);
    const inA = share(router(), c, 'a', 'cand');
    expect(inA).toBeGreaterThan(0.45);
    expect(inA).toBeLessThan(0.55);
  });

  it('a replica weighted 0 is never picked, even as the only one of its region (the request spills instead)', () => {
    const c = [ep(0, 'a', 'cand', 0), ep(1, 'b', 'stable', 100)];
    const r = router();
    const rnd = seeded(3);
    for (let k = 0; k < 500; k++) expect(r.pick(c, req('a', rnd(), k))).toBe(1);
  });

  it('a region whose replicas are all weighted 0 answers -1 when the request may not leave it', () => {
    const c = [ep(0, 'a', 'cand', 0), ep(1, 'a', 'stable', 0), ep(2, 'b', 'stable', 100)];
    const r = router();
    expect(r.pick(c, { ...req('a', 0.5, 0), allowedRegions: ['a'] })).toBe(-1);
  });

  it('one version among the survivors is not drawn at all: weights other than 0 do not matter then', () => {
    const c = [ep(0, 'a', 'stable', 3), ep(1, 'a', 'stable', 7), ep(2, 'b', 'cand', 100)];
    expect(share(router('round-robin'), c, 'a', 'stable')).toBe(1);
  });

  it('the draw is reproducible: the same random numbers give the same picks', () => {
    const picks = (): number[] => {
      const r = router();
      const rnd = seeded(11);
      return Array.from({ length: 200 }, (_, k) => r.pick(fleet(), req('a', rnd(), k)));
    };
    expect(picks()).toEqual(picks());
  });
});
