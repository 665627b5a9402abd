import type { Clock, Rng, TimePorts, TimerHandle, Timers } from './ports.js';

// The real clock, Node's timers and Math.random: the only place outside cli/ and the process
// entry points that touches them (a spec greps src/ for it).

export const wallClock: Clock = {
  nowMs: () => Date.now(),
  monoMs: () => performance.now(),
};

export const wallTimers: Timers = {
  after<A>(ms: number, fn: (arg: A) => void, arg: A): TimerHandle {
    return setTimeout(fn, ms, arg);
  },
  every<A>(ms: number, fn: (arg: A) => void, arg: A): TimerHandle {
    const t = setInterval(fn, ms, arg);
    t.unref();
    return t;
  },
  cancel(h: TimerHandle | null): void {
    if (h instanceof IoDeadline) return h.cancel();
    // clearTimeout clears either kind of Node timer
    if (h !== null) clearTimeout(h as NodeJS.Timeout);
  },
};

export const wallRng: Rng = Math.random;

export const wall: TimePorts = { clock: wallClock, timers: wallTimers, rng: wallRng };

/**
 * `timers.after` for a deadline on I/O (a store call, a close). On the wall it differs twice:
 * - the timer alone does not hold the process open (the work does, while it runs);
 * - it is judged only after the I/O already in has been read. Node runs due timers before it reads
 *   sockets, so after this process stalls (a burst parsed, a GC pause, a starved CPU) every
 *   deadline would fire ahead of answers that came in on time and wait in the socket: a 300 ms
 *   stall failed all 20 Redis calls in flight though Redis had answered each in microseconds.
 * A virtual clock has no sockets, so there it is `timers.after`.
 */
export function deadline<A>(timers: Timers, ms: number, fn: (arg: A) => void, arg: A): TimerHandle {
  if (timers === wallTimers) return new IoDeadline(ms, fn as (arg: unknown) => void, arg);
  return timers.after(ms, fn, arg);
}

/** The work did not finish before its deadline (`withDeadline`). */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
}

/** `p`, or a `DeadlineExceeded` with `message` once `ms` have passed (judged as `deadline` is). */
export function withDeadline<T>(timers: Timers, p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const h = deadline(timers, ms, expire, { reject, message });
    p.then(
      (v) => { timers.cancel(h); resolve(v); },
      (err: unknown) => { timers.cancel(h); reject(err); },
    );
  });
}

function expire(d: { reject: (err: Error) => void; message: string }): void {
  d.reject(new DeadlineExceeded(d.message));
}

/** A wall timer whose callback runs in the check phase after it fires: after that turn's socket reads. */
class IoDeadline {
  #timeout: NodeJS.Timeout | null;
  #immediate: NodeJS.Immediate | null = null;
  readonly #fn: (arg: unknown) => void;
  readonly #arg: unknown;

  constructor(ms: number, fn: (arg: unknown) => void, arg: unknown) {
    this.#fn = fn;
    this.#arg = arg;
    this.#timeout = setTimeout(IoDeadline.#due, ms, this).unref();
  }

  static #due(d: IoDeadline): void {
    d.#timeout = null;
    // referenced: an unreferenced immediate does not stop the poll phase from blocking, so with
    // no other I/O under way (a partition) it would not run until something else woke the loop
    d.#immediate = setImmediate(IoDeadline.#judge, d);
  }

  static #judge(d: IoDeadline): void {
    d.#immediate = null;
    d.#fn(d.#arg);
  }

  cancel(): void {
    if (this.#timeout !== null) clearTimeout(this.#timeout);
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#timeout = this.#immediate = null;
  }
}

/** Resolves after `ms` on the given timers (the wall's by default). */
export function sleep(ms: number, timers: Timers = wallTimers): Promise<void> {
  return new Promise((resolve) => {
    timers.after(ms, resolve, undefined);
  });
}
