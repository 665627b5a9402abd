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
