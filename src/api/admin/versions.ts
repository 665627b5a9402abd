import { z } from 'zod';
import { versionSchema, warmupSchema, type VersionConfig } from '../../config/index.js';
import { readyForTraffic, type FleetRegistry, type ModelVersions } from '../../fleet/index.js';
import { badRequest, conflict, methodNotAllowed, notFound, ok, type AdminResponse } from './reply.js';

// A model's versions under /admin/v1/models/{model}/versions (admin token only, served beside the
// fleet): what each version is, which is stable, and where its replicas are; and registering a new
// one before a rollout starts it. Registering says what a version is; replicas that serve it are
// added through the fleet API, and traffic reaches it only through a rollout.
//
//   GET  /admin/v1/models/{model}/versions
//   POST /admin/v1/models/{model}/versions   { id, weights?, engine?, settings?, warmup? }

export interface VersionsAdminDeps {
  readonly fleet: FleetRegistry;
  readonly versions: ModelVersions;
}

/** A version registered, for the audit trail. */
export interface VersionChange {
  readonly action: 'model.version.register';
  readonly target: string;
  readonly before: null;
  readonly after: Record<string, unknown>;
}

export type VersionsAdminResponse = AdminResponse & { readonly change?: VersionChange };

const PATH = /^\/admin\/v1\/models\/([^/]+)\/versions$/;

/** Whether the path is one of this module's routes. */
export function isVersionsPath(path: string): boolean {
  return PATH.test(path);
}

// Compiled once: every field checked before any is read, an unknown one refused. The config's
// version, in the admin API's snake_case (`warmup.max_tokens`).
const registerBody = z.strictObject({
  ...versionSchema.shape,
  warmup: z.strictObject({
    requests: z.number().int().min(1).max(100).optional(),
    prompt: z.string().min(1).max(100_000).optional(),
    max_tokens: z.number().int().positive().max(4_096).optional(),
  }).optional(),
}).transform(({ warmup, ...v }): VersionConfig => (warmup === undefined ? v : {
  ...v, warmup: warmupSchema.parse({ requests: warmup.requests, prompt: warmup.prompt, maxTokens: warmup.max_tokens }),
}));

export function versionsAdmin(deps: VersionsAdminDeps, method: string, path: string, body: Buffer): VersionsAdminResponse {
  const m = PATH.exec(path);
  if (m === null) return notFound(`no admin route ${path}; see /admin/v1/models/{model}/versions`);
  let model: string;
  try {
    model = decodeURIComponent(m[1]);
  } catch {
    return badRequest('the model in the path is not valid percent-encoding; encode it with encodeURIComponent');
  }
  if (!deps.versions.has(model)) return notFound(`no model ${model}; the models are ${deps.versions.models().join(', ')}`);
  if (method === 'GET') return ok(200, { data: deps.versions.list(model).map((v) => view(deps, model, v)) });
  if (method !== 'POST') return methodNotAllowed(method, ['GET', 'POST']);
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    return badRequest('the body must be JSON: { "id", "weights"?, "engine"?, "settings"?, "warmup"? }');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return badRequest('the body must be a JSON object: { "id", "weights"?, "engine"?, "settings"?, "warmup"? }');
  const p = registerBody.safeParse(raw);
  if (!p.success) return badRequest(p.error.issues.map(describe).join('; '));
  const r = deps.versions.register(model, p.data);
  if (!r.ok) return r.error.kind === 'exists' ? conflict(r.error.message) : notFound(r.error.message);
  const v = view(deps, model, r.value);
  return { ...ok(201, v), change: { action: 'model.version.register', target: `${model}@${r.value.id}`, before: null, after: { model, ...r.value } } };
}

function view(deps: VersionsAdminDeps, model: string, v: VersionConfig): Record<string, unknown> {
  const regions: Record<string, { replicas: number; ready: number; routable: number }> = {};
  for (const r of deps.fleet.replicasOf(model)) {
    if (r.version !== v.id) continue;
    const at = (regions[r.region] ??= { replicas: 0, ready: 0, routable: 0 });
    at.replicas++;
    if (readyForTraffic(r)) at.ready++;
    if (r.routable) at.routable++;
  }
  return {
    id: v.id, type: 'model_version', model, weights: v.weights ?? null, engine: v.engine ?? null, settings: v.settings ?? {},
    warmup: v.warmup === undefined ? null : { requests: v.warmup.requests, prompt: v.warmup.prompt, max_tokens: v.warmup.maxTokens },
    stable: deps.versions.stableOf(model) === v.id, replicas: regions,
  };
}

function describe(i: z.core.$ZodIssue): string {
  if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${[...i.path, k].join('.')}: Extra inputs are not permitted`).join('; ');
  if (i.path.length === 0) return i.message;
  if (i.code === 'invalid_type' && i.input === undefined) return `${i.path.join('.')}: Field required`;
  return `${i.path.join('.')}: ${i.message}`;
}
