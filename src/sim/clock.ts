import type { Clock, TimerHandle, Timers } from '../time/index.js';
import type { Agenda } from './events.js';

// The simulator's agenda as the time ports: virtual time reads as the event being handled, and a
// timer is an agenda event that carries its callback. A timer armed for the same instant as other
// events runs after those scheduled before it (the agenda's tie order), so a driver that takes the
// ports sees the same order of events in the simulator as on its own ManualTime.

interface SimTimer {
  readonly fn: (arg: unknown) => void;
  readonly arg: unknown;
  /** 0 for a one-shot timer */
  readonly everyMs: number;
  cancelled: boolean;
}

export class AgendaClock<K> implements Clock, Timers {
  readonly #agenda: Agenda<K>;
  readonly #kind: K;
  /** armed timers by the id their event carries */
  readonly #timers = new Map<number, SimTimer>();
  #id = 0;
  /** virtual seconds: the time of the event being handled (the loop sets it) */
  nowS = 0;

  /** `kind` is the event kind the loop hands back through `fire`. */
  constructor(agenda: Agenda<K>, kind: K) {
    this.#agenda = agenda;
    this.#kind = kind;
  }

  nowMs(): number {
    return this.nowS * 1000;
  }

  monoMs(): number {
    return this.nowS * 1000;
  }

  after<A>(ms: number, fn: (arg: A) => void, arg: A): TimerHandle {
    return this.#arm(ms, fn as (a: unknown) => void, arg, 0);
  }

  every<A>(ms: number, fn: (arg: A) => void, arg: A): TimerHandle {
    return this.#arm(ms, fn as (a: unknown) => void, arg, Math.max(1, ms));
  }

  cancel(h: TimerHandle | null): void {
    if (h !== null) (h as SimTimer).cancelled = true;
  }

  /** Timers armed and not yet fired or cancelled. */
  get armed(): number {
    let n = 0;
    for (const t of this.#timers.values()) if (!t.cancelled) n++;
    return n;
  }

  /** The loop met a timer event (`target` is its id): run it, unless it was cancelled. */
  fire(id: number): void {
    const t = this.#timers.get(id);
    if (t === undefined) return;
    this.#timers.delete(id);
    if (t.cancelled) return;
    if (t.everyMs > 0) this.#schedule(t, t.everyMs);
    t.fn(t.arg);
  }

  #arm(ms: number, fn: (a: unknown) => void, arg: unknown, everyMs: number): SimTimer {
    const t: SimTimer = { fn, arg, everyMs, cancelled: false };
    this.#schedule(t, ms);
    return t;
  }

  #schedule(t: SimTimer, ms: number): void {
    const id = this.#id++;
    this.#timers.set(id, t);
    // from the millisecond reading, so a deadline computed in ms lands where it was computed
    this.#agenda.at((this.nowMs() + Math.max(0, ms)) / 1000, this.#kind, id);
  }
}
