import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { GatewayError, Wire } from '../api/index.js';
import { bearer } from '../tenancy/index.js';

// What the gateway reads from a request's head before its body: the API it speaks, whether its
// body is declared as JSON, a percent-encoded id in its path, a bearer token.

/** Which API a request speaks, for its errors: Anthropic's paths or header, else OpenAI's. */
export function wireOf(req: IncomingMessage, path: string): Wire {
  return path.startsWith('/v1/messages') || req.headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai';
}

/**
 * A body declared as something other than JSON is refused rather than parsed: a form or a file
 * sent by mistake is told so, not half-understood. A body with no content-type at all is taken as
 * JSON; `curl -d` without `-H content-type` says form-encoded, and the message names the fix.
 */
export function jsonMediaError(req: IncomingMessage): GatewayError | null {
  const ct = req.headers['content-type'];
  if (ct === undefined) return null;
  const semi = ct.indexOf(';');
  const media = (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  if (media === 'application/json' || media.endsWith('+json')) return null;
  return {
    kind: 'invalid_request',
    message: `The request body must be JSON sent with content-type: application/json; this one says "${media.slice(0, 100)}" (with curl: -H 'content-type: application/json').`,
  };
}

/** A percent-encoded path segment, or null when its escapes are malformed (`%`, `%zz`, bad UTF-8). */
export function decodePathSegment(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

export function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** `Authorization: Bearer <token>` against the token's digest, in constant time. */
export function bearerMatches(header: string | undefined, digest: Buffer): boolean {
  const token = bearer(header);
  return token !== null && timingSafeEqual(sha256(token), digest);
}
