import type { AdminView } from './api.js';
import type { Resolved } from './dashboard.js';
import { strayParam } from './query.js';
import { badRequest, methodNotAllowed, notFound, ok } from './reply.js';
import { clip } from '../body.js';
import { usd } from './dashboard-spend.js';

// A tenant's UTC days from the ledger's day roll-up (kept as records are written, so a month of a
// busy tenant is a few dozen rows, never a scan of its records), every model and tier summed per
// day. Every day of the window is listed, the ones without requests as zeros, oldest first, today
// (still filling) last.
//
//   GET /admin/v1/tenants/{id}/daily?days=30

const PATTERN = /^\/admin\/v1\/tenants\/([^/]+)\/daily\/?$/;
const PARAMS = ['days'] as const;
const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;
const DAY = 86_400_000;

const NOT_KEPT = notFound('this gateway has no ledger roll-up to read days from (its store keeps none)');

interface Day {
  requests: number;
  server_errors: number;
  client_errors: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export function dailyView(d: Resolved): AdminView {
  return {
    matches: (p) => PATTERN.test(p),
    async handle(caller, method, pathname, query) {
      if (method !== 'GET') return methodNotAllowed(method, ['GET']);
      let id: string;
      try {
        id = decodeURIComponent(PATTERN.exec(pathname)![1]);
      } catch {
        return notFound(`no admin route ${pathname}; see /admin/v1/tenants/{id}/daily`);
      }
      const stray = strayParam(query, PARAMS);
      if (stray !== null) return badRequest(stray);
      const raw = query.get('days');
      // digits only: Number() would also take ' 7', '1e1', '0x1e' and '30.0'
      const days = raw === null ? DEFAULT_DAYS : /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) return badRequest(`days: expected an integer from 1 to ${MAX_DAYS}, got '${clip(raw ?? '')}'`);
      // a foreign tenant reads as a missing one, so ids cannot be probed
      const missing = notFound(`tenant ${clip(id)} not found`);
      if (!caller.admin && caller.auth.tenantId !== id) return missing;
      const store = d.store;
      if (store?.usageDays === undefined) return NOT_KEPT;
      if ((await store.getTenant(id)) === null) return missing;
      const today = Math.floor(d.clock.nowMs() / DAY) * DAY;
      const since = today - (days - 1) * DAY;
      const rows = await store.usageDays({ since, before: today + DAY, tenantId: id });
      const out: Day[] = [];
      for (let k = 0; k < days; k++) out.push({ requests: 0, server_errors: 0, client_errors: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 });
      for (const r of rows) {
        const k = Math.floor((r.at - since) / DAY);
        if (k < 0 || k >= days) continue;
        const o = out[k];
        o.requests += r.requests;
        o.server_errors += r.serverErrors;
        o.client_errors += r.clientErrors;
        o.input_tokens += r.inputTokens;
        o.output_tokens += r.outputTokens;
        o.cost_usd += r.costUsd;
      }
      return ok(200, {
        tenant_id: id, days,
        data: out.map((o, k) => ({ day: new Date(since + k * DAY).toISOString().slice(0, 10), ...o, cost_usd: usd(o.cost_usd) })),
      });
    },
  };
}
