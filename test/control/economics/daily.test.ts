import { describe, expect, it } from 'vitest';
import {
  costDays, utcDay, IDLE_KEY, UNKNOWN_KEY, costsByDay, phaseWeights, profileWeights, type CostDay, type CostKey, type PhaseWeights,
} from '../../../src/control/economics/index.js';
import { getProfile } from '../../../src/engine/index.js';
import type { ReplicaTimeRecord, TokensByDay } from '../../../src/ledger/types.js';
import { seededRandom } from '../../../src/sim/workload/index.js';

/** an output token costs ten times a prompt token: easy arithmetic */
const W: PhaseWeights = { inputS: 1e-4, outputS: 1e-3 };
const weights = () => W;

const rec = (o: Partial<ReplicaTimeRecord> & { replica: string }): ReplicaTimeRecord => ({
  day: '2026-03-01', pool: 'eu/m', region: 'eu', model: 'm', profile: 'llama-3.1-8b-h100', gpu: 'H100-SXM-80GB',
  gpus: 1, usdPerGpuHour: 2, upS: 3600, busyS: 1800, ...o,
});
const tok = (o: Partial<TokensByDay> & { tenantId: string }): TokensByDay => ({
  day: '2026-03-01', replica: 'r1', region: 'eu', model: 'm', requests: 1, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, ...o,
});
const only = (rows: CostDay[], key: string, day = '2026-03-01'): CostDay => {
  const r = rows.filter((x) => x.key === key && x.day === day);
  expect(r, `${day} ${key}`).toHaveLength(1);
  return r[0]!;
};
const sum = (rows: readonly CostDay[], f: (r: CostDay) => number) => rows.reduce((s, r) => s + f(r), 0);

describe('costsByDay', () => {
  it('prices a replica-day as up hours × GPUs × USD per GPU-hour, with its utilisation and idle cost', () => {
    const rows = costsByDay([rec({ replica: 'r1', gpus: 2, usdPerGpuHour: 3, upS: 7200, busyS: 1800 })], [], 'pool', weights);
    const r = only(rows, 'eu/m');
    expect(r.usd).toBeCloseTo(2 * 2 * 3, 10);
    expect(r.gpuHours).toBeCloseTo(4, 10);
    expect(r.upS).toBe(7200);
    expect(r.busyS).toBe(1800);
    expect(r.utilisation).toBeCloseTo(0.25, 10);
    expect(r.idleUsd).toBeCloseTo(12 * 0.75, 10);
    // nothing served: the cost has no tokens to divide it by
    expect(r.usdPerM).toBeNull();
    expect(r.inputUsdPerM).toBeNull();
  });

  it('reports no utilisation when nothing was up, and never more busy time than up time', () => {
    const rows = costsByDay([rec({ replica: 'r1', upS: 0, busyS: 0 }), rec({ replica: 'r2', pool: 'us/m', upS: 100, busyS: 250 })], [], 'pool', weights);
    expect(only(rows, 'eu/m').utilisation).toBeNull();
    expect(only(rows, 'eu/m').usd).toBe(0);
    expect(only(rows, 'us/m').utilisation).toBe(1);
    expect(only(rows, 'us/m').idleUsd).toBe(0);
  });

  it('joins tokens to the replica that served them on that day, and splits its cost by the phase weights', () => {
    const time = [rec({ replica: 'r1', upS: 3600, busyS: 3600, usdPerGpuHour: 10 })];
    // 2,000 prompt tokens, 1,000 of them cached, and 100 output: 1,000 × 1e-4 = 0.1 s against 100 × 1e-3 = 0.1 s
    const tokens = [tok({ tenantId: 'a', requests: 4, inputTokens: 2000, cachedInputTokens: 1000, outputTokens: 100 })];
    const r = only(costsByDay(time, tokens, 'model', weights), 'm');
    expect(r.requests).toBe(4);
    expect(r.inputTokens).toBe(2000);
    expect(r.cachedInputTokens).toBe(1000);
    expect(r.inputUsd).toBeCloseTo(5, 10);
    expect(r.outputUsd).toBeCloseTo(5, 10);
    expect(r.inputUsdPerM).toBeCloseTo((5 * 1e6) / 2000, 6);
    expect(r.outputUsdPerM).toBeCloseTo((5 * 1e6) / 100, 6);
    expect(r.usdPerM).toBeCloseTo((10 * 1e6) / 2100, 6);
  });

  it('lets prefix-cache hits lower the cost per million input tokens', () => {
    const time = [rec({ replica: 'r1' })];
    const perM = (cached: number) => only(costsByDay(time, [tok({ tenantId: 'a', inputTokens: 10_000, cachedInputTokens: cached, outputTokens: 500 })], 'model', weights), 'm').inputUsdPerM!;
    expect(perM(5000)).toBeLessThan(perM(0));
    expect(perM(10_000)).toBe(0);
  });

  it('counts tokens of a replica with no replica time that day, at no cost', () => {
    const time = [rec({ replica: 'r1', day: '2026-03-01' })];
    const tokens = [
      tok({ tenantId: 'a', replica: 'r1', day: '2026-03-02', outputTokens: 50 }),
      tok({ tenantId: 'a', replica: null, region: null, day: '2026-03-01', outputTokens: 7 }),
    ];
    const byModel = costsByDay(time, tokens, 'model', weights);
    expect(only(byModel, 'm', '2026-03-02')).toMatchObject({ usd: 0, outputTokens: 50, outputUsd: 0, utilisation: null, outputUsdPerM: 0 });
    expect(only(byModel, 'm', '2026-03-01')).toMatchObject({ usd: 2, outputTokens: 7 });
    const byRegion = costsByDay(time, tokens, 'region', weights);
    expect(only(byRegion, UNKNOWN_KEY).outputTokens).toBe(7);
    expect(only(byRegion, 'eu').outputTokens).toBe(0);
    expect(only(costsByDay(time, tokens, 'pool', weights), 'eu/m', '2026-03-02').outputTokens).toBe(50);
  });

  it('keys rows by the record\'s model, pool or region, sorted by day then key', () => {
    const time = [
      rec({ replica: 'b', day: '2026-03-02', pool: 'us/x', region: 'us', model: 'x' }),
      rec({ replica: 'a', day: '2026-03-01', pool: 'us/x', region: 'us', model: 'x' }),
      rec({ replica: 'c', day: '2026-03-01', pool: 'eu/y', region: 'eu', model: 'y' }),
      rec({ replica: 'd', day: '2026-03-01', pool: 'eu/x', region: 'eu', model: 'x' }),
    ];
    const keys = (by: CostKey) => costsByDay(time, [], by, weights).map((r) => `${r.day} ${r.key}`);
    expect(keys('model')).toEqual(['2026-03-01 x', '2026-03-01 y', '2026-03-02 x']);
    expect(keys('pool')).toEqual(['2026-03-01 eu/x', '2026-03-01 eu/y', '2026-03-01 us/x', '2026-03-02 us/x']);
    expect(keys('region')).toEqual(['2026-03-01 eu', '2026-03-01 us', '2026-03-02 us']);
    expect(only(costsByDay(time, [], 'model', weights), 'x').usd).toBeCloseTo(4, 10);
  });

  it('shares a replica-day among its tenants by their phase-weighted tokens, and keeps idle replica-days apart', () => {
    const time = [
      rec({ replica: 'r1', usdPerGpuHour: 9, upS: 3600, busyS: 2700 }),
      rec({ replica: 'r2', usdPerGpuHour: 4, upS: 3600, busyS: 0 }),
    ];
    // a: 1,000 uncached prompt tokens = 0.1 s; b: 200 output tokens = 0.2 s → a pays 1/3, b 2/3
    const tokens = [
      tok({ tenantId: 'a', replica: 'r1', inputTokens: 1000 }),
      tok({ tenantId: 'b', replica: 'r1', outputTokens: 150 }),
      tok({ tenantId: 'b', replica: 'r1', model: 'other', outputTokens: 50 }),
    ];
    const rows = costsByDay(time, tokens, 'tenant', weights);
    expect(rows.map((r) => r.key)).toEqual([IDLE_KEY, 'a', 'b']);
    expect(only(rows, 'a').usd).toBeCloseTo(3, 10);
    expect(only(rows, 'a').inputUsd).toBeCloseTo(3, 10);
    expect(only(rows, 'b').usd).toBeCloseTo(6, 10);
    expect(only(rows, 'b').outputUsd).toBeCloseTo(6, 10);
    expect(only(rows, 'b').outputTokens).toBe(200);
    // a tenant's share of time keeps its replica's utilisation
    expect(only(rows, 'a').utilisation).toBeCloseTo(0.75, 10);
    expect(only(rows, 'a').idleUsd).toBeCloseTo(0.75, 10);
    expect(only(rows, IDLE_KEY)).toMatchObject({ usd: 4, requests: 0, idleUsd: 4, utilisation: 0 });
  });

  it('shares by requests when no tenant\'s tokens weigh anything (all cached, no output)', () => {
    const rows = costsByDay([rec({ replica: 'r1', usdPerGpuHour: 3 })], [
      tok({ tenantId: 'a', requests: 2, inputTokens: 10, cachedInputTokens: 10 }),
      tok({ tenantId: 'b', requests: 1 }),
    ], 'tenant', weights);
    expect(only(rows, 'a').usd).toBeCloseTo(2, 10);
    expect(only(rows, 'b').usd).toBeCloseTo(1, 10);
  });

  it('weighs each replica by its own profile', () => {
    const seen: (string | null)[] = [];
    const weightsOf = (p: string | null): PhaseWeights => {
      seen.push(p);
      return p === 'slow-decode' ? { inputS: 1e-4, outputS: 1e-2 } : W;
    };
    const time = [rec({ replica: 'r1', profile: 'slow-decode' }), rec({ replica: 'r2', profile: null, pool: 'eu/n', model: 'n' })];
    const tokens = [tok({ tenantId: 'a', replica: 'r1', inputTokens: 1000, outputTokens: 10 }), tok({ tenantId: 'a', replica: 'r2', model: 'n', inputTokens: 1000, outputTokens: 10 })];
    const rows = costsByDay(time, tokens, 'model', weightsOf);
    // 0.1 s of prefill against 0.1 s of decode on the slow one, 0.1 against 0.01 on the other
    expect(only(rows, 'm').inputUsd / only(rows, 'm').usd).toBeCloseTo(0.5, 10);
    expect(only(rows, 'n').inputUsd / only(rows, 'n').usd).toBeCloseTo(0.1 / 0.11, 10);
    expect(new Set(seen)).toEqual(new Set(['slow-decode', null]));
  });

  it('adds up: every grouping\'s cost is the total GPU cost, tokens are all counted, and each row\'s phases make its cost', () => {
    const draw = seededRandom(15);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(draw() * xs.length)]!;
    const days = ['2026-03-01', '2026-03-02', '2026-03-03'];
    const time: ReplicaTimeRecord[] = [];
    const tokens: TokensByDay[] = [];
    for (const day of days) {
      for (let i = 0; i < 12; i++) {
        const region = pick(['eu', 'us', 'ap']);
        const model = pick(['m', 'n']);
        const upS = Math.floor(draw() * 86_400);
        time.push(rec({ day, replica: `r${i}`, region, model, pool: `${region}/${model}`, gpus: pick([1, 2, 4]), usdPerGpuHour: 1 + draw() * 3, upS, busyS: Math.floor(draw() * upS) }));
        // some replica-days serve nobody; some tokens land on replicas with no time that day
        for (let k = Math.floor(draw() * 4); k > 0; k--) {
          tokens.push(tok({ day, replica: draw() < 0.9 ? `r${i}` : `gone${i}`, region, model, tenantId: pick(['t1', 't2', 't3']), requests: 1 + Math.floor(draw() * 50), inputTokens: Math.floor(draw() * 1e5), cachedInputTokens: Math.floor(draw() * 1e4), outputTokens: Math.floor(draw() * 2e4) }));
        }
      }
    }
    const totalUsd = time.reduce((s, r) => s + (r.upS / 3600) * r.gpus * r.usdPerGpuHour, 0);
    const totalOut = tokens.reduce((s, t) => s + t.outputTokens, 0);
    const w = profileWeights();
    for (const by of ['model', 'pool', 'region', 'tenant'] as const) {
      const rows = costsByDay(time, tokens, by, w);
      expect(sum(rows, (r) => r.usd), by).toBeCloseTo(totalUsd, 6);
      expect(sum(rows, (r) => r.outputTokens), by).toBe(totalOut);
      for (const r of rows) expect(r.inputUsd + r.outputUsd, `${by} ${r.day} ${r.key}`).toBeCloseTo(r.usd, 9);
      for (const r of rows) expect(r.idleUsd).toBeLessThanOrEqual(r.usd + 1e-9);
    }
    const byTenant = costsByDay(time, tokens, 'tenant', w);
    const idle = sum(byTenant.filter((r) => r.key === IDLE_KEY), (r) => r.usd);
    expect(idle).toBeGreaterThan(0);
    expect(sum(byTenant.filter((r) => r.key !== IDLE_KEY), (r) => r.usd)).toBeCloseTo(totalUsd - idle, 6);
  });
});

describe('profileWeights', () => {
  it('takes the engine model\'s weights for a known profile, and the default profile\'s for an unknown one', () => {
    const w = profileWeights();
    const l4 = getProfile('llama-3.1-8b-l4')!;
    const h100 = getProfile('llama-3.1-8b-h100')!;
    expect(w('llama-3.1-8b-l4')).toEqual(phaseWeights(l4));
    expect(w(null)).toEqual(phaseWeights(h100));
    expect(w('no-such-profile')).toEqual(phaseWeights(h100));
    expect(w('llama-3.1-8b-l4').outputS).toBeGreaterThan(w(null).outputS);
  });
});

describe('a costs query\'s days', () => {
  const now = Date.parse('2026-03-02T15:00:00Z');
  const day = (s: string) => Date.parse(`${s}T00:00:00Z`);

  it('reads only real calendar days', () => {
    expect(utcDay('2026-03-01')).toBe(day('2026-03-01'));
    for (const bad of ['2026-02-30', '2026-3-1', '2026-03-01T00:00:00Z', '', ' 2026-03-01']) expect(utcDay(bad), bad).toBeNull();
  });

  it('defaults to the last 7 days to today; since alone runs to today, or is the one day when later', () => {
    expect(costDays(undefined, undefined, now)).toEqual({ ok: true, since: day('2026-02-24'), until: day('2026-03-02') });
    expect(costDays(day('2026-02-27'), undefined, now)).toEqual({ ok: true, since: day('2026-02-27'), until: day('2026-03-02') });
    expect(costDays(day('2026-03-05'), undefined, now)).toEqual({ ok: true, since: day('2026-03-05'), until: day('2026-03-05') });
    expect(costDays(undefined, day('2026-01-10'), now)).toEqual({ ok: true, since: day('2026-01-04'), until: day('2026-01-10') });
  });

  it('refuses a window that ends before it starts, or is longer than a year and a day', () => {
    expect(costDays(day('2026-03-02'), day('2026-03-01'), now)).toMatchObject({ ok: false, problem: 'reversed' });
    expect(costDays(day('2024-01-01'), day('2026-01-01'), now)).toMatchObject({ ok: false, problem: 'too-long', days: 732 });
    expect(costDays(day('2025-03-01'), day('2026-03-01'), now)).toEqual({ ok: true, since: day('2025-03-01'), until: day('2026-03-01') });
  });
});
