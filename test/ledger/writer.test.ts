import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLedgerWriter, openSpill, openStore, replaySpill, type Store, type UsageRecord } from '../../src/ledger/index.js';
import type { Clock } from '../../src/time/index.js';
import { usage } from './store.spec.js';

/** A clock a spec sets by hand; the writer's interval still runs on real timers. */
const clockAt = (read: () => number): Clock => ({ nowMs: read, monoMs: read });

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
    expect(w.stats()).toEqual({ buffered: 0, written: 12_345, dropped: 0, spilled: 0, failedFlushes: 0 });
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
    // reported when it started failing; the second failure of the same episode is only counted
    expect(errors).toEqual(['database unavailable']);
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

  it('#11 – a failing store is reported once, then as a count, then once when it recovers — not every 200 ms', async () => {
    const f = fakeStore(Infinity);
    const errors: string[] = [];
    let recovered = -1;
    let t = 0;
    const w = createLedgerWriter(f.asStore, { flushIntervalMs: 60_000, reportEveryMs: 60_000, clock: clockAt(() => t), onError: (e) => errors.push(e.message), onRecovered: (n) => (recovered = n) });
    w.record(usage());
    for (let i = 0; i < 50; i++, t += 200) await w.flush().catch(() => {});
    expect(errors).toEqual(['database unavailable']); // 50 failures in 10 s: one line
    t += 60_000;
    await w.flush().catch(() => {});
    expect(errors).toHaveLength(2);
    expect(errors[1]).toMatch(/still failing: 51 failed flushes so far, 1 records buffered/);
    f.store.failFor(0);
    await w.flush();
    expect(recovered).toBe(51);
    await w.close();
  });
});

/** lines in a spill file; 0 before it exists */
const lineCount = (path: string): number => {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

describe('the ledger writer against a store that stops answering (#11)', () => {
  /** a store whose calls never settle: a partition, not a refusal */
  const hung = () => {
    const seen = new Set<string>();
    const store = { insertUsage: (b: readonly UsageRecord[]) => { for (const r of b) seen.add(r.requestId); return new Promise<void>(() => {}); } };
    return { asStore: store as unknown as Store, seen };
  };
  const spillDir = () => mkdtempSync(join(tmpdir(), 'sy-spill-'));

  it('#11 – fails a batch the store never confirms after writeTimeoutMs, so the queue does not stall', async () => {
    const h = hung();
    const errors: string[] = [];
    const w = createLedgerWriter(h.asStore, { flushIntervalMs: 60_000, writeTimeoutMs: 30, closeTimeoutMs: 0, onError: (e) => errors.push(e.message) });
    w.record(usage());
    await expect(w.flush()).rejects.toThrow(/did not confirm/);
    expect(w.stats()).toMatchObject({ buffered: 1, failedFlushes: 1 });
    await w.close();
  });

  it('#11 – close() gives up at closeTimeoutMs and spills every unwritten record to a 0600 file', async () => {
    const h = hung();
    const path = join(spillDir(), 'ledger-spill.jsonl');
    const spill = openSpill(path);
    const errors: string[] = [];
    const w = createLedgerWriter(h.asStore, { flushIntervalMs: 10, closeTimeoutMs: 150, spill, onError: (e) => errors.push(e.message) });
    const recs = Array.from({ length: 338 }, () => usage());
    for (const r of recs) w.record(r);
    const t0 = performance.now();
    await w.close();
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(1_000);
    expect(w.stats()).toMatchObject({ buffered: 0, dropped: 0, spilled: 338, written: 0 });
    expect(errors.at(-1)).toMatch(/closed with 338 usage records unwritten .*spilled to/);
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as UsageRecord);
    expect(lines.map((r) => r.requestId)).toEqual(recs.map((r) => r.requestId));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    spill.close();
  });

  it('#11 – spills what overflows a full buffer instead of dropping it', async () => {
    const f = fakeStore(Infinity);
    const path = join(spillDir(), 'ledger-spill.jsonl');
    const spill = openSpill(path);
    const w = createLedgerWriter(f.asStore, { flushIntervalMs: 60_000, maxBuffered: 100, closeTimeoutMs: 0, spill });
    for (let i = 0; i < 150; i++) w.record(usage());
    await new Promise((r) => setImmediate(r));
    expect(w.stats()).toMatchObject({ buffered: 100, dropped: 0, spilled: 50 });
    await w.close();
    expect(w.stats()).toMatchObject({ buffered: 0, dropped: 0, spilled: 150 });
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(150);
    spill.close();
  });

  it('#11 – a replay writes the spilled records once (ids already in the store are skipped), skips a torn line, and removes the file', async () => {
    const dir = spillDir();
    const path = join(dir, 'ledger-spill.jsonl');
    const store = await openStore(`sqlite:${join(dir, 'ledger.db')}`);
    const recs = Array.from({ length: 20 }, () => usage({ tenantId: 'ten_spill' }));
    await store.insertUsage(recs.slice(0, 5)); // these committed, but their reply was lost: spilled too
    const spill = openSpill(path);
    spill.append(recs);
    spill.close();
    appendFileSync(path, '{"requestId":"req_torn","startedAt":17');
    expect(await replaySpill(store, path)).toEqual({ replayed: 20, skipped: 1 });
    expect((await store.usageSummary({ tenantId: 'ten_spill' })).requests).toBe(20);
    expect(() => statSync(path)).toThrow();
    expect(await replaySpill(store, path)).toEqual({ replayed: 0, skipped: 0 });
    await store.close();
  });

  it('#11 – a replay that fails keeps the file whole for the next start', async () => {
    const path = join(spillDir(), 'ledger-spill.jsonl');
    const spill = openSpill(path);
    spill.append([usage(), usage()]);
    spill.close();
    await expect(replaySpill(fakeStore(Infinity).asStore, path)).rejects.toThrow('database unavailable');
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('#11 – copies buffered records to the spill file once the store has failed for copyAfterMs, so a kill loses none; empties it when the store has them', async () => {
    const f = fakeStore(Infinity);
    const path = join(spillDir(), 'ledger-spill.jsonl');
    const spill = openSpill(path);
    let t = 0;
    const w = createLedgerWriter(f.asStore, { flushIntervalMs: 5, copyAfterMs: 1_000, clock: clockAt(() => t), spill });
    const lines = () => lineCount(path);
    for (let i = 0; i < 30; i++) w.record(usage());
    await until(() => w.stats().failedFlushes >= 2);
    expect(lines()).toBe(0); // failing, but not for long: memory only
    t = 1_000;
    await until(() => lines() === 30);
    for (let i = 0; i < 10; i++) w.record(usage());
    await until(() => lines() === 40); // new arrivals are copied as they come, each once
    expect(w.stats()).toMatchObject({ buffered: 40, spilled: 0 });
    f.store.failFor(0);
    await until(() => w.stats().written === 40);
    expect(lines()).toBe(0);
    await w.close();
    spill.close();
  });

  it('#11 – copies buffered records once a write has waited copyAfterMs on a silent store, before any write has failed', async () => {
    const h = hung();
    const path = join(spillDir(), 'ledger-spill.jsonl');
    const spill = openSpill(path);
    let t = 0;
    // a blackholed database fails a write only at its deadline (an hour here): the wait itself is the sign
    const w = createLedgerWriter(h.asStore, { flushIntervalMs: 5, writeTimeoutMs: 3_600_000, copyAfterMs: 1_000, closeTimeoutMs: 10, clock: clockAt(() => t), spill });
    for (let i = 0; i < 7; i++) w.record(usage());
    await new Promise((r) => setTimeout(r, 30));
    expect(lineCount(path)).toBe(0); // waiting, but not for long: memory only
    t = 1_000;
    await until(() => lineCount(path) === 7);
    expect(w.stats()).toMatchObject({ failedFlushes: 0, buffered: 7 });
    t = 1_020;
    await w.close();
    spill.close();
  });

  it('#11 – a close after copies appends only what was not copied yet', async () => {
    const h = hung();
    const path = join(spillDir(), 'ledger-spill.jsonl');
    const spill = openSpill(path);
    let t = 0;
    const w = createLedgerWriter(h.asStore, { flushIntervalMs: 5, writeTimeoutMs: 20, copyAfterMs: 0, closeTimeoutMs: 50, clock: clockAt(() => t), spill });
    for (let i = 0; i < 12; i++) w.record(usage());
    await until(() => lineCount(path) === 12);
    for (let i = 0; i < 3; i++) w.record(usage());
    t = 10;
    await w.close();
    const ids = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as UsageRecord).requestId);
    expect(ids).toHaveLength(15);
    expect(new Set(ids).size).toBe(15);
    spill.close();
  });
});
