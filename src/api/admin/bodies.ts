import { z } from 'zod';
import { PRIORITIES, type Priority } from '../../ledger/index.js';

// Request bodies and query strings, validated before anything is touched. Unknown fields are
// refused rather than ignored: a misspelt `allowed_regions` silently ignored would grant any region.

/** A custom type message, except for an absent field, which reads `Field required` like the rest. */
const typeError = (message: string) => ({ error: (iss: { input?: unknown }) => (iss.input === undefined ? 'Field required' : message) });

const name = (what: string) => z.string(typeError(`${what} name must be a string`)).trim()
  .min(1, `${what} name must not be empty`).max(200, `${what} name must be at most 200 characters`);

const region = z.string({ error: 'each region must be a string' }).min(1, 'a region name must not be empty').max(64, 'a region name must be at most 64 characters');

const tier = z.string({ error: 'tier must be a string' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'tier must be 1–64 letters, digits, ., _ or -, starting with a letter or digit');

const allowedRegions = z.array(region, { error: 'allowed_regions must be an array of region names, or null for any region' })
  .min(1, 'allowed_regions must name at least one region; use null to allow any region')
  .max(64, 'allowed_regions may name at most 64 regions')
  .transform((a) => [...new Set(a)])
  .nullable();

const priority = z.enum(PRIORITIES as unknown as [Priority, ...Priority[]], { error: `priority must be one of ${PRIORITIES.join(', ')}, or null for the tier's default` })
  .nullable();

const spendLimit = z.number({ error: "spend_limit_usd must be a number of USD, or null for the tier's limit" })
  .min(0, "spend_limit_usd must be at least 0; use null for the tier's limit")
  .nullable();

export const newTenantBody = z.strictObject({
  name: name('tenant'),
  tier: tier.optional(),
  allowed_regions: allowedRegions.optional(),
});

export const tenantPatchBody = z.strictObject({
  name: name('tenant').optional(),
  tier: tier.optional(),
  allowed_regions: allowedRegions.optional(),
});

export const newWorkspaceBody = z.strictObject({ name: name('workspace') });

export const workspacePatchBody = z.strictObject({
  name: name('workspace').optional(),
  spend_limit_usd: spendLimit.optional(),
});

export const newKeyBody = z.strictObject({
  name: name('key').optional(),
  workspace_id: z.string({ error: 'workspace_id must be a string' }).min(1, 'workspace_id must not be empty').max(200, 'workspace_id must be at most 200 characters').optional(),
  priority: priority.optional(),
});

export const keyPatchBody = z.strictObject({
  name: name('key').optional(),
  priority: priority.optional(),
});

/** A route that acts on its path alone (revoke): an empty body or `{}`, nothing else. */
export const noBody = z.strictObject({});

/** A PATCH that names no field is almost always a mistake (a misspelt field is refused already). */
export function nothingToChange(fields: readonly string[]): string {
  return `body: nothing to change; send at least one of ${fields.join(', ')}`;
}

export type BodyParse<T> = { ok: true; value: T } | { ok: false; message: string };

/** Parses a JSON body (empty = `{}`) against a schema; the message names each bad field. */
export function parseBody<T>(schema: z.ZodType<T>, body: Buffer): BodyParse<T> {
  let raw: unknown = {};
  if (body.length > 0) {
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return { ok: false, message: `the request body is not valid JSON: ${(err as Error).message}` };
    }
  }
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, message: r.error.issues.map(describe).join('; ') };
}

function describe(i: z.core.$ZodIssue): string {
  const at = i.path.length === 0 ? 'body' : i.path.join('.');
  if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${i.path.length ? at + '.' : ''}${k}: Extra inputs are not permitted`).join('; ');
  if (i.code === 'invalid_type' && (i.message === 'Field required' || i.message.endsWith('received undefined'))) return `${at}: Field required`;
  if (i.code === 'invalid_type' && i.path.length === 0) return 'body: the request body must be a JSON object';
  return `${at}: ${i.message}`;
}

/** `?since=` / `?before=`: an RFC 3339 time → ms epoch. */
export function parseTime(q: URLSearchParams, field: string): BodyParse<number | undefined> {
  const v = q.get(field);
  if (v === null || v === '') return { ok: true, value: undefined };
  const ms = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(ms)) return { ok: false, message: `${field}: expected an RFC 3339 time such as 2026-01-31T00:00:00Z, got '${v}'` };
  return { ok: true, value: ms };
}

/** Paging cursor (usage, audit): opaque to clients, `<time ms>.<id>` of the last row in base64url. */
export function encodeCursor(at: number, id: string): string {
  return Buffer.from(`${at}.${id}`).toString('base64url');
}

export function decodeCursor(v: string | null): BodyParse<{ at: number; id: string } | undefined> {
  if (v === null || v === '') return { ok: true, value: undefined };
  const s = Buffer.from(v, 'base64url').toString('utf8');
  const dot = s.indexOf('.');
  const t = Number(s.slice(0, dot));
  if (dot <= 0 || !Number.isInteger(t) || dot === s.length - 1) return { ok: false, message: 'page: not a cursor this API issued; pass next_page from the previous answer unchanged' };
  return { ok: true, value: { at: t, id: s.slice(dot + 1) } };
}
