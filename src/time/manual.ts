import type { Clock, Rng, TimePorts, TimerHandle, Timers } from './ports.js';

interface Pending {
  at: number;
  readonly seq: number;
  readonly fn: (arg: unknown) => void;
  readonly arg: unknown;
  /** 0 for a one-shot timer */
  readonly everyMs: number;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to, with the timers due on the way fired in time order (ties in
 * the order they were armed). For specs that drive a timer-using driver without sleeping; the
 * simulator has its own implementation of the same ports on its agenda.
 */
export class ManualTime implements Clock, Timers {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  nowMs(): number {
    return this.#now;
  }

  monoMs(): number {
    return this.#now;
  }

  after<A>(ms: number, fn: (arg: A) => void, arg: A): TimerHandle {
    return this.#arm(ms, fn as (a: unknown) => void, arg, 0);
  }

  every<A>(ms: number, fn: (arg: A) => void, arg: A): TimerHandle {
    return this.#arm(ms, fn as (a: unknown) => void, arg, Math.max(1, ms));
  }

  cancel(h: TimerHandle | null): void {
    if (h !== null) (h as Pending).cancelled = true;
  }

  /** Timers armed and not yet fired or cancelled. */
  get armed(): number {
    return this.#pending.filter((p) => !p.cancelled).length;
  }

  /** Moves the clock `ms` forward, firing what falls due (a timer armed on the way fires too if due). */
  advance(ms: number): void {
    const end = this.#now + Math.max(0, ms);
    for (;;) {
      const next = this.#next();
      if (next === null || next.at > end) break;
      this.#now = Math.max(this.#now, next.at);
      this.#fire(next);
    }
    this.#now = end;
  }

  /** Fires timers in order until none is armed or `limit` have fired; returns how many fired. */
  runAll(limit = 100_000): number {
    let n = 0;
    for (let next = this.#next(); next !== null && n < limit; next = this.#next(), n++) {
      this.#now = Math.max(this.#now, next.at);
      this.#fire(next);
    }
    return n;
  }

  /** the three ports over this clock, with the given draws (a seeded one, for a reproducible spec) */
  ports(rng: Rng): TimePorts {
    return { clock: this, timers: this, rng };
  }

  #arm(ms: number, fn: (a: unknown) => void, arg: unknown, everyMs: number): Pending {
    const p: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, arg, everyMs, cancelled: false };
    this.#pending.push(p);
    return p;
  }

  #next(): Pending | null {
    this.#pending = this.#pending.filter((p) => !p.cancelled);
    let best: Pending | null = null;
    for (const p of this.#pending) if (best === null || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p;
    return best;
  }

  #fire(p: Pending): void {
    if (p.everyMs > 0) p.at += p.everyMs;
    else p.cancelled = true;
    p.fn(p.arg);
  }
}
