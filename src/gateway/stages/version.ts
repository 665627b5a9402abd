import type { GatewayError } from '../../api/index.js';
import type { RequestContext } from '../context.js';

const VERSION_RE = /^\d{4}-\d{2}-\d{2}$/;
const MISSING: GatewayError = { kind: 'invalid_request', message: 'anthropic-version: header is required' };

/** Anthropic's API wants `anthropic-version: YYYY-MM-DD` on every request; so does the gateway's. */
export function anthropicVersion(cx: RequestContext): GatewayError | null {
  const v = cx.req.headers['anthropic-version'];
  if (typeof v === 'string' && VERSION_RE.test(v)) return null;
  if (v === undefined) return MISSING;
  return { kind: 'invalid_request', message: `anthropic-version: "${String(v)}" is not a valid version` };
}
