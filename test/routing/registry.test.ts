import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { Endpoint, RouteRequest } from '../../src/routing/endpoint.js';
import { lowerIsBetter, type Decision, type Scorer } from '../../src/routing/plugin.js';
import { BUILTIN_PROFILE_NAMES, BUILTIN_PROFILES, profileSchema, readsPrefix, resolveProfile } from '../../src/routing/profile.js';
import { pluginTypes, register, resolveType } from '../../src/routing/registry.js';
import { Router } from '../../src/routing/router.js';

function ep(slot: number, over: Partial<Endpoint> = {}): Endpoint {
  return { slot, region: 'us', routable: true, inflight: 0, inflightTokens: 0, pendingPrefill: 0, scraped: null, version: 'v1', versionWeight: 1, ...over };
}

function req(over: Partial<RouteRequest> = {}): RouteRequest {
  return {
    homeRegion: 'us', allowedRegions: null, exclude: null, prefix: null, prefixStride: 1, prefixBlocks: 0, sessionKey: null,
    tokens: 100, promptTokens: 80, random: 0, sequence: 0, nowS: 100, ...over,
  };
}

const NO_STATE = { prefixIndex: null, cachedBlocks: null, sessions: null };

describe('plugin names in a profile', () => {
  it('every shipped plugin is typed <what>-<kind>', () => {
    for (const kind of ['filter', 'scorer', 'picker'] as const) {
      const types = pluginTypes(kind);
      expect(types.length, kind).toBeGreaterThan(0);
      for (const t of types) expect(t, kind).toMatch(new RegExp(`^[a-z0-9-]+-${kind}$`));
    }
    expect(pluginTypes('scorer')).toHaveLength(9);
  });

  it('accepts the new spelling and the old one, and normalises both to the same profile', () => {
    const current = profileSchema.parse({
      filters: ['region-filter', 'load-guard-filter'],
      scorers: [{ use: 'queue-depth-scorer', weight: 2 }, { use: 'prefix-affinity-scorer' }],
      picker: 'max-score-picker',
    });
    const older = profileSchema.parse({
      filters: ['region', 'load-guard'],
      scorers: [{ scorer: 'queue-depth', weight: 2 }, { scorer: 'prefix-affinity' }],
      picker: 'max-score',
    });
    expect(older).toEqual(current);
    expect(current.scorers).toEqual([{ use: 'queue-depth-scorer', weight: 2 }, { use: 'prefix-affinity-scorer', weight: 1 }]);
    // the two spellings mix freely, entry by entry
    expect(profileSchema.parse({ filters: ['region', 'load-guard-filter'], scorers: [{ use: 'queue-depth' }, { scorer: 'prefix-affinity-scorer' }] }))
      .toMatchObject({ filters: ['region-filter', 'load-guard-filter'], scorers: [{ use: 'queue-depth-scorer' }, { use: 'prefix-affinity-scorer' }] });
  });

  it('a configuration file may spell a profile either way', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'sy-routing-')), 'c.yaml');
    writeFileSync(f, [
      'routing:',
      '  profile: new',
      '  profiles:',
      '    new: { filters: [region-filter], scorers: [{ use: queue-depth-scorer, weight: 2 }], picker: power-of-two-picker }',
      '    old: { filters: [region], scorers: [{ scorer: queue-depth, weight: 2 }], picker: power-of-two }',
      '',
    ].join('\n'));
    const { profiles } = loadConfig(f).routing;
    expect(profiles.new).toMatchObject({ filters: ['region-filter'], scorers: [{ use: 'queue-depth-scorer', weight: 2 }], picker: 'power-of-two-picker' });
    expect(profiles.old).toEqual(profiles.new);
  });

  it('parses an already normalised profile to itself (config profiles are parsed again when resolved)', () => {
    for (const name of BUILTIN_PROFILE_NAMES) {
      const once = resolveProfile(name);
      expect(profileSchema.parse(once), name).toEqual(once);
    }
  });

  it.each([
    { why: 'an unknown filter', input: { filters: ['regio'] }, path: ['filters', 0], says: /unknown filter "regio"; known: region-filter, load-guard-filter/ },
    { why: 'an unknown scorer under use:', input: { scorers: [{ use: 'vibes' }] }, path: ['scorers', 0, 'use'], says: /unknown scorer "vibes"; known: .*queue-depth-scorer/ },
    { why: 'an unknown scorer under scorer:', input: { scorers: [{ scorer: 'vibes' }] }, path: ['scorers', 0, 'scorer'], says: /unknown scorer "vibes"/ },
    { why: 'an unknown picker', input: { picker: 'best' }, path: ['picker'], says: /unknown picker "best"; known: max-score-picker/ },
    { why: 'a scorer named twice', input: { scorers: [{ use: 'queue-depth', scorer: 'queue-depth' }] }, path: ['scorers', 0], says: /exactly one of them/ },
    { why: 'a scorer not named', input: { scorers: [{ weight: 2 }] }, path: ['scorers', 0], says: /named by `use:`/ },
    { why: 'a kind used for another (a picker as a scorer)', input: { scorers: [{ use: 'max-score-picker' }] }, path: ['scorers', 0, 'use'], says: /unknown scorer/ },
  ])('fails at load on $why, where it is, listing the known names', ({ input, path, says }) => {
    const r = profileSchema.safeParse(input);
    expect(r.success).toBe(false);
    const issue = r.error!.issues[0];
    expect(issue.path).toEqual(path);
    expect(issue.message).toMatch(says);
  });
});

describe('what a profile reads is declared by its scorers', () => {
  it('a profile reads prefixes exactly when one of its scorers declares reads: prefix', () => {
    const prefixReaders = BUILTIN_PROFILE_NAMES.filter((n) => readsPrefix(resolveProfile(n)));
    expect(prefixReaders.sort()).toEqual(['consistent-hash', 'default', 'prefix-only', 'prefix-precise']);
    expect(readsPrefix(resolveProfile('x', { x: { scorers: [{ scorer: 'prefill-backlog' }] } }))).toBe(true);
    expect(readsPrefix(resolveProfile('x', { x: { scorers: [{ use: 'session-affinity-scorer' }] } }))).toBe(false);
  });

  it('the built-in profile names stay as they were', () => {
    expect(Object.keys(BUILTIN_PROFILES)).toEqual([
      'round-robin', 'random', 'least-outstanding', 'power-of-two', 'queue-depth', 'kv-utilisation', 'inflight-tokens',
      'prefix-only', 'prefix-precise', 'session-affinity', 'consistent-hash', 'default',
    ]);
  });
});

describe('adding a plugin', () => {
  /** prefers higher slots: a scorer only a spec would want */
  class HighSlotScorer implements Scorer {
    readonly type = 'high-slot-scorer';
    readonly reads = null;
    score(d: Decision, out: Float64Array): void {
      for (let k = 0; k < d.count; k++) out[d.pos[k]] = -d.candidates[d.pos[k]].slot;
      lowerIsBetter(d, out, false);
    }
  }
  beforeAll(() => register('high-slot-scorer', () => new HighSlotScorer()));

  it('a registered scorer is usable from a profile by its type or its alias, and is run by the Router', () => {
    expect(resolveType('scorer', 'high-slot')).toBe('high-slot-scorer');
    const profile = resolveProfile('mine', { mine: { filters: [], scorers: [{ use: 'high-slot' }] } });
    const r = new Router({ profile, regionOrder: (h) => [h], state: NO_STATE });
    const c = [ep(0), ep(7), ep(3)];
    for (let k = 0; k < 20; k++) expect(r.pick(c, req({ random: k / 20 }))).toBe(1);
  });

  it('refuses a type that is not <what>-<kind>, and one registered twice', () => {
    expect(() => register('fastest' as 'fastest-scorer', () => new HighSlotScorer())).toThrow(/<what>-<kind>/);
    expect(() => register('high-slot-scorer', () => new HighSlotScorer())).toThrow(/registered already/);
  });
});

describe('the profile runner', () => {
  it('runs filters in the order the profile lists them', () => {
    // hot replica 0 alone at home: region first keeps only it, load guard first drops it, then region spills
    const c = [ep(0, { inflight: 30 }), ep(1, { region: 'eu' }), ep(2, { region: 'eu' })];
    const order = (h: string) => (h === 'us' ? ['us', 'eu'] : ['eu', 'us']);
    const regionFirst = new Router({ profile: resolveProfile('a', { a: { filters: ['region', 'load-guard'] } }), regionOrder: order, state: NO_STATE });
    const guardFirst = new Router({ profile: resolveProfile('b', { b: { filters: ['load-guard', 'region'] } }), regionOrder: order, state: NO_STATE });
    expect(regionFirst.pick(c, req())).toBe(0);
    expect([1, 2]).toContain(guardFirst.pick(c, req()));
  });

  it('serves more candidates than its scratch first holds, and then fewer again', () => {
    const r = new Router({ profile: resolveProfile('least-outstanding'), regionOrder: (h) => [h], state: NO_STATE });
    const many = Array.from({ length: 300 }, (_, i) => ep(i, { inflight: i === 257 ? 0 : 5 }));
    expect(r.pick(many, req())).toBe(257);
    expect(r.pick([ep(0, { inflight: 2 }), ep(1)], req())).toBe(1);
  });
});
