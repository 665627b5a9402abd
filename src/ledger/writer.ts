import { sleep, wallClock, wallTimers, withDeadline, type Clock, type TimerHandle, type Timers } from '../time/index.js';
import type { SpillFile } from './spill.js';
import type { Store, UsageRecord } from './types.js';
import { wellFormed } from './well-formed.js';

// The ledger writer takes records off the hot path. `record()` is a synchronous push onto an
// array used as a queue (a head index, compacted now and then); a flush takes up to `maxBatch`
// from the front and writes them in one transaction. A failed batch stays at the front and is
// retried on the next tick; inserts skip request ids already written, so a batch whose commit
// succeeded but whose reply was lost is harmless to retry. Every write has a deadline, so a store
// that stops answering (a partition, not a refusal) fails the batch instead of stalling the queue.
//
// Nothing accepted is dropped while a spill file is given: records past a full buffer, and those
// the final flush could not write before its deadline, are appended to it (and replayed on the
// next start). Without one, they are dropped and counted; memory stays bounded either way. While
// the store has been failing for `copyAfterMs`, buffered records are also copied to the file as
// they arrive, so a process killed outright (no SIGTERM, or a crash) loses none of them either; once
// the store has taken them all, the file is emptied again.
//
// A failing store is reported once when it starts failing, then as a count every `reportEveryMs`,
// and once more when it recovers: a flush every 200 ms must not mean a log line every 200 ms.

export interface LedgerWriterOptions {
  flushIntervalMs?: number;
  maxBatch?: number;
  maxBuffered?: number;
  /** how many failed attempts close() gives the remaining records (default 5), within closeTimeoutMs */
  closeAttempts?: number;
  /** how long close() may spend writing what is left before it spills it (default 5 s) */
  closeTimeoutMs?: number;
  /** a batch the store has not confirmed within this counts as failed (default 10 s) */
  writeTimeoutMs?: number;
  /** where records go that the store cannot take; null: they are dropped and counted */
  spill?: SpillFile | null;
  /**
   * once the store has been failing, or a write has been waiting on it, for this long, buffered
   * records are copied to the spill file too, so a kill loses none (default 1 s)
   */
  copyAfterMs?: number;
  /** while the store keeps failing, how often a summary is reported (default 60 s) */
  reportEveryMs?: number;
  onError?: (err: Error) => void;
  /** the store accepts writes again after `failedFlushes` failures */
  onRecovered?: (failedFlushes: number) => void;
  /** the failing-episode and copy-after figures read `nowMs` (default: the wall clock) */
  clock?: Clock;
  /** the flush interval and the write deadlines run on these (default: Node's; neither holds the process open) */
  timers?: Timers;
}

export interface LedgerStats {
  buffered: number;
  written: number;
  dropped: number;
  /** records appended to the spill file, to be replayed on the next start */
  spilled: number;
  failedFlushes: number;
}

export interface LedgerWriter {
  /** Synchronous; never throws. After close() the record is spilled (or dropped) and counted. */
  record(r: UsageRecord): void;
  /** Writes everything buffered when called; rejects if a batch fails (it stays buffered). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left within closeTimeoutMs; the rest is spilled (or dropped). */
  close(): Promise<void>;
  stats(): LedgerStats;
}

export function createLedgerWriter(store: Store, opts: LedgerWriterOptions = {}): LedgerWriter {
  return new Writer(store, opts);
}

class Writer implements LedgerWriter {
  private buf: UsageRecord[] = [];
  private head = 0;
  private written = 0;
  private dropped = 0;
  private spilled = 0;
  private failedFlushes = 0;
  private inflight: Promise<void> | null = null;
  /** bumped when close() abandons the buffer, so a late answer to an old batch moves nothing */
  private generation = 0;
  private failing = false;
  /** failures in the current episode, and when it was last reported */
  private episodeFailures = 0;
  private reportedAt = 0;
  private dropping = false;
  private malformedReported = false;
  /** when the current failing episode began */
  private failingSince = 0;
  /** when the write in flight was sent */
  private inflightSince = 0;
  /** buf[head, copiedTo) are in the spill file as well as in memory */
  private copiedTo = 0;
  /** the spill file holds records that are not in memory (overflow): it must not be emptied */
  private fileOnly = false;
  private scheduled = false;
  private closed = false;
  /** records past a full buffer, waiting for one append to the spill file */
  private overflow: UsageRecord[] = [];
  private overflowScheduled = false;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;
  private readonly interval: number;
  private readonly closeAttempts: number;
  private readonly closeTimeoutMs: number;
  private readonly writeTimeoutMs: number;
  private readonly reportEveryMs: number;
  private readonly copyAfterMs: number;
  private readonly spill: SpillFile | null;
  private readonly onError: (err: Error) => void;
  private readonly onRecovered: (failed: number) => void;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly timer: TimerHandle;
  private readonly tick = (): void => {
    this.scheduled = false;
    if (this.spill !== null && this.troubledFor() >= this.copyAfterMs) this.copyBuffered();
    if (this.inflight === null && this.buf.length > this.head) this.writeBatch().catch(noop);
  };
  private readonly spillOverflow = (): void => {
    this.overflowScheduled = false;
    const batch = this.overflow;
    this.overflow = [];
    this.toSpill(batch, 'ledger buffer full and the spill file failed');
  };

  constructor(private readonly store: Store, opts: LedgerWriterOptions) {
    this.interval = opts.flushIntervalMs ?? 200;
    this.maxBatch = Math.max(1, opts.maxBatch ?? 500);
    this.maxBuffered = Math.max(1, opts.maxBuffered ?? 100_000);
    this.closeAttempts = Math.max(1, opts.closeAttempts ?? 5);
    this.closeTimeoutMs = Math.max(0, opts.closeTimeoutMs ?? 5_000);
    this.writeTimeoutMs = Math.max(1, opts.writeTimeoutMs ?? 10_000);
    this.reportEveryMs = Math.max(1, opts.reportEveryMs ?? 60_000);
    this.copyAfterMs = Math.max(0, opts.copyAfterMs ?? 1_000);
    this.spill = opts.spill ?? null;
    this.onError = opts.onError ?? noop;
    this.onRecovered = opts.onRecovered ?? noop;
    this.clock = opts.clock ?? wallClock;
    this.timers = opts.timers ?? wallTimers;
    this.timer = this.timers.every(this.interval, runTick, this.tick);
  }

  record(r: UsageRecord): void {
    if (!wellFormed(r)) {
      this.dropped++;
      if (!this.malformedReported) {
        this.malformedReported = true;
        this.onError(new Error(`malformed usage record dropped (request ${String((r as { requestId?: unknown })?.requestId)}): a field is missing or not finite`));
      }
      return;
    }
    if (this.closed) {
      // rare (a request settling after the drain): one synchronous append each is affordable
      this.toSpill([r], 'ledger writer is closed; usage records are being dropped');
      return;
    }
    const buffered = this.buf.length - this.head;
    if (buffered >= this.maxBuffered) {
      if (this.spill !== null && this.overflow.length < this.maxBuffered) {
        // one append + fsync per turn of the event loop, however many records overflow in it
        this.overflow.push(r);
        if (!this.overflowScheduled) {
          this.overflowScheduled = true;
          setImmediate(this.spillOverflow);
        }
        return;
      }
      this.dropped++;
      // Say so once per episode, not once per record: a full buffer means thousands per second.
      if (!this.dropping) {
        this.dropping = true;
        this.onError(new Error(`ledger buffer full (${this.maxBuffered} records); usage records are being dropped until the store accepts writes`));
      }
      return;
    }
    this.buf.push(r);
    // A full batch goes out without waiting for the tick, unless the store is failing (then the
    // tick paces the retries).
    if (buffered + 1 >= this.maxBatch && !this.scheduled && !this.failing && this.inflight === null) {
      this.scheduled = true;
      setImmediate(this.tick);
    }
  }

  /**
   * How long the store has been in trouble: failing since its first failed write was sent, or a
   * write waiting on it (a blackholed database fails a write only at its deadline). 0 when healthy.
   */
  private troubledFor(): number {
    if (this.failing) return this.clock.nowMs() - this.failingSince;
    return this.inflight === null ? 0 : this.clock.nowMs() - this.inflightSince;
  }

  /** Copies what arrived since the last copy to the spill file (they stay buffered). */
  private copyBuffered(): void {
    const from = Math.max(this.head, this.copiedTo);
    if (from >= this.buf.length) return;
    try {
      this.spill!.append(this.buf.slice(from));
      this.copiedTo = this.buf.length;
    } catch (err) {
      this.onError(new Error(`copying buffered usage records to ${this.spill!.path} failed: ${(err as Error).message}`));
    }
  }

  /** Appends to the spill file; what it cannot take (or all, without one) is dropped and reported once. */
  private toSpill(records: UsageRecord[], dropMessage: string): void {
    if (records.length === 0) return;
    if (this.spill !== null) {
      try {
        this.spill.append(records);
        this.spilled += records.length;
        this.fileOnly = true;
        return;
      } catch (err) {
        this.onError(new Error(`spilling ${records.length} usage records to ${this.spill.path} failed: ${(err as Error).message}`));
      }
    }
    this.dropped += records.length;
    if (!this.dropping) {
      this.dropping = true;
      this.onError(new Error(dropMessage));
    }
  }

  /** Writes one batch from the front; one at a time, so order and retries stay simple. */
  private writeBatch(): Promise<void> {
    if (this.inflight) return this.inflight;
    const n = Math.min(this.maxBatch, this.buf.length - this.head);
    const batch = this.buf.slice(this.head, this.head + n);
    const gen = this.generation;
    const sentAt = this.clock.nowMs();
    this.inflightSince = sentAt;
    const p = withDeadline(this.timers, this.store.insertUsage(batch), this.writeTimeoutMs, 'the store did not confirm a usage batch').then(
      () => {
        if (gen !== this.generation) return;
        this.head += n;
        this.written += n;
        if (this.failing) this.recovered();
        // every copied record has reached the store: the copies are not needed
        if (this.copiedTo > 0 && this.head >= this.copiedTo && !this.fileOnly) {
          try {
            this.spill!.clear();
          } catch { /* kept: replaying copies is harmless */ }
          this.copiedTo = 0;
        }
        if (!this.closed) this.dropping = false;
        this.malformedReported = false;
        this.compact();
        // Still a full batch behind: keep going rather than wait for the tick.
        if (!this.closed && !this.scheduled && this.buf.length - this.head >= this.maxBatch) {
          this.scheduled = true;
          setImmediate(this.tick);
        }
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        if (gen === this.generation) this.failed(e, sentAt);
        throw e;
      },
    ).finally(() => {
      if (gen === this.generation) this.inflight = null;
    });
    this.inflight = p;
    return p;
  }

  private failed(e: Error, sentAt: number): void {
    this.failedFlushes++;
    this.episodeFailures++;
    const t = this.clock.nowMs();
    if (!this.failing) {
      this.failing = true;
      this.failingSince = sentAt;
      this.reportedAt = t;
      this.onError(e);
    } else if (t - this.reportedAt >= this.reportEveryMs) {
      this.reportedAt = t;
      this.onError(new Error(`ledger writes still failing: ${this.episodeFailures} failed flushes so far, ${this.buf.length - this.head} records buffered; last error: ${e.message}`));
    }
  }

  private recovered(): void {
    this.failing = false;
    const n = this.episodeFailures;
    this.episodeFailures = 0;
    this.onRecovered(n);
  }

  private compact(): void {
    if (this.head === this.buf.length) {
      this.buf.length = 0;
      this.copiedTo = Math.max(0, this.copiedTo - this.head);
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.buf.length) {
      this.buf.splice(0, this.head);
      this.copiedTo = Math.max(0, this.copiedTo - this.head);
      this.head = 0;
    }
  }

  async flush(): Promise<void> {
    // Bounded by what is buffered now, so a steady stream of new records cannot keep it busy.
    const goal = this.written + (this.buf.length - this.head);
    if (this.inflight) await this.inflight.catch(noop);
    while (this.written < goal && this.buf.length > this.head) await this.writeBatch();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.cancel(this.timer);
    if (this.overflowScheduled) this.spillOverflow();
    const deadline = this.clock.nowMs() + this.closeTimeoutMs;
    let attempts = 0;
    let lastErr: Error | null = null;
    while (this.buf.length > this.head && attempts < this.closeAttempts) {
      const left = deadline - this.clock.nowMs();
      if (left <= 0) {
        lastErr ??= new Error(`the final flush passed its ${this.closeTimeoutMs} ms deadline`);
        break;
      }
      try {
        await withDeadline(this.timers, this.flush(), left, `the final flush passed its ${this.closeTimeoutMs} ms deadline`);
      } catch (err) {
        lastErr = err as Error;
        attempts++;
        const wait = Math.min(this.interval, deadline - this.clock.nowMs());
        if (attempts < this.closeAttempts && wait > 0) await sleep(wait, this.timers);
      }
    }
    const left = this.buf.length - this.head;
    if (left === 0) return;
    // What is left includes a batch still in flight: it may yet commit, and then its replay is
    // skipped. Records already copied to the file are there: only the rest is appended.
    const rest = this.buf.slice(Math.max(this.head, this.copiedTo));
    this.generation++;
    this.inflight = null;
    this.buf = [];
    this.head = 0;
    const why = lastErr?.message ?? 'unknown error';
    if (this.spill !== null) {
      try {
        this.spill.append(rest);
        this.spilled += left;
        this.onError(new Error(`ledger writer closed with ${left} usage records unwritten (${why}); spilled to ${this.spill.path}, replayed into the store on the next start`));
        return;
      } catch (err) {
        this.onError(new Error(`spilling ${left} usage records to ${this.spill.path} failed: ${(err as Error).message}`));
      }
    }
    this.dropped += left;
    this.onError(new Error(`ledger writer closed with ${left} usage records unwritten after ${attempts} failed attempts: ${why}`));
  }

  stats(): LedgerStats {
    return { buffered: this.buf.length - this.head, written: this.written, dropped: this.dropped, spilled: this.spilled, failedFlushes: this.failedFlushes };
  }
}

function noop(): void {}

function runTick(tick: () => void): void {
  tick();
}

