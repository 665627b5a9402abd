import { describe, expect, it } from 'vitest';
import type { Caller } from '../../src/api/admin/caller.js';
import { dashboardViews, type DashboardDeps } from '../../src/api/admin/dashboard.js';
import { FleetRegistry } from '../../src/fleet/index.js';
import type { UsageRecord } from '../../src/ledger/index.js';
import type { SloStatus } from '../../src/observe/slo/index.js';
import { TrafficWindow } from '../../src/observe/traffic.js';
import { ManualTime } from '../../src/time/index.js';

// The overview's parts that a single scripted replica cannot show: a fleet in several states and
// regions, SLOs of several tiers, active rollouts and autoscaled pools, on a manual clock.

const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);
const ADMIN: Caller = { admin: true };
const tenant = (tier: string): Caller => ({
  admin: false,
  auth: { keyId: 'key_1', tenantId: 'ten_1', workspaceId: 'wrk_1', tier, allowedRegions: null, priority: null, spendLimitUsd: null },
});

function slo(name: string, tier: string, burn1h: number, firing: boolean): SloStatus {
  return {
    name, kind: 'availability', model: '*', tier, objective: 0.999, windowDays: 30, signal: null, thresholdMs: null, good: 99, valid: 100,
    badRatio: 0.01, errorBudgetRemaining: 0.5, burnRates: { '5m': burn1h, '30m': burn1h, '1h': burn1h, '6h': 1, '3d': 1 },
    alerts: [{ severity: 'page', rule: '1h-5m', factor: 14.4, firing, since: firing ? NOW : null }, { severity: 'ticket', rule: '3d-6h', factor: 1, firing: false, since: null }],
    evaluatedAt: NOW,
  };
}

function rig(extra: Partial<DashboardDeps> = {}) {
  const time = new ManualTime(NOW);
  const fleet = new FleetRegistry();
  const add = (id: string, model: string, region: string) => fleet.add({ id, model, servedModel: model, region, url: `http://${id}` });
  const a = add('a', 'small', 'us-east');
  const b = add('b', 'small', 'us-east');
  const c = add('c', 'big', 'us-east');
  const d = add('d', 'small', 'eu-west');
  fleet.markFailed(b, NOW);
  fleet.eject(c, NOW + 30_000);
  fleet.setDraining(d, true);
  a.inflight = 3;
  b.inflight = 1;
  a.scraped = { waiting: 0, running: 3, kvUsage: 0.5, atS: 0, inflightAtScrape: 3 };
  b.scraped = { waiting: 0, running: 1, kvUsage: 0.25, atS: 0, inflightAtScrape: 1 };
  const traffic = new TrafficWindow(time);
  const views = dashboardViews({ traffic, fleet, clock: time, ...extra });
  const overview = views.find((v) => v.matches('/admin/v1/overview'))!;
  return {
    time, traffic,
    async read(caller: Caller): Promise<any> {
      const r = await overview.handle(caller, 'GET', '/admin/v1/overview', new URLSearchParams());
      expect(r.status).toBe(200);
      return JSON.parse(r.body);
    },
  };
}

describe('the overview', () => {
  it('groups the fleet by region and pool, counting each state and averaging KV use over scraped replicas', async () => {
    const o = await rig().read(ADMIN);
    expect(o.fleet.regions).toEqual([
      { name: 'eu-west', pools: [{ model: 'small', replicas: 1, routable: 0, unhealthy: 0, ejected: 0, draining: 1, inflight: 0, kv_usage: null }] },
      {
        name: 'us-east', pools: [
          { model: 'big', replicas: 1, routable: 0, unhealthy: 0, ejected: 1, draining: 0, inflight: 0, kv_usage: null },
          { model: 'small', replicas: 2, routable: 1, unhealthy: 1, ejected: 0, draining: 0, inflight: 4, kv_usage: 0.375 },
        ],
      },
    ]);
  });

  it('counts SLOs, those burning over the last hour, and alerts firing; a tenant key only its tier’s', async () => {
    const all = [slo('fleet', '*', 20, true), slo('free-avail', 'free', 0.5, false), slo('pro-avail', 'pro', 3, true)];
    const r = rig({ slo: { status: () => all } });
    expect((await r.read(ADMIN)).slo).toEqual({ total: 3, burning: 2, alerts_firing: 2 });
    expect((await r.read(tenant('free'))).slo).toEqual({ total: 2, burning: 1, alerts_firing: 1 });
    expect((await r.read(tenant('pro'))).slo).toEqual({ total: 2, burning: 2, alerts_firing: 2 });
  });

  it('lists the active rollouts and the autoscaled pools for the admin token only', async () => {
    const asked: unknown[] = [];
    const state = {
      id: 'ro_1', model: 'small', stable: 'v1', candidate: 'v2', phase: 'running', weights: { v1: 0.9, v2: 0.1 }, step: 1, wave: 0,
      waves: [['us-east']], spec: { steps: [{}, {}, {}] }, updatedAtMs: NOW,
    };
    const r = rig({
      rollouts: { list: async (q) => { asked.push(q); return [{ revision: 3, state } as never]; } },
      autoscaler: {
        status: () => ({
          enabled: true, leading: true,
          pools: [{ spec: { name: 'us-east/small', model: 'small', region: 'us-east', min: 1, max: 4 } as never, replicas: { starting: 1, ready: 2, draining: 0 }, latest: { to: 3 } as never }],
        }),
        decisions: () => [],
      },
    });
    const o = await r.read(ADMIN);
    expect(asked).toEqual([{ active: true, limit: 20 }]);
    expect(o.rollouts).toEqual([{
      id: 'ro_1', model: 'small', stable: 'v1', candidate: 'v2', phase: 'running', weights: { v1: 0.9, v2: 0.1 },
      step: { index: 1, of: 3 }, wave: { index: 0, of: 1 }, updated_at: new Date(NOW).toISOString(),
    }]);
    expect(o.autoscaler).toEqual({
      enabled: true, leading: true,
      pools: [{ pool: 'us-east/small', model: 'small', region: 'us-east', min: 1, max: 4, ready: 2, starting: 1, draining: 0, desired: 3 }],
    });
    const t = await r.read(tenant('free'));
    expect([t.fleet, t.autoscaler, t.rollouts]).toEqual([null, null, []]);
    expect(asked).toHaveLength(1);
  });

  it('sums the last five minutes of traffic; older buckets drop out', async () => {
    const r = rig();
    const rec = { tenantId: 'ten_1', model: 'small', status: 200, latencyMs: 100, ttftMs: 40, outputTokens: 1 } as UsageRecord;
    for (let i = 0; i < 6; i++) r.traffic.settled(rec);
    r.traffic.settled({ ...rec, status: 503 } as UsageRecord);
    let o = await r.read(ADMIN);
    expect(o.traffic).toMatchObject({ window_s: 300, requests: 7, rps: Math.round((7 / 300) * 1000) / 1000, error_ratio: Math.round((1 / 7) * 1e6) / 1e6 });
    expect(o.traffic.p50_ms).toBeGreaterThan(84);
    expect(o.traffic.p50_ms).toBeLessThan(119);
    r.time.advance(5 * 60_000 + 10_000);
    o = await r.read(ADMIN);
    expect(o.traffic).toMatchObject({ requests: 0, rps: 0, error_ratio: 0, p50_ms: null, ttft_p95_ms: null });
  });

  it('says spend is not known when no store or spend is wired, rather than zero', async () => {
    expect((await rig().read(ADMIN)).spend).toBeNull();
  });
});
