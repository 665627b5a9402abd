// The first routing policy: least outstanding requests, home region first, residency respected.
// Pure: it reads only what it is handed (issue 5 grows this into the filter → scorer → picker
// pipeline; this function becomes its default picker's baseline).

export interface ReplicaView {
  readonly region: string;
  readonly healthy: boolean;
  readonly inflight: number;
}

export interface PickInput {
  readonly candidates: readonly ReplicaView[];
  /** the gateway's own region: preferred while it has a healthy replica */
  readonly homeRegion: string;
  /** regions the tenant may use; null = any */
  readonly allowedRegions: readonly string[] | null;
  /** candidate indexes already tried for this request (null on a first attempt) */
  readonly exclude: readonly number[] | null;
  /** a random number in [0, 1) from the caller's seeded source, to break ties */
  readonly random: number;
}

/** Index of the chosen candidate, or -1 when none is allowed, healthy and untried. */
export function pickReplica(p: PickInput): number {
  const n = p.candidates.length;
  // Scanning from a random start with a strict `<` spreads ties across equals.
  const start = Math.floor(p.random * n);
  let best = -1;
  let bestKey = Infinity;
  for (let k = 0; k < n; k++) {
    const i = start + k < n ? start + k : start + k - n;
    const c = p.candidates[i];
    if (!c.healthy) continue;
    if (p.allowedRegions !== null && !p.allowedRegions.includes(c.region)) continue;
    if (p.exclude !== null && p.exclude.includes(i)) continue;
    // Home region wins over any load elsewhere; within a region, fewest outstanding requests.
    const key = (c.region === p.homeRegion ? 0 : 1e9) + c.inflight;
    if (key < bestKey) {
      bestKey = key;
      best = i;
    }
  }
  return best;
}
