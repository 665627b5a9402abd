import { constants } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { brotliDecompress, gunzip, inflate, type BrotliOptions, type ZlibOptions } from 'node:zlib';
import { clip, type GatewayError } from '../api/index.js';
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

// Compressed bodies (`Content-Encoding`). The body is read as sent, within the limit, the deadline
// and the rate floor above; then it is decoded, and the limit applies again to what it decodes to.
// zlib stops as soon as its output passes the limit, so a decompression bomb costs at most the
// limit in memory, never its whole inflated size.

/** The codings a body may arrive in; `identity` (or no header) is the body as it is. */
export type BodyCoding = 'gzip' | 'deflate' | 'br';

/** The value of a 415's `accept-encoding`: what the gateway decodes. */
export const ACCEPTED_CODINGS = 'gzip, deflate, br';

type Decoder = (buf: Buffer, opts: ZlibOptions & BrotliOptions, cb: (err: Error | null, out: Buffer) => void) => void;
const DECODERS: Record<BodyCoding, Decoder> = { gzip: gunzip, deflate: inflate, br: brotliDecompress };
const MIN_CHUNK = 16 * 1024;
const MAX_CHUNK = 1024 * 1024;

/**
 * The coding a request's `Content-Encoding` names (null: identity), or the refusal: 415 for a
 * coding the gateway does not decode, or for more than one (no client stacks them).
 */
export function bodyCoding(header: string | undefined): { ok: true; coding: BodyCoding | null } | { ok: false; error: GatewayError } {
  if (header === undefined) return { ok: true, coding: null };
  const codings = header.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return { ok: true, coding: null };
  const shown = clip(header);
  if (codings.length > 1) {
    return { ok: false, error: { kind: 'unsupported_media_type', message: `content-encoding: "${shown}" applies more than one coding; send the body in one of ${ACCEPTED_CODINGS}, or uncompressed.` } };
  }
  const c = codings[0] === 'x-gzip' ? 'gzip' : codings[0];
  if (c === 'gzip' || c === 'deflate' || c === 'br') return { ok: true, coding: c };
  return { ok: false, error: { kind: 'unsupported_media_type', message: `content-encoding: "${shown}" is not supported; send the body in one of ${ACCEPTED_CODINGS}, or uncompressed.` } };
}

/** A body decoded from `coding`, at most `limit` bytes of it, or why not: 413 past the limit, 400 if it does not decode. */
export function decodeBody(body: Buffer, coding: BodyCoding, limit: number): Promise<{ ok: true; body: Buffer } | { ok: false; error: GatewayError }> {
  // zlib's output comes in chunks, each a trip to the thread pool: 16 KiB ones (the default) made a
  // 32 MiB bomb cost 300 ms, 1 MiB ones 15 ms. Sized to about what the body should decode to.
  const chunkSize = Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, body.length * 8));
  return new Promise((resolve) => {
    // zlib refuses a bound above what a Buffer may hold
    DECODERS[coding](body, { maxOutputLength: Math.min(limit, constants.MAX_LENGTH), chunkSize }, (err, out) => {
      if (err === null) return resolve({ ok: true, body: out });
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return resolve({ ok: false, error: { kind: 'request_too_large', message: `Request body decodes (content-encoding: ${coding}) to more than the limit of ${limit} bytes.` } });
      }
      resolve({ ok: false, error: { kind: 'invalid_request', message: `The request body is not valid ${coding} data (${err.message}), though content-encoding says it is; send it compressed as the header says, or uncompressed without the header.` } });
    });
  });
}
