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
    // clearTimeout clears either kind of Node timer
    if (h !== null) clearTimeout(h as NodeJS.Timeout);
  },
};

export const wallRng: Rng = Math.random;

export const wall: TimePorts = { clock: wallClock, timers: wallTimers, rng: wallRng };

/**
 * `timers.after` for a deadline on work that keeps the process alive by itself (a store call, a
 * close): on the wall the timer alone does not hold the process open; a virtual one has nothing to let go of.
 */
export function deadline<A>(timers: Timers, ms: number, fn: (arg: A) => void, arg: A): TimerHandle {
  const h = timers.after(ms, fn, arg);
  (h as { unref?: () => void }).unref?.();
  return h;
}

/** Resolves after `ms` on the given timers (the wall's by default). */
export function sleep(ms: number, timers: Timers = wallTimers): Promise<void> {
  return new Promise((resolve) => {
    timers.after(ms, resolve, undefined);
  });
}
