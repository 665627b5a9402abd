import { z } from 'zod';
import { replicaUrl, type VersionConfig } from '../../config/index.js';
import { readyForTraffic, type FleetRegistry, type FleetWatch, type ModelVersions, type PrefixIndex, type Replica } from '../../fleet/index.js';
import { wallClock, wallTimers, type Clock, type Timers } from '../../time/index.js';
import { badRequest, conflict, methodNotAllowed, notFound, ok, type AdminResponse } from './reply.js';
import { isVersionsPath, versionsAdmin, type VersionChange } from './versions.js';

// The fleet under /admin/v1/fleet (admin token only): the live picture, and the operator's hands
// on it — add a replica, drain one (no new requests; those in flight finish), bring it back,
// re-admit one outlier detection ejected, remove a drained one.
//
//   GET    /admin/v1/fleet                          every replica and its state
//   POST   /admin/v1/fleet/replicas                 { model, url, region, id?, served_model?, api_key?, protocol?, version? }
//   POST   /admin/v1/fleet/replicas/{id}/drain
//   POST   /admin/v1/fleet/replicas/{id}/undrain
//   POST   /admin/v1/fleet/replicas/{id}/readmit
//   DELETE /admin/v1/fleet/replicas/{id}            drains, then closes its connections once idle
//   GET    /admin/v1/models/{model}/versions        a model's versions (versions.ts), when `versions` is given
//   POST   /admin/v1/models/{model}/versions        registers one

/** What the fleet API needs of a replica's backend: its connections, to close once it is removed. */
export interface ReplicaBackend {
  readonly client: { close(): Promise<void> };
}

export interface FleetAdminDeps<B extends ReplicaBackend = ReplicaBackend> {
  readonly fleet: FleetRegistry;
  readonly watch: FleetWatch | null;
  readonly prefixes: PrefixIndex;
  readonly backends: Map<Replica, B>;
  readonly models: ReadonlySet<string>;
  readonly regions: readonly string[];
  /** each model's versions; absent, a replica serves the version named like its model and the versions routes are not served */
  readonly versions?: ModelVersions;
  createBackend(r: Replica, apiKey: string | undefined): B;
  /** the wall clock by default */
  readonly clock?: Clock;
  readonly timers?: Timers;
}

/** A custom type message, except for an absent field, which reads `Field required`. */
const typeError = (message: string) => ({ error: (iss: { input?: unknown }) => (iss.input === undefined ? 'Field required' : message) });
/** A name: printable, bounded (it lands in logs, metrics labels and the audit trail). */
const label = (what: string, max: number) => z.string(typeError(`${what} must be a string`))
  .min(1, `${what} must not be empty`).max(max, `${what} must be at most ${max} characters`)
  .regex(/^[^\u0000-\u001f\u007f]*$/, `${what} must not contain control characters`);

// Compiled once; every field is checked before any is read, and an unknown field is refused (a
// misspelt `served_model` silently ignored would send the wrong model name to the replica).
const addBody = z.strictObject({
  model: label('model', 200),
  // only http(s) with a host: a `mailto:` or `file:` URL has no origin to dial (it crashed the replica's connections)
  url: z.string(typeError('url must be a string')).max(2048, 'url must be at most 2048 characters').pipe(replicaUrl),
  region: label('region', 64),
  id: label('id', 200).optional(),
  served_model: label('served_model', 200).optional(),
  api_key: label('api_key', 4096).optional(),
  /** the API the replica speaks; default `openai` */
  protocol: z.enum(['openai', 'anthropic'], { error: 'protocol must be openai or anthropic' }).optional(),
  /** the model version it serves; default the model's stable version */
  version: label('version', 200).optional(),
}, { error: (iss) => (iss.code === 'invalid_type' ? 'the body must be a JSON object: { "model", "url", "region" }' : undefined) });

/** A change to the fleet, for the audit trail: what it was before and after (no api_key). */
export interface FleetChange {
  readonly action: 'fleet.replica.add' | 'fleet.replica.remove' | 'fleet.replica.drain' | 'fleet.replica.undrain' | 'fleet.replica.readmit';
  readonly target: string;
  readonly before: Record<string, unknown> | null;
  readonly after: Record<string, unknown> | null;
}

export type FleetAdminResponse = AdminResponse & { readonly change?: FleetChange | VersionChange };

/** Whether the fleet API serves the path: the fleet's own routes and a model's versions. */
export function isFleetAdminPath(path: string): boolean {
  return path === '/admin/v1/fleet' || path.startsWith('/admin/v1/fleet/') || isVersionsPath(path);
}

export function fleetAdmin<B extends ReplicaBackend>(deps: FleetAdminDeps<B>, method: string, path: string, body: Buffer): FleetAdminResponse {
  if (path === '/admin/v1/fleet') {
    if (method !== 'GET') return methodNotAllowed(method, ['GET']);
    return ok(200, { data: deps.fleet.all.map((r) => view(deps, r)) });
  }
  if (isVersionsPath(path)) {
    if (deps.versions === undefined) return notFound(`no admin route ${path}: this gateway keeps no catalogue of versions`);
    return versionsAdmin({ fleet: deps.fleet, versions: deps.versions }, method, path, body);
  }
  if (path === '/admin/v1/fleet/replicas') {
    if (method !== 'POST') return methodNotAllowed(method, ['POST']);
    return add(deps, body);
  }
  const m = /^\/admin\/v1\/fleet\/replicas\/([^/]+)(?:\/(drain|undrain|readmit))?$/.exec(path);
  if (m === null) return notFound(`no admin route ${path}; see /admin/v1/fleet`);
  const id = decodeSegment(m[1]);
  if (id === null) return badRequest('the replica id in the path is not valid percent-encoding; encode it with encodeURIComponent');
  const r = deps.fleet.byId(id);
  if (r === undefined) return notFound(`no replica "${id}" in the fleet`);
  const action = m[2];
  if (action === undefined) {
    if (method === 'GET') return ok(200, view(deps, r));
    if (method !== 'DELETE') return methodNotAllowed(method, ['GET', 'DELETE']);
    if (!bodiless(body)) return NO_BODY;
    const before = audited(r);
    // its requests in flight finish on the open connections, which close when they are done
    // (connections that fail to close have nothing left to lose; it must not become an unhandled rejection)
    void leaveFleet(deps, r, deps.timers ?? wallTimers).catch(() => {});
    return { ...ok(200, { id: r.id, type: 'replica_deleted', inflight: r.inflight }), change: { action: 'fleet.replica.remove', target: r.id, before, after: null } };
  }
  if (method !== 'POST') return methodNotAllowed(method, ['POST']);
  if (!bodiless(body)) return NO_BODY;
  const before = audited(r);
  if (action === 'drain') deps.fleet.setDraining(r, true);
  else if (action === 'undrain') deps.fleet.setDraining(r, false);
  else if (deps.watch !== null) deps.watch.readmit(r);
  else deps.fleet.readmit(r);
  const after = audited(r);
  // a change that changes nothing (drained twice, re-admitted while not ejected) is answered, not recorded
  if (before.draining === after.draining && before.ejected === after.ejected && before.routable === after.routable) return ok(200, view(deps, r));
  const change: FleetChange = { action: `fleet.replica.${action as 'drain' | 'undrain' | 'readmit'}`, target: r.id, before, after };
  return { ...ok(200, view(deps, r)), change };
}

/** What the audit trail keeps of a replica: its identity and state, not its telemetry or key. */
function audited(r: Replica): { draining: boolean; ejected: boolean; routable: boolean } & Record<string, unknown> {
  return {
    id: r.id, model: r.model, served_model: r.servedModel, region: r.region, url: r.url, protocol: r.protocol ?? 'openai',
    version: r.version, healthy: r.healthy, draining: r.draining, ejected: r.ejectedUntilMs !== 0, routable: r.routable,
  };
}

function add<B extends ReplicaBackend>(deps: FleetAdminDeps<B>, body: Buffer): FleetAdminResponse {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    return badRequest('the body must be JSON: { "model", "url", "region" }');
  }
  const p = addBody.safeParse(raw);
  if (!p.success) return badRequest(p.error.issues.map(describe).join('; '));
  const b = p.data;
  if (!deps.models.has(b.model)) return badRequest(`model: ${b.model} is not configured; configured models: ${[...deps.models].join(', ')}`);
  if (!deps.regions.includes(b.region)) return badRequest(`region: ${b.region} is not a configured region; regions: ${deps.regions.join(', ')}`);
  // a URL typed by hand may answer anything: it takes traffic once a probe has passed
  const joined = joinFleet(deps, { id: b.id, model: b.model, servedModel: b.served_model ?? b.model, region: b.region, url: b.url, protocol: b.protocol, version: b.version, awaitProbe: true }, b.api_key);
  if (!joined.ok) return joined.conflict ? conflict(joined.message) : badRequest(joined.message);
  const r = joined.replica;
  return { ...ok(201, view(deps, r)), change: { action: 'fleet.replica.add', target: r.id, before: null, after: audited(r) } };
}

/** What putting a replica into the live fleet needs: the add route and the autoscaler's hands share it. */
export type FleetJoinDeps<B extends ReplicaBackend> = Pick<FleetAdminDeps<B>, 'fleet' | 'backends' | 'versions' | 'createBackend'>;

export interface JoiningReplica {
  /** absent: `<region>/<model>/<n>`, the lowest n free */
  readonly id?: string;
  readonly model: string;
  readonly servedModel: string;
  readonly region: string;
  readonly url: string;
  readonly protocol?: 'openai' | 'anthropic';
  /** absent: the model's stable version */
  readonly version?: string;
  /** true: out of rotation until its first health probe passes (nothing has checked its URL yet) */
  readonly awaitProbe?: boolean;
}

/**
 * Puts a replica into the fleet with its backend, never half-added: of the model's stable version
 * unless it names one, at the weight its version has where it joins, cold if its version has a
 * warm-up. The model and region are the caller's to check. A version unknown or an id taken is
 * refused with a message (`conflict` for the id).
 */
export function joinFleet<B extends ReplicaBackend>(
  deps: FleetJoinDeps<B>, spec: JoiningReplica, apiKey: string | undefined,
): { ok: true; replica: Replica } | { ok: false; conflict: boolean; message: string } {
  const stable = deps.versions?.stableOf(spec.model) ?? spec.model;
  const version = spec.version ?? stable;
  const described: Pick<VersionConfig, 'warmup'> | undefined = deps.versions === undefined ? (version === spec.model ? {} : undefined) : deps.versions.get(spec.model, version);
  if (described === undefined) {
    const known = deps.versions?.list(spec.model).map((v) => v.id) ?? [spec.model];
    return { ok: false, conflict: false, message: `version: model ${spec.model} has no version ${version}; its versions are ${known.join(', ')} (register one with POST /admin/v1/models/${encodeURIComponent(spec.model)}/versions)` };
  }
  const id = spec.id ?? freeId(deps.fleet, `${spec.region}/${spec.model}/`);
  if (deps.fleet.byId(id) !== undefined) return { ok: false, conflict: true, message: `a replica named "${id}" is already in the fleet` };
  const r = deps.fleet.add({
    id, model: spec.model, servedModel: spec.servedModel, region: spec.region, url: spec.url, protocol: spec.protocol,
    version, versionWeight: joiningWeight(deps.fleet, spec.model, spec.region, version, stable), warm: described.warmup === undefined,
    awaitProbe: spec.awaitProbe,
  });
  let backend: B;
  try {
    backend = deps.createBackend(r, apiKey);
  } catch (e) {
    // never half-added: a replica in the fleet without a backend would be routed to and fail
    deps.fleet.remove(r);
    throw e;
  }
  deps.backends.set(r, backend);
  return { ok: true, replica: r };
}

/**
 * A newcomer of another version than the stable one gets no traffic until a rollout gives it some
 * (and then only once it is ready); one of the stable version joins at its region's stable weight,
 * so a rollout's split there stays what it was.
 */
function joiningWeight(fleet: FleetRegistry, model: string, region: string, version: string, stable: string): number {
  if (version !== stable) return 0;
  for (const r of fleet.replicasOf(model)) if (r.version === version && r.region === region && r.versionWeight > 0) return r.versionWeight;
  return 1;
}

/** The lowest `<prefix><n>` not taken: demo pools number replicas across regions, so a count can collide. */
function freeId(fleet: FleetRegistry, prefix: string): string {
  let n = 0;
  while (fleet.byId(prefix + n) !== undefined) n++;
  return prefix + n;
}

function view(deps: FleetAdminDeps<ReplicaBackend>, r: Replica): Record<string, unknown> {
  const o = deps.watch?.stats(r) ?? null;
  const now = (deps.clock ?? wallClock).monoMs() / 1000;
  return {
    id: r.id, type: 'replica', model: r.model, served_model: r.servedModel, region: r.region, url: r.url, protocol: r.protocol ?? 'openai',
    version: r.version, weight: r.versionWeight, ready: readyForTraffic(r), warm: r.warm,
    state: r.draining ? (r.inflight > 0 ? 'draining' : 'drained') : r.ejectedUntilMs !== 0 ? 'ejected' : r.healthy ? 'serving' : r.checkedAtMs === 0 ? 'joining' : 'unhealthy',
    routable: r.routable, healthy: r.healthy, draining: r.draining,
    ejected_until: r.ejectedUntilMs !== 0 ? new Date(r.ejectedUntilMs).toISOString() : null,
    ejections: o?.totalEjections ?? 0, ejection_reason: o?.ejected ? o.reason : null,
    inflight: r.inflight, consecutive_failures: r.consecutiveFailures,
    checked_at: r.checkedAtMs ? new Date(r.checkedAtMs).toISOString() : null,
    telemetry: r.scraped === null ? null : {
      waiting: r.scraped.waiting, running: r.scraped.running, kv_cache_usage: r.scraped.kvUsage,
      age_s: Math.round((now - r.scraped.atS) * 1000) / 1000,
    },
    prefix_blocks: deps.prefixes.heldBlocks(r.slot),
  };
}

/**
 * Takes the replica out of the fleet now (routing stops at once), and once it has no request in
 * flight closes its backend's connections and forgets the backend: the fleet DELETE and the
 * autoscaler's drain share it. Rejects only when the connections fail to close.
 */
export async function leaveFleet<B extends ReplicaBackend>(deps: Pick<FleetJoinDeps<B>, 'fleet' | 'backends'>, r: Replica, timers: Timers): Promise<void> {
  if (deps.fleet.byId(r.id) === r) deps.fleet.remove(r);
  await whenIdle(r, timers);
  const b = deps.backends.get(r);
  try {
    await b?.client.close();
  } finally {
    if (deps.backends.get(r) === b) deps.backends.delete(r);
  }
}

/** Resolves once the replica has no request in flight: checked every 100 ms on the timers. */
export function whenIdle(r: Replica, timers: Timers): Promise<void> {
  if (r.inflight <= 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const h = timers.every(100, () => {
      if (r.inflight > 0) return;
      timers.cancel(h);
      resolve();
    }, undefined);
  });
}

/** drain, undrain, readmit and delete act on the path alone: no body, or `{}` */
function bodiless(body: Buffer): boolean {
  if (body.length === 0) return true;
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
  } catch {
    return false;
  }
}

const NO_BODY = badRequest('this route takes no body; send none, or {}');

function describe(i: z.core.$ZodIssue): string {
  if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${k}: Extra inputs are not permitted`).join('; ');
  if (i.path.length === 0) return i.message;
  return `${i.path.join('.')}: ${i.message}`;
}

/** A percent-encoded path segment, or null when its escapes are malformed. */
function decodeSegment(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}
