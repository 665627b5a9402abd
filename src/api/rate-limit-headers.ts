import type { LimitState } from '../limits/index.js';
import type { Wire } from './types.js';

// The rate-limit headers every limited response carries, in its client's API. They go onto the
// request's flat `[name, value, …]` list, written with the rest of its head in one `writeHead`:
// `setHeader` validates and stores each pair one by one, which was most of the head's cost.

/**
 * Anthropic's `anthropic-ratelimit-*` (reset as an RFC 3339 time) or OpenAI's `x-ratelimit-*`
 * (reset as a duration), pushed onto `heads`. Pushed once per response: a list does not replace
 * a name as `setHeader` does.
 */
export function pushLimitHeaders(heads: string[], wire: Wire, s: LimitState, nowMs: number): void {
  if (wire === 'anthropic') {
    // the combined family: the more restrictive of the two token buckets
    const tight = s.inputTokens.remaining / s.inputTokens.limit <= s.outputTokens.remaining / s.outputTokens.limit ? s.inputTokens : s.outputTokens;
    heads.push(
      'anthropic-ratelimit-requests-limit', String(s.requests.limit),
      'anthropic-ratelimit-requests-remaining', String(s.requests.remaining),
      'anthropic-ratelimit-requests-reset', rfc3339(nowMs + until(s.requests.untilFullMs)),
      'anthropic-ratelimit-input-tokens-limit', String(s.inputTokens.limit),
      'anthropic-ratelimit-input-tokens-remaining', String(s.inputTokens.remaining),
      'anthropic-ratelimit-input-tokens-reset', rfc3339(nowMs + until(s.inputTokens.untilFullMs)),
      'anthropic-ratelimit-output-tokens-limit', String(s.outputTokens.limit),
      'anthropic-ratelimit-output-tokens-remaining', String(s.outputTokens.remaining),
      'anthropic-ratelimit-output-tokens-reset', rfc3339(nowMs + until(s.outputTokens.untilFullMs)),
      'anthropic-ratelimit-tokens-limit', String(tight.limit),
      'anthropic-ratelimit-tokens-remaining', String(tight.remaining),
      'anthropic-ratelimit-tokens-reset', rfc3339(nowMs + until(tight.untilFullMs)),
    );
  } else {
    // OpenAI counts one token budget: input and output buckets together
    heads.push(
      'x-ratelimit-limit-requests', String(s.requests.limit),
      'x-ratelimit-remaining-requests', String(s.requests.remaining),
      'x-ratelimit-reset-requests', duration(until(s.requests.untilFullMs)),
      'x-ratelimit-limit-tokens', String(s.inputTokens.limit + s.outputTokens.limit),
      'x-ratelimit-remaining-tokens', String(s.inputTokens.remaining + s.outputTokens.remaining),
      'x-ratelimit-reset-tokens', duration(Math.max(until(s.inputTokens.untilFullMs), until(s.outputTokens.untilFullMs))),
    );
  }
}

/**
 * A bucket's time until full as a header can say it. A level that is not a number is a limiter's
 * bug, never expected; it reads as full now rather than failing the response (an invalid Date throws).
 */
function until(ms: number): number {
  return Number.isFinite(ms) ? ms : 0;
}

// The reset times' text changes once a second and most responses of a second share it: the last
// one is kept rather than formatted four times a response.
let memoSecond = NaN;
let memoText = '';

/** An epoch-ms instant as RFC 3339 to the second (`2026-01-02T03:04:05Z`), milliseconds dropped. */
export function rfc3339(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== memoSecond) {
    memoText = new Date(second * 1000).toISOString().slice(0, 19) + 'Z';
    memoSecond = second;
  }
  return memoText;
}

/** OpenAI's reset durations: `12ms`, `1s`, `6m0s`, `1h2m3s`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  let s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}
