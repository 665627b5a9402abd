import type { FleetRegistry } from '../../fleet/index.js';
import type { RollupStore, Store } from '../../ledger/index.js';
import type { SloStatus } from '../../observe/slo/index.js';
import type { TrafficWindow } from '../../observe/traffic.js';
import { wallClock, type Clock } from '../../time/index.js';
import type { AdminView } from './api.js';
import type { AutoscalerView } from './autoscaler.js';
import { dailyView } from './dashboard-daily.js';
import { overviewView } from './dashboard-overview.js';
import { spendView } from './dashboard-spend.js';
import { trafficView } from './dashboard-traffic.js';
import type { RolloutControl } from './rollouts.js';

// The dashboard's read routes (GET only), each answering the admin token with the fleet's picture
// and a tenant key with its own tenant's alone (never the fleet's, never another tenant's):
//
//   GET /admin/v1/overview                     the first view in one answer: fleet, traffic, SLOs, spend, rollouts, autoscaler
//   GET /admin/v1/traffic?model=&tenant=&window=15m   the live window in 10 s buckets
//   GET /admin/v1/spend?limit=50&after_id=      month-to-date spend, budget and burn per tenant, a page of tenants
//   GET /admin/v1/tenants/{id}/daily?days=30    a tenant's days, from the ledger's day roll-up
//
// Every figure comes from something kept already: the traffic window, the fleet registry, the
// month-to-date spend in memory, the day roll-up. No route reads the usage records themselves.

/** What the dashboard reads of the store: tenants, their workspaces (a page of tenants' in one query), and the day roll-up. */
export type DashboardStore = Pick<Store, 'listTenants' | 'getTenant' | 'listWorkspaces' | 'listWorkspacesOf'> & Partial<Pick<RollupStore, 'usageDays'>>;

/** Month-to-date USD per workspace (limits/ MonthlySpend). */
export interface SpendReader {
  spent(workspaceId: string, nowMs: number): number;
}

export interface DashboardDeps {
  readonly traffic: TrafficWindow;
  /** the wall's by default */
  readonly clock?: Clock;
  /** absent: the overview's fleet is null */
  readonly fleet?: Pick<FleetRegistry, 'all'>;
  /** absent: /spend and /tenants/{id}/daily answer 404 */
  readonly store?: DashboardStore;
  /** the configured tiers' monthly spend limits (an unknown tier name has `default`'s) */
  readonly tiers?: Readonly<Record<string, { readonly monthlySpendUsd: number | null }>>;
  /** a getter: the gateway makes its MonthlySpend after the admin API */
  readonly spend?: () => SpendReader;
  readonly rollouts?: Pick<RolloutControl, 'list'> | null;
  readonly autoscaler?: AutoscalerView | null;
  readonly slo?: { status(): readonly SloStatus[] } | null;
}

/** The deps as the routes hold them: the clock resolved. */
export type Resolved = DashboardDeps & { readonly clock: Clock };

/** The dashboard's own read routes. */
export function dashboardViews(deps: DashboardDeps): AdminView[] {
  const d = { ...deps, clock: deps.clock ?? wallClock };
  return [overviewView(d), trafficView(d), spendView(d), dailyView(d)];
}
