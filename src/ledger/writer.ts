import type { Store, UsageRecord } from './types.js';

// The ledger writer takes records off the hot path. `record()` is a synchronous push onto an
// array used as a queue (a head index, compacted now and then); a flush takes up to `maxBatch`
// from the front and writes them in one transaction. A failed batch stays at the front and is
// retried on the next tick; inserts skip request ids already written, so a batch whose commit
// succeeded but whose reply was lost is harmless to retry. When the buffer is full, new records
// are dropped and counted: memory is bounded even if the database is gone for good.

export interface LedgerWriterOptions {
  flushIntervalMs?: number;
  maxBatch?: number;
  maxBuffered?: number;
  /** how many attempts close() gives the remaining records before dropping them (default 5) */
  closeAttempts?: number;
  onError?: (err: Error) => void;
}

export interface LedgerStats {
  buffered: number;
  written: number;
  dropped: number;
  failedFlushes: number;
}

export interface LedgerWriter {
  /** Synchronous; never throws. After close() the record is dropped and counted. */
  record(r: UsageRecord): void;
  /** Writes everything buffered when called; rejects if a batch fails (it stays buffered). */
  flush(): Promise<void>;
  /** Stops the timer and writes everything, retrying a few times; what still fails is dropped. */
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
  private failedFlushes = 0;
  private inflight: Promise<void> | null = null;
  private failing = false;
  private dropping = false;
  private malformedReported = false;
  private scheduled = false;
  private closed = false;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;
  private readonly interval: number;
  private readonly closeAttempts: number;
  private readonly onError: (err: Error) => void;
  private readonly timer: NodeJS.Timeout;
  private readonly tick = (): void => {
    this.scheduled = false;
    if (this.inflight === null && this.buf.length > this.head) this.writeBatch().catch(noop);
  };

  constructor(private readonly store: Store, opts: LedgerWriterOptions) {
    this.interval = opts.flushIntervalMs ?? 200;
    this.maxBatch = Math.max(1, opts.maxBatch ?? 500);
    this.maxBuffered = Math.max(1, opts.maxBuffered ?? 100_000);
    this.closeAttempts = Math.max(1, opts.closeAttempts ?? 5);
    this.onError = opts.onError ?? noop;
    this.timer = setInterval(this.tick, this.interval);
    this.timer.unref();
  }

  record(r: UsageRecord): void {
    // One malformed record would fail its batch on every retry and stall the ledger behind it, so
    // it is refused here (a few typeof checks, no allocation).
    if (!wellFormed(r)) {
      this.dropped++;
      if (!this.malformedReported) {
        this.malformedReported = true;
        this.onError(new Error(`malformed usage record dropped (request ${String((r as { requestId?: unknown })?.requestId)}): a field is missing or not finite`));
      }
      return;
    }
    const buffered = this.buf.length - this.head;
    if (this.closed || buffered >= this.maxBuffered) {
      this.dropped++;
      // Say so once per episode, not once per record: a full buffer means thousands per second.
      if (!this.dropping) {
        this.dropping = true;
        this.onError(new Error(this.closed ? 'ledger writer is closed; usage records are being dropped' : `ledger buffer full (${this.maxBuffered} records); usage records are being dropped until the store accepts writes`));
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

  /** Writes one batch from the front; one at a time, so order and retries stay simple. */
  private writeBatch(): Promise<void> {
    if (this.inflight) return this.inflight;
    const n = Math.min(this.maxBatch, this.buf.length - this.head);
    const batch = this.buf.slice(this.head, this.head + n);
    const p = this.store.insertUsage(batch).then(
      () => {
        this.head += n;
        this.written += n;
        this.failing = false;
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
        this.failedFlushes++;
        this.failing = true;
        const e = err instanceof Error ? err : new Error(String(err));
        this.onError(e);
        throw e;
      },
    ).finally(() => {
      this.inflight = null;
    });
    this.inflight = p;
    return p;
  }

  private compact(): void {
    if (this.head === this.buf.length) {
      this.buf.length = 0;
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.buf.length) {
      this.buf.splice(0, this.head);
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
    clearInterval(this.timer);
    let attempts = 0;
    let lastErr: Error | null = null;
    while (this.buf.length > this.head && attempts < this.closeAttempts) {
      try {
        await this.flush();
      } catch (err) {
        lastErr = err as Error;
        attempts++;
        if (attempts < this.closeAttempts) await new Promise((r) => setTimeout(r, this.interval));
      }
    }
    const left = this.buf.length - this.head;
    if (left > 0) {
      this.dropped += left;
      this.buf = [];
      this.head = 0;
      this.onError(new Error(`ledger writer closed with ${left} usage records unwritten after ${attempts} failed attempts: ${lastErr?.message ?? 'unknown error'}`));
    }
  }

  stats(): LedgerStats {
    return { buffered: this.buf.length - this.head, written: this.written, dropped: this.dropped, failedFlushes: this.failedFlushes };
  }
}

function noop(): void {}

const isCount = (n: unknown): boolean => typeof n === 'number' && Number.isFinite(n) && n >= 0;
const isText = (s: unknown): boolean => typeof s === 'string' && s !== '';

function wellFormed(r: UsageRecord): boolean {
  return r !== null && typeof r === 'object' &&
    // model may be '' (a request refused before its body named one)
    isText(r.requestId) && isText(r.tenantId) && isText(r.workspaceId) && isText(r.keyId) && typeof r.model === 'string' &&
    isText(r.outcome) && (r.wire === 'anthropic' || r.wire === 'openai') && typeof r.stream === 'boolean' &&
    (r.replica === null || typeof r.replica === 'string') && (r.region === null || typeof r.region === 'string') &&
    isCount(r.startedAt) && Number.isInteger(r.status) && Number.isInteger(r.inputTokens) && r.inputTokens >= 0 &&
    Number.isInteger(r.cachedInputTokens) && r.cachedInputTokens >= 0 && Number.isInteger(r.outputTokens) && r.outputTokens >= 0 &&
    (r.ttftMs === null || isCount(r.ttftMs)) && isCount(r.latencyMs) && isCount(r.costUsd);
}
