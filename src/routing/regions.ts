// Region order: where the `region` filter spills over to when the home region has no usable
// replica. One rule for the gateway and the simulator, including what a pair of regions nobody
// stated a latency for counts as.

/**
 * The latency assumed between two distinct regions when neither states one: farther than any
 * stated pair, so an unstated region is spilled to last. Why farthest rather than a guessed
 * distance (a cross-continent 75 ms, say): a stated latency is a fact the operator gave and an
 * unstated one is not, so a known-near region should never lose to an unknown one; and a guess
 * below some stated pair would silently reorder regions the operator did rank. Unstated pairs keep
 * their listed order among themselves (the sort is stable). The simulator's network still needs a
 * delay to put on the wire for such a pair; that is `UNSTATED_WIRE_MS`, apart from the order.
 */
export const UNSTATED = Number.MAX_SAFE_INTEGER / 2;

/** One-way delay the simulator puts on the wire between regions that state none (it orders them by UNSTATED). */
export const UNSTATED_WIRE_MS = 75;

/** Latencies as configured: each region's stated one-way ms to others (either side may state a pair). */
export interface RegionLatencies {
  readonly name: string;
  readonly latencyMs: Readonly<Record<string, number>>;
}

/** The stated one-way ms between two regions (0 to itself), or UNSTATED. */
export function statedLatencyMs(regions: readonly RegionLatencies[], from: string, to: string): number {
  if (from === to) return 0;
  return regions.find((r) => r.name === from)?.latencyMs[to] ?? regions.find((r) => r.name === to)?.latencyMs[from] ?? UNSTATED;
}

/** Regions nearest first from each home region, by the stated latencies (unstated: farthest). */
export function regionOrder(regions: readonly RegionLatencies[]): (home: string) => readonly string[] {
  return nearestFirst(regions.map((r) => r.name), (a, b) => statedLatencyMs(regions, a, b));
}

/**
 * Each region's view of the others, nearest first and itself first: what the `region` filter
 * spills over in. `latency(a, b)` is any consistent distance (ms or s); orders are computed once per
 * home region. A home region missing from `names` still comes first.
 */
export function nearestFirst(names: readonly string[], latency: (from: string, to: string) => number): (home: string) => readonly string[] {
  const cache = new Map<string, readonly string[]>();
  return (home) => {
    let order = cache.get(home);
    if (order === undefined) {
      const all = names.includes(home) ? names : [home, ...names];
      order = [...all].sort((a, b) => (a === home ? -1 : b === home ? 1 : latency(home, a) - latency(home, b)));
      cache.set(home, order);
    }
    return order;
  };
}
