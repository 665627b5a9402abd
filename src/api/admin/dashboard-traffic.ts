import type { TrafficPoint, TrafficScope } from '../../observe/traffic.js';
import type { AdminView } from './api.js';
import type { Resolved } from './dashboard.js';
import { clip } from '../body.js';
import { MAX_ID } from './dashboard-spend.js';
import { strayParam } from './query.js';
import { badRequest, notFound, methodNotAllowed, ok, type AdminResponse } from './reply.js';

// The live traffic window (observe/ TrafficWindow) in its buckets, oldest first, the one filling
// now last: the fleet's, one model's, or one tenant's. A tenant key reads its own tenant's only.
//
//   GET /admin/v1/traffic?model=<id>&window=15m
//   GET /admin/v1/traffic?tenant=<id>&window=5m     (the admin token; a tenant key may name only itself)

const PATH = '/admin/v1/traffic';
const PARAMS = ['model', 'tenant', 'window'] as const;
const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };

/** `15m`, `90s`, `1h` → ms: whole buckets, from one bucket to the whole window. */
export function parseWindow(raw: string | null, bucketMs: number, maxMs: number): { ok: true; ms: number } | { ok: false; message: string } {
  if (raw === null) return { ok: true, ms: maxMs };
  const m = /^([1-9]\d{0,6})(s|m|h)$/.exec(raw);
  const ms = m === null ? NaN : Number(m[1]) * UNITS[m[2]];
  if (!(ms >= bucketMs && ms <= maxMs && ms % bucketMs === 0)) {
    return { ok: false, message: `window: expected a duration such as 5m or 90s, from ${span(bucketMs)} to ${span(maxMs)} in whole ${span(bucketMs)} buckets, got '${clip(raw)}'` };
  }
  return { ok: true, ms };
}

const span = (ms: number): string => (ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1_000}s`);

function point(p: TrafficPoint) {
  return {
    at: p.at, requests: p.requests, errors_5xx: p.errors5xx, errors_4xx: p.errors4xx,
    latency_p50_ms: p.latency.p50, latency_p95_ms: p.latency.p95, latency_p99_ms: p.latency.p99,
    ttft_p50_ms: p.ttft.p50, ttft_p95_ms: p.ttft.p95, output_tokens: p.outputTokens,
  };
}

export function trafficView(d: Resolved): AdminView {
  const w = d.traffic;
  return {
    matches: (p) => p === PATH || p === PATH + '/',
    async handle(caller, method, _pathname, query): Promise<AdminResponse> {
      if (method !== 'GET') return methodNotAllowed(method, ['GET']);
      const stray = strayParam(query, PARAMS);
      if (stray !== null) return badRequest(stray);
      const win = parseWindow(query.get('window'), w.bucketMs, w.windowMs);
      if (!win.ok) return badRequest(win.message);
      const model = query.get('model');
      let tenant = query.get('tenant');
      if (model === '' || tenant === '') return badRequest(`${model === '' ? 'model' : 'tenant'}: empty; name one or leave it out`);
      for (const [name, v] of [['model', model], ['tenant', tenant]] as const) {
        if (v !== null && v.length > MAX_ID) return badRequest(`${name}: longer than ${MAX_ID} characters; no ${name} has such a name`);
      }
      if (model !== null && tenant !== null) return badRequest('model and tenant: give one of them; the window keeps no series per tenant and model');
      if (!caller.admin) {
        // a tenant key: its own tenant's traffic, whatever it names
        if (model !== null) return badRequest('model: a tenant key reads its own traffic over every model; leave model out');
        if (tenant !== null && tenant !== caller.auth.tenantId) return notFound(`tenant ${clip(tenant)} not found`);
        tenant = caller.auth.tenantId;
      } else if (tenant !== null && d.store !== undefined && (await d.store.getTenant(tenant)) === null) {
        return notFound(`tenant ${clip(tenant)} not found`);
      }
      if (model !== null) {
        const known = new Set(w.models());
        for (const r of d.fleet?.all ?? []) known.add(r.model);
        if (!known.has(model)) return notFound(`model: no traffic or replica for ${clip(model)}; the models are ${[...known].sort().join(', ') || '(none yet)'}`);
      }
      const scope: TrafficScope = model !== null ? { model } : tenant !== null ? { tenant } : null;
      return ok(200, {
        bucket_s: w.bucketMs / 1000, window_s: win.ms / 1000, model, tenant_id: tenant,
        series: w.points(scope, win.ms).map(point),
      });
    },
  };
}
