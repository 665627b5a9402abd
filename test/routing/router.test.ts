import { describe, expect, it } from 'vitest';
import { PrefixIndex, SessionTable } from '../../src/fleet/index.js';
import type { Endpoint, RouteRequest, RoutingState, ScrapedLoad } from '../../src/routing/endpoint.js';
import { BUILTIN_PROFILE_NAMES, resolveProfile } from '../../src/routing/profile.js';
import type { ProfileInput } from '../../src/routing/profile.js';
import { Router } from '../../src/routing/router.js';

// ── fixtures ──────────────────────────────────────────────────────────────────

const NOW = 100;

function ep(slot: number, over: Partial<Endpoint> = {}): Endpoint {
  return {
    slot, region: 'us', routable: true, inflight: 0, inflightTokens: 0, pendingPrefill: 0,
    scraped: null, version: 'v1', versionWeight: 1, ...over,
  };
}

function scrape(over: Partial<ScrapedLoad> = {}): ScrapedLoad {
  return { waiting: 0, running: 0, kvUsage: 0.1, atS: NOW, inflightAtScrape: 0, ...over };
}

/** a prompt of chained block hashes, one per block (stride 1) */
function prompt(...hashes: number[]): Float64Array {
  return Float64Array.from(hashes);
}

function req(over: Partial<RouteRequest> = {}): RouteRequest {
  const prefix = over.prefix ?? null;
  return {
    homeRegion: 'us', allowedRegions: null, exclude: null, prefix, prefixStride: 1,
    prefixBlocks: prefix === null ? 0 : prefix.length, sessionKey: null, tokens: 1200, promptTokens: 1000,
    random: 0, sequence: 0, nowS: NOW, ...over,
  };
}

const ORDER: Record<string, string[]> = {
  us: ['us', 'eu', 'ap'],
  eu: ['eu', 'us', 'ap'],
  ap: ['ap', 'us', 'eu'],
};

const NO_STATE: RoutingState = { prefixIndex: null, cachedBlocks: null, sessions: null };

function router(profile: string | ProfileInput, state: Partial<RoutingState> = {}): Router {
  const spec = typeof profile === 'string' ? resolveProfile(profile) : resolveProfile('custom', { custom: profile });
  return new Router({ profile: spec, regionOrder: (home) => ORDER[home] ?? [home], state: { ...NO_STATE, ...state } });
}

/** the chosen candidate for each of n evenly spread random numbers */
function picks(r: Router, c: Endpoint[], base: Partial<RouteRequest>, n = 200): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(r.pick(c, req({ ...base, random: (k + 0.5) / n, sequence: k })));
  return out;
}

// ── candidates ────────────────────────────────────────────────────────────────

describe('candidates a request may use', () => {
  it('every built-in profile only picks routable, allowed, untried replicas', () => {
    const c = [
      ep(0, { routable: false }),
      ep(1, { region: 'ap' }), // not allowed
      ep(2), // tried already
      ep(3, { inflight: 2 }),
      ep(4, { region: 'eu' }),
    ];
    for (const name of BUILTIN_PROFILE_NAMES) {
      const seen = new Set(picks(router(name), c, { allowedRegions: ['us', 'eu'], exclude: [2] }));
      expect([...seen].every((i) => i === 3 || i === 4), name).toBe(true);
    }
  });

  it('every built-in profile answers -1 when no replica is routable, allowed and untried', () => {
    const c = [ep(0, { routable: false }), ep(1, { region: 'ap' }), ep(2)];
    for (const name of BUILTIN_PROFILE_NAMES) {
      expect(router(name).pick(c, req({ allowedRegions: ['us'], exclude: [2] })), name).toBe(-1);
      expect(router(name).pick([], req()), name).toBe(-1);
    }
  });
});

// ── region ────────────────────────────────────────────────────────────────────

describe('region preference and spill', () => {
  const r = router('least-outstanding');

  it('keeps a request in its home region even when a remote replica is idler', () => {
    const c = [ep(0, { region: 'eu' }), ep(1, { region: 'us', inflight: 5, scraped: scrape({ waiting: 7, inflightAtScrape: 5 }) })];
    expect(new Set(picks(r, c, {}))).toEqual(new Set([1]));
  });

  it('spills to the nearest allowed region when every home replica is saturated by queue or KV', () => {
    const c = [
      ep(0, { region: 'us', scraped: scrape({ waiting: 8 }) }),
      ep(1, { region: 'us', scraped: scrape({ kvUsage: 0.97 }) }),
      ep(2, { region: 'ap' }),
      ep(3, { region: 'eu', inflight: 3 }),
    ];
    expect(new Set(picks(r, c, {}))).toEqual(new Set([3]));
    // eu not allowed for this tenant: the next nearest allowed is ap
    expect(new Set(picks(r, c, { allowedRegions: ['us', 'ap'] }))).toEqual(new Set([2]));
  });

  it('does not spill while one home replica is below the thresholds, nor on a stale saturated scrape', () => {
    const c = [
      ep(0, { region: 'us', scraped: scrape({ waiting: 8 }) }),
      ep(1, { region: 'us', scraped: scrape({ waiting: 50, kvUsage: 1, atS: NOW - 60 }) }),
      ep(2, { region: 'eu' }),
    ];
    expect(picks(r, c, {}).every((i) => i === 0 || i === 1)).toBe(true);
  });

  it('spills when the home replicas are down, and a tenant pinned to a dead region gets -1', () => {
    const c = [ep(0, { region: 'us', routable: false }), ep(1, { region: 'ap' }), ep(2, { region: 'eu' })];
    expect(new Set(picks(r, c, {}))).toEqual(new Set([2]));
    expect(r.pick(c, req({ allowedRegions: ['us'] }))).toBe(-1);
  });
});

// ── scraped load ──────────────────────────────────────────────────────────────

describe('scraped load', () => {
  const r = router('queue-depth');

  it('does not believe a scrape older than staleAfterS: the replica is judged on the router\'s own in-flight count', () => {
    // replica 1's old scrape says idle, but this router has 10 requests on it since
    const c = [
      ep(0, { inflight: 0, scraped: scrape({ waiting: 2 }) }),
      ep(1, { inflight: 10, scraped: scrape({ waiting: 0, atS: NOW - 3.5, inflightAtScrape: 10 }) }),
    ];
    expect(new Set(picks(r, c, {}))).toEqual(new Set([0]));
    // the same scrape, fresh, is believed
    const fresh = [c[0], ep(1, { inflight: 10, scraped: scrape({ waiting: 0, atS: NOW - 1, inflightAtScrape: 10 }) })];
    expect(new Set(picks(r, fresh, {}))).toEqual(new Set([1]));
  });

  it('adds what the router sent since the scrape to the scraped queue (optimistic accounting)', () => {
    const c = [
      ep(0, { inflight: 5, scraped: scrape({ waiting: 0, inflightAtScrape: 0 }) }), // effectively 5 waiting
      ep(1, { inflight: 1, scraped: scrape({ waiting: 3, inflightAtScrape: 1 }) }), // 3 waiting
    ];
    expect(new Set(picks(r, c, {}))).toEqual(new Set([1]));
  });
});

// ── load guard ────────────────────────────────────────────────────────────────

describe('load guard', () => {
  it('drops a replica loaded beyond factor × mean + slack even when it holds the whole prompt', () => {
    const index = new PrefixIndex({ capacityBlocks: () => 1000, maxBlocks: 64 });
    const p = prompt(1, 2, 3, 4);
    index.record(0, req({ prefix: p }));
    const r = router('prefix-precise', {
      cachedBlocks: { cachedPrefix: (slot) => (slot === 0 ? 4 : 0) },
    });
    // loads 20, 0, 0: mean 6.7, limit 1.5 × 6.7 + 4 = 14
    const c = [ep(0, { inflight: 20 }), ep(1), ep(2)];
    expect(picks(r, c, { prefix: p }).includes(0)).toBe(false);
    const d = router('default', { prefixIndex: index });
    expect(picks(d, c, { prefix: p }).includes(0)).toBe(false);
    // within the limit, the holder wins
    const calm = [ep(0, { inflight: 2 }), ep(1), ep(2)];
    expect(new Set(picks(r, calm, { prefix: p }))).toEqual(new Set([0]));
  });
});

// ── prefix ────────────────────────────────────────────────────────────────────

describe('prefix affinity (learned index)', () => {
  it('sends the same prompt back to the replica that served it, and not a different one', () => {
    const index = new PrefixIndex({ capacityBlocks: () => 1000, maxBlocks: 64 });
    const r = router('prefix-only', { prefixIndex: index });
    const c = [ep(10), ep(11), ep(12)];
    const p = prompt(101, 102, 103);
    index.record(11, req({ prefix: p }));
    expect(new Set(picks(r, c, { prefix: p }))).toEqual(new Set([1]));
    const other = picks(r, c, { prefix: prompt(201, 202, 203) });
    expect(new Set(other)).toEqual(new Set([0, 1, 2]));
  });
});

describe('prefill backlog (the default profile)', () => {
  const index = new PrefixIndex({ capacityBlocks: () => 1000, maxBlocks: 64 });
  const p = prompt(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
  index.record(0, req({ prefix: prompt(1, 2, 3, 4, 5, 6) })); // slot 0 holds the first 6 of 10 blocks
  const r = router('default', { prefixIndex: index });

  it('prefers the replica with less prefill queued ahead', () => {
    const c = [ep(0, { pendingPrefill: 8000 }), ep(1, { pendingPrefill: 0 }), ep(2, { pendingPrefill: 3000 })];
    expect(new Set(picks(r, c, { prefix: p }))).toEqual(new Set([1]));
    expect(r.uncachedTokens).toBe(1000);
  });

  it('prefers the replica holding the prefix when backlogs are equal, and counts only the rest as uncached', () => {
    const c = [ep(0, { pendingPrefill: 500 }), ep(1, { pendingPrefill: 500 })];
    expect(new Set(picks(r, c, { prefix: p }))).toEqual(new Set([0]));
    expect(r.uncachedTokens).toBe(400); // 1000 prompt tokens, 6 of 10 blocks cached
  });
});

// ── sessions and hashing ──────────────────────────────────────────────────────

describe('session affinity', () => {
  it('sends a known session to its replica and an unknown one to the least loaded', () => {
    const sessions = new SessionTable(100);
    sessions.record('alice', 12);
    const r = router('session-affinity', { sessions });
    const c = [ep(10), ep(11, { inflight: 1 }), ep(12, { inflight: 3 })];
    expect(new Set(picks(r, c, { sessionKey: 'alice' }))).toEqual(new Set([2]));
    expect(new Set(picks(r, c, { sessionKey: 'bob' }))).toEqual(new Set([0]));
  });
});

describe('consistent hash with bounded load', () => {
  const r = router('consistent-hash');

  it('keeps a session key on one replica until that replica exceeds loadFactor × the mean', () => {
    const idle = [ep(0), ep(1), ep(2), ep(3)];
    const home = r.pick(idle, req({ sessionKey: 'user-42' }));
    expect(home).toBeGreaterThanOrEqual(0);
    expect(new Set(picks(r, idle, { sessionKey: 'user-42' }))).toEqual(new Set([home]));
    // different keys spread over the replicas
    const spread = new Set(Array.from({ length: 40 }, (_, k) => r.pick(idle, req({ sessionKey: `user-${k}` }))));
    expect(spread.size).toBeGreaterThan(2);
    // evenly loaded: stays
    const even = idle.map((e) => ({ ...e, inflight: 2 }));
    expect(new Set(picks(r, even, { sessionKey: 'user-42' }))).toEqual(new Set([home]));
    // its replica far above the mean: moves, and consistently so
    const hot = idle.map((e, i) => (i === home ? { ...e, inflight: 10 } : e));
    const moved = new Set(picks(r, hot, { sessionKey: 'user-42' }));
    expect(moved.size).toBe(1);
    expect(moved.has(home)).toBe(false);
  });
});

// ── pickers ───────────────────────────────────────────────────────────────────

describe('pickers', () => {
  it('round robin visits the candidates in turn', () => {
    const r = router('round-robin');
    const c = [ep(0), ep(1), ep(2)];
    const seq = Array.from({ length: 6 }, (_, k) => r.pick(c, req({ sequence: k, random: 0.3 })));
    expect(seq).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('power of two picks the better of its two draws: never the worst, sometimes the middle', () => {
    const r = router('power-of-two');
    const c = [ep(0), ep(1, { inflight: 5 }), ep(2, { inflight: 10 })];
    const got = picks(r, c, {}, 500);
    expect(got.includes(2)).toBe(false);
    expect(got.includes(0)).toBe(true);
    expect(got.includes(1)).toBe(true);
    expect(got.filter((i) => i === 0).length).toBeGreaterThan(got.filter((i) => i === 1).length);
  });

  it('a rollout weighted 9:1 sends about 90% of requests to the first version', () => {
    const r = router('round-robin');
    const c = [ep(0, { version: 'v1', versionWeight: 9 }), ep(1, { version: 'v2', versionWeight: 1 })];
    const got = picks(r, c, {}, 4000);
    const share = got.filter((i) => i === 0).length / got.length;
    expect(share).toBeGreaterThan(0.86);
    expect(share).toBeLessThan(0.94);
  });
});

// ── profiles ──────────────────────────────────────────────────────────────────

describe('profile resolution', () => {
  it('rejects an unknown profile, listing the known ones', () => {
    expect(() => resolveProfile('fastest', { mine: {} })).toThrow(RangeError);
    expect(() => resolveProfile('fastest', { mine: {} })).toThrow(/fastest.*known: .*mine.*default/);
  });

  it('a profile defined in config wins over a built-in of the same name', () => {
    const spec = resolveProfile('default', { default: { picker: 'random' } });
    expect(spec.picker).toBe('random-picker'); // the older name, normalised at load
    expect(spec.scorers).toEqual([]);
    expect(resolveProfile('default').scorers.map((s) => s.use)).toEqual(['prefill-backlog-scorer', 'least-outstanding-scorer']);
  });
});
