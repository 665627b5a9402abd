import type { Decision, Filter } from '../plugin.js';
import type { ProfileSpec } from '../profile.js';

/**
 * `load-guard-filter` (alias `load-guard`): drops survivors whose estimated load exceeds
 * `factor` × the survivors' mean load + `slack`, so an affinity scorer cannot pile a hot prefix or
 * session onto one replica. The least loaded survivor always stays.
 *
 * Reads: estimated load (scrape + sent since, or in-flight when stale). Parameters:
 * `loadGuard.factor` (1.5), `loadGuard.slack` (4).
 */
export class LoadGuardFilter implements Filter {
  readonly type = 'load-guard-filter';
  readonly #factor: number;
  readonly #slack: number;

  constructor(p: ProfileSpec) {
    this.#factor = p.loadGuard.factor;
    this.#slack = p.loadGuard.slack;
  }

  filter(d: Decision): number {
    const { pos, count: m, load } = d;
    let sum = 0;
    for (let k = 0; k < m; k++) sum += load[pos[k]];
    const limit = this.#factor * (sum / m) + this.#slack;
    let n = 0;
    for (let k = 0; k < m; k++) if (load[pos[k]] <= limit) pos[n++] = pos[k];
    return n;
  }
}
