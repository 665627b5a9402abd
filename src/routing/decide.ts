import type { Clock, Rng } from '../time/index.js';
import type { Endpoint, RouteRequest } from './endpoint.js';
import type { Router } from './router.js';

// Pick and learn, in one place: the router's pick, then what the pick teaches (the prompt's prefix
// is now believed cached on that replica, the session sticks to it, a retry must go elsewhere, and
// the prefill the attempt owes it until its first token). The gateway and the simulator both call
// this, so what routing learns cannot differ between them.

/** One request's routing key, built once and reused by its retries (and a hedge). */
export interface RouteTicket extends RouteRequest {
  exclude: number[] | null;
  /** the prefill the current attempt owes its replica, until its first token */
  prefillOwed: number;
  random: number;
  sequence: number;
  nowS: number;
}

/** What a pick teaches (fleet/ keeps both: its PrefixIndex and SessionTable). */
export interface PrefixRecorder {
  record(slot: number, req: RouteRequest): void;
}
export interface SessionRecorder {
  record(key: string, slot: number): void;
}

export interface DecideOptions {
  readonly router: Router;
  /** the approximate prefix index to teach; null when the routing profile reads no prefixes */
  readonly prefixes: PrefixRecorder | null;
  readonly sessions: SessionRecorder;
  /** `nowS` for the staleness of scrapes (monotonic) */
  readonly clock: Clock;
  /** the picker's draws */
  readonly rng: Rng;
}

export class Decider {
  readonly #o: DecideOptions;
  #sequence = 0;

  constructor(o: DecideOptions) {
    this.#o = o;
  }

  /** The candidate index for this attempt, or -1; on a pick the learned state and the ticket are updated. */
  pick(candidates: readonly Endpoint[], t: RouteTicket): number {
    const o = this.#o;
    t.random = o.rng();
    t.sequence = this.#sequence++;
    t.nowS = o.clock.monoMs() / 1000;
    const i = o.router.pick(candidates, t);
    if (i < 0) return i;
    const slot = candidates[i].slot;
    t.prefillOwed = o.router.uncachedTokens;
    if (o.prefixes !== null) o.prefixes.record(slot, t);
    if (t.sessionKey !== null) o.sessions.record(t.sessionKey, slot);
    (t.exclude ??= []).push(slot);
    return i;
  }
}
