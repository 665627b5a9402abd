/**
 * What time it is. Two readings, because the gateway needs both: `nowMs` to stamp and compare
 * against calendar time (a usage record's start, a month's spend, an ejection's end), `monoMs` to
 * measure durations (latency, time to first token, a deadline's wait), which must not jump when
 * the wall clock is stepped. Under a virtual clock both read the same virtual milliseconds.
 */
export interface Clock {
  /** milliseconds since the epoch (virtual: since the run's start) */
  nowMs(): number;
  /** a monotonic millisecond reading, for durations only */
  monoMs(): number;
}

/** An armed timer, to cancel. Opaque: the wall's is a Node timeout, the simulator's an event. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/**
 * Waiting. The callback takes one argument, so a caller passes `(fn, this)` with a static or
 * module-level `fn` instead of allocating a closure per timer (undici's habit).
 */
export interface Timers {
  /** calls `fn(arg)` once, `ms` from now */
  after<A>(ms: number, fn: (arg: A) => void, arg: A): TimerHandle;
  /** calls `fn(arg)` every `ms` until cancelled; a background loop, so it never keeps a process alive */
  every<A>(ms: number, fn: (arg: A) => void, arg: A): TimerHandle;
  /** a handle already fired or cancelled is ignored; so is null */
  cancel(h: TimerHandle | null): void;
}

/** A uniform draw in [0, 1): seeded in the simulator and in specs, Math.random on the wall. */
export type Rng = () => number;

/** The three ports together, as a driver takes them. */
export interface TimePorts {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly rng: Rng;
}
