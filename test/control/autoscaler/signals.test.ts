import { describe, expect, it } from 'vitest';
import { SignalWindow } from '../../../src/control/autoscaler/signals.js';
import type { CallOutcome, ReplicaReport } from '../../../src/control/autoscaler/types.js';

// A pool's signals: counts since the last tick, and latency percentiles over a time window of the
// calls that ran on warm replicas.

const ready = (id: string, sinceMs: number): ReplicaReport => ({ id, phase: 'ready', sinceMs, reportedAtMs: sinceMs, waiting: 0, running: 0, kvUsage: 0, inflight: 0 });
const ok = (ttftMs: number | null, itlMs: number | null = 10, outputTokens = 20): CallOutcome => ({ sentAtMs: 0, atMs: 0, failed: false, ttftMs, itlMs, outputTokens });
const failed: CallOutcome = { sentAtMs: 0, atMs: 0, failed: true, ttftMs: null, itlMs: null, outputTokens: 0 };

const window = (o: Partial<{ latencyWindowMs: number; warmupMs: number; capacity: number }> = {}) => new SignalWindow('r/m', 0, { latencyWindowMs: 60_000, warmupMs: 10_000, ...o });

describe('counts', () => {
  it('cover the interval since the previous snapshot, then start again', () => {
    const w = window();
    w.arrived(100);
    w.arrived(50);
    w.shed();
    w.ended('x', ok(100, 10, 7), 500);
    w.ended('x', failed, 600);
    const a = w.snapshot(1_000, [], 3);
    expect(a).toMatchObject({ pool: 'r/m', nowMs: 1_000, intervalMs: 1_000, arrivals: 2, promptTokens: 150, shed: 1, calls: 2, outputTokens: 7, queued: 3 });
    w.arrived(10);
    const b = w.snapshot(2_500, [], 0);
    expect(b).toMatchObject({ intervalMs: 1_500, arrivals: 1, promptTokens: 10, shed: 0, calls: 0, outputTokens: 0, queued: 0 });
  });

  it('hand the replicas read at the tick to the policy unchanged', () => {
    const w = window();
    const replicas = [ready('a', 0)];
    expect(w.snapshot(1_000, replicas, 0).replicas).toBe(replicas);
  });
});

describe('latency samples', () => {
  it('are the p99 of successful calls on warm replicas over the window', () => {
    const w = window();
    w.snapshot(1_000, [ready('a', 0)], 0);
    // 100 calls past a's warm-up: ttft 1..100 ms
    for (let i = 1; i <= 100; i++) w.ended('a', ok(i, i / 10), 10_000 + i);
    const s = w.snapshot(20_000, [ready('a', 0)], 0);
    expect(s.latencySamples).toBe(100);
    expect(s.ttftP99Ms).toBe(99);
    expect(s.itlP99Ms).toBeCloseTo(9.9);
  });

  it('leave out calls sent before the pool last grew, and forget samples that ended before it', () => {
    const w = window({ warmupMs: 0 });
    w.snapshot(1_000, [ready('a', 0)], 0);
    w.ended('a', ok(9_000), 5_000); // the small pool, slow
    w.snapshot(6_000, [ready('a', 0), ready('b', 5_500)], 0);
    // ran 2 s from 4.5 s (before b was ready): it waited on the small pool
    w.ended('a', { ...ok(8_000), sentAtMs: 104_500, atMs: 106_500 }, 6_500);
    // sent at 6 s, after b was ready
    w.ended('a', { ...ok(100), sentAtMs: 106_000, atMs: 106_900 }, 6_900);
    const s = w.snapshot(7_000, [ready('a', 0), ready('b', 5_500)], 0);
    expect(s.calls).toBe(2);
    expect(s.latencySamples).toBe(1);
    expect(s.ttftP99Ms).toBe(100);
  });

  it('leave out calls on a replica in its warm-up, or never seen ready, and failed calls', () => {
    const w = window({ warmupMs: 10_000 });
    w.snapshot(1_000, [ready('warm', -20_000), ready('cold', 0), { ...ready('new', 0), phase: 'starting' }], 0);
    w.ended('cold', ok(5_000), 9_999);
    w.ended('new', ok(6_000), 9_999);
    w.ended('unknown', ok(7_000), 9_999);
    w.ended('warm', failed, 9_999);
    w.ended('warm', ok(200), 9_999);
    w.ended('cold', ok(300), 10_000);
    const s = w.snapshot(11_000, [ready('warm', -20_000), ready('cold', 0)], 0);
    expect(s.calls).toBe(6);
    expect(s.latencySamples).toBe(2);
    expect(s.ttftP99Ms).toBe(300);
  });

  it('keep a draining replica warm, and forget a replica once it is gone', () => {
    const w = window({ warmupMs: 0 });
    w.snapshot(1_000, [ready('a', 0)], 0);
    w.snapshot(2_000, [{ ...ready('a', 0), phase: 'draining', sinceMs: 1_500 }], 0);
    expect(w.warm('a', 2_000)).toBe(true);
    w.snapshot(3_000, [], 0);
    expect(w.warm('a', 3_000)).toBe(false);
  });

  it('fall out of the window as it moves on', () => {
    const w = window({ latencyWindowMs: 5_000, warmupMs: 0 });
    w.snapshot(0, [ready('a', 0)], 0);
    w.ended('a', ok(900), 1_000);
    w.ended('a', ok(100), 4_000);
    expect(w.snapshot(5_000, [ready('a', 0)], 0).ttftP99Ms).toBe(900);
    const later = w.snapshot(8_000, [ready('a', 0)], 0);
    expect(later.ttftP99Ms).toBe(100);
    expect(later.latencySamples).toBe(1);
    const empty = w.snapshot(20_000, [ready('a', 0)], 0);
    expect(empty).toMatchObject({ ttftP99Ms: null, itlP99Ms: null, latencySamples: 0 });
  });

  it('count ttft and itl apart when a call has only one (a non-streamed call has no itl)', () => {
    const w = window({ warmupMs: 0 });
    w.snapshot(0, [ready('a', 0)], 0);
    w.ended('a', ok(400, null), 100);
    w.ended('a', ok(null, 30), 200);
    w.ended('a', ok(null, null), 300);
    const s = w.snapshot(1_000, [ready('a', 0)], 0);
    expect(s).toMatchObject({ ttftP99Ms: 400, itlP99Ms: 30, latencySamples: 2 });
  });

  it('keep the newest calls when more end than the ring holds', () => {
    const w = window({ warmupMs: 0, capacity: 4 });
    w.snapshot(0, [ready('a', 0)], 0);
    for (const [i, t] of [1_000, 1, 2, 3, 4].entries()) w.ended('a', ok(t), 100 + i);
    const s = w.snapshot(1_000, [ready('a', 0)], 0);
    expect(s.latencySamples).toBe(4);
    expect(s.ttftP99Ms).toBe(4);
  });
});

describe('options', () => {
  it('refuse a window that is not a positive number of ms', () => {
    expect(() => window({ latencyWindowMs: 0 })).toThrow(/latencyWindowMs must be a positive number of ms, got 0/);
    expect(() => window({ warmupMs: -1 })).toThrow(/warmupMs must be a number of ms ≥ 0, got -1/);
  });
});
