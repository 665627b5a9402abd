import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayError } from '../api/index.js';
import { wall, type Clock, type TimerHandle, type Timers } from '../time/index.js';

// Request bodies: read up to a limit, within a deadline and above a rate floor, so a client that
// sends a byte every two seconds cannot hold a connection for ever. A body the gateway has
// answered early (413, 401, 400 before reading it) is not cut off at once: the rest is read and
// dropped for a while, as nginx's lingering close does. Closing on a client that is still sending
// makes its TCP stack reset the connection, and an undici-based SDK then reports EPIPE or a reset
// instead of the answer already waiting in its receive buffer.

export type BodyResult =
  | { ok: true; body: Buffer }
  /** too large: the caller answers 413; the rest of the body is being dropped */
  | { ok: false; reason: 'too_large' }
  /** past the deadline or below the rate floor: the caller answers 408 and closes */
  | { ok: false; reason: 'timeout' }
  /** the client went away: nothing to answer */
  | { ok: false; reason: 'aborted' };

export interface BodyTimeouts {
  /** the whole body must arrive within this of the read's start */
  timeoutMs: number;
  /** average bytes per second a body must keep up once RATE_GRACE_MS have passed; 0: no floor */
  minBytesPerSecond: number;
}

/** A body is not judged on its rate before this: a client may pause briefly before sending. */
export const RATE_GRACE_MS = 2_000;
/** After an early answer, at most this much more of a body is read and dropped before closing. */
export const LINGER_BYTES = 64 * 1024 * 1024;

const COLLECT = 0;
const DISCARD = 1;

/** One body being read (or dropped); the reader's sweep checks it against the clock. */
class BodyRead {
  mode: number;
  bytes = 0;
  readonly chunks: Buffer[] = [];
  onResult: ((r: BodyResult) => void) | null = null;

  constructor(readonly reader: BodyReader, readonly req: IncomingMessage, readonly limit: number, readonly startedAt: number, mode: number) {
    this.mode = mode;
    req.on('data', this.onData);
    req.once('end', this.onEnd);
    req.once('close', this.onClose);
    if (mode === DISCARD) this.#watchSocket();
  }

  /**
   * Once the request is answered, Node no longer ties it to its socket: a client that hangs up
   * mid-body would leave this read open until its deadline. The socket says so instead.
   */
  #watchSocket(): void {
    this.req.socket.once('close', this.onClose);
  }

  /** Off the reader's books, and off the socket (a keep-alive socket outlives many requests). */
  done(): void {
    this.reader.forget(this);
    if (this.mode === DISCARD) this.req.socket.off('close', this.onClose);
  }

  readonly onData = (c: Buffer): void => {
    this.bytes += c.length;
    if (this.mode === DISCARD) {
      if (this.bytes > this.limit + LINGER_BYTES) this.cut();
      return;
    }
    if (this.bytes > this.limit) {
      // answered with 413 from here; what is still coming is dropped, not kept
      this.mode = DISCARD;
      this.#watchSocket();
      this.chunks.length = 0;
      this.resolve({ ok: false, reason: 'too_large' });
      return;
    }
    this.chunks.push(c);
  };

  readonly onEnd = (): void => {
    this.done();
    if (this.mode === COLLECT) {
      const c = this.chunks;
      this.resolve({ ok: true, body: c.length === 1 ? c[0] : Buffer.concat(c, this.bytes) });
    }
  };

  readonly onClose = (): void => {
    this.done();
    this.resolve({ ok: false, reason: 'aborted' });
  };

  resolve(r: BodyResult): void {
    const s = this.onResult;
    if (s === null) return;
    this.onResult = null;
    s(r);
  }

  /** Late or slow: stop reading. A collecting read is answered 408 by the caller; a dropped one is closed. */
  expire(): void {
    if (this.mode === DISCARD) return this.cut();
    this.done();
    this.req.off('data', this.onData);
    this.chunks.length = 0;
    this.resolve({ ok: false, reason: 'timeout' });
  }

  /** Enough has been dropped: close the connection (the answer went out long ago). */
  cut(): void {
    this.done();
    this.req.off('data', this.onData);
    this.req.socket.destroy();
  }
}

/** Reads request bodies for one server; one timer checks every body in progress. */
export class BodyReader {
  readonly #t: BodyTimeouts;
  readonly #open = new Set<BodyRead>();
  readonly #tickMs: number;
  readonly #clock: Clock;
  readonly #timers: Timers;
  #timer: TimerHandle | null = null;

  /** `time`: the wall's by default */
  constructor(t: BodyTimeouts, time: { readonly clock: Clock; readonly timers: Timers } = wall) {
    this.#t = t;
    this.#clock = time.clock;
    this.#timers = time.timers;
    this.#tickMs = Math.max(10, Math.min(250, Math.floor(t.timeoutMs / 4)));
  }

  /** The body, up to `limit` bytes, or why not. */
  read(req: IncomingMessage, limit: number): Promise<BodyResult> {
    const declared = req.headers['content-length'];
    // A declared length over the limit is answered before a byte is read; the body is dropped.
    if (declared !== undefined && Number(declared) > limit) {
      this.discard(req);
      return Promise.resolve({ ok: false, reason: 'too_large' });
    }
    return new Promise((resolve) => {
      const r = new BodyRead(this, req, limit, this.#clock.monoMs(), COLLECT);
      r.onResult = resolve;
      this.#track(r);
    });
  }

  /** What a body that could not be read means to its client: 413, 408 (and close), or nothing (it left). */
  refusal(res: ServerResponse, read: BodyResult & { ok: false }, limit: number): GatewayError | null {
    if (read.reason === 'too_large') return { kind: 'request_too_large', message: `Request body is larger than the limit of ${limit} bytes.` };
    if (read.reason === 'timeout') {
      res.setHeader('connection', 'close');
      const t = this.#t;
      return { kind: 'request_timeout', message: `The request body did not arrive in time: it must arrive within ${t.timeoutMs} ms, at ${t.minBytesPerSecond} bytes/s at least.` };
    }
    return null;
  }

  /** The request was answered without its body: read the rest and drop it, within the same bounds. */
  discard(req: IncomingMessage): void {
    const h = req.headers;
    const none = h['transfer-encoding'] === undefined && (h['content-length'] === undefined || h['content-length'] === '0');
    if (none || req.complete || req.readableEnded) {
      req.resume();
      return;
    }
    this.#track(new BodyRead(this, req, 0, this.#clock.monoMs(), DISCARD));
  }

  /** Bodies being read or dropped now. */
  get open(): number {
    return this.#open.size;
  }

  forget(r: BodyRead): void {
    this.#open.delete(r);
  }

  /** Expires every body past its deadline or below the rate floor at `now` (monotonic ms). */
  sweep(now: number): void {
    const { timeoutMs, minBytesPerSecond } = this.#t;
    for (const r of this.#open) {
      const elapsed = now - r.startedAt;
      if (elapsed > timeoutMs) r.expire();
      else if (minBytesPerSecond > 0 && elapsed >= RATE_GRACE_MS && r.bytes < (minBytesPerSecond * elapsed) / 1000) r.expire();
    }
    if (this.#open.size === 0 && this.#timer !== null) {
      this.#timers.cancel(this.#timer);
      this.#timer = null;
    }
  }

  close(): void {
    this.#timers.cancel(this.#timer);
    this.#timer = null;
  }

  #track(r: BodyRead): void {
    this.#open.add(r);
    // a background check: it does not keep the process alive
    if (this.#timer === null) this.#timer = this.#timers.every(this.#tickMs, BodyReader.tick, this);
  }

  static tick(b: BodyReader): void {
    b.sweep(b.#clock.monoMs());
  }
}
