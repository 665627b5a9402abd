// A circuit breaker for the shared rate-limit store. Closed: every call goes to Redis, and
// `failures` failed calls in a row, made over at least `minSpanMs`, open it. The span tells a
// partition (calls keep failing, one after another) from a stall of this process (a busy event
// loop times out every call in flight at the same instant, and the next ones succeed). Open: no
// call goes (the caller decides by its fail mode at once, instead of waiting out a timeout per
// request); after `probeMs` one call is let through as a probe (half-open). The probe's success
// closes the breaker; its failure opens it for another `probeMs`. Pure: time is the caller's
// `nowMs`, so it runs on a virtual clock.

export type BreakerState = 'closed' | 'open' | 'half_open';

/** What the caller may do now: call the store, call it as the one probe, or not call it. */
export type Permit = 'call' | 'probe' | 'skip';

export interface BreakerOptions {
  /** consecutive failures that open the breaker (default 5) */
  readonly failures?: number;
  /** the failures in a row must have been made over at least this long (default 1 s) */
  readonly minSpanMs?: number;
  /** how long it stays open before one probe (default 2 s) */
  readonly probeMs?: number;
}

export class Breaker {
  readonly #threshold: number;
  readonly #probeMs: number;
  readonly #minSpanMs: number;
  /** when the first call of the current run of failures was made */
  #firstFailedAt = 0;
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAt = 0;
  /** times it has opened, for the log and the metrics */
  opens = 0;

  constructor(opts: BreakerOptions = {}) {
    this.#threshold = Math.max(1, opts.failures ?? 5);
    this.#probeMs = Math.max(1, opts.probeMs ?? 2_000);
    this.#minSpanMs = Math.max(0, opts.minSpanMs ?? 1_000);
  }

  get state(): BreakerState {
    return this.#state;
  }

  permit(nowMs: number): Permit {
    if (this.#state === 'closed') return 'call';
    // half-open: a probe that has not answered in probeMs (its call has a timeout of its own) is
    // taken as lost, so the breaker cannot stay half-open for good
    if (nowMs - this.#openedAt >= this.#probeMs) {
      this.#state = 'half_open';
      this.#openedAt = nowMs;
      return 'probe';
    }
    return 'skip';
  }

  /** A call made under `permit` answered. */
  success(permit: Permit): void {
    if (permit === 'probe' || this.#state === 'closed') {
      this.#state = 'closed';
      this.#failures = 0;
    }
    // a slow call from before the breaker opened proves little: the probe decides
  }

  /** A call made under `permit` at `nowMs` failed or timed out. */
  failure(permit: Permit, nowMs: number): void {
    if (permit === 'probe') return this.#open(nowMs);
    if (this.#state !== 'closed') return;
    if (this.#failures++ === 0) this.#firstFailedAt = nowMs;
    // calls answer out of order: the run spans from its earliest call to its latest
    else if (nowMs < this.#firstFailedAt) this.#firstFailedAt = nowMs;
    if (this.#failures >= this.#threshold && nowMs - this.#firstFailedAt >= this.#minSpanMs) this.#open(nowMs);
  }

  #open(nowMs: number): void {
    this.#state = 'open';
    this.#openedAt = nowMs;
    this.#failures = 0;
    this.opens++;
  }
}
