import { describe, expect, it } from 'vitest';
import { sloView } from '../../src/api/admin/slo.js';
import type { Caller } from '../../src/api/admin/api.js';
import type { SloConfig } from '../../src/config/index.js';
import { availability, FAILED, OK, record, rig, SECOND, T0 } from '../observe/slo/rig.js';

// GET /admin/v1/slo as the admin API serves it: every SLO with its counts for the admin token; for
// a tenant's key, only the SLOs its tier is held to, as ratios.

const ADMIN: Caller = { admin: true };
const tenant = (tier: string): Caller => ({
  admin: false, auth: { keyId: 'key_1', tenantId: 'ten_1', workspaceId: 'wrk_1', tier, allowedRegions: null, priority: null, spendLimitUsd: null },
});
const q = (s = ''): URLSearchParams => new URLSearchParams(s);
const PATH = '/admin/v1/slo';

function view() {
  const slos: SloConfig[] = [
    availability({ name: 'all-availability' }),
    availability({ name: 'gold-availability', tier: 'gold', objective: 0.9995 }),
    { kind: 'latency', name: 'free-ttft', model: 'm', tier: 'free', objective: 0.95, windowDays: 7, signal: 'ttft', thresholdMs: 2_000 },
  ];
  const r = rig(slos);
  for (const tier of ['gold', 'free']) {
    r.tracker.settled(OK, tier);
    r.tracker.settled(record(200, { ttftMs: 2_500 }), tier);
    r.tracker.settled(FAILED, tier);
  }
  r.time.advance(30 * SECOND);
  return { r, v: sloView(r.tracker) };
}

const body = async (p: ReturnType<ReturnType<typeof sloView>['handle']>) => {
  const res = await p;
  return { status: res.status, json: JSON.parse(res.body) as { data: Array<Record<string, unknown>>; evaluated_at: string | null }, headers: res.headers };
};

describe('GET /admin/v1/slo', () => {
  it('serves its path (with or without a trailing slash) and nothing else', () => {
    const { v } = view();
    expect([PATH, PATH + '/', '/admin/v1/slos', '/admin/v1/slo/x'].map((p) => v.matches(p))).toEqual([true, true, false, false]);
  });

  it('shows the admin token every SLO with its counts, budget, burn per window and alerts', async () => {
    const { v } = view();
    const { status, json } = await body(v.handle(ADMIN, 'GET', PATH, q()));
    expect(status).toBe(200);
    expect(json.evaluated_at).toBe(new Date(T0 + 30 * SECOND).toISOString());
    expect(json.data.map((s) => s.name)).toEqual(['all-availability', 'gold-availability', 'free-ttft']);
    const [all, , ttft] = json.data;
    expect(all).toMatchObject({ kind: 'availability', model: '*', tier: '*', objective: 0.999, window_days: 30, good: 4, valid: 6 });
    expect(all).not.toHaveProperty('signal');
    expect(all.bad_ratio).toBeCloseTo(1 / 3, 10);
    expect(all.error_budget_remaining).toBeCloseTo(1 - 1 / 3 / 0.001, 6);
    expect(Object.keys(all.burn_rates as object)).toEqual(['5m', '30m', '1h', '6h', '3d']);
    expect(all.alerts).toEqual([
      { severity: 'page', rule: '1h-5m', factor: 14.4, firing: true, since: new Date(T0 + 10 * SECOND).toISOString() },
      { severity: 'page', rule: '6h-30m', factor: 6, firing: true, since: new Date(T0 + 10 * SECOND).toISOString() },
      { severity: 'ticket', rule: '3d-6h', factor: 1, firing: true, since: new Date(T0 + 10 * SECOND).toISOString() },
    ]);
    expect(ttft).toMatchObject({ kind: 'latency', signal: 'ttft', threshold_ms: 2_000, model: 'm', tier: 'free', window_days: 7, good: 1, valid: 3 });
  });

  it('shows a tenant key only the SLOs of its own tier and those for every tier, with ratios and no counts', async () => {
    const { v } = view();
    const { status, json } = await body(v.handle(tenant('gold'), 'GET', PATH, q()));
    expect(status).toBe(200);
    expect(json.data.map((s) => s.name)).toEqual(['all-availability', 'gold-availability']);
    for (const s of json.data) {
      expect(s).not.toHaveProperty('good');
      expect(s).not.toHaveProperty('valid');
      expect(s).toHaveProperty('bad_ratio');
      expect(s).toHaveProperty('error_budget_remaining');
    }
    const other = await body(v.handle(tenant('default'), 'GET', PATH, q()));
    expect(other.json.data.map((s) => s.name)).toEqual(['all-availability']);
  });

  it('answers other methods with 405 and `allow: GET`, and an unknown parameter with 400', async () => {
    const { v } = view();
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await body(v.handle(ADMIN, method, PATH, q()));
      expect(res.status).toBe(405);
      expect(res.headers).toEqual({ allow: 'GET' });
      expect(res.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    }
    const res = await body(v.handle(ADMIN, 'GET', PATH, q('window=1h')));
    expect(res.status).toBe(400);
    expect((res.json as unknown as { error: { message: string } }).error.message).toBe('window: not a parameter of this route; it takes none');
  });

  it('answers an empty list when no SLO is configured', async () => {
    const { status, json } = await body(sloView(null).handle(ADMIN, 'GET', PATH, q()));
    expect(status).toBe(200);
    expect(json).toEqual({ data: [], evaluated_at: null });
  });
});
