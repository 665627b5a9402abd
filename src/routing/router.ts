import type { Endpoint, RouteRequest, RoutingState } from './endpoint.js';
import { mix, type Decision, type Filter, type Picker, type Scorer } from './plugin.js';
import type { ProfileSpec } from './profile.js';
import { createFilter, createPicker, createScorer } from './registry.js';

// The profile runner, in the Gateway API Inference Extension's shape: the candidates a request may
// use (routable, weighted above 0, in its allowed regions, untried) → the profile's filters → the
// version its rollout's weights draw among the survivors → its weighted scorers → its picker. The
// draw comes after the filters so that the weights it reads are those of the region the region
// filter kept: a rollout's weights are per region, and one region's must not mix with another's
// (a profile without the region filter draws by each version's first survivor). The plugins are
// built once, from the registry; the scratch they work in (one Decision, typed arrays by candidate
// index) is reused, so a decision allocates nothing. One Router serves one gateway (or one simulated one).
//
// Scores are in [0, 1], higher is better; the picker sees each survivor's weighted sum. A replica
// whose scrape is stale is judged on this router's own in-flight count (see `Decision.stale`).

export interface RouterOptions {
  readonly profile: ProfileSpec;
  /** regions nearest first from a home region, the home region itself first */
  readonly regionOrder: (home: string) => readonly string[];
  readonly state: RoutingState;
}

export class Router {
  readonly profile: ProfileSpec;
  readonly #filters: readonly Filter[];
  readonly #scorers: readonly Scorer[];
  readonly #weights: Float64Array;
  readonly #picker: Picker;
  readonly #d: Scratch;
  /** weighted sums, and one scorer's output, by candidate index */
  #score = new Float64Array(64);
  #out = new Float64Array(64);
  /** a rollout's versions among the survivors, in order of first appearance, with their weights */
  readonly #versions: string[] = [];
  #versionWeights = new Float64Array(4);

  constructor(opts: RouterOptions) {
    const p = opts.profile;
    this.profile = p;
    this.#filters = p.filters.map((name) => createFilter(name, p));
    this.#scorers = p.scorers.map((s) => createScorer(s.use, p));
    this.#weights = Float64Array.from(p.scorers, (s) => s.weight);
    this.#picker = createPicker(p.picker, p);
    this.#d = new Scratch(opts.state, opts.regionOrder, 64);
  }

  /**
   * Index of the chosen candidate, or -1 when none is routable, allowed and untried. Afterwards
   * `uncachedTokens` is the router's estimate of the prompt tokens the chosen replica must compute.
   */
  pick(c: readonly Endpoint[], req: RouteRequest): number {
    const d = this.#d;
    if (c.length > d.pos.length) this.#grow(c.length);
    this.uncachedTokens = req.promptTokens;
    d.candidates = c;
    d.req = req;
    d.hasMatch = false;
    d.count = this.#candidates(c, req);
    const versions = this.#mixed;
    for (let f = 0; f < this.#filters.length && d.count > 0; f++) d.count = this.#filters[f].filter(d);
    if (versions && d.count > 1) d.count = this.#drawVersion(c, req, d.count);
    const m = d.count;
    if (m === 0) return this.#done(-1);
    let i = d.pos[0];
    if (m > 1) {
      this.#scoreAll(m);
      i = this.#picker.pick(d, this.#score);
    }
    if (d.hasMatch) this.uncachedTokens = Math.max(0, req.promptTokens - d.matched[i] * (req.promptTokens / req.prefixBlocks));
    return this.#done(i);
  }

  /** the chosen replica's prompt tokens not believed cached there, from the last pick */
  uncachedTokens = 0;

  /** lets go of the caller's objects until the next pick */
  #done(i: number): number {
    this.#d.candidates = NO_CANDIDATES;
    this.#d.req = NO_REQUEST;
    return i;
  }

  /** the last `#candidates` found more than one version among the usable candidates */
  #mixed = false;

  /** Fills pos with the usable candidates and their load estimates; returns how many. */
  #candidates(c: readonly Endpoint[], req: RouteRequest): number {
    const { pos, load, waiting, stale } = this.#d;
    const staleAfter = this.profile.staleAfterS;
    const allowed = req.allowedRegions;
    const exclude = req.exclude;
    let m = 0;
    let versions = false;
    for (let i = 0; i < c.length; i++) {
      const e = c[i];
      // weight 0: in the fleet, given no traffic (a rollout's candidate not yet, or no longer, serving)
      if (!e.routable || !(e.versionWeight > 0)) continue;
      if (allowed !== null && !allowed.includes(e.region)) continue;
      if (exclude !== null && exclude.includes(e.slot)) continue;
      pos[m++] = i;
      const s = e.scraped;
      if (s === null || req.nowS - s.atS > staleAfter) {
        stale[i] = 1;
        load[i] = e.inflight;
        waiting[i] = 0;
      } else {
        // optimistic: what the replica said, plus what this router has sent (less what it saw finish) since
        const since = e.inflight - s.inflightAtScrape;
        stale[i] = 0;
        load[i] = Math.max(0, s.running + s.waiting + since);
        waiting[i] = Math.max(0, s.waiting + since);
      }
      if (e.version !== c[pos[0]].version) versions = true;
    }
    this.#mixed = versions;
    return m;
  }

  /**
   * A rollout in progress: draw one version among the survivors by its weight (the first survivor's
   * of each version: after the region filter they share a region, and a region one weight), keep its replicas.
   */
  #drawVersion(c: readonly Endpoint[], req: RouteRequest, m: number): number {
    const pos = this.#d.pos;
    const names = this.#versions;
    let n = 0;
    let total = 0;
    for (let k = 0; k < m; k++) {
      const e = c[pos[k]];
      let j = 0;
      while (j < n && names[j] !== e.version) j++;
      if (j < n) continue;
      if (n === this.#versionWeights.length) this.#versionWeights = grown(this.#versionWeights, 2 * n);
      names[n] = e.version;
      this.#versionWeights[n++] = e.versionWeight;
      total += e.versionWeight;
    }
    if (n === 1) {
      names[0] = '';
      return m;
    }
    let r = mix(req.random, 11) * total;
    let chosen = names[0];
    for (let j = 0; j < n; j++) {
      chosen = names[j];
      if ((r -= this.#versionWeights[j]) < 0) break;
    }
    // drop the references to the caller's strings, keeping the array's capacity
    for (let j = 0; j < n; j++) names[j] = '';
    let kept = 0;
    for (let k = 0; k < m; k++) if (c[pos[k]].version === chosen) pos[kept++] = pos[k];
    return kept;
  }

  #scoreAll(m: number): void {
    const pos = this.#d.pos;
    const score = this.#score;
    const out = this.#out;
    const n = this.#scorers.length;
    if (n === 0) {
      for (let k = 0; k < m; k++) score[pos[k]] = 0;
      return;
    }
    // the first scorer's weighted score sets the sum, so there is no pass to zero it
    this.#scorers[0].score(this.#d, out);
    let w = this.#weights[0];
    for (let k = 0; k < m; k++) score[pos[k]] = w * out[pos[k]];
    for (let s = 1; s < n; s++) {
      this.#scorers[s].score(this.#d, out);
      w = this.#weights[s];
      for (let k = 0; k < m; k++) score[pos[k]] += w * out[pos[k]];
    }
  }

  #grow(n: number): void {
    const size = Math.max(n, this.#d.pos.length * 2);
    this.#d.grow(size);
    this.#score = new Float64Array(size);
    this.#out = new Float64Array(size);
  }
}

const NO_CANDIDATES: readonly Endpoint[] = [];
const NO_REQUEST = null as unknown as RouteRequest;

function grown(a: Float64Array, size: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(size);
  b.set(a);
  return b;
}

/** The one Decision a Router refills for every pick. */
class Scratch implements Decision {
  candidates: readonly Endpoint[] = NO_CANDIDATES;
  req: RouteRequest = NO_REQUEST;
  count = 0;
  pos: Int32Array;
  load: Float64Array;
  waiting: Float64Array;
  stale: Uint8Array;
  matched: Float64Array;
  /** `matched` holds this decision's prefix match */
  hasMatch = false;

  constructor(
    readonly state: RoutingState,
    readonly regionOrder: (home: string) => readonly string[],
    size: number,
  ) {
    this.pos = new Int32Array(size);
    this.load = new Float64Array(size);
    this.waiting = new Float64Array(size);
    this.stale = new Uint8Array(size);
    this.matched = new Float64Array(size);
  }

  matchPrefix(): boolean {
    const index = this.state.prefixIndex;
    if (index === null || this.req.prefixBlocks === 0) return false;
    if (!this.hasMatch) {
      index.match(this.candidates, this.pos, this.count, this.req, this.matched);
      this.hasMatch = true;
    }
    return true;
  }

  grow(size: number): void {
    this.pos = new Int32Array(size);
    this.load = new Float64Array(size);
    this.waiting = new Float64Array(size);
    this.stale = new Uint8Array(size);
    this.matched = new Float64Array(size);
  }
}
