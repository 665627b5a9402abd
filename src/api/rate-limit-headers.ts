import type { ServerResponse } from 'node:http';
import type { LimitState } from '../limits/index.js';
import type { Wire } from './types.js';

// The rate-limit headers every limited response carries, in its client's API.

/** Anthropic's `anthropic-ratelimit-*` (reset as an RFC 3339 time) or OpenAI's `x-ratelimit-*` (reset as a duration). */
export function setLimitHeaders(res: ServerResponse, wire: Wire, s: LimitState, nowMs: number): void {
  if (wire === 'anthropic') {
    const at = (ms: number) => new Date(nowMs + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    res.setHeader('anthropic-ratelimit-requests-limit', String(s.requests.limit));
    res.setHeader('anthropic-ratelimit-requests-remaining', String(s.requests.remaining));
    res.setHeader('anthropic-ratelimit-requests-reset', at(s.requests.untilFullMs));
    res.setHeader('anthropic-ratelimit-input-tokens-limit', String(s.inputTokens.limit));
    res.setHeader('anthropic-ratelimit-input-tokens-remaining', String(s.inputTokens.remaining));
    res.setHeader('anthropic-ratelimit-input-tokens-reset', at(s.inputTokens.untilFullMs));
    res.setHeader('anthropic-ratelimit-output-tokens-limit', String(s.outputTokens.limit));
    res.setHeader('anthropic-ratelimit-output-tokens-remaining', String(s.outputTokens.remaining));
    res.setHeader('anthropic-ratelimit-output-tokens-reset', at(s.outputTokens.untilFullMs));
    // the combined family: the more restrictive of the two token buckets
    const tight = s.inputTokens.remaining / s.inputTokens.limit <= s.outputTokens.remaining / s.outputTokens.limit ? s.inputTokens : s.outputTokens;
    res.setHeader('anthropic-ratelimit-tokens-limit', String(tight.limit));
    res.setHeader('anthropic-ratelimit-tokens-remaining', String(tight.remaining));
    res.setHeader('anthropic-ratelimit-tokens-reset', at(tight.untilFullMs));
  } else {
    // OpenAI counts one token budget: input and output buckets together
    res.setHeader('x-ratelimit-limit-requests', String(s.requests.limit));
    res.setHeader('x-ratelimit-remaining-requests', String(s.requests.remaining));
    res.setHeader('x-ratelimit-reset-requests', duration(s.requests.untilFullMs));
    res.setHeader('x-ratelimit-limit-tokens', String(s.inputTokens.limit + s.outputTokens.limit));
    res.setHeader('x-ratelimit-remaining-tokens', String(s.inputTokens.remaining + s.outputTokens.remaining));
    res.setHeader('x-ratelimit-reset-tokens', duration(Math.max(s.inputTokens.untilFullMs, s.outputTokens.untilFullMs)));
  }
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
