// Query parameters of the read-only admin routes: a misspelt, unknown or repeated one is a 400 that
// names it, never silently ignored (a typo in `since` would otherwise answer for the default window).

/** A parameter the route does not take, or one given twice: the message naming it; null when all is well. */
export function strayParam(query: URLSearchParams, allowed: readonly string[]): string | null {
  const seen = new Set<string>();
  for (const k of query.keys()) {
    if (!allowed.includes(k)) return `${k}: not a parameter of this route; it takes ${allowed.length === 0 ? 'none' : allowed.join(', ')}`;
    if (seen.has(k)) return `${k}: given twice; give it once`;
    seen.add(k);
  }
  return null;
}
