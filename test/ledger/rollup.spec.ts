import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLO_LATENCY_BOUNDS_MS } from '../../src/config/index.js';
import { replaySpill, type Store, type UsagePeriod, type UsageRecord } from '../../src/ledger/index.js';
import type { Clock } from '../../src/time/index.js';
import { usage } from './store.spec.js';

// The roll-up port of the store (usage per minute × tier × model and per UTC day × tenant × tier ×
// model), one specification for every backend. Each test keeps to a time range of its own, so they
// share one store. The expected periods are computed here, from the records, by the rules of
// UsagePeriod: a second implementation, so a mistake must be made twice to pass.

export interface RollupHarness {
  open(clock: Clock): Promise<Store>;
  cleanup(): Promise<void>;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const BOUNDS: readonly number[] = SLO_LATENCY_BOUNDS_MS;

/** The periods a list of records (each request id once: the first written) must roll up to. */
export function expectedPeriods(records: readonly UsageRecord[], period: 'minute' | 'day'): UsagePeriod[] {
  const seen = new Set<string>();
  const out = new Map<string, UsagePeriod>();
  for (const r of records) {
    if (seen.has(r.requestId)) continue;
    seen.add(r.requestId);
    const size = period === 'minute' ? MINUTE : DAY;
    const at = r.startedAt - (r.startedAt % size);
    const tenantId = period === 'day' ? r.tenantId : null;
    const tier = r.tier ?? '';
    const key = JSON.stringify([at, tenantId, tier, r.model]);
    let p = out.get(key);
    if (!p) {
      p = {
        at, tenantId, tier, model: r.model, requests: 0, clientErrors: 0, serverErrors: 0, streamed: 0, ttftWithin: BOUNDS.map(() => 0),
        succeeded: 0, latencyWithin: BOUNDS.map(() => 0), inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: 0,
      };
      out.set(key, p);
    }
    p.requests++;
    if (r.status >= 400 && r.status <= 499) p.clientErrors++;
    if (r.status >= 500) p.serverErrors++;
    const ok = r.status < 400;
    if (ok) p.succeeded++;
    BOUNDS.forEach((b, i) => { if (ok && r.latencyMs <= b) p.latencyWithin[i]++; });
    if (ok && r.stream && r.ttftMs !== null) {
      p.streamed++;
      BOUNDS.forEach((b, i) => { if (r.ttftMs! <= b) p.ttftWithin[i]++; });
    }
    p.inputTokens += r.inputTokens;
    p.cachedInputTokens += r.cachedInputTokens;
    p.outputTokens += r.outputTokens;
    p.costUsd += r.costUsd;
  }
  const order = (p: UsagePeriod) => [p.at, p.tenantId ?? '', p.tier, p.model] as const;
  return [...out.values()].sort((a, b) => {
    const x = order(a), y = order(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
  });
}

/** Costs are float sums, added in another order by the database: compared to 1e-9 USD. */
const rounded = (ps: UsagePeriod[]) => ps.map((p) => ({ ...p, costUsd: Math.round(p.costUsd * 1e9) / 1e9 }));

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Records crowding the edges the roll-up must get right: minute and day starts, the bounds themselves, each status class. */
function randomRecords(seed: number, n: number, since: number, model: string): UsageRecord[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const statuses = [200, 200, 200, 200, 201, 399, 400, 429, 499, 500, 502, 529];
  const edges = [0, 1, MINUTE - 1, MINUTE, DAY - 1, DAY, DAY + MINUTE - 1, 2 * DAY + 30_000];
  const times = BOUNDS.flatMap((b) => [b - 0.001, b, b + 0.001]).concat([0, 3.5, 120_000]);
  return Array.from({ length: n }, (_, i) => {
    const status = pick(statuses);
    const stream = r() < 0.6;
    return usage({
      requestId: `req_roll_${model}_${seed}_${i}`,
      startedAt: since + (r() < 0.5 ? pick(edges) : Math.floor(r() * 3 * DAY)),
      tenantId: pick(['ten_a', 'ten_b', 'ten_c']), tier: pick(['free', 'pro', '']), model: pick([model, model + '-big']),
      stream, status, outcome: status < 400 ? 'ok' : status < 500 ? 'client_error' : 'upstream_error',
      ttftMs: r() < 0.15 ? null : pick(times), latencyMs: pick(times),
      inputTokens: Math.floor(r() * 5000), cachedInputTokens: Math.floor(r() * 100), outputTokens: Math.floor(r() * 800), costUsd: r() / 1000,
    });
  });
}

export function rollupSpec(name: string, makeHarness: () => RollupHarness): void {
  describe(`the ${name} store's roll-up of usage`, () => {
    let h: RollupHarness;
    let store: Store;
    const clock: Clock = { nowMs: () => 1_760_000_000_000, monoMs: () => 0 };

    beforeAll(async () => {
      h = makeHarness();
      store = await h.open(clock);
    });
    afterAll(async () => {
      await store?.close();
      await h?.cleanup();
    });

    it('equals the records grouped by minute and by day after random batches, repeats and all', async () => {
      const since = Date.UTC(2026, 1, 1);
      for (const seed of [1, 2, 3]) {
        const model = `m${seed}`;
        const records = randomRecords(seed, 600, since, model);
        const r = rng(seed * 7);
        const written: UsageRecord[] = [];
        for (let i = 0; i < records.length;) {
          const size = 1 + Math.floor(r() * 80);
          const batch = records.slice(i, i + size);
          // a retry of part of what was written, and an id twice within one batch
          if (written.length > 0 && r() < 0.4) batch.push(...written.slice(Math.floor(r() * written.length)).slice(0, 30));
          if (r() < 0.2) batch.push({ ...batch[0], status: 500, inputTokens: 99_999 });
          await store.insertUsage(batch);
          written.push(...batch);
          i += size;
        }
        const mine = { since, before: since + 4 * DAY };
        const minutes = [...await store.usageMinutes({ ...mine, model }), ...await store.usageMinutes({ ...mine, model: model + '-big' })]
          .sort((a, b) => a.at - b.at || (a.tier < b.tier ? -1 : a.tier > b.tier ? 1 : a.model < b.model ? -1 : 1));
        expect(rounded(minutes)).toEqual(rounded(expectedPeriods(written, 'minute')));
        const days = [...await store.usageDays({ ...mine, model }), ...await store.usageDays({ ...mine, model: model + '-big' })]
          .sort((a, b) => a.at - b.at || (a.tenantId! < b.tenantId! ? -1 : a.tenantId! > b.tenantId! ? 1 : a.tier < b.tier ? -1 : a.tier > b.tier ? 1 : a.model < b.model ? -1 : 1));
        expect(rounded(days)).toEqual(rounded(expectedPeriods(written, 'day')));
        // and a second write of everything adds nothing
        await store.insertUsage(written.slice(0, 500));
        expect(rounded(await store.usageDays({ ...mine, model }))).toEqual(rounded(expectedPeriods(written, 'day').filter((p) => p.model === model)));
      }
    });

    it('puts the last millisecond of a minute and of a UTC day in that period, and the next in the next', async () => {
      const day = Date.UTC(2026, 2, 10);
      await store.insertUsage([
        usage({ startedAt: day - 1, model: 'edge', tier: 'pro' }),
        usage({ startedAt: day, model: 'edge', tier: 'pro' }),
        usage({ startedAt: day + MINUTE - 1, model: 'edge', tier: 'pro' }),
        usage({ startedAt: day + MINUTE, model: 'edge', tier: 'pro' }),
      ]);
      const minutes = await store.usageMinutes({ since: day - DAY, model: 'edge' });
      expect(minutes.map((p) => [p.at, p.requests])).toEqual([[day - MINUTE, 1], [day, 2], [day + MINUTE, 1]]);
      const days = await store.usageDays({ since: day - DAY, model: 'edge' });
      expect(days.map((p) => [p.at, p.requests])).toEqual([[day - DAY, 1], [day, 3]]);
      expect(days[0].tenantId).toBe('ten_x');
      expect(minutes[0].tenantId).toBeNull();
    });

    it('counts a request within a bound when it took exactly the bound, and classes statuses as the SLOs do', async () => {
      const at = Date.UTC(2026, 2, 20, 8);
      await store.insertUsage([
        usage({ startedAt: at, model: 'bounds', stream: true, status: 200, ttftMs: 250, latencyMs: 1_000 }),
        usage({ startedAt: at, model: 'bounds', stream: true, status: 200, ttftMs: 250.001, latencyMs: 1_000.001 }),
        usage({ startedAt: at, model: 'bounds', stream: true, status: 200, ttftMs: null, latencyMs: 10 }),
        usage({ startedAt: at, model: 'bounds', stream: false, status: 200, ttftMs: 5, latencyMs: 60_001 }),
        usage({ startedAt: at, model: 'bounds', stream: true, status: 429, ttftMs: 1, latencyMs: 1 }),
        usage({ startedAt: at, model: 'bounds', stream: true, status: 499, ttftMs: 1, latencyMs: 1 }),
        usage({ startedAt: at, model: 'bounds', stream: true, status: 503, ttftMs: 1, latencyMs: 1 }),
      ]);
      const [p] = await store.usageMinutes({ since: at, before: at + MINUTE, model: 'bounds' });
      expect(p).toMatchObject({ requests: 7, clientErrors: 2, serverErrors: 1, succeeded: 4, streamed: 2 });
      // bounds 250, 500, 1000, …: the first streamed request is within all, the second from 500 on
      expect(p.ttftWithin).toEqual(BOUNDS.map((b) => (b === 250 ? 1 : 2)));
      expect(p.latencyWithin).toEqual(BOUNDS.map((b) => (b < 1_000 ? 1 : b === 1_000 ? 2 : b < 60_001 ? 3 : 4)));
      expect(p.inputTokens).toBe(700);
    });

    it('filters by time (rounded down to the period), tier, model and tenant, in the order the port gives', async () => {
      const day = Date.UTC(2026, 3, 2);
      const at = day + 12 * 3_600_000;
      await store.insertUsage([
        usage({ startedAt: at, model: 'flt-b', tier: 'pro', tenantId: 'ten_b' }),
        usage({ startedAt: at, model: 'flt-a', tier: 'pro', tenantId: 'ten_b' }),
        usage({ startedAt: at, model: 'flt-a', tier: 'free', tenantId: 'ten_a' }),
        usage({ startedAt: at + 30_000, model: 'flt-a', tier: 'free', tenantId: 'ten_a' }),
        usage({ startedAt: at + MINUTE, model: 'flt-a', tier: 'free', tenantId: 'ten_a' }),
        usage({ startedAt: day + DAY, model: 'flt-a', tier: 'free', tenantId: 'ten_a' }),
      ]);
      const key = (p: UsagePeriod) => [p.at, p.tenantId, p.tier, p.model, p.requests];
      expect((await store.usageMinutes({ since: at + 45_000, before: at + 2 * MINUTE })).filter((p) => p.model.startsWith('flt')).map(key)).toEqual([
        [at, null, 'free', 'flt-a', 2], [at, null, 'pro', 'flt-a', 1], [at, null, 'pro', 'flt-b', 1], [at + MINUTE, null, 'free', 'flt-a', 1],
      ]);
      expect((await store.usageMinutes({ since: at, before: at + MINUTE, tier: 'pro', model: 'flt-a' })).map(key)).toEqual([[at, null, 'pro', 'flt-a', 1]]);
      expect((await store.usageDays({ since: day + 5, before: day + DAY })).filter((p) => p.model.startsWith('flt')).map(key)).toEqual([
        [day, 'ten_a', 'free', 'flt-a', 3], [day, 'ten_b', 'pro', 'flt-a', 1], [day, 'ten_b', 'pro', 'flt-b', 1],
      ]);
      expect((await store.usageDays({ since: day, tenantId: 'ten_a', model: 'flt-a' })).map(key)).toEqual([
        [day, 'ten_a', 'free', 'flt-a', 3], [day + DAY, 'ten_a', 'free', 'flt-a', 1],
      ]);
      expect(await store.usageDays({ since: day, tenantId: 'ten_none' })).toEqual([]);
      expect(await store.usageMinutes({ since: day, tier: 'free', model: 'flt-b' })).toEqual([]);
    });

    it('stores each record’s tier, and takes records without one (an older spill file) under the empty tier', async () => {
      const at = Date.UTC(2026, 4, 1, 9);
      const withTier = usage({ startedAt: at, model: 'tiers', tier: 'enterprise' });
      const { tier: _, ...old } = usage({ startedAt: at, model: 'tiers' });
      const dir = mkdtempSync(join(tmpdir(), 'switchyard-rollup-'));
      try {
        const spill = join(dir, 'spill.jsonl');
        writeFileSync(spill, JSON.stringify(old) + '\n');
        await store.insertUsage([withTier]);
        expect(await replaySpill(store, spill)).toEqual({ replayed: 1, skipped: 0 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const rows = await store.queryUsage({ tenantId: 'ten_x', since: at, before: at + 1 });
      expect(rows.map((r) => [r.requestId, r.tier]).sort()).toEqual([[old.requestId, ''], [withTier.requestId, 'enterprise']].sort());
      expect((await store.usageMinutes({ since: at, model: 'tiers' })).map((p) => [p.tier, p.requests])).toEqual([['', 1], ['enterprise', 1]]);
    });

    it('adds nothing for a spill replayed after its records were written, or replayed twice', async () => {
      const at = Date.UTC(2026, 4, 3, 7);
      const written = [0, 1, 2].map((i) => usage({ requestId: `req_spill_${i}`, startedAt: at + i, model: 'spill', tier: 'pro', status: i === 2 ? 502 : 200 }));
      const late = usage({ requestId: 'req_spill_late', startedAt: at + 5, model: 'spill', tier: 'pro' });
      await store.insertUsage(written);
      const dir = mkdtempSync(join(tmpdir(), 'switchyard-rollup-'));
      try {
        const spill = join(dir, 'spill.jsonl');
        // the spill holds what was also flushed (a write that timed out but landed), and one record that was not
        writeFileSync(spill, [...written, late].map((r) => JSON.stringify(r)).join('\n') + '\n');
        expect(await replaySpill(store, spill, 2)).toEqual({ replayed: 4, skipped: 0 });
        await replaySpill(store, spill);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const all = [...written, late];
      expect(rounded(await store.usageMinutes({ since: at, model: 'spill' }))).toEqual(rounded(expectedPeriods(all, 'minute')));
      expect(rounded(await store.usageDays({ since: at, model: 'spill' }))).toEqual(rounded(expectedPeriods(all, 'day')));
      expect((await store.usageDays({ since: at, model: 'spill' }))[0]).toMatchObject({ requests: 4, serverErrors: 1 });
    });

    it('keeps the roll-up across a restart', async () => {
      const at = Date.UTC(2026, 4, 5);
      await store.insertUsage([usage({ startedAt: at, model: 'restart', tier: 'pro' })]);
      await store.close();
      store = await h.open(clock);
      expect((await store.usageDays({ since: at, model: 'restart' })).map((p) => p.requests)).toEqual([1]);
    });
  });
}
