import { describe, expect, it } from 'vitest';
import { RateForecast, type RateForecastOptions } from '../../../src/control/autoscaler/forecast.js';
import { seededRandom } from '../../../src/sim/workload/index.js';

// The forecast looks one start-up ahead of the arrival rate. These specs feed it per-tick rates
// from known curves and hold its projection against the curve's own value at the horizon.

const S = 1_000;
const MIN = 60 * S;
const H = 60 * MIN;
const DAY = 24 * H;
const TICK = 15 * S;
/** a start-up and a tick: how far ahead the policy asks */
const AHEAD = 90 * S + TICK;
const base: RateForecastOptions = { alpha: 0.3, beta: 0.05 };

/** feeds f the curve at every tick in [fromMs, toMs) and returns the last tick's time */
function feed(f: RateForecast, curve: (ms: number) => number, fromMs: number, toMs: number, tick = TICK): number {
  let t = fromMs;
  for (; t < toMs; t += tick) f.observe(t, curve(t));
  return t - tick;
}

/** a seeded uniform draw */
const rng = seededRandom;

/** a working day: 2 req/s at night, up to 20 between 07:00 and 08:00, down again 18:00 to 19:00 */
function day(ms: number): number {
  const h = (ms % DAY) / H;
  if (h < 7 || h >= 19) return 2;
  if (h < 8) return 2 + 18 * (h - 7);
  if (h < 18) return 20;
  return 20 - 18 * (h - 18);
}

describe('RateForecast', () => {
  it('predicts nothing before it has seen a rate', () => {
    expect(new RateForecast(base).predict(1_000)).toBe(0);
  });

  it('keeps a constant rate constant', () => {
    const f = new RateForecast(base);
    const last = feed(f, () => 7.5, 0, H);
    expect(f.predict(last + AHEAD)).toBeCloseTo(7.5, 9);
    expect(f.predict(last + 10 * MIN)).toBeCloseTo(7.5, 9);
  });

  it('projects a linear ramp one start-up ahead within a few per cent', () => {
    const ramp = (ms: number) => 1 + 0.01 * (ms / S);
    const f = new RateForecast(base);
    const last = feed(f, ramp, 0, 30 * MIN);
    const want = ramp(last + AHEAD);
    expect(Math.abs(f.predict(last + AHEAD) - want) / want).toBeLessThan(0.03);
    // and it is ahead of the rate now, which a moving average would trail
    expect(f.predict(last + AHEAD)).toBeGreaterThan(ramp(last));
  });

  it('follows a step within minutes, overshooting it by a bounded margin', () => {
    const step = (ms: number) => (ms < 10 * MIN ? 2 : 10);
    const f = new RateForecast(base);
    let t = feed(f, step, 0, 10 * MIN);
    let peak = 0;
    for (t += TICK; t < 18 * MIN; t += TICK) {
      f.observe(t, step(t));
      peak = Math.max(peak, f.predict(t + AHEAD));
    }
    // Holt's trend carries a step on for a while: never more than 30 % over, within 10 % 8 minutes on
    expect(peak).toBeGreaterThan(10);
    expect(peak).toBeLessThan(13);
    expect(Math.abs(f.predict(t - TICK + AHEAD) - 10) / 10).toBeLessThan(0.1);
    // down again: it falls back, and never below zero
    const down = feed(f, () => 0, t, t + 10 * MIN);
    expect(f.predict(down + AHEAD)).toBeGreaterThanOrEqual(0);
    expect(f.predict(down + AHEAD)).toBeLessThan(0.5);
  });

  it('does not explode on noise: Poisson arrivals stay near their mean', () => {
    const draw = rng(7);
    const f = new RateForecast(base);
    let worst = 0;
    for (let t = 0; t < 2 * H; t += TICK) {
      // 10 req/s counted over a 15 s tick: 150 ± 12 arrivals (normal approximation)
      const z = Math.sqrt(-2 * Math.log(1 - draw())) * Math.cos(2 * Math.PI * draw());
      f.observe(t, (150 + Math.sqrt(150) * z) / 15);
      if (t > 10 * MIN) worst = Math.max(worst, Math.abs(f.predict(t + AHEAD) - 10));
    }
    expect(worst).toBeLessThan(2.5);
  });

  it('does not explode on wild noise either: unbiased on average, never negative, never above the clamp', () => {
    const draw = rng(11);
    const f = new RateForecast({ ...base, clamp: 4 });
    let sum = 0;
    let n = 0;
    const window: number[] = [];
    for (let t = 0; t < 4 * H; t += TICK) {
      const y = 10 * 2 * draw(); // ±100 % around 10
      window.push(y);
      if (window.length > 40) window.shift(); // the clamp's 10-minute window
      f.observe(t, y);
      const p = f.predict(t + AHEAD);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(4 * Math.max(...window) + 1e-9);
      if (t > 10 * MIN) { sum += p; n++; }
    }
    expect(Math.abs(sum / n - 10)).toBeLessThan(0.5);
  });

  it('clamps a steep projection to a multiple of the recent maximum', () => {
    const f = new RateForecast({ alpha: 1, beta: 1, clamp: 2 });
    f.observe(0, 1);
    f.observe(TICK, 3);
    // the slope alone would say 1 + 2·(1 + 60) by an hour later
    expect(f.predict(TICK + 15 * MIN)).toBe(6);
  });

  it('learns nothing seasonal until a whole period has been seen', () => {
    const seasonal = new RateForecast({ ...base, seasonPeriodMs: DAY, seasonBucketMs: 5 * MIN });
    const plain = new RateForecast(base);
    for (let t = 0; t < DAY - TICK; t += TICK) {
      seasonal.observe(t, day(t));
      plain.observe(t, day(t));
      if (t % H === 0) expect(seasonal.predict(t + AHEAD)).toBe(plain.predict(t + AHEAD));
    }
    expect(seasonal.seasonal).toBe(false);
  });

  for (const seasonMode of ['multiplicative', 'additive'] as const) {
    it(`anticipates day 2's morning ramp from day 1's (${seasonMode} index)`, () => {
      const o = { ...base, seasonPeriodMs: DAY, seasonBucketMs: 5 * MIN, seasonMode };
      const seasonal = new RateForecast(o);
      const plain = new RateForecast(base);
      const now = DAY + 7 * H - 2 * MIN; // 06:58 on day 2, the ramp not yet begun
      feed(seasonal, day, 0, now + TICK);
      feed(plain, day, 0, now + TICK);
      expect(seasonal.seasonal).toBe(true);
      const at = now + 12 * MIN; // 07:10: a slow start-up ahead
      const want = day(at);
      expect(Math.abs(seasonal.predict(at) - want) / want).toBeLessThan(0.2);
      // the trend alone sees a flat night and misses it
      expect(plain.predict(at)).toBeLessThan(0.7 * want);
      // and the morning's plateau is foreseen from its start
      const atNine = DAY + 8 * H + 10 * MIN;
      feed(seasonal, day, now + TICK, atNine - 10 * MIN);
      expect(seasonal.predict(atNine)).toBeGreaterThan(0.8 * day(atNine));
    });
  }
});
