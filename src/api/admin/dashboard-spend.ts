import type { Tenant, Workspace } from '../../ledger/index.js';
import { monthStartUtc, nextMonthUtc } from '../../limits/index.js';
import type { AdminView } from './api.js';
import type { DashboardStore, Resolved, SpendReader } from './dashboard.js';
import { limitParam, strayParam } from './query.js';
import { badRequest, methodNotAllowed, notFound, ok } from './reply.js';

// Month-to-date spend per tenant: the sum of its workspaces' from the gateway's MonthlySpend (in
// memory, never a scan of the ledger), against their limits (a workspace's own, else its tenant's
// tier's). A tenant's burn is its workspace nearest its limit: at 1 that workspace is refused.
//
//   GET /admin/v1/spend?limit=50&after_id=    one page of tenants in id order; a tenant key: its own

const PATH = '/admin/v1/spend';
const PARAMS = ['limit', 'after_id'] as const;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
/** tenants read per store call when the whole fleet is summed */
const FLEET_PAGE = 5_000;
const HOUR = 3_600_000;
/** longer than any id the store issues: a longer cursor or name is refused, not looked up */
export const MAX_ID = 200;

/** A caller's text for an error message, cut short: an answer never echoes a whole long parameter. */

export interface TenantSpend {
  readonly tenant: Tenant;
  readonly workspaces: number;
  readonly monthToDateUsd: number;
  /** the sum of its workspaces' limits; null when one has none */
  readonly budgetUsd: number | null;
  /** its most spent workspace's share of its limit; null when none has a limit */
  readonly burnRatio: number | null;
  /** a workspace of it has reached its limit (its requests are refused) */
  readonly overBudget: boolean;
  readonly projectedMonthUsd: number;
}

type Tiers = Resolved['tiers'];

/** The tier's limit; an unknown tier name is served as `default`, and so is its limit. */
function tierLimit(tiers: Tiers, tier: string): number | null {
  if (tiers === undefined) return null;
  return (Object.hasOwn(tiers, tier) ? tiers[tier] : tiers.default)?.monthlySpendUsd ?? null;
}

function tenantSpend(t: Tenant, ws: readonly Workspace[], spend: SpendReader, tiers: Tiers, nowMs: number): TenantSpend {
  const fallback = tierLimit(tiers, t.tier);
  let mtd = 0, budget: number | null = 0, burn: number | null = null, over = false;
  for (const w of ws) {
    const spent = spend.spent(w.id, nowMs);
    mtd += spent;
    const limit = w.spendLimitUsd ?? fallback;
    if (limit === null) {
      budget = null;
      continue;
    }
    if (budget !== null) budget += limit;
    // a limit of 0 refuses everything: the workspace is at its limit from the start
    const ratio = limit > 0 ? spent / limit : 1;
    if (burn === null || ratio > burn) burn = ratio;
    if (spent >= limit) over = true;
  }
  const month = monthStartUtc(nowMs);
  // a straight line through the month so far; the first hour counts as a whole one
  const projected = mtd * ((nextMonthUtc(nowMs) - month) / Math.max(HOUR, nowMs - month));
  return { tenant: t, workspaces: ws.length, monthToDateUsd: mtd, budgetUsd: ws.length === 0 ? null : budget, burnRatio: burn, overBudget: over, projectedMonthUsd: projected };
}

/** The workspaces of these tenants (a page of them: one query), grouped by tenant id. */
async function workspacesOf(store: DashboardStore, tenantIds: readonly string[]): Promise<Map<string, Workspace[]>> {
  const by = new Map<string, Workspace[]>();
  for (const id of tenantIds) by.set(id, []);
  for (const w of await store.listWorkspacesOf(tenantIds)) by.get(w.tenantId)?.push(w);
  return by;
}

/** Every tenant's month to date summed, and how many have a workspace at its limit. */
export async function fleetSpend(d: Resolved): Promise<{ monthToDateUsd: number; tenantsOverBudget: number } | null> {
  if (d.store === undefined || d.spend === undefined) return null;
  const spend = d.spend();
  const now = d.clock.nowMs();
  let mtd = 0, over = 0;
  let after: string | undefined;
  for (;;) {
    const page = await d.store.listTenants({ limit: FLEET_PAGE, afterId: after });
    if (page.length === 0) break;
    const ws = await workspacesOf(d.store, page.map((t) => t.id));
    for (const t of page) {
      const s = tenantSpend(t, ws.get(t.id) ?? [], spend, d.tiers, now);
      mtd += s.monthToDateUsd;
      if (s.overBudget) over++;
    }
    if (page.length < FLEET_PAGE) break;
    after = page[page.length - 1].id;
  }
  return { monthToDateUsd: usd(mtd), tenantsOverBudget: over };
}

/** One tenant's, for its own key. */
export async function ownSpend(d: Resolved, tenantId: string): Promise<TenantSpend | null> {
  if (d.store === undefined || d.spend === undefined) return null;
  const t = await d.store.getTenant(tenantId);
  if (t === null) return null;
  return tenantSpend(t, await d.store.listWorkspaces(t.id), d.spend(), d.tiers, d.clock.nowMs());
}

/** to a billionth of a dollar: no float noise in the JSON */
export const usd = (v: number): number => Math.round(v * 1e9) / 1e9;
const ratio = (v: number | null): number | null => (v === null ? null : Math.round(v * 1e6) / 1e6);

function row(s: TenantSpend) {
  return {
    tenant_id: s.tenant.id, name: s.tenant.name, tier: s.tenant.tier, month_to_date_usd: usd(s.monthToDateUsd),
    budget_usd: s.budgetUsd === null ? null : usd(s.budgetUsd), burn_ratio: ratio(s.burnRatio), over_budget: s.overBudget,
    projected_month_usd: usd(s.projectedMonthUsd), workspaces: s.workspaces,
  };
}

const NOT_KEPT = notFound('this gateway keeps no spend for the dashboard (no store or month-to-date spend is wired to it)');

export function spendView(d: Resolved): AdminView {
  return {
    matches: (p) => p === PATH || p === PATH + '/',
    async handle(caller, method, _pathname, query) {
      if (method !== 'GET') return methodNotAllowed(method, ['GET']);
      const stray = strayParam(query, PARAMS);
      if (stray !== null) return badRequest(stray);
      const limit = limitParam(query, DEFAULT_LIMIT, MAX_LIMIT);
      if (!limit.ok) return badRequest(limit.message);
      const after = query.get('after_id');
      if (after === '' || (after !== null && after.length > MAX_ID)) {
        return badRequest(`after_id: ${after === '' ? 'empty' : 'not a tenant id'}; pass next_after_id from the previous page, or leave it out for the first`);
      }
      if (d.store === undefined || d.spend === undefined) return NOT_KEPT;
      const now = d.clock.nowMs();
      const spend = d.spend();
      if (!caller.admin) {
        // its own tenant, on the first page only: paging past it leaves nothing
        const own = after !== null && after >= caller.auth.tenantId ? null : await ownSpend(d, caller.auth.tenantId);
        return ok(200, { data: own === null ? [] : [row(own)], has_more: false, next_after_id: null });
      }
      const tenants = await d.store.listTenants({ limit: limit.value + 1, afterId: after ?? undefined });
      const more = tenants.length > limit.value;
      const page = more ? tenants.slice(0, limit.value) : tenants;
      const ws = await workspacesOf(d.store, page.map((t) => t.id));
      const data = page.map((t) => row(tenantSpend(t, ws.get(t.id) ?? [], spend, d.tiers, now)));
      return ok(200, { data, has_more: more, next_after_id: more ? page[page.length - 1].id : null });
    },
  };
}
