import { describe, expect, it } from 'vitest';
import { first, HOUR, MINUTE, rig, SECOND, availability, type Rig } from './rig.js';

// The SRE workbook's multi-window burn-rate alerts on a virtual clock: six hours of steady traffic
// at 10 requests a second with 0.05 % errors (half the budget of a 99.9 % SLO) pages nobody; then
// the error rate changes and each alert must fire when the arithmetic says it should, judged every
// 10 s. For a share `e` of errors over a window W already holding the baseline `b`, the long
// window's burn crosses factor f after W·(f·budget − b)/(e − b).

const STEP = 10 * SECOND;
const RPS = 10;
const BASELINE = (i: number): boolean => i % 2_000 === 1_999;

function steady(): { r: Rig; start: number } {
  const r = rig([availability()]);
  r.run(6 * HOUR, RPS, BASELINE);
  return { r, start: r.time.nowMs() };
}

/** when the long window's burn crosses `factor`, in ms after the change */
const crossing = (windowMs: number, factor: number, errors: number): number => windowMs * (factor * 0.001 - 0.0005) / (errors - 0.0005);

const fired = (r: Rig, rule: string, since: number): number => {
  const l = first(r.lines, 'SLO burn-rate alert firing', rule, since);
  if (l === undefined) throw new Error(`${rule} never fired`);
  return l.at - since;
};

describe('burn-rate alerts under steady traffic and outages (virtual clock)', () => {
  it('stays quiet for six hours of traffic burning half the budget', () => {
    const { r } = steady();
    expect(r.lines.filter((l) => l.level === 'warn')).toEqual([]);
    const [s] = r.tracker.status();
    expect(s.burnRates['6h']).toBeCloseTo(0.5, 2);
    expect(s.burnRates['1h']).toBeCloseTo(0.5, 1);
    expect(s.alerts.every((a) => !a.firing)).toBe(true);
    expect(s.valid).toBe(6 * 3_600 * RPS);
  });

  it('pages within 52 s (plus one evaluation step) of a total outage, then on the 6h rule, and resolves within 5 min of recovery', () => {
    const { r, start } = steady();
    r.run(10 * MINUTE, RPS, () => true);
    const page = fired(r, '1h-5m', start);
    const slow = fired(r, '6h-30m', start);
    const ticket = fired(r, '3d-6h', start);
    console.log(`100 % outage on a 99.9 % SLO: 1h-5m page after ${page / 1000} s, 6h-30m page after ${slow / 1000} s, 3d-6h ticket after ${ticket / 1000} s`);
    expect(page).toBeLessThanOrEqual(52 * SECOND + STEP);
    expect(page).toBeGreaterThanOrEqual(crossing(HOUR, 14.4, 1) - STEP);
    expect(slow).toBeGreaterThanOrEqual(crossing(6 * HOUR, 6, 1) - STEP);
    expect(slow).toBeLessThanOrEqual(crossing(6 * HOUR, 6, 1) + 2 * STEP);
    expect(ticket).toBeLessThanOrEqual(crossing(6 * HOUR, 1, 1) + 2 * STEP);
    const firing = r.tracker.status()[0].alerts.find((a) => a.rule === '1h-5m')!;
    expect(firing).toMatchObject({ severity: 'page', firing: true, since: start + page });
    // the warning names the SLO, the rule and both windows' burn
    const warn = first(r.lines, 'SLO burn-rate alert firing', '1h-5m', start)!;
    expect(warn.fields).toMatchObject({ slo: 'chat-availability', severity: 'page', factor: 14.4 });
    expect((warn.fields.burn as Record<string, number>)['1h']).toBeGreaterThan(14.4);
    expect(r.lines.filter((l) => l.msg === 'SLO burn-rate alert firing' && l.fields.rule === '1h-5m')).toHaveLength(1);

    const recovered = r.time.nowMs();
    r.run(10 * MINUTE, RPS, BASELINE);
    const resolved = first(r.lines, 'SLO burn-rate alert resolved', '1h-5m', recovered);
    expect(resolved).toBeDefined();
    const after = resolved!.at - recovered;
    console.log(`recovery: the 1h-5m page resolved ${after / 1000} s after the outage ended`);
    // the 5m window must forget all but 14.4 × 0.1 % of itself: 295.7 s
    expect(after).toBeGreaterThanOrEqual(5 * MINUTE * (1 - 0.0144) - STEP);
    expect(after).toBeLessThanOrEqual(5 * MINUTE + STEP);
    expect(r.tracker.status()[0].alerts.find((a) => a.rule === '1h-5m')).toMatchObject({ firing: false, since: null });
  });

  it.each([
    { errors: 0.02, about: '43 min' },
    { errors: 0.1, about: '8.4 min' },
  ])('pages on the 1h rule after about $about at $errors of requests failing', ({ errors }) => {
    const { r, start } = steady();
    const every = Math.round(1 / errors);
    r.run(50 * MINUTE, RPS, (i) => i % every === 0);
    const page = fired(r, '1h-5m', start);
    const expected = crossing(HOUR, 14.4, errors);
    console.log(`${errors * 100} % errors: 1h-5m page after ${(page / MINUTE).toFixed(2)} min (arithmetic: ${(expected / MINUTE).toFixed(2)} min)`);
    expect(page).toBeGreaterThanOrEqual(expected - STEP);
    expect(page).toBeLessThanOrEqual(expected + 2 * STEP);
  });
});
