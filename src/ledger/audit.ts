import { newId } from './ids.js';
import type { ApiKey, AuditActor, AuditQuery, AuditRecord, NewAuditRecord, StoreResult, Tenant, Workspace } from './types.js';

// The audit trail's half shared by both backends: the JSON a row is audited as, the record a change
// writes, validation of records made elsewhere, and the WHERE clause of a listing.

/** An audit record as written: `before` and `after` already JSON text. */
export type AuditRow = Omit<AuditRecord, 'before' | 'after'> & { before: string | null; after: string | null };

export const AUDIT_COLUMNS = ['id', 'at', 'actor', 'action', 'target', 'tenant_id', 'request_id', 'reason', 'before', 'after'] as const;

export function auditValues(r: AuditRow): unknown[] {
  return [r.id, r.at, r.actor, r.action, r.target, r.tenantId, r.requestId, r.reason, r.before, r.after];
}

// Each view names its fields, so a field added to a row later is audited only once someone decides
// it should be. A key is audited without its hash: the trail is exported and read far more widely
// than the key table, and a hash lets anyone holding it test guesses offline.

export function tenantJson(t: Tenant): string {
  return JSON.stringify({ id: t.id, name: t.name, tier: t.tier, allowedRegions: t.allowedRegions, createdAt: t.createdAt });
}

export function workspaceJson(w: Workspace): string {
  return JSON.stringify({ id: w.id, tenantId: w.tenantId, name: w.name, spendLimitUsd: w.spendLimitUsd, createdAt: w.createdAt });
}

export function keyJson(k: ApiKey): string {
  return JSON.stringify({
    id: k.id, tenantId: k.tenantId, workspaceId: k.workspaceId, name: k.name, hint: k.hint, priority: k.priority,
    createdAt: k.createdAt, revokedAt: k.revokedAt,
  });
}

const MAX_ACTOR = 256;
export const MAX_ACTION = 100;
export const MAX_TARGET = 256;
const MAX_REASON = 2_000;
const MAX_JSON = 64 * 1024;

export function checkActor(a: AuditActor | undefined): string | null {
  if (a === undefined) return null;
  if (typeof a.actor !== 'string' || a.actor.trim() === '' || a.actor.length > MAX_ACTOR) return `the audit actor must be 1 to ${MAX_ACTOR} characters`;
  if (a.requestId !== undefined && (typeof a.requestId !== 'string' || a.requestId.length > MAX_TARGET)) return `the audit request id must be at most ${MAX_TARGET} characters`;
  return null;
}

/**
 * The record a store change writes, or null when there is none to write: no actor was given, or
 * nothing changed (revoking a revoked key, a patch that sets what is already there).
 */
export function changeRow(a: AuditActor | undefined, action: string, target: string, tenantId: string | null, before: string | null, after: string | null, at: number): AuditRow | null {
  if (a === undefined || before === after) return null;
  return { id: newId('aud', at), at, actor: a.actor, action, target, tenantId, requestId: a.requestId ?? null, reason: null, before, after };
}

/** A record made outside the store, checked and serialized. */
export function appendedRow(e: NewAuditRecord, at: number): StoreResult<AuditRow> {
  const bad = checkActor({ actor: e.actor, requestId: e.requestId ?? undefined })
    ?? text('action', e.action, MAX_ACTION) ?? text('target', e.target, MAX_TARGET)
    ?? (e.tenantId != null && typeof e.tenantId !== 'string' ? 'the audit tenant id must be a string or null' : null)
    ?? checkReason(e.reason);
  if (bad) return { ok: false, error: { kind: 'invalid', message: bad } };
  const before = json('before', e.before);
  if (!before.ok) return before;
  const after = json('after', e.after);
  if (!after.ok) return after;
  return {
    ok: true,
    value: {
      id: newId('aud', at), at, actor: e.actor, action: e.action, target: e.target, tenantId: e.tenantId ?? null, requestId: e.requestId ?? null,
      reason: e.reason ?? null, before: before.value, after: after.value,
    },
  };
}

/** A reason may be absent (null), never empty: an empty one says nothing a reader can use. */
export function checkReason(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return text('reason', v, MAX_REASON);
}

export function text(what: string, v: unknown, max: number): string | null {
  return typeof v === 'string' && v.trim() !== '' && v.length <= max ? null : `the audit ${what} must be 1 to ${max} characters`;
}

function json(what: string, v: unknown): StoreResult<string | null> {
  if (v === undefined || v === null) return { ok: true, value: null };
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch (err) {
    return { ok: false, error: { kind: 'invalid', message: `the audit ${what} is not JSON: ${(err as Error).message}` } };
  }
  if (s === undefined) return { ok: false, error: { kind: 'invalid', message: `the audit ${what} is not JSON` } };
  if (s.length > MAX_JSON) return { ok: false, error: { kind: 'invalid', message: `the audit ${what} must be at most ${MAX_JSON} bytes of JSON` } };
  return { ok: true, value: s };
}

/** What was written, as a listing would read it back. */
export function recordOf(row: AuditRow): AuditRecord {
  return { ...row, before: parseOrNull(row.before), after: parseOrNull(row.after) };
}

const parseOrNull = (s: unknown): unknown => (s === null || s === undefined ? null : JSON.parse(s as string));

export function auditFromRow(r: Record<string, unknown>): AuditRecord {
  return {
    id: r.id as string,
    at: Number(r.at),
    actor: r.actor as string,
    action: r.action as string,
    target: r.target as string,
    tenantId: (r.tenant_id as string | null) ?? null,
    requestId: (r.request_id as string | null) ?? null,
    reason: (r.reason as string | null | undefined) ?? null,
    before: parseOrNull(r.before),
    after: parseOrNull(r.after),
  };
}

/** `WHERE …` (or nothing) for a listing, with `?`-style or `$n`-style placeholders. */
export function auditWhere(q: Omit<AuditQuery, 'limit'>, placeholder: (i: number) => string): { sql: string; args: unknown[] } {
  const args: unknown[] = [];
  const and: string[] = [];
  const eq = (col: string, v: unknown) => { args.push(v); and.push(`${col} = ${placeholder(args.length)}`); };
  if (q.tenantId !== undefined) eq('tenant_id', q.tenantId);
  if (q.action !== undefined) eq('action', q.action);
  if (q.target !== undefined) eq('target', q.target);
  if (q.since !== undefined) { args.push(q.since); and.push('at >= ' + placeholder(args.length)); }
  if (q.before !== undefined) { args.push(q.before); and.push('at < ' + placeholder(args.length)); }
  if (q.olderThan !== undefined) {
    // As in usageWhere: spelled out so both dialects walk the index, the time bound twice.
    const n = args.push(q.olderThan.at, q.olderThan.at, q.olderThan.id);
    and.push(`(at < ${placeholder(n - 2)} OR (at = ${placeholder(n - 1)} AND id < ${placeholder(n)}))`);
  }
  return { sql: and.length === 0 ? '' : 'WHERE ' + and.join(' AND '), args };
}

export const AUDIT_ORDER = ' ORDER BY at DESC, id DESC LIMIT ';
