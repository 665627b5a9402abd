import type { UsageRecord } from './types.js';

// A few typeof checks, no allocation: one malformed record would fail its batch on every retry and
// stall the ledger behind it, and a spill file read back may hold a torn line. A record without a
// tier (a spill file written before the field) is accepted and stored with ''.

const isCount = (n: unknown): boolean => typeof n === 'number' && Number.isFinite(n) && n >= 0;
const isText = (s: unknown): boolean => typeof s === 'string' && s !== '';

export function wellFormed(r: UsageRecord): boolean {
  return r !== null && typeof r === 'object' &&
    // model may be '' (a request refused before its body named one)
    isText(r.requestId) && isText(r.tenantId) && isText(r.workspaceId) && isText(r.keyId) && typeof r.model === 'string' &&
    isText(r.outcome) && (r.wire === 'anthropic' || r.wire === 'openai') && typeof r.stream === 'boolean' &&
    (r.tier === undefined || typeof r.tier === 'string') && (r.replica === null || typeof r.replica === 'string') && (r.region === null || typeof r.region === 'string') &&
    isCount(r.startedAt) && Number.isInteger(r.status) && Number.isInteger(r.inputTokens) && r.inputTokens >= 0 &&
    Number.isInteger(r.cachedInputTokens) && r.cachedInputTokens >= 0 && Number.isInteger(r.outputTokens) && r.outputTokens >= 0 &&
    (r.ttftMs === null || isCount(r.ttftMs)) && isCount(r.latencyMs) && isCount(r.costUsd);
}
