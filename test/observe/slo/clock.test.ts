import { describe, expect, it } from 'vitest';
import type { UsagePeriod } from '../../../src/ledger/index.js';
import type { SloHistory } from '../../../src/observe/slo/index.js';
import { BucketRing } from '../../../src/observe/slo/ring.js';
import type { Clock } from '../../../src/time/index.js';
import { ManualTime } from '../../../src/time/index.js';
import { availability, DAY, FAILED, first, HOUR, MINUTE, OK, rig, SECOND, T0 } from './rig.js';

// Time as the SLO windows see it: bucket edges to the millisecond, a clock that leaps ahead by
// more than a ring holds, a wall clock stepped back (NTP), and a ledger that never answers.

describe('a bucket ring', () => {
  const sums = (ring: BucketRing, at: number, lengths: number[]): number[] => {
    const out = new Float64Array(2 * lengths.length);
    ring.sums(at, lengths, out);
    return [...out];
  };

  it('keeps an event in a window of n buckets until the n-th bucket after its own begins', () => {
    const ring = new BucketRing(10_000, 4, 0);
    ring.add(9_999, 0, 1);
    expect(sums(ring, 9_999, [1, 4])).toEqual([0, 1, 0, 1]);
    expect(sums(ring, 10_000, [1, 4])).toEqual([0, 0, 0, 1]);
    expect(sums(ring, 39_999, [1, 4])).toEqual([0, 0, 0, 1]);
    expect(sums(ring, 40_000, [1, 4])).toEqual([0, 0, 0, 0]);
  });

  it('forgets everything after a leap of exactly its span, and keeps the oldest bucket after one less', () => {
    const a = new BucketRing(10_000, 4, 0);
    a.add(0, 1, 0);
    a.add(15_000, 0, 1);
    expect(sums(a, 45_000, [4])).toEqual([0, 1]);
    const b = new BucketRing(10_000, 4, 0);
    b.add(0, 0, 1);
    expect(sums(b, 39_999, [4])).toEqual([0, 1]);
    b.add(40_000, 1, 0);
    expect(sums(b, 40_000, [4])).toEqual([1, 0]);
    const c = new BucketRing(10_000, 4, 0);
    c.add(5_000, 3, 3);
    c.add(10_000_000, 0, 1);
    expect(sums(c, 10_000_000, [1, 4, 9])).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('drops an event older than it holds and files a late one under its own bucket', () => {
    const ring = new BucketRing(10_000, 4, 100_000);
    ring.add(60_000, 0, 1);
    ring.add(70_000, 1, 0);
    expect(sums(ring, 100_000, [1, 4])).toEqual([0, 0, 1, 0]);
  });
});

/** A wall clock that can be stepped (as NTP does) over a monotonic one that cannot. */
class SteppedWall implements Clock {
  offset = 0;
  constructor(readonly time: ManualTime) {}
  nowMs(): number {
    return this.time.nowMs() + this.offset;
  }
  monoMs(): number {
    return this.time.monoMs();
  }
}

describe('SLO windows when the clock moves oddly', () => {
  it('still pages within 52 s plus one step of an outage after the wall clock was stepped back an hour', () => {
    const r = rig([availability()]);
    const wall = new SteppedWall(r.time);
    const stepped = rig([availability()], { clock: wall, timers: r.time });
    const run = (ms: number, fails: boolean): void => {
      for (let t = 0; t < ms; t += 100) {
        r.time.advance(100);
        stepped.tracker.settled(fails ? FAILED : OK, 'default');
      }
    };
    run(2 * HOUR, false);
    wall.offset = -HOUR;
    run(10 * MINUTE, false);
    const outage = r.time.nowMs();
    run(2 * MINUTE, true);
    // the tracker's own times are the monotonic clock's, which here reads as the unstepped wall
    const since = stepped.tracker.status()[0].alerts.find((a) => a.rule === '1h-5m')!.since;
    expect(since).not.toBeNull();
    const detected = since! - outage;
    expect(detected).toBeGreaterThan(0);
    console.log(`wall clock stepped back 1 h: 1h-5m page ${detected / SECOND} s after the outage`);
    expect(detected).toBeLessThanOrEqual(52 * SECOND + 10 * SECOND);
  });

  it('reads no traffic (budget untouched, burn 0, never NaN) after a leap past its whole window, and counts afresh', () => {
    const r = rig([availability({ windowDays: 7 })], { evaluateEveryMs: HOUR });
    r.run(10 * MINUTE, 10, (i) => i % 3 === 0);
    r.time.advance(8 * DAY);
    let [s] = r.tracker.status();
    expect(s).toMatchObject({ valid: 0, good: 0, badRatio: 0, errorBudgetRemaining: 1 });
    expect(Object.values(s.burnRates)).toEqual([0, 0, 0, 0, 0]);
    expect(s.alerts.every((a) => !a.firing)).toBe(true);
    r.tracker.settled(FAILED, 'default');
    r.tracker.settled(OK, 'default');
    [s] = r.tracker.status();
    expect(s).toMatchObject({ valid: 2, good: 1 });
    expect(s.burnRates['5m']).toBeCloseTo(500, 6);
  });

  it('forgets the short windows but keeps the budget after a leap of a day', () => {
    const r = rig([availability()], { evaluateEveryMs: HOUR });
    r.run(10 * MINUTE, 10, (i) => i % 100 === 0);
    r.time.advance(DAY);
    const [s] = r.tracker.status();
    expect(s.valid).toBe(6_000);
    expect(s.burnRates['6h']).toBe(0);
    expect(s.burnRates['3d']).toBeCloseTo(10, 6);
  });
});

describe('a ledger that never answers at start', () => {
  class Hung implements SloHistory {
    release: (rows: UsagePeriod[]) => void = () => {};
    usageMinutes(): Promise<UsagePeriod[]> {
      return new Promise((resolve) => (this.release = resolve));
    }
  }

  it('silences the alerts only for historyWaitMs, and its rows still count once when they come', async () => {
    const history = new Hung();
    const start = T0 + 10 * DAY;
    const r = rig([availability()], { history, evaluateEveryMs: SECOND, historyWaitMs: 30 * SECOND }, start);
    expect(r.time.armed).toBe(2);
    r.run(20 * SECOND, 10, () => true);
    expect(r.tracker.status()[0].alerts.some((a) => a.firing)).toBe(false);
    r.run(15 * SECOND, 10, () => true);
    expect(r.time.armed).toBe(1);
    expect(r.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'the SLOs\' history has not come from the ledger yet; alerts are judged without it',
      'SLO burn-rate alert firing', 'SLO burn-rate alert firing', 'SLO burn-rate alert firing',
    ]);
    expect(first(r.lines, 'SLO burn-rate alert firing', '1h-5m', start)!.at).toBe(start + 30 * SECOND);
    const row: UsagePeriod = {
      at: start - MINUTE, tenantId: null, tier: 'default', model: 'm', requests: 100, clientErrors: 0, serverErrors: 0, streamed: 0,
      ttftWithin: [], succeeded: 100, latencyWithin: [], inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: 0,
    };
    history.release([row]);
    await r.tracker.ready;
    expect(r.tracker.status()[0]).toMatchObject({ valid: 350 + 100, good: 100 });
    r.tracker.close();
    expect(r.time.armed).toBe(0);
  });
});
