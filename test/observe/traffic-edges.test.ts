import { describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/ledger/index.js';
import { TrafficWindow } from '../../src/observe/traffic.js';
import { ManualTime } from '../../src/time/index.js';

// The traffic window where time and clients misbehave: idle gaps longer than the window, a clock
// that jumps back or ahead, samples no request should have, and a flood of made-up model names.

const START = Date.UTC(2026, 0, 5, 12, 0, 0);
const MIN = 60_000;

function rec(o: Partial<UsageRecord> = {}): UsageRecord {
  return {
    requestId: 'req', startedAt: START, tenantId: 'ten_a', workspaceId: 'wrk_a', keyId: 'key_a', tier: 'default', model: 'm1',
    replica: 'r', region: 'us-east', wire: 'anthropic', stream: true, status: 200, outcome: 'ok', inputTokens: 10, cachedInputTokens: 0,
    outputTokens: 5, ttftMs: 100, latencyMs: 400, costUsd: 0.001, ...o,
  };
}

const sum = (w: TrafficWindow) => w.points(null).reduce((s, p) => s + p.requests, 0);

describe('the traffic window under idle gaps and clock jumps', () => {
  it('shows nothing of before an idle gap longer than the window, whatever slot the gap lands on', () => {
    for (const gap of [15 * MIN, 15 * MIN + 10_000, 31 * MIN, 15 * MIN * 7 + 3_000]) {
      const t = new ManualTime(START);
      const w = new TrafficWindow(t);
      for (let i = 0; i < 90; i++) {
        w.settled(rec());
        t.advance(10_000);
      }
      t.advance(gap);
      expect(sum(w)).toBe(0);
      expect(w.totals(null)).toMatchObject({ requests: 0, latency: { p50: null, p95: null, p99: null } });
      w.settled(rec({ latencyMs: 50 }));
      expect(sum(w)).toBe(1);
      expect(w.totals(null).requests).toBe(1);
      expect(w.totals(null).latency.p50).toBeLessThan(60);
    }
  });

  it('after the clock jumps back, shows only what settled at the times it now reads, and recovers going forward', () => {
    // a wall clock stepped by NTP or an operator: ManualTime only goes forward
    let now = START;
    const t = { nowMs: () => now, monoMs: () => now, set: (ms: number) => void (now = ms), advance: (ms: number) => void (now += ms) };
    const w = new TrafficWindow(t, { windowMs: MIN, bucketMs: 10_000 });
    w.settled(rec());
    // back by a whole number of windows: the same slot, an older bucket
    t.set(START - 20 * MIN);
    expect(sum(w)).toBe(0);
    w.settled(rec());
    w.settled(rec());
    expect(sum(w)).toBe(2);
    expect(w.points(null).at(-1)!.at).toBe(START - 20 * MIN);
    // and ahead again: the older bucket's counts never show as the newer one's
    t.set(START);
    expect(sum(w)).toBe(0);
    w.settled(rec());
    expect(sum(w)).toBe(1);
    t.advance(30 * MIN);
    expect(sum(w)).toBe(0);
  });

  it('gives a newcomer a series after the clock steps back past a window, though every series was busy just before', () => {
    let now = START;
    const clock = { nowMs: () => now, monoMs: () => now };
    const w = new TrafficWindow(clock, { maxTenants: 2, windowMs: MIN, bucketMs: 10_000 });
    w.settled(rec({ tenantId: 'a' }));
    w.settled(rec({ tenantId: 'b' }));
    w.settled(rec({ tenantId: 'c' }));
    expect(w.totals({ tenant: 'c' }).requests).toBe(0);
    now = START - 60 * MIN;
    w.settled(rec({ tenantId: 'c' }));
    expect(w.totals({ tenant: 'c' }).requests).toBe(1);
  });

  it('reads every quantile as a number or null, never NaN, even for samples no request should have', () => {
    const t = new ManualTime(START);
    const w = new TrafficWindow(t);
    // only client errors: counted, but no latency to read
    w.settled(rec({ status: 404, outcome: 'client_error' }));
    expect(w.totals(null).latency).toEqual({ p50: null, p95: null, p99: null });
    for (const latencyMs of [Number.NaN, -5, 0, 0.2, Number.POSITIVE_INFINITY, 1e12]) w.settled(rec({ latencyMs, ttftMs: latencyMs }));
    const all = [w.totals(null), ...w.points(null)];
    for (const c of all) {
      for (const q of [c.latency, c.ttft]) {
        for (const v of [q.p50, q.p95, q.p99]) if (v !== null) expect(Number.isFinite(v)).toBe(true);
      }
    }
    expect(JSON.stringify(all)).not.toMatch(/NaN|Infinity/);
    expect(w.totals(null).latency.p50).not.toBeNull();
  });
});

describe('the traffic window’s per-model series', () => {
  it('are not taken over by made-up model names: a client error never gives a model a series', () => {
    const t = new ManualTime(START);
    const w = new TrafficWindow(t, { maxModels: 2 });
    w.settled(rec({ model: 'served-a' }));
    w.settled(rec({ model: 'served-b', status: 503, outcome: 'upstream_error' }));
    for (let i = 0; i < 1_000; i++) w.settled(rec({ model: `made-up-${i}`, status: 404, outcome: 'client_error' }));
    expect(w.models().sort()).toEqual(['served-a', 'served-b']);
    expect(w.totals({ model: 'served-a' }).requests).toBe(1);
    // a served model's own client errors still count in its series
    w.settled(rec({ model: 'served-a', status: 429, outcome: 'rate_limited' }));
    expect(w.totals({ model: 'served-a' })).toMatchObject({ requests: 2, errors4xx: 1 });
    expect(w.totals(null).requests).toBe(1_003);
  });
});
