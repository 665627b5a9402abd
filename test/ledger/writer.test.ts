import { describe, expect, it } from 'vitest';
import { createLedgerWriter, openStore, type Store, type UsageRecord } from '../../src/ledger/index.js';
import { usage } from './store.spec.js';

/** A store that keeps what it is given and fails the calls it is told to. */
function fakeStore(failures = 0) {
  const rows = new Map<string, UsageRecord>();
  const batches: number[] = [];
  let toFail = failures;
  const store = {
    async insertUsage(batch: readonly UsageRecord[]) {
      await Promise.resolve();
      if (toFail === Infinity || toFail-- > 0) {
        throw new Error('database unavailable');
      }
      batches.push(batch.length);
      for (const r of batch) rows.set(r.requestId, r);
    },
    failFor(n: number) { toFail = n; },
  };
  return { store, asStore: store as unknown as Store, rows, batches };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('the ledger writer', () => {
  it('records synchronously and touches the store only later', () => {
    const f = fakeStore();
    let calls = 0;
    const s = { insertUsage: async (b: readonly UsageRecord[]) => { calls++; await f.store.insertUsage(b); } } as unknown as Store;
    const w = createLedgerWriter(s, { flushIntervalMs: 60_000 });
    expect(w.record(usage())).toBeUndefined();
    expect(calls).toBe(0);
    expect(w.stats().buffered).toBe(1);
    return w.close();
  });

  it('loses no record on close with thousands recorded, written in batches of at most maxBatch', async () => {
    const f = fakeStore();
    const w = createLedgerWriter(f.asStore, { flushIntervalMs: 60_000, maxBatch: 500 });
    for (let i = 0; i < 12_345; i++) w.record(usage());
    await w.close();
    expect(f.rows.size).toBe(12_345);
    expect(Math.max(...f.batches)).toBeLessThanOrEqual(500);
    expect(w.stats()).toEqual({ buffered: 0, written: 12_345, dropped: 0, failedFlushes: 0 });
  });

  it('writes a full batch without waiting for the interval', async () => {
    const f = fakeStore();
    const w = createLedgerWriter(f.asStore, { flushIntervalMs: 60_000, maxBatch: 100 });
    for (let i = 0; i < 250; i++) w.record(usage());
    await until(() => w.stats().written === 200); // two full batches; the rest waits for the tick
    expect(w.stats().buffered).toBe(50);
    await w.close();
  });

  it('writes what is left on the interval', async () => {
    const f = fakeStore();
    const w = createLedgerWriter(f.asStore, { flushIntervalMs: 10 });
    w.record(usage());
    await until(() => f.rows.size === 1);
    await w.close();
  });

  it('loses nothing when the store fails twice and then succeeds', async () => {
    const f = fakeStore(2);
    const errors: string[] = [];
    const w = createLedgerWriter(f.asStore, { flushIntervalMs: 10, maxBatch: 100, onError: (e) => errors.push(e.message) });
    for (let i = 0; i < 1000; i++) w.record(usage());
    await until(() => w.stats().written === 1000);
    expect(f.rows.size).toBe(1000);
    expect(w.stats().failedFlushes).toBe(2);
    expect(errors).toEqual(['database unavailable', 'database unavailable']);
    await w.close();
  });

  it('keeps a failed batch at the front: flush() rejects, and the next flush writes it in order', async () => {
    const f = fakeStore(1);
    const w = createLedgerWriter(f.asStore, { flushIntervalMs: 60_000 });
    const recs = [usage(), usage(), usage()];
    for (const r of recs) w.record(r);
    await expect(w.flush()).rejects.toThrow('database unavailable');
    expect(w.stats().buffered).toBe(3);
    await w.flush();
    expect([...f.rows.keys()]).toEqual(recs.map((r) => r.requestId));
    expect(w.stats()).toMatchObject({ buffered: 0, written: 3, failedFlushes: 1 });
    await w.close();
  });

  it('holds at most maxBuffered records while the store is down, counting and reporting the drops once', async () => {
    const f = fakeStore(Infinity);
    const errors: string[] = [];
    const w = createLedgerWriter(f.asStore, { flushIntervalMs: 60_000, maxBuffered: 100, onError: (e) => errors.push(e.message) });
    for (let i = 0; i < 150; i++) w.record(usage());
    expect(w.stats()).toMatchObject({ buffered: 100, dropped: 50 });
    expect(errors.filter((m) => /buffer full/.test(m))).toHaveLength(1);
    f.store.failFor(0);
    await w.flush();
    expect(f.rows.size).toBe(100);
    await w.close();
  });

  it('refuses a malformed record up front, so it cannot stall the batches behind it', async () => {
    const f = fakeStore();
    const errors: string[] = [];
    const w = createLedgerWriter(f.asStore, { flushIntervalMs: 60_000, onError: (e) => errors.push(e.message) });
    w.record(usage());
    w.record(usage({ outputTokens: NaN }));
    w.record({ ...usage(), model: undefined } as unknown as UsageRecord);
    w.record(usage());
    await w.flush();
    expect(w.stats()).toMatchObject({ written: 2, dropped: 2 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/malformed usage record dropped/);
    await w.close();
  });

  it('drops and counts records that arrive after close', async () => {
    const f = fakeStore();
    const w = createLedgerWriter(f.asStore);
    await w.close();
    w.record(usage());
    expect(w.stats()).toMatchObject({ buffered: 0, dropped: 1 });
    expect(f.rows.size).toBe(0);
  });

  it('gives up on close after a few attempts when the store stays down, and says how many were lost', async () => {
    const f = fakeStore(Infinity);
    const errors: string[] = [];
    const w = createLedgerWriter(f.asStore, { flushIntervalMs: 5, closeAttempts: 3, onError: (e) => errors.push(e.message) });
    for (let i = 0; i < 7; i++) w.record(usage());
    await w.close();
    expect(w.stats()).toMatchObject({ buffered: 0, dropped: 7, written: 0 });
    expect(errors.at(-1)).toMatch(/closed with 7 usage records unwritten/);
  });

  it('writes everything to a real SQLite store', async () => {
    const store = await openStore('sqlite::memory:');
    const w = createLedgerWriter(store, { maxBatch: 256 });
    for (let i = 0; i < 5000; i++) w.record(usage({ tenantId: 'ten_real', startedAt: 1_760_000_000_000 + i }));
    await w.close();
    expect((await store.usageSummary({ tenantId: 'ten_real' })).requests).toBe(5000);
    await store.close();
  });
});
