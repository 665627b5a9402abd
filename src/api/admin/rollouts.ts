import { z } from 'zod';
import {
  rolloutSpecSchema, stepSchema, type RolloutCommand, type RolloutState, type RolloutStoreError, type RolloutStoreResult, type StoredRollout,
} from '../../control/rollouts/index.js';
import { parseBody } from './bodies.js';
import type { Caller } from './caller.js';
import { limitParam, strayParam } from './query.js';
import { badRequest, conflict, forbidden, methodNotAllowed, notFound, ok, type AdminResponse } from './reply.js';
import { listView } from './views.js';

// Rollouts under /admin/v1/rollouts (admin token only, like the fleet): start one, read them, and a
// person's hands on one — pause, resume, promote, abort. The gateway's rollout service does the work
// (RolloutControl); this file validates, names the actor and renders the view.
//
//   POST /admin/v1/rollouts                      the spec (control/rollouts/spec.ts) + reason?
//   GET  /admin/v1/rollouts?model=&active=&limit=
//   GET  /admin/v1/rollouts/{id}
//   POST /admin/v1/rollouts/{id}/pause|resume|abort   { reason? }
//   POST /admin/v1/rollouts/{id}/promote              { reason?, full? }

/** Who acts on a rollout, for the audit trail. */
export interface Who { actor: string; requestId?: string; reason?: string }

/** What the admin API needs of the gateway's rollout service. */
export interface RolloutControl {
  /** parses with rolloutSpecSchema; unknown model or version → not_found, an active rollout of the model → conflict */
  start(spec: unknown, who: Who): Promise<RolloutStoreResult<StoredRollout>>;
  /** a pause carries the operator's reason when one was given: it is the pause's message */
  command(id: string, c: RolloutCommand, who: Who): Promise<RolloutStoreResult<StoredRollout>>;
  get(id: string): Promise<StoredRollout | null>;
  list(q: { model?: string; active?: boolean; limit?: number }): Promise<StoredRollout[]>;
  /** this gateway's part: leading or following, and since when */
  leadership(): { leader: boolean; holder: string; sinceMs: number | null };
}

const PREFIX = '/admin/v1/rollouts';
const COMMANDS = ['pause', 'resume', 'promote', 'abort'] as const;
type CommandName = (typeof COMMANDS)[number];

/** The reason a person gives when none is given. */
export const BY_HAND = 'by hand';

/** True for every path this file answers (the routes and anything mistyped under them). */
export function isRolloutPath(pathname: string): boolean {
  return pathname === PREFIX || pathname.startsWith(PREFIX + '/');
}

const reason = z.string({ error: 'reason must be a string' }).trim()
  .min(1, 'reason must not be empty; leave it out for "by hand"').max(500, 'reason must be at most 500 characters')
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'reason must not contain control characters');
const commandBody = z.strictObject({ reason: reason.optional() });
const promoteBody = z.strictObject({ reason: reason.optional(), full: z.boolean({ error: 'full must be true or false' }).optional() });
const modelQuery = z.string().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]*$/);

const ADMIN_ONLY = forbidden('the rollouts API needs the admin token; tenant API keys cannot use it');
const NO_CONTROL = notFound('this gateway runs no rollouts (no rollout service is configured)');
const missing = (id: string): AdminResponse => notFound(`rollout ${id} not found; GET /admin/v1/rollouts lists them`);

type Target = { kind: 'list' } | { kind: 'one'; id: string } | { kind: 'command'; id: string; command: CommandName };

function target(pathname: string): Target | null {
  let rest = pathname.slice(PREFIX.length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest === '') return { kind: 'list' };
  const s = rest.slice(1).split('/');
  if (s.some((p) => p === '') || s.length > 2) return null;
  let id: string;
  try {
    id = decodeURIComponent(s[0]);
  } catch {
    return null;
  }
  if (s.length === 1) return { kind: 'one', id };
  const c = COMMANDS.find((n) => n === s[1]);
  return c === undefined ? null : { kind: 'command', id, command: c };
}

const ALLOW: Record<Target['kind'], readonly string[]> = { list: ['GET', 'POST'], one: ['GET'], command: ['POST'] };

export type RolloutsHandler = (
  caller: Caller, method: string, pathname: string, query: URLSearchParams, body: Buffer, change: { actor: string; requestId?: string } | null,
) => Promise<AdminResponse>;

/**
 * `change`: who makes a change (the admin caller's actor), null for a read. The caller is checked
 * here, after the route: a tenant key gets 403 for every rollout route, reads included.
 */
export function createRollouts(control: RolloutControl | null): RolloutsHandler {
  return async (caller, method, pathname, query, body, change) => {
    const t = target(pathname);
    if (t === null) return notFound(`no admin route ${pathname}; see /admin/v1/rollouts`);
    if (!ALLOW[t.kind].includes(method)) return methodNotAllowed(method, ALLOW[t.kind]);
    if (!caller.admin) return ADMIN_ONLY;
    if (control === null) return NO_CONTROL;
    if (t.kind === 'list') return method === 'GET' ? list(control, query) : start(control, body, change);
    if (t.kind === 'one') {
      const r = await control.get(t.id);
      return r === null ? missing(t.id) : ok(200, rolloutView(r, control.leadership()));
    }
    return command(control, t.id, t.command, body, change);
  };
}

const LIST_PARAMS = ['model', 'active', 'limit'] as const;

async function list(control: RolloutControl, query: URLSearchParams): Promise<AdminResponse> {
  const stray = strayParam(query, LIST_PARAMS);
  if (stray !== null) return badRequest(stray);
  const limit = limitParam(query, 100, 1000);
  if (!limit.ok) return badRequest(limit.message);
  const a = query.get('active');
  if (a !== null && a !== 'true' && a !== 'false') return badRequest(`active: expected true or false, got '${a}'`);
  const m = query.get('model');
  if (m !== null && !modelQuery.safeParse(m).success) return badRequest('model: expected a model name (1–200 characters, no control characters)');
  const rows = await control.list({ model: m ?? undefined, active: a === null ? undefined : a === 'true', limit: limit.value + 1 });
  const more = rows.length > limit.value;
  const lead = control.leadership();
  return ok(200, listView((more ? rows.slice(0, limit.value) : rows).map((r) => rolloutView(r, lead)), more));
}

async function start(control: RolloutControl, body: Buffer, change: { actor: string; requestId?: string } | null): Promise<AdminResponse> {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return badRequest(`the request body is not valid JSON: ${(err as Error).message}; send the rollout spec, e.g. { "model", "candidate" }`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return badRequest('body: the request body must be a JSON object: the rollout spec, e.g. { "model", "candidate" }');
  // `reason` rides beside the spec; it is the audit trail's, not the rollout's
  const { reason: given, ...spec } = raw as Record<string, unknown>;
  let why = BY_HAND;
  if (given !== undefined) {
    const p = reason.safeParse(given);
    if (!p.success) return badRequest(`reason: ${p.error.issues[0].message}`);
    why = p.data;
  }
  const parsed = rolloutSpecSchema.safeParse(spec);
  if (!parsed.success) return badRequest(parsed.error.issues.flatMap((i) => stepIssues(spec, i)).map((i) => describe(spec, i)).join('; '));
  const r = await control.start(spec, { ...who(change), reason: why });
  if (r.ok) return ok(201, rolloutView(r.value, control.leadership()));
  return r.error.kind === 'invalid' ? badRequest(r.error.message) : refusal(r.error);
}

async function command(control: RolloutControl, id: string, name: CommandName, body: Buffer, change: { actor: string; requestId?: string } | null): Promise<AdminResponse> {
  let c: RolloutCommand;
  let why: string | undefined;
  if (name === 'promote') {
    const b = parseBody(promoteBody, body);
    if (!b.ok) return badRequest(b.message);
    c = { kind: 'promote', full: b.value.full ?? false };
    why = b.value.reason;
  } else {
    const b = parseBody(commandBody, body);
    if (!b.ok) return badRequest(b.message);
    why = b.value.reason;
    // a pause shows why it holds; the other commands' reasons are the audit trail's alone
    c = name === 'pause' && why !== undefined ? { kind: name, reason: why } : { kind: name };
  }
  const r = await control.command(id, c, { ...who(change), reason: why ?? BY_HAND });
  // a command the rollout cannot take now (not paused, already over, no ready candidate) is a conflict with its state
  return r.ok ? ok(200, rolloutView(r.value, control.leadership())) : refusal(r.error);
}

function who(change: { actor: string; requestId?: string } | null): Who {
  const w: Who = { actor: change?.actor ?? 'admin' };
  if (change?.requestId !== undefined) w.requestId = change.requestId;
  return w;
}

function refusal(e: RolloutStoreError): AdminResponse {
  return e.kind === 'not_found' ? notFound(e.message) : conflict(e.message);
}

/**
 * A step that fails is judged against the one shape its key names: the union alone reports the
 * closest shape, which for `{ pause: { duration: 'soon' } }` is the all-defaults analysis step
 * ("pause: Extra inputs are not permitted"), a message that sends the user the wrong way.
 */
function stepIssues(spec: Record<string, unknown>, i: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (i.path.length < 2 || i.path[0] !== 'steps' || typeof i.path[1] !== 'number') return [i];
  const step: unknown = (spec.steps as unknown[])[i.path[1]];
  if (typeof step !== 'object' || step === null) return [i];
  const keys = Object.keys(step);
  const shape = keys.length === 1 ? stepSchema.options.find((o) => keys[0] in o.shape) : undefined;
  if (shape === undefined) {
    const kinds = stepSchema.options.map((o) => Object.keys(o.shape)[0]).join(', ');
    return [{ ...i, code: 'custom', path: ['steps', i.path[1]], message: `a step has exactly one key, one of ${kinds}; got ${keys.join(', ') || 'none'}` } as z.core.$ZodIssue];
  }
  const p = shape.safeParse(step);
  if (p.success) return [i];
  return p.error.issues.map((j) => ({ ...j, path: ['steps', i.path[1], ...j.path] }));
}

function describe(spec: unknown, i: z.core.$ZodIssue): string {
  const at = i.path.length === 0 ? 'body' : i.path.join('.');
  if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${i.path.length ? at + '.' : ''}${k}: Extra inputs are not permitted`).join('; ');
  // zod's issues do not carry the input: look the field up to tell "absent" from "the wrong type"
  if (i.code === 'invalid_type' && i.path.reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined), spec) === undefined) return `${at}: Field required`;
  return `${at}: ${i.message}`;
}

// ── the view ──────────────────────────────────────────────────────────────────

const iso = (ms: number): string => new Date(ms).toISOString();
/** An e-value can outgrow a double: JSON has no Infinity, so say null rather than lie with a number. */
const finite = (n: number | null): number | null => (n === null || !Number.isFinite(n) ? null : n);

/** A rollout as the admin API and `switchyard rollout status` show it: snake_case, RFC 3339 times. */
export function rolloutView(r: StoredRollout, lead: { leader: boolean; holder: string; sinceMs: number | null }) {
  const s: RolloutState = r.state;
  const e = s.evidence;
  return {
    id: s.id, type: 'rollout', revision: r.revision, model: s.model, stable: s.stable, candidate: s.candidate, phase: s.phase,
    pause: s.pause === null ? null : {
      kind: s.pause.kind, message: s.pause.message,
      until: s.pause.kind === 'step' && s.pause.untilMs !== null ? iso(s.pause.untilMs) : null,
    },
    wave: { index: s.wave, of: s.waves.length, regions: s.waves[s.wave] ?? [] },
    waves: s.waves,
    step: { index: s.step, of: s.spec.steps.length, step: s.spec.steps[s.step] ?? null, started_at: iso(s.stepStartedAtMs) },
    weights: s.weights,
    failure: s.failure === null ? null : { metric: s.failure.metric, reason: s.failure.reason, at: iso(s.failure.atMs) },
    evidence: e === null ? null : {
      method: e.method,
      candidate: { calls: e.candidateCalls, failures: e.candidateFailures },
      stable: { calls: e.stableCalls, failures: e.stableFailures },
      metrics: e.metrics.map((m) => ({ metric: m.metric, comparisons: m.comparisons, statistic: finite(m.statistic), threshold: finite(m.threshold), ratio: finite(m.ratio) })),
    },
    spec: s.spec,
    created_by: s.createdBy, created_at: iso(s.createdAtMs), updated_at: iso(s.updatedAtMs),
    // a follower knows only that another gateway holds the lease, not which: it names none rather than itself
    leader: { holder: lead.leader ? lead.holder : null, this_gateway: lead.leader, since: lead.sinceMs === null ? null : iso(lead.sinceMs) },
  };
}

export type RolloutView = ReturnType<typeof rolloutView>;
