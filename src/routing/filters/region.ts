import type { Decision, Filter } from '../plugin.js';
import type { ProfileSpec } from '../profile.js';

/**
 * `region-filter` (alias `region`): keeps a request in the nearest region, in the router's region
 * order from the request's home region, that has an unsaturated replica among the survivors; when
 * every region is saturated, the nearest with any survivor.
 *
 * Saturated: a fresh scrape says waiting (plus sent since) ≥ `spill.waiting` or KV usage
 * ≥ `spill.kvUsage`. A stale scrape never saturates. Survivors only in regions the order does not
 * know are all kept.
 *
 * Reads: region order, scraped waiting and KV usage. Parameters: `spill.waiting` (8), `spill.kvUsage` (0.97).
 */
export class RegionFilter implements Filter {
  readonly type = 'region-filter';
  readonly #waiting: number;
  readonly #kvUsage: number;

  constructor(p: ProfileSpec) {
    this.#waiting = p.spill.waiting;
    this.#kvUsage = p.spill.kvUsage;
  }

  filter(d: Decision): number {
    const { pos, count: m, candidates: c } = d;
    const order = d.regionOrder(d.req.homeRegion);
    let fallback: string | null = null;
    let chosen: string | null = null;
    for (let r = 0; r < order.length && chosen === null; r++) {
      const region = order[r];
      for (let k = 0; k < m; k++) {
        const i = pos[k];
        const e = c[i];
        if (e.region !== region) continue;
        fallback ??= region;
        const saturated = d.stale[i] === 0 && (d.waiting[i] >= this.#waiting || e.scraped!.kvUsage >= this.#kvUsage);
        if (!saturated) {
          chosen = region;
          break;
        }
      }
    }
    const keep = chosen ?? fallback;
    if (keep === null) return m;
    let n = 0;
    for (let k = 0; k < m; k++) if (c[pos[k]].region === keep) pos[n++] = pos[k];
    return n;
  }
}
