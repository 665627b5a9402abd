import { describe, expect, it } from 'vitest';
import { SLO_LATENCY_BOUNDS_MS, type SloConfig } from '../../../src/config/index.js';
import type { RollupQuery, UsagePeriod } from '../../../src/ledger/index.js';
import type { SloHistory } from '../../../src/observe/slo/index.js';
import { availability, DAY, FAILED, MINUTE, OK, rig, SECOND, T0 } from './rig.js';

// After a restart the budgets are read back from the ledger's minute roll-up: the minutes before
// the tracker's start come from there, everything after from the requests it sees itself, so no
// request counts twice and none the roll-up holds is lost; a failed read starts from nothing.

const START = T0 + 10 * DAY + 30 * SECOND;
const START_MINUTE = T0 + 10 * DAY;
const bound = (ms: number): number => (SLO_LATENCY_BOUNDS_MS as readonly number[]).indexOf(ms);

function minute(at: number, o: Partial<UsagePeriod> = {}): UsagePeriod {
  const within = SLO_LATENCY_BOUNDS_MS.map(() => 0);
  return {
    at, tenantId: null, tier: 'default', model: 'm', requests: 0, clientErrors: 0, serverErrors: 0, streamed: 0, ttftWithin: within,
    succeeded: 0, latencyWithin: [...within], inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: 0, ...o,
  };
}

/** a minute of 600 requests: 20 client errors, 6 server errors, 574 successes of which 500 streamed */
function busy(at: number, o: Partial<UsagePeriod> = {}): UsagePeriod {
  const ttft = SLO_LATENCY_BOUNDS_MS.map((b) => (b >= 500 ? 490 : 300));
  const latency = SLO_LATENCY_BOUNDS_MS.map((b) => (b >= 1_000 ? 570 : 100));
  return minute(at, { requests: 600, clientErrors: 20, serverErrors: 6, succeeded: 574, streamed: 500, ttftWithin: ttft, latencyWithin: latency, ...o });
}

class FakeRollup implements SloHistory {
  readonly asked: Array<Omit<RollupQuery, 'tenantId'>> = [];
  #release: (() => void) | null = null;
  constructor(readonly rows: UsagePeriod[], readonly o: { fail?: boolean; held?: boolean } = {}) {}
  async usageMinutes(q: Omit<RollupQuery, 'tenantId'>): Promise<UsagePeriod[]> {
    this.asked.push(q);
    if (this.o.held) await new Promise<void>((r) => (this.#release = r));
    if (this.o.fail) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return this.rows;
  }
  release(): void {
    this.#release?.();
  }
}

const ttft = (o: Partial<SloConfig> = {}): SloConfig => ({ kind: 'latency', name: 'ttft', model: '*', tier: '*', objective: 0.99, windowDays: 30, signal: 'ttft', thresholdMs: 500, ...o } as SloConfig);
const latency = (o: Partial<SloConfig> = {}): SloConfig => ({ kind: 'latency', name: 'latency', model: '*', tier: '*', objective: 0.99, windowDays: 30, signal: 'latency', thresholdMs: 1_000, ...o } as SloConfig);

describe('the SLOs\' history after a restart', () => {
  it('asks for the longest window up to the minute the tracker started in', async () => {
    const history = new FakeRollup([]);
    const r = rig([availability({ windowDays: 7 }), availability({ name: 'b', windowDays: 28 })], { history }, START);
    await r.tracker.ready;
    expect(history.asked).toEqual([{ since: START_MINUTE - 28 * DAY, before: START_MINUTE }]);
  });

  it('counts each minute as the live requests would be counted, for each kind of SLO', async () => {
    const rows = [busy(START_MINUTE - 2 * DAY), busy(START_MINUTE - MINUTE)];
    const r = rig([availability(), ttft(), latency()], { history: new FakeRollup(rows) }, START);
    await r.tracker.ready;
    const [a, t, l] = r.tracker.status();
    expect(a).toMatchObject({ valid: 2 * 580, good: 2 * 574 });
    expect(t).toMatchObject({ valid: 2 * (500 + 6), good: 2 * 490 });
    expect(l).toMatchObject({ valid: 2 * 580, good: 2 * 570 });
    expect(bound(500)).toBe(1);
    // the minute before the start is in the short windows too
    expect(a.burnRates['5m']).toBeCloseTo(6 / 580 / 0.001, 6);
    // two days back is only in the 3-day and the budget window
    expect(a.burnRates['6h']).toBeCloseTo(a.burnRates['5m'], 6);
  });

  it('holds each SLO to its tier and model in the roll-up too (records older than the tier field count for `*` only)', async () => {
    const rows = [busy(START_MINUTE - 5 * MINUTE, { tier: 'gold' }), busy(START_MINUTE - 5 * MINUTE, { tier: '', model: 'x' })];
    const r = rig([availability({ name: 'gold', tier: 'gold' }), availability({ name: 'x', model: 'x' }), availability({ name: 'all' })], { history: new FakeRollup(rows) }, START);
    await r.tracker.ready;
    expect(r.tracker.status().map((s) => [s.name, s.valid])).toEqual([['gold', 580], ['x', 580], ['all', 1_160]]);
  });

  it('never reads back what the tracker counts itself: requests settled during the read are counted once', async () => {
    // a roll-up that also answers the start's own minute (a store ignoring `before`) is not believed for it
    const history = new FakeRollup([busy(START_MINUTE - MINUTE), busy(START_MINUTE)], { held: true });
    const r = rig([availability()], { history }, START);
    r.tracker.settled(OK, 'default');
    r.tracker.settled(FAILED, 'default');
    history.release();
    await r.tracker.ready;
    expect(r.tracker.status()[0]).toMatchObject({ valid: 580 + 2, good: 574 + 1 });
  });

  it('judges no alert until the history is in, so a restart does not page on its first errors', async () => {
    const history = new FakeRollup(Array.from({ length: 60 }, (_, i) => busy(START_MINUTE - (i + 1) * MINUTE, { serverErrors: 0, succeeded: 580 })), { held: true });
    const r = rig([availability()], { history, evaluateEveryMs: SECOND }, START);
    r.tracker.settled(FAILED, 'default');
    r.time.advance(5 * SECOND);
    expect(r.tracker.status()[0].burnRates['1h']).toBe(1_000);
    expect(r.tracker.status()[0].alerts.some((a) => a.firing)).toBe(false);
    history.release();
    await r.tracker.ready;
    // one error in an hour of 34 800 requests is no page
    const [s] = r.tracker.status();
    expect(s.burnRates['1h']).toBeLessThan(1);
    expect(s.alerts.some((a) => a.firing)).toBe(false);
    expect(r.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('starts from nothing, and says so, when the ledger cannot be read', async () => {
    const r = rig([availability()], { history: new FakeRollup([busy(START_MINUTE - MINUTE)], { fail: true }) }, START);
    await r.tracker.ready;
    expect(r.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual(['reading the SLOs\' history from the ledger failed; their budgets count from now']);
    r.tracker.settled(FAILED, 'default');
    r.time.advance(10 * SECOND);
    expect(r.tracker.status()[0]).toMatchObject({ valid: 1, good: 0 });
    expect(r.tracker.status()[0].alerts.find((a) => a.rule === '1h-5m')?.firing).toBe(true);
  });
});
