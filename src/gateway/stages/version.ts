import { clip, type GatewayError } from '../../api/index.js';
import type { RequestContext } from '../context.js';

const VERSION_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MISSING: GatewayError = { kind: 'invalid_request', message: 'anthropic-version: header is required' };

/** Whether `YYYY-MM-DD` names a day of the calendar: 2023-13-45 has the shape but is no date. */
function isDate(v: string): boolean {
  const m = VERSION_RE.exec(v);
  if (m === null) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 ? (leap ? 29 : 28) : DAYS[month - 1]);
}

/** Anthropic's API wants `anthropic-version: YYYY-MM-DD`, a real date, on every request; so does the gateway's. */
export function anthropicVersion(cx: RequestContext): GatewayError | null {
  const v = cx.req.headers['anthropic-version'];
  if (typeof v === 'string' && isDate(v)) return null;
  if (v === undefined) return MISSING;
  const shown = String(v);
  return { kind: 'invalid_request', message: `anthropic-version: "${clip(shown)}" is not a valid version` };
}
