import type { LeaseToken, RolloutPhase, RolloutState, RolloutStoreError, RolloutStoreResult, RolloutTransition, StoredRollout } from '../control/rollouts/index.js';
import { checkActor, checkReason, MAX_ACTION, MAX_TARGET, text, type AuditRow } from './audit.js';
import { clampLimit, type DbRow } from './common.js';
import { newId } from './ids.js';

// The half of rollouts and leases both backends share: checking what a caller hands in, the row's
// JSON, the audit record a transition writes, the messages, and the lease arithmetic. The ledger
// sits below the rollout room, so it knows the room's shapes by type only; the phases are spelled
// here, and the compiler checks they are the room's.

const PHASES = ['pending', 'progressing', 'paused', 'rolling_back', 'succeeded', 'rolled_back', 'aborted'] as const satisfies readonly RolloutPhase[];
const allPhases: [Exclude<RolloutPhase, (typeof PHASES)[number]>] extends [never] ? true : never = true;
void allPhases;
const KNOWN_PHASES: ReadonlySet<string> = new Set(PHASES);
const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'rolled_back', 'aborted'] satisfies RolloutPhase[]);

export const isTerminal = (s: RolloutState): boolean => TERMINAL.has(s.phase);

/** The partial unique index's predicate, verbatim, so PostgreSQL can answer "active" from that index. */
export const ACTIVE = "phase NOT IN ('succeeded', 'rolled_back', 'aborted')";
export const ROLLOUT_ORDER = ' ORDER BY created_at DESC, id DESC LIMIT ';

const ROLLOUT_ID = /^rol_[0-9A-Za-z]{1,60}$/;
/** a state carries its spec and the latest evidence: a few KB; this bounds a runaway caller */
const MAX_STATE_JSON = 256 * 1024;
const MAX_LEASE_NAME = 200;

export type Checked<T> = RolloutStoreResult<T>;

export function refuse(kind: RolloutStoreError['kind'], message: string): { ok: false; error: RolloutStoreError } {
  return { ok: false, error: { kind, message } };
}

/** A state ready to write: checked, and its JSON. */
export interface StateRow {
  state: RolloutState;
  json: string;
}

/** The fields the store itself reads (id, model, phase, times) and that the whole of it is JSON that reads back the same. */
export function checkState(what: string, s: unknown): Checked<StateRow> {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return refuse('invalid', `the ${what} state must be an object`);
  const r = s as Record<string, unknown>;
  if (typeof r.id !== 'string' || !ROLLOUT_ID.test(r.id)) return refuse('invalid', `the ${what} state's id must be a rollout id (rol_…), got ${JSON.stringify(r.id)}`);
  for (const f of ['model', 'stable', 'candidate'] as const) {
    if (typeof r[f] !== 'string' || r[f] === '') return refuse('invalid', `rollout ${r.id}: the ${what} state's ${f} must be a non-empty string`);
  }
  if (typeof r.phase !== 'string' || !KNOWN_PHASES.has(r.phase)) return refuse('invalid', `rollout ${r.id}: the ${what} state's phase must be one of ${PHASES.join(', ')}`);
  for (const f of ['createdAtMs', 'updatedAtMs'] as const) {
    if (typeof r[f] !== 'number' || !Number.isFinite(r[f])) return refuse('invalid', `rollout ${r.id}: the ${what} state's ${f} must be a finite number`);
  }
  let json: string;
  try {
    // JSON would turn NaN and Infinity into null: the state read back would not be the one written
    json = JSON.stringify(s, (_k, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`a number that is not finite (${v})`);
      return v;
    });
  } catch (err) {
    return refuse('invalid', `rollout ${r.id}: the ${what} state is not JSON: ${(err as Error).message}`);
  }
  if (json.length > MAX_STATE_JSON) return refuse('invalid', `rollout ${r.id}: the ${what} state must be at most ${MAX_STATE_JSON} bytes of JSON`);
  return { ok: true, value: { state: s as RolloutState, json } };
}

/** Who, what and why of a transition (its `after` is checked apart: a creation writes the state it is handed). */
export function checkWho(t: unknown): string | null {
  if (typeof t !== 'object' || t === null) return 'the transition must be an object';
  const r = t as Record<string, unknown>;
  return checkActor({ actor: r.actor as string, requestId: r.requestId as string | undefined })
    ?? text('action', r.action, MAX_ACTION)
    ?? (typeof r.reason !== 'string' ? 'the audit reason must be a string' : checkReason(r.reason))
    ?? (typeof r.audited !== 'boolean' ? 'the transition must say whether it is audited (audited: true or false)' : null);
}

/** A transition's who and why, and its `after` as the state to write. */
export function checkTransition(t: unknown): Checked<StateRow> {
  const bad = checkWho(t);
  if (bad) return refuse('invalid', bad);
  return checkState("transition's after", (t as Record<string, unknown>).after);
}

export function checkRevision(revision: unknown): string | null {
  return typeof revision === 'number' && Number.isSafeInteger(revision) && revision >= 1 ? null : 'the revision must be a whole number from 1';
}

/** A lease's name, holder and ttl: wrong ones are a caller's bug (the lease calls have no result to carry it). */
export function checkLeaseArgs(name: unknown, holder: unknown, ttlMs?: unknown): void {
  const bad = bounded('lease name', name, MAX_LEASE_NAME) ?? bounded('lease holder', holder, MAX_TARGET)
    ?? (ttlMs !== undefined && !(typeof ttlMs === 'number' && Number.isSafeInteger(ttlMs) && ttlMs > 0) ? 'the lease ttl must be a whole number of ms above 0' : null);
  if (bad) throw new TypeError(bad);
}

const bounded = (what: string, v: unknown, max: number): string | null =>
  typeof v === 'string' && v.trim() !== '' && v.length <= max ? null : `the ${what} must be 1 to ${max} characters`;

/** A listing's filters: a caller's bug when wrong. */
export function checkListing(q: unknown): void {
  if (typeof q !== 'object' || q === null) throw new TypeError('the rollout listing query must be an object');
  const r = q as Record<string, unknown>;
  if (r.model !== undefined && typeof r.model !== 'string') throw new TypeError('the listing\'s model must be a string');
  if (r.active !== undefined && typeof r.active !== 'boolean') throw new TypeError('the listing\'s active must be true or false');
  if (r.limit !== undefined && typeof r.limit !== 'number') throw new TypeError('the listing\'s limit must be a number');
}

export function checkToken(t: unknown): string | null {
  if (typeof t !== 'object' || t === null) return 'the lease token must be an object';
  const r = t as Record<string, unknown>;
  if (typeof r.name !== 'string' || typeof r.holder !== 'string') return 'the lease token must name the lease and its holder';
  if (typeof r.epoch !== 'number' || !Number.isSafeInteger(r.epoch)) return 'the lease token\'s epoch must be a whole number';
  return null;
}

/** The audit record of a transition: the rollout is its target; `before` is what the row held. */
export function transitionRow(t: RolloutTransition, id: string, before: string | null, after: string, at: number): AuditRow {
  return { id: newId('aud', at), at, actor: t.actor, action: t.action, target: id, tenantId: null, requestId: t.requestId ?? null, reason: t.reason, before, after };
}

export function rolloutFromRow(r: DbRow): StoredRollout {
  return { revision: Number(r.revision), state: JSON.parse(r.state as string) as RolloutState };
}

export function leaseFromRow(r: DbRow): LeaseToken {
  return { name: r.name as string, holder: r.holder as string, epoch: Number(r.epoch), expiresAtMs: Number(r.expires_at) };
}

export const changedSince = (id: string, read: number, now: number): string => `rollout ${id} changed since it was read (revision ${read}, now ${now})`;
export const notFound = (id: string): string => `rollout ${id} not found`;
export const alreadyActive = (model: string, active: string | undefined): string =>
  `model ${model} already has a rollout in progress (${active ?? 'one that just started'}): finish or abort it first`;
export const modelFixed = (id: string, model: string): string => `rollout ${id} is of model ${model}: a transition cannot change its model`;

/** Why a write under `lease` may not happen now, or null when the lease row (if any) still holds it. */
export function leaseLost(lease: LeaseToken, row: DbRow | undefined, now: number): string | null {
  const held = row ? leaseFromRow(row) : null;
  if (held === null) return `lease ${lease.name} is not held by anyone: ${lease.holder} no longer leads`;
  if (held.holder !== lease.holder || held.epoch !== lease.epoch) return `lease ${lease.name} is held by ${held.holder} (epoch ${held.epoch}): ${lease.holder} (epoch ${lease.epoch}) no longer leads`;
  if (held.expiresAtMs <= now) return `lease ${lease.name} of ${lease.holder} expired at ${held.expiresAtMs} (store time ${now}): renew it before writing`;
  return null;
}

/**
 * What acquiring does to the lease row (SQLite; PostgreSQL says the same in one statement): free
 * or expired → the caller's with the next epoch; the caller's and live → renewed, same epoch;
 * another's and live → null.
 */
export function nextLease(held: LeaseToken | null, name: string, holder: string, now: number, ttlMs: number): LeaseToken | null {
  if (held === null) return { name, holder, epoch: 1, expiresAtMs: now + ttlMs };
  const live = held.expiresAtMs > now;
  if (live && held.holder !== holder) return null;
  return { name, holder, epoch: live ? held.epoch : held.epoch + 1, expiresAtMs: now + ttlMs };
}

export interface RolloutListing {
  sql: string;
  args: unknown[];
  limit: number;
}

/** `WHERE …` (or nothing) for a listing, with `?`-style or `$n`-style placeholders. */
export function rolloutWhere(q: { model?: string; active?: boolean; limit?: number }, placeholder: (i: number) => string): RolloutListing {
  const args: unknown[] = [];
  const and: string[] = [];
  if (q.model !== undefined) { args.push(q.model); and.push('model = ' + placeholder(args.length)); }
  if (q.active === true) and.push(ACTIVE);
  return { sql: and.length === 0 ? '' : 'WHERE ' + and.join(' AND '), args, limit: clampLimit(q.limit) };
}
