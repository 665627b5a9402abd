import type { Endpoint, RouteRequest, RoutingState } from './endpoint.js';
import type { ProfileSpec, ScorerName } from './profile.js';

// The endpoint picker, in the Gateway API Inference Extension's shape: the candidates a request
// may use (routable, in its allowed regions, untried, of the version its rollout weights draw) →
// the profile's filters → its weighted scorers → its picker. One Router serves one gateway (or one
// simulated one); its scratch arrays are reused, so a decision allocates nothing.
//
// Scores are in [0, 1], higher is better. A load scorer is min–max normalised over the survivors
// (as the GIE's queue scorer is); an affinity scorer is absolute (the share of the prompt a replica
// holds, or 1 for the session's replica). A replica whose scrape is stale is scored on this
// router's own in-flight count, and its load scores are halved: it is scored as unknown, not as idle.

export interface RouterOptions {
  readonly profile: ProfileSpec;
  /** regions nearest first from a home region, the home region itself first */
  readonly regionOrder: (home: string) => readonly string[];
  readonly state: RoutingState;
}

const STALE_DISCOUNT = 0.5;

export class Router {
  readonly profile: ProfileSpec;
  readonly #regionOrder: (home: string) => readonly string[];
  readonly #state: RoutingState;
  readonly #scorers: ReadonlyArray<{ readonly name: ScorerName; readonly weight: number }>;
  readonly #regionFilter: boolean;
  readonly #loadGuard: boolean;
  // scratch, by candidate index (pos holds the surviving indexes)
  #pos = new Int32Array(64);
  #load = new Float64Array(64);
  #waiting = new Float64Array(64);
  #score = new Float64Array(64);
  #raw = new Float64Array(64);
  #stale = new Uint8Array(64);
  /** prefix blocks each candidate holds, filled at most once per decision */
  #matched = new Float64Array(64);
  #matchedFor: RouteRequest | null = null;

  constructor(opts: RouterOptions) {
    this.profile = opts.profile;
    this.#regionOrder = opts.regionOrder;
    this.#state = opts.state;
    this.#scorers = opts.profile.scorers.map((s) => ({ name: s.scorer, weight: s.weight }));
    this.#regionFilter = opts.profile.filters.includes('region');
    this.#loadGuard = opts.profile.filters.includes('load-guard');
  }

  /**
   * Index of the chosen candidate, or -1 when none is routable, allowed and untried. Afterwards
   * `uncachedTokens` is the router's estimate of the prompt tokens the chosen replica must compute.
   */
  pick(c: readonly Endpoint[], req: RouteRequest): number {
    if (c.length > this.#pos.length) this.#grow(c.length);
    this.uncachedTokens = req.promptTokens;
    let m = this.#candidates(c, req);
    if (m === 0) return -1;
    if (this.#regionFilter) m = this.#preferRegion(c, req, m);
    if (this.#loadGuard) m = this.#guardLoad(m);
    this.#matchedFor = null;
    let i = this.#pos[0];
    if (m > 1) {
      this.#scoreAll(c, req, m);
      i = this.#choose(req, m);
    }
    if ((this.#matchedFor as RouteRequest | null) === req) this.uncachedTokens = Math.max(0, req.promptTokens - this.#matched[i] * (req.promptTokens / req.prefixBlocks));
    this.#matchedFor = null;
    return i;
  }

  /** the chosen replica's prompt tokens not believed cached there, from the last pick */
  uncachedTokens = 0;

  // ── candidates ──────────────────────────────────────────────────────────────

  #candidates(c: readonly Endpoint[], req: RouteRequest): number {
    const pos = this.#pos;
    const staleAfter = this.profile.staleAfterS;
    const allowed = req.allowedRegions;
    const exclude = req.exclude;
    let m = 0;
    let versions = false;
    for (let i = 0; i < c.length; i++) {
      const e = c[i];
      if (!e.routable) continue;
      if (allowed !== null && !allowed.includes(e.region)) continue;
      if (exclude !== null && exclude.includes(e.slot)) continue;
      pos[m++] = i;
      const s = e.scraped;
      if (s === null || req.nowS - s.atS > staleAfter) {
        this.#stale[i] = 1;
        this.#load[i] = e.inflight;
        this.#waiting[i] = 0;
      } else {
        // optimistic: what the replica said, plus what this router has sent (less what it saw finish) since
        const since = e.inflight - s.inflightAtScrape;
        this.#stale[i] = 0;
        this.#load[i] = Math.max(0, s.running + s.waiting + since);
        this.#waiting[i] = Math.max(0, s.waiting + since);
      }
      if (e.version !== c[pos[0]].version) versions = true;
    }
    return versions ? this.#drawVersion(c, req, m) : m;
  }

  /** A rollout in progress: draw one version by its weight, keep its replicas. */
  #drawVersion(c: readonly Endpoint[], req: RouteRequest, m: number): number {
    const pos = this.#pos;
    const weights = new Map<string, number>();
    let total = 0;
    for (let k = 0; k < m; k++) {
      const e = c[pos[k]];
      if (!weights.has(e.version)) {
        weights.set(e.version, e.versionWeight);
        total += e.versionWeight;
      }
    }
    let r = mix(req.random, 11) * total;
    let chosen = c[pos[0]].version;
    for (const [v, w] of weights) {
      chosen = v;
      if ((r -= w) < 0) break;
    }
    let n = 0;
    for (let k = 0; k < m; k++) if (c[pos[k]].version === chosen) pos[n++] = pos[k];
    return n;
  }

  // ── filters ─────────────────────────────────────────────────────────────────

  /** The nearest region with an unsaturated replica; else the nearest with any. */
  #preferRegion(c: readonly Endpoint[], req: RouteRequest, m: number): number {
    const pos = this.#pos;
    const order = this.#regionOrder(req.homeRegion);
    const spill = this.profile.spill;
    let fallback: string | null = null;
    let chosen: string | null = null;
    for (let r = 0; r < order.length && chosen === null; r++) {
      const region = order[r];
      for (let k = 0; k < m; k++) {
        const i = pos[k];
        const e = c[i];
        if (e.region !== region) continue;
        fallback ??= region;
        const saturated = this.#stale[i] === 0 && (this.#waiting[i] >= spill.waiting || e.scraped!.kvUsage >= spill.kvUsage);
        if (!saturated) {
          chosen = region;
          break;
        }
      }
    }
    const keep = chosen ?? fallback;
    // candidates only in regions the order does not know: leave them all
    if (keep === null) return m;
    let n = 0;
    for (let k = 0; k < m; k++) if (c[pos[k]].region === keep) pos[n++] = pos[k];
    return n;
  }

  /** Drops replicas loaded beyond factor × the mean + slack, so affinity cannot pile onto one. */
  #guardLoad(m: number): number {
    const pos = this.#pos;
    const load = this.#load;
    let sum = 0;
    for (let k = 0; k < m; k++) sum += load[pos[k]];
    const limit = this.profile.loadGuard.factor * (sum / m) + this.profile.loadGuard.slack;
    let n = 0;
    for (let k = 0; k < m; k++) if (load[pos[k]] <= limit) pos[n++] = pos[k];
    return n;
  }

  // ── scorers ─────────────────────────────────────────────────────────────────

  #scoreAll(c: readonly Endpoint[], req: RouteRequest, m: number): void {
    const pos = this.#pos;
    const score = this.#score;
    for (let k = 0; k < m; k++) score[pos[k]] = 0;
    for (let s = 0; s < this.#scorers.length; s++) {
      const { name, weight } = this.#scorers[s];
      this.#scoreOne(name, weight, c, req, m);
    }
  }

  #scoreOne(name: ScorerName, weight: number, c: readonly Endpoint[], req: RouteRequest, m: number): void {
    const pos = this.#pos;
    const raw = this.#raw;
    const score = this.#score;
    switch (name) {
      case 'least-outstanding':
        for (let k = 0; k < m; k++) raw[pos[k]] = c[pos[k]].inflight;
        return this.#addLowerIsBetter(weight, m, false);
      case 'inflight-tokens':
        for (let k = 0; k < m; k++) raw[pos[k]] = c[pos[k]].inflightTokens;
        return this.#addLowerIsBetter(weight, m, false);
      case 'queue-depth':
        // waiting first; running breaks ties between replicas with equal queues
        for (let k = 0; k < m; k++) {
          const i = pos[k];
          raw[i] = this.#stale[i] ? c[i].inflight : this.#waiting[i] + 0.001 * (this.#load[i] - this.#waiting[i]);
        }
        return this.#addLowerIsBetter(weight, m, true);
      case 'kv-utilisation':
        for (let k = 0; k < m; k++) {
          const i = pos[k];
          raw[i] = this.#stale[i] ? 0.5 : c[i].scraped!.kvUsage;
        }
        return this.#addLowerIsBetter(weight, m, true);
      case 'prefix-affinity': {
        if (!this.#match(c, req, m)) return;
        const inv = weight / req.prefixBlocks;
        for (let k = 0; k < m; k++) score[pos[k]] += this.#matched[pos[k]] * inv;
        return;
      }
      case 'prefill-backlog': {
        // prefill tokens the request would wait behind, plus its own not cached there
        const known = this.#match(c, req, m);
        const perBlock = known ? req.promptTokens / req.prefixBlocks : 0;
        for (let k = 0; k < m; k++) {
          const i = pos[k];
          raw[i] = c[i].pendingPrefill + Math.max(0, req.promptTokens - (known ? this.#matched[i] * perBlock : 0));
        }
        return this.#addLowerIsBetter(weight, m, false);
      }
      case 'prefix-precise': {
        const cached = this.#state.cachedBlocks;
        if (cached === null || req.prefixBlocks === 0) return;
        const inv = weight / req.prefixBlocks;
        for (let k = 0; k < m; k++) score[pos[k]] += cached.cachedPrefix(c[pos[k]].slot, req) * inv;
        return;
      }
      case 'session-affinity': {
        const sessions = this.#state.sessions;
        if (sessions === null || req.sessionKey === null) return;
        const slot = sessions.slotOf(req.sessionKey);
        for (let k = 0; k < m; k++) if (c[pos[k]].slot === slot) score[pos[k]] += weight;
        return;
      }
      case 'consistent-hash':
        return this.#boundedLoadHash(weight, c, req, m);
    }
  }

  /** Fills #matched for the survivors from the prefix index; false when there is nothing to match. */
  #match(c: readonly Endpoint[], req: RouteRequest, m: number): boolean {
    const index = this.#state.prefixIndex;
    if (index === null || req.prefixBlocks === 0) return false;
    if (this.#matchedFor !== req) {
      index.match(c, this.#pos, m, req, this.#matched);
      this.#matchedFor = req;
    }
    return true;
  }

  /** min–max normalised, lower raw is better; stale replicas (when the scorer reads scrapes) at a discount */
  #addLowerIsBetter(weight: number, m: number, readsScrape: boolean): void {
    const pos = this.#pos;
    const raw = this.#raw;
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k < m; k++) {
      const x = raw[pos[k]];
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const span = hi - lo;
    for (let k = 0; k < m; k++) {
      const i = pos[k];
      let s = span === 0 ? 1 : (hi - raw[i]) / span;
      if (readsScrape && this.#stale[i] === 1) s *= STALE_DISCOUNT;
      this.#score[i] += weight * s;
    }
  }

  /**
   * Rendezvous hashing on the session key (else the first prefix block), skipping replicas over
   * loadFactor × the mean load: the same key keeps its replica until that replica is too busy.
   */
  #boundedLoadHash(weight: number, c: readonly Endpoint[], req: RouteRequest, m: number): void {
    const key = req.sessionKey !== null ? stringHash(req.sessionKey) : req.prefixBlocks > 0 ? req.prefix![req.prefixStride - 1] : NaN;
    if (key !== key) return;
    const pos = this.#pos;
    let sum = 0;
    for (let k = 0; k < m; k++) sum += this.#load[pos[k]];
    const cap = Math.ceil(this.profile.consistentHash.loadFactor * ((sum + 1) / m));
    let best = -1;
    let bestW = -1;
    let anyBest = -1;
    let anyW = -1;
    for (let k = 0; k < m; k++) {
      const i = pos[k];
      const w = mix(key, c[i].slot);
      if (w > anyW) {
        anyW = w;
        anyBest = i;
      }
      if (this.#load[i] + 1 <= cap && w > bestW) {
        bestW = w;
        best = i;
      }
    }
    this.#score[best >= 0 ? best : anyBest] += weight;
  }

  // ── pickers ─────────────────────────────────────────────────────────────────

  #choose(req: RouteRequest, m: number): number {
    const pos = this.#pos;
    switch (this.profile.picker) {
      case 'random':
        return pos[Math.floor(req.random * m)];
      case 'round-robin':
        return pos[req.sequence % m];
      case 'power-of-two': {
        const a = Math.floor(req.random * m);
        const b = (a + 1 + Math.floor(mix(req.random, 7) * (m - 1))) % m;
        return this.#score[pos[b]] > this.#score[pos[a]] ? pos[b] : pos[a];
      }
      case 'max-score': {
        // from a random start with a strict >, equal scores go to a random one of them
        const start = Math.floor(req.random * m);
        let best = pos[start];
        let bestScore = this.#score[best];
        for (let j = 1; j < m; j++) {
          const k = start + j < m ? start + j : start + j - m;
          const s = this.#score[pos[k]];
          if (s > bestScore + 1e-12) {
            bestScore = s;
            best = pos[k];
          }
        }
        return best;
      }
    }
  }

  #grow(n: number): void {
    const size = Math.max(n, this.#pos.length * 2);
    this.#pos = new Int32Array(size);
    this.#load = new Float64Array(size);
    this.#waiting = new Float64Array(size);
    this.#score = new Float64Array(size);
    this.#raw = new Float64Array(size);
    this.#stale = new Uint8Array(size);
    this.#matched = new Float64Array(size);
  }
}

/** A reproducible number in [0, 1) from a number and a salt (a second draw from one random, a rendezvous weight). */
function mix(x: number, salt: number): number {
  let h = Math.imul((x * 0x7fffffff) | 0, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b) ^ ((x / 4294967296) | 0);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 4294967296;
}
