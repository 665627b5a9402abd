import type { Endpoint, RouteRequest, RoutingState } from './endpoint.js';

// The three kinds of routing plugin a routing profile chains: filters narrow the candidates, weighted
// scorers rank the survivors, one picker chooses. A plugin's type is `<what>-<kind>`
// (`queue-depth-scorer`); the registry builds one instance per Router from the profile, so a
// plugin reads its parameters once, at load. Plugins read only the Decision they are handed.

/**
 * One routing decision as the plugins see it. The Router owns it and refills it for every pick,
 * so a plugin must not keep it, or any of its arrays, past the call it was handed in.
 */
export interface Decision {
  /** the candidates as handed to `Router.pick`; every per-candidate array below is indexed like it */
  readonly candidates: readonly Endpoint[];
  readonly req: RouteRequest;
  readonly state: RoutingState;
  /** regions nearest first from a home region, the home region itself first */
  readonly regionOrder: (home: string) => readonly string[];
  /** candidate indexes still in the running: `pos[0 … count)` */
  readonly pos: Int32Array;
  readonly count: number;
  /** estimated requests on the replica: scraped running + waiting + sent since (its own in-flight count when stale) */
  readonly load: Float64Array;
  /** estimated waiting requests (0 when stale) */
  readonly waiting: Float64Array;
  /** 1 when the replica's scrape is missing or older than the profile's `staleAfterS` */
  readonly stale: Uint8Array;
  /** leading prefix blocks of the request each survivor is believed to hold; valid after `matchPrefix()` */
  readonly matched: Float64Array;
  /** Fills `matched` from the prefix index (once per decision); false when there is no index or no prefix. */
  matchPrefix(): boolean;
}

/** Narrows `d.pos[0 … d.count)` in place, keeping order; returns how many survive. */
export interface Filter {
  readonly type: `${string}-filter`;
  filter(d: Decision): number;
}

/**
 * What a scorer needs the caller to maintain besides the candidates: `prefix` means prompts must
 * be hashed into `RouteRequest.prefix` and the prefix index fed after each pick.
 */
export type Reads = 'prefix' | 'session' | null;

/** Writes a score in [0, 1], higher is better, to `out[i]` for every survivor `i = d.pos[k]`. */
export interface Scorer {
  readonly type: `${string}-scorer`;
  readonly reads: Reads;
  score(d: Decision, out: Float64Array): void;
}

/** Chooses one survivor (a candidate index) from the weighted sums; called with two or more survivors. */
export interface Picker {
  readonly type: `${string}-picker`;
  pick(d: Decision, scores: Float64Array): number;
}

/** A replica with a stale scrape is scored as unknown, not as idle: its scrape-based scores are halved. */
export const STALE_DISCOUNT = 0.5;

/**
 * Turns raw values (lower is better) in `out` into min–max normalised scores over the survivors,
 * as GIE's queue scorer does; all equal → 1 each. With `scrape`, stale replicas get the discount.
 */
export function lowerIsBetter(d: Decision, out: Float64Array, scrape: boolean): void {
  const pos = d.pos;
  const m = d.count;
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < m; k++) {
    const x = out[pos[k]];
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const span = hi - lo;
  const stale = d.stale;
  for (let k = 0; k < m; k++) {
    const i = pos[k];
    let s = span === 0 ? 1 : (hi - out[i]) / span;
    if (scrape && stale[i] === 1) s *= STALE_DISCOUNT;
    out[i] = s;
  }
}

/** A reproducible number in [0, 1) from a number and a salt (a second draw from one random, a rendezvous weight). */
export function mix(x: number, salt: number): number {
  let h = Math.imul((x * 0x7fffffff) | 0, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b) ^ ((x / 4294967296) | 0);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}
