import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaTimeRecord, Store } from '../../src/ledger/index.js';
import type { Clock } from '../../src/time/index.js';
import { usage } from './store.spec.js';

// The unit-economics port of the store (replica time in, replica time and tokens per day out): one
// specification for every backend, so both give the same answers. `open` may be called several
// times and must reach the same database each time (a restart); every test keeps to days of its own.

export interface CostHarness {
  open(clock: Clock): Promise<Store>;
  cleanup(): Promise<void>;
}

const DAY = 86_400_000;
const midnight = (day: string) => Date.parse(day + 'T00:00:00Z');

function time(over: Partial<ReplicaTimeRecord> = {}): ReplicaTimeRecord {
  return {
    day: '2026-01-01', replica: 'us-east/llama-3.1-8b/0', pool: 'us-east/llama-3.1-8b', region: 'us-east', model: 'llama-3.1-8b',
    profile: 'h100-vllm', gpu: 'H100', gpus: 1, usdPerGpuHour: 2.5, upS: 60, busyS: 30, ...over,
  };
}

export function costSpec(name: string, makeHarness: () => CostHarness): void {
  describe(`replica time and tokens per day in the ${name} store`, () => {
    let h: CostHarness;
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

    const dayOnly = (day: string) => ({ since: midnight(day), before: midnight(day) + DAY });

    describe('adding replica time', () => {
      it('adds the seconds of a second write to the same day and replica, and keeps its newest fields', async () => {
        await store.addReplicaTime([time({ day: '2026-01-01', upS: 60, busyS: 30 })]);
        await store.addReplicaTime([time({ day: '2026-01-01', upS: 1.5, busyS: 0.25, usdPerGpuHour: 3, profile: null, gpu: null, gpus: 2 })]);
        expect(await store.replicaTime(dayOnly('2026-01-01'))).toEqual([
          time({ day: '2026-01-01', upS: 61.5, busyS: 30.25, usdPerGpuHour: 3, profile: null, gpu: null, gpus: 2 }),
        ]);
      });

      it('sums records for one day and replica within a batch, the last one’s fields standing', async () => {
        await store.addReplicaTime([
          time({ day: '2026-01-02', upS: 10, busyS: 1, usdPerGpuHour: 2 }),
          time({ day: '2026-01-02', upS: 20, busyS: 2, usdPerGpuHour: 4 }),
          time({ day: '2026-01-02', upS: 30, busyS: 3, usdPerGpuHour: 8 }),
        ]);
        expect(await store.replicaTime(dayOnly('2026-01-02'))).toEqual([time({ day: '2026-01-02', upS: 60, busyS: 6, usdPerGpuHour: 8 })]);
      });

      it('keeps one row per day and replica, read back ordered by day then replica', async () => {
        const a = { replica: 'eu-west/qwen/0', pool: 'eu-west/qwen', region: 'eu-west', model: 'qwen' };
        const b = { replica: 'us-east/qwen/1', pool: 'us-east/qwen', region: 'us-east', model: 'qwen' };
        await store.addReplicaTime([
          time({ ...b, day: '2026-02-02', upS: 4 }),
          time({ ...a, day: '2026-02-02', upS: 3 }),
          time({ ...b, day: '2026-02-01', upS: 2 }),
          time({ ...a, day: '2026-02-01', upS: 1 }),
        ]);
        const rows = await store.replicaTime({ since: midnight('2026-02-01'), before: midnight('2026-02-03') });
        expect(rows.map((r) => [r.day, r.replica, r.upS])).toEqual([
          ['2026-02-01', a.replica, 1], ['2026-02-01', b.replica, 2], ['2026-02-02', a.replica, 3], ['2026-02-02', b.replica, 4],
        ]);
        expect(rows[0]).toEqual(time({ ...a, day: '2026-02-01', upS: 1 }));
      });

      it('keeps what it added across a reopen', async () => {
        await store.addReplicaTime([time({ day: '2026-03-01', upS: 7 })]);
        const again = await h.open(clock);
        try {
          await again.addReplicaTime([time({ day: '2026-03-01', upS: 5 })]);
          expect((await again.replicaTime(dayOnly('2026-03-01'))).map((r) => r.upS)).toEqual([12]);
        } finally {
          await again.close();
        }
        expect((await store.replicaTime(dayOnly('2026-03-01'))).map((r) => r.upS)).toEqual([12]);
      });

      // Without a fixed row order, PostgreSQL deadlocks here (seen): each upsert locks its rows as it goes.
      it('adds every writer’s seconds when two write the same rows at once, in opposite orders', async () => {
        const other = await h.open(clock);
        try {
          const replicas = Array.from({ length: 400 }, (_, i) => `r-${String(i).padStart(3, '0')}`);
          const batch = (upS: number) => replicas.map((replica) => time({ day: '2026-03-03', replica, upS }));
          await Promise.all(Array.from({ length: 10 }, (_, k) =>
            k % 2 === 0 ? store.addReplicaTime(batch(1)) : other.addReplicaTime(batch(2).reverse())));
          const rows = await store.replicaTime(dayOnly('2026-03-03'));
          expect(rows.map((r) => [r.replica, r.upS])).toEqual(replicas.map((r) => [r, 5 * 1 + 5 * 2]));
        } finally {
          await other.close();
        }
      });

      it('writes nothing for an empty batch', async () => {
        await store.addReplicaTime([]);
        expect(await store.replicaTime(dayOnly('2026-03-02'))).toEqual([]);
      });
    });

    describe('the window of days', () => {
      const days = ['2026-04-01', '2026-04-02', '2026-04-03', '2026-04-04'];
      beforeAll(async () => {
        await store.addReplicaTime(days.map((day) => time({ day })));
      });
      const asked = async (since: number, before: number) => (await store.replicaTime({ since, before })).map((r) => r.day);

      it('includes the day at since and excludes the day at before', async () => {
        expect(await asked(midnight('2026-04-02'), midnight('2026-04-04'))).toEqual(['2026-04-02', '2026-04-03']);
      });

      it('takes a day when its UTC midnight lies in the window, not when the window merely touches it', async () => {
        // since an hour into the 2nd: the 2nd began before the window; before an hour into the 4th: the 4th began inside it
        expect(await asked(midnight('2026-04-02') + 3_600_000, midnight('2026-04-04') + 3_600_000)).toEqual(['2026-04-03', '2026-04-04']);
        expect(await asked(midnight('2026-04-02') - 1, midnight('2026-04-02') + 1)).toEqual(['2026-04-02']);
      });

      it('answers nothing for an empty or reversed window, and everything for an unbounded one', async () => {
        expect(await asked(midnight('2026-04-02'), midnight('2026-04-02'))).toEqual([]);
        expect(await asked(midnight('2026-04-03'), midnight('2026-04-02'))).toEqual([]);
        expect(await asked(-Infinity, Infinity)).toEqual(expect.arrayContaining(days));
      });

      it('refuses a window bound that is not a time', async () => {
        await expect(store.replicaTime({ since: Number.NaN, before: 0 })).rejects.toThrow(/window\.since/);
        await expect(store.tokensByDay({ since: 0, before: Number.NaN })).rejects.toThrow(/window\.before/);
      });
    });

    describe('refusing a bad record', () => {
      const bad: Array<[string, Partial<ReplicaTimeRecord>, RegExp]> = [
        ['negative up seconds', { upS: -1 }, /replicaTime\[1\]\.upS/],
        ['negative busy seconds', { busyS: -0.5 }, /replicaTime\[1\]\.busyS/],
        ['infinite up seconds', { upS: Infinity }, /replicaTime\[1\]\.upS/],
        ['busy seconds not a number', { busyS: Number.NaN }, /replicaTime\[1\]\.busyS/],
        ['a day not in YYYY-MM-DD form', { day: '2026-5-1' }, /replicaTime\[1\]\.day/],
        ['a day that is not on the calendar', { day: '2026-02-30' }, /replicaTime\[1\]\.day/],
        ['a negative price', { usdPerGpuHour: -2 }, /replicaTime\[1\]\.usdPerGpuHour/],
        ['a fractional GPU count', { gpus: 1.5 }, /replicaTime\[1\]\.gpus/],
        ['an empty replica id', { replica: '' }, /replicaTime\[1\]\.replica/],
      ];
      for (const [what, over, path] of bad) {
        it(`refuses ${what}, naming the field, and writes nothing of its batch`, async () => {
          const day = '2026-05-01';
          const good = time({ day, replica: `r-${what}` });
          await expect(store.addReplicaTime([good, time({ day, ...over })])).rejects.toThrow(path);
          await expect(store.addReplicaTime([good, time({ day, ...over })])).rejects.toMatchObject({ name: 'CostStoreError', kind: 'invalid' });
          expect((await store.replicaTime(dayOnly(day))).filter((r) => r.replica === good.replica)).toEqual([]);
        });
      }

      it('refuses a record whose day is not text', async () => {
        const r = { ...time(), day: 20260501 } as unknown as ReplicaTimeRecord;
        await expect(store.addReplicaTime([r])).rejects.toThrow(/replicaTime\[0\]\.day/);
      });
    });

    describe('tokens per day from the usage records', () => {
      // Later than every other usage record the store specs write, so these windows hold only these.
      const D = midnight('2027-06-10');

      it('sums requests and input, cached and output tokens per day, replica, region, tenant and model', async () => {
        await store.insertUsage([
          usage({ tenantId: 'ten_a', startedAt: D + 1_000, inputTokens: 100, cachedInputTokens: 40, outputTokens: 10 }),
          usage({ tenantId: 'ten_a', startedAt: D + 2_000, inputTokens: 200, cachedInputTokens: 0, outputTokens: 20 }),
          usage({ tenantId: 'ten_b', startedAt: D + 3_000, inputTokens: 50, cachedInputTokens: 50, outputTokens: 5 }),
          usage({ tenantId: 'ten_a', startedAt: D + 4_000, model: 'qwen', inputTokens: 7, cachedInputTokens: 1, outputTokens: 3 }),
          // refused before placement: no replica, no region
          usage({ tenantId: 'ten_b', startedAt: D + 5_000, replica: null, region: null, inputTokens: 9, cachedInputTokens: 0, outputTokens: 0, outcome: 'overloaded', status: 529 }),
          usage({ tenantId: 'ten_a', startedAt: D + 6_000, replica: 'eu-west/llama-3.1-8b/0', region: 'eu-west', inputTokens: 11, cachedInputTokens: 2, outputTokens: 1 }),
        ]);
        const r = 'us-east/llama-3.1-8b/0';
        const day = '2027-06-10';
        expect(await store.tokensByDay({ since: D, before: D + DAY })).toEqual([
          { day, replica: null, region: null, tenantId: 'ten_b', model: 'llama-3.1-8b', requests: 1, inputTokens: 9, cachedInputTokens: 0, outputTokens: 0 },
          { day, replica: 'eu-west/llama-3.1-8b/0', region: 'eu-west', tenantId: 'ten_a', model: 'llama-3.1-8b', requests: 1, inputTokens: 11, cachedInputTokens: 2, outputTokens: 1 },
          { day, replica: r, region: 'us-east', tenantId: 'ten_a', model: 'llama-3.1-8b', requests: 2, inputTokens: 300, cachedInputTokens: 40, outputTokens: 30 },
          { day, replica: r, region: 'us-east', tenantId: 'ten_a', model: 'qwen', requests: 1, inputTokens: 7, cachedInputTokens: 1, outputTokens: 3 },
          { day, replica: r, region: 'us-east', tenantId: 'ten_b', model: 'llama-3.1-8b', requests: 1, inputTokens: 50, cachedInputTokens: 50, outputTokens: 5 },
        ]);
      });

      it('puts a request in the UTC day it started in, and keeps to the window: since inclusive, before exclusive', async () => {
        const E = D + 10 * DAY; // 2027-06-20
        await store.insertUsage([
          usage({ tenantId: 'ten_edge', startedAt: E - 1, outputTokens: 1 }), // the 19th's last ms
          usage({ tenantId: 'ten_edge', startedAt: E, outputTokens: 2 }), // the 20th's first
          usage({ tenantId: 'ten_edge', startedAt: E + DAY - 1, outputTokens: 4 }), // the 20th's last
          usage({ tenantId: 'ten_edge', startedAt: E + DAY, outputTokens: 8 }), // the 21st's first
        ]);
        const days = async (since: number, before: number) =>
          (await store.tokensByDay({ since, before })).map((t) => [t.day, t.requests, t.outputTokens]);
        expect(await days(E - DAY, E + 2 * DAY)).toEqual([['2027-06-19', 1, 1], ['2027-06-20', 2, 6], ['2027-06-21', 1, 8]]);
        expect(await days(E, E + DAY)).toEqual([['2027-06-20', 2, 6]]);
        // a window cut inside a day counts only the requests that started inside it
        expect(await days(E - 1, E + 1)).toEqual([['2027-06-19', 1, 1], ['2027-06-20', 1, 2]]);
        expect(await days(E + 1, E + DAY - 1)).toEqual([]);
        expect(await days(E + 0.5, E + DAY - 0.5)).toEqual([['2027-06-20', 1, 4]]);
      });

      it('answers nothing for an empty window', async () => {
        expect(await store.tokensByDay({ since: D, before: D })).toEqual([]);
        expect(await store.tokensByDay({ since: D + DAY, before: D })).toEqual([]);
      });
    });
  });
}
