import { pickReplica, type PickInput, type ReplicaView } from './pick.js';

// Named routing policies, shared by the gateway and the simulator (which measures them side by
// side before one ships). Each is pure: it reads the candidates, the request's constraints and the
// numbers handed in. They share one eligibility rule (healthy, allowed region, not yet tried) and
// one preference (the gateway's home region while it has an eligible replica); they differ only
// in how they choose inside it. Issue 5 grows this into the filter → scorer → picker pipeline.

/** Load a replica reported in its last scrape (vLLM's `num_requests_waiting` / `running`). */
export interface ScrapedLoad {
  readonly waiting: number;
  readonly running: number;
  /** 0–1, vLLM `kv_cache_usage_perc` */
  readonly kvUsage: number;
}

export interface PolicyView extends ReplicaView {
  /** the last scrape, which may be stale; null when none yet */
  readonly scraped?: ScrapedLoad | null;
}

export interface PolicyInput extends PickInput {
  readonly candidates: readonly PolicyView[];
  /** this gateway's request counter (round robin) */
  readonly sequence: number;
}

export type RoutingPolicy = (p: PolicyInput) => number;

export const POLICY_NAMES = ['least-outstanding', 'round-robin', 'random', 'power-of-two', 'queue-depth'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

const POLICIES: Readonly<Record<PolicyName, RoutingPolicy>> = {
  /** fewest requests this gateway has outstanding on the replica (the default) */
  'least-outstanding': pickReplica,
  /** the eligible replicas of the preferred region in turn, by request counter */
  'round-robin': roundRobin,
  /** uniformly among the eligible */
  random: (p) => scan(p, Math.floor(p.random * p.candidates.length), (_c, k) => randomKey(p.random, k)),
  /** two eligible replicas at random, the one with fewer outstanding requests (Mitzenmacher's power of two choices) */
  'power-of-two': powerOfTwo,
  /** fewest waiting, then running, as the replica last reported them; outstanding when never scraped */
  'queue-depth': (p) => scan(p, Math.floor(p.random * p.candidates.length), (c) =>
    c.scraped ? c.scraped.waiting * 1_000 + c.scraped.running : c.inflight),
};

export function routingPolicy(name: string): RoutingPolicy {
  if (!Object.hasOwn(POLICIES, name)) {
    throw new RangeError(`unknown routing policy "${name}"; known: ${POLICY_NAMES.join(', ')}`);
  }
  return POLICIES[name as PolicyName];
}

function eligible(p: PolicyInput, i: number): boolean {
  const c = p.candidates[i];
  return c.healthy && (p.allowedRegions === null || p.allowedRegions.includes(c.region)) && (p.exclude === null || !p.exclude.includes(i));
}

/** The eligible replicas the request should stay among: the home region's when it has any, else all. */
interface Tier {
  readonly home: boolean;
  readonly size: number;
}

function tierOf(p: PolicyInput): Tier {
  let home = 0;
  let any = 0;
  for (let i = 0; i < p.candidates.length; i++) {
    if (!eligible(p, i)) continue;
    any++;
    if (p.candidates[i].region === p.homeRegion) home++;
  }
  return home > 0 ? { home: true, size: home } : { home: false, size: any };
}

/** The candidate index of the k-th member of the tier. */
function nthOf(p: PolicyInput, tier: Tier, k: number): number {
  for (let i = 0; i < p.candidates.length; i++) {
    if (!eligible(p, i) || (tier.home && p.candidates[i].region !== p.homeRegion)) continue;
    if (k-- === 0) return i;
  }
  return -1;
}

/** The (sequence mod m)-th of the m replicas of the tier. */
function roundRobin(p: PolicyInput): number {
  const tier = tierOf(p);
  return tier.size === 0 ? -1 : nthOf(p, tier, p.sequence % tier.size);
}

/** Two distinct draws from the tier, from the one random number; the one with fewer outstanding wins. */
function powerOfTwo(p: PolicyInput): number {
  const tier = tierOf(p);
  const m = tier.size;
  if (m === 0) return -1;
  const a = Math.floor(p.random * m);
  // a second, independent-looking draw from the same number, never equal to the first
  const b = m > 1 ? (a + 1 + Math.floor(randomKey(p.random, 7) * (m - 1))) % m : a;
  const ia = nthOf(p, tier, a);
  const ib = nthOf(p, tier, b);
  return p.candidates[ib].inflight < p.candidates[ia].inflight ? ib : ia;
}

/**
 * The eligible candidate with the lowest key, home region first, scanning from `start` so equal
 * keys go to the first one met (round robin) or a random one (a random start).
 */
function scan(p: PolicyInput, start: number, key: (c: PolicyView, k: number) => number): number {
  const n = p.candidates.length;
  let best = -1;
  let bestKey = Infinity;
  for (let k = 0; k < n; k++) {
    const i = start + k < n ? start + k : start + k - n;
    if (!eligible(p, i)) continue;
    const c = p.candidates[i];
    const kk = (c.region === p.homeRegion ? 0 : 1e12) + key(c, k);
    if (kk < bestKey) {
      bestKey = kk;
      best = i;
    }
  }
  return best;
}

/** A reproducible pseudo-random key per scan position, from the one random number handed in. */
function randomKey(random: number, k: number): number {
  let h = Math.imul((random * 0x7fffffff) | 0, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  return ((h ^ (h >>> 13)) >>> 0) / 4294967296;
}
