// Where a client puts its key: `x-api-key` (Anthropic SDK with apiKey, curl examples) or
// `Authorization: Bearer` (OpenAI SDK; Anthropic SDK 1.x sends only this). Header names arrive
// lower-cased from node. When both are present, x-api-key wins, as on Anthropic's API.

export type HeaderBag = Record<string, string | string[] | undefined>;

export function extractKey(headers: HeaderBag): string | null {
  let x = headers['x-api-key'];
  if (Array.isArray(x)) x = x[0];
  if (x !== undefined) {
    const k = x.trim();
    if (k !== '') return k;
  }
  return bearer(headers.authorization);
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearer(authorization: string | string[] | undefined): string | null {
  if (typeof authorization !== 'string' || authorization.length < 8) return null;
  // The scheme is case-insensitive (RFC 9110 §11.1).
  if (authorization.slice(0, 7).toLowerCase() !== 'bearer ') return null;
  const t = authorization.slice(7).trim();
  return t === '' ? null : t;
}
