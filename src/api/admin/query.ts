import { clip } from '../body.js';

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

/**
 * `limit`: a plain decimal integer from 1 to `max`; absent or empty, `dflt`. Digits only: Number()
 * would also take '1e2', '0x10', ' 5' or '5.0', which no client means to send.
 */
export function limitParam(query: URLSearchParams, dflt: number, max: number): { ok: true; value: number } | { ok: false; message: string } {
  const v = query.get('limit');
  if (v === null || v === '') return { ok: true, value: dflt };
  const n = /^[0-9]{1,9}$/.test(v) ? Number(v) : Number.NaN;
  if (!(n >= 1 && n <= max)) return { ok: false, message: `limit: expected an integer from 1 to ${max}, got '${clip(v)}'` };
  return { ok: true, value: n };
}
