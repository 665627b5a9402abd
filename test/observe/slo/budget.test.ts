import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { SloConfig } from '../../../src/config/index.js';
import { availability, DAY, FAILED, HOUR, MINUTE, OK, record, rig, SECOND, T0 } from './rig.js';

// What an SLO counts and what its budget and burn rates come to: the events it holds (client
// errors never; a TTFT objective only streamed requests), its error budget over the window, and
// the series Prometheus reads.

const ttft = (o: Partial<SloConfig> = {}): SloConfig => ({ kind: 'latency', name: 'chat-ttft', model: '*', tier: '*', objective: 0.99, windowDays: 30, signal: 'ttft', thresholdMs: 500, ...o } as SloConfig);
const latency = (o: Partial<SloConfig> = {}): SloConfig => ({ kind: 'latency', name: 'chat-latency', model: '*', tier: '*', objective: 0.99, windowDays: 30, signal: 'latency', thresholdMs: 1_000, ...o } as SloConfig);

describe('the error budget', () => {
  it('is untouched, and nothing burns, before any request (never NaN)', () => {
    const [s] = rig([availability()]).tracker.status();
    expect(s).toMatchObject({ good: 0, valid: 0, badRatio: 0, errorBudgetRemaining: 1 });
    expect(Object.values(s.burnRates)).toEqual([0, 0, 0, 0, 0]);
  });

  it('is half spent by 0.05 % errors against 99.9 %, and overspent (negative) by 0.3 %', () => {
    const r = rig([availability()]);
    r.run(100 * SECOND, 100, (i) => i % 2_000 === 0);
    let [s] = r.tracker.status();
    expect(s).toMatchObject({ valid: 10_000, good: 9_995 });
    expect(s.badRatio).toBeCloseTo(0.0005, 10);
    expect(s.errorBudgetRemaining).toBeCloseTo(0.5, 10);
    expect(s.burnRates['3d']).toBeCloseTo(0.5, 10);
    r.run(100 * SECOND, 100, (i) => i % 100 === 0);
    [s] = r.tracker.status();
    // 5 + 100 bad of 20 000: 0.525 % of a 0.1 % budget
    expect(s.errorBudgetRemaining).toBeCloseTo(1 - 0.00525 / 0.001, 10);
    expect(s.errorBudgetRemaining).toBeLessThan(0);
  });

  it('forgets what is older than its window, and each burn window what is older than itself', () => {
    const r = rig([availability({ windowDays: 7 })]);
    r.tracker.settled(FAILED, 'default');
    r.time.advance(10 * MINUTE);
    let [s] = r.tracker.status();
    expect(s.burnRates['5m']).toBe(0);
    expect(s.burnRates['30m']).toBeCloseTo(1_000, 6);
    r.time.advance(6 * HOUR);
    [s] = r.tracker.status();
    expect(s.burnRates['6h']).toBe(0);
    expect(s.burnRates['3d']).toBeCloseTo(1_000, 6);
    r.time.advance(3 * DAY);
    [s] = r.tracker.status();
    expect(s.burnRates['3d']).toBe(0);
    expect(s.valid).toBe(1);
    r.time.advance(4 * DAY);
    [s] = r.tracker.status();
    expect(s).toMatchObject({ valid: 0, errorBudgetRemaining: 1 });
  });

  it('stays finite for an objective of many nines (the budget is tiny, never zero)', () => {
    const r = rig([availability({ objective: 0.99999999999999 })]);
    r.tracker.settled(OK, 'default');
    r.tracker.settled(FAILED, 'default');
    const [s] = r.tracker.status();
    expect(Number.isFinite(s.errorBudgetRemaining)).toBe(true);
    expect(s.errorBudgetRemaining).toBeLessThan(-1e12);
    for (const b of Object.values(s.burnRates)) expect(b).toBeGreaterThan(1e12);
    for (const b of Object.values(s.burnRates)) expect(Number.isFinite(b)).toBe(true);
  });

  it('keeps a window shorter than three days (the 3d burn still reads three days)', () => {
    const r = rig([availability({ windowDays: 1 })]);
    r.tracker.settled(FAILED, 'default');
    r.time.advance(DAY + 10 * MINUTE);
    r.tracker.settled(OK, 'default');
    const [s] = r.tracker.status();
    expect(s).toMatchObject({ valid: 1, good: 1, errorBudgetRemaining: 1 });
    expect(s.burnRates['3d']).toBeCloseTo(500, 6);
  });
});

describe('which requests are events', () => {
  it('never counts a client error (400–499, 429 and 499 included) for any kind of SLO', () => {
    const r = rig([availability(), ttft(), latency()]);
    for (const status of [400, 401, 404, 413, 429, 499]) r.tracker.settled(record(status), 'default');
    expect(r.tracker.status().map((s) => s.valid)).toEqual([0, 0, 0]);
  });

  it('availability: every status from 500 is bad, below 400 good', () => {
    const r = rig([availability()]);
    for (const status of [200, 201, 500, 502, 503, 529]) r.tracker.settled(record(status), 'default');
    expect(r.tracker.status()[0]).toMatchObject({ valid: 6, good: 2 });
  });

  it('ttft: a streamed success is good within the threshold (inclusive), a failure is bad, a non-streamed success is no event', () => {
    const r = rig([ttft()]);
    r.tracker.settled(record(200, { ttftMs: 500 }), 'default');
    r.tracker.settled(record(200, { ttftMs: 500.001 }), 'default');
    r.tracker.settled(record(200, { stream: false, ttftMs: null }), 'default');
    r.tracker.settled(record(200, { stream: true, ttftMs: null }), 'default');
    r.tracker.settled(record(500, { stream: false, ttftMs: null }), 'default');
    expect(r.tracker.status()[0]).toMatchObject({ valid: 3, good: 1 });
  });

  it('latency: the whole request against the threshold, streamed or not', () => {
    const r = rig([latency()]);
    r.tracker.settled(record(200, { stream: false, latencyMs: 1_000 }), 'default');
    r.tracker.settled(record(200, { stream: true, latencyMs: 1_200 }), 'default');
    r.tracker.settled(record(503, { latencyMs: 10 }), 'default');
    expect(r.tracker.status()[0]).toMatchObject({ valid: 3, good: 1 });
  });

  it('holds an SLO to its model and tier, `*` to all of them', () => {
    const r = rig([availability({ name: 'gold-m', model: 'm', tier: 'gold' }), availability({ name: 'gold-any', tier: 'gold' }), availability({ name: 'any-m', model: 'm' }), availability({ name: 'all' })]);
    r.tracker.settled(record(200, { model: 'm' }), 'gold');
    r.tracker.settled(record(200, { model: 'x' }), 'gold');
    r.tracker.settled(record(200, { model: 'm' }), 'free');
    r.tracker.settled(record(200, { model: '*' }), 'free');
    expect(Object.fromEntries(r.tracker.status().map((s) => [s.name, s.valid]))).toEqual({ 'gold-m': 1, 'gold-any': 2, 'any-m': 2, all: 4 });
  });
});

describe('the SLO series on /metrics', () => {
  it('counts precisely the events the tracker counts, and shows objective, budget, burn and alert state', async () => {
    const registry = new Registry();
    const r = rig([availability(), ttft()], { registry });
    for (const rec of [OK, FAILED, record(429), record(200, { stream: false }), record(200, { ttftMs: 900 })]) r.tracker.settled(rec, 'default');
    const text = await registry.metrics();
    expect(text).toContain('switchyard_slo_events_total{slo="chat-availability",result="good"} 3');
    expect(text).toContain('switchyard_slo_events_total{slo="chat-availability",result="bad"} 1');
    expect(text).toContain('switchyard_slo_events_total{slo="chat-ttft",result="good"} 1');
    expect(text).toContain('switchyard_slo_events_total{slo="chat-ttft",result="bad"} 2');
    expect(text).toContain('switchyard_slo_objective_ratio{slo="chat-availability"} 0.999');
    expect(text).toMatch(/switchyard_slo_error_budget_remaining_ratio\{slo="chat-availability"\} -249(\.\d+)?\n/);
    for (const w of ['5m', '30m', '1h', '6h', '3d']) expect(text).toMatch(new RegExp(`switchyard_slo_burn_rate\\{slo="chat-ttft",window="${w}"\\} 66\\.66`));
    // evaluated as of the scrape: a quarter of the events bad is a page on every rule at once
    for (const [severity, rule] of [['page', '1h-5m'], ['page', '6h-30m'], ['ticket', '3d-6h']]) {
      expect(text).toContain(`switchyard_slo_alert_firing{slo="chat-availability",severity="${severity}",rule="${rule}"} 1`);
    }
    const names = [...text.matchAll(/^# TYPE (switchyard_slo_\S+) (\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(names.sort()).toEqual([
      'switchyard_slo_alert_firing gauge', 'switchyard_slo_burn_rate gauge', 'switchyard_slo_error_budget_remaining_ratio gauge',
      'switchyard_slo_events_total counter', 'switchyard_slo_objective_ratio gauge',
    ]);
  });

  it('leaves the tracker timer-free once closed', () => {
    const r = rig([availability()]);
    expect(r.time.armed).toBe(1);
    r.tracker.close();
    expect(r.time.armed).toBe(0);
  });
});

describe('the alerts', () => {
  it('log a firing and a resolution once each, with the burn of both windows', () => {
    const r = rig([availability()], { evaluateEveryMs: 1_000 });
    r.run(10 * SECOND, 10, () => true);
    r.run(6 * MINUTE, 10, () => false);
    const page = r.lines.filter((l) => l.fields.rule === '1h-5m');
    expect(page.map((l) => [l.level, l.msg])).toEqual([['warn', 'SLO burn-rate alert firing'], ['info', 'SLO burn-rate alert resolved']]);
    expect(page[0].at).toBe(T0 + 1_000);
    expect(Object.keys(page[0].fields.burn as object).sort()).toEqual(['1h', '5m']);
  });
});
