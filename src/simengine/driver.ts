import type { AddResult, ReplicaModel, StepResult } from '../engine/index.js';
import { wall, type Clock, type TimerHandle, type Timers } from '../time/index.js';
import type { EngineExchange } from './engine-exchange.js';

// Drives the pure replica model in real time (the wall clock unless handed another). A tick delivers the tokens of the step that
// just "ran", then plans the next step and sleeps for its modelled duration. Step boundaries are
// planned from the previous boundary, not from when the timer fired, so timer lateness does not
// accumulate (drift compensation); after a long stall (event loop blocked) the plan restarts from
// now instead of bursting. With no work there is no timer at all: an idle engine does not spin.

/** Beyond this lag the schedule restarts from now rather than catching up. */
const MAX_LAG_MS = 50;

export class EngineDriver {
  readonly model: ReplicaModel<EngineExchange>;
  /** modelled seconds per real second (tests run faster than the hardware) */
  readonly timeScale: number;
  /** fault injection: every step takes this many times longer */
  slowFactor = 1;
  #timer: TimerHandle | null = null;
  #immediate: NodeJS.Immediate | null = null;
  /** a step has been computed and its tokens are due at #nextAtMs */
  #pending: StepResult<EngineExchange> | null = null;
  #stepStartS = 0;
  #nextAtMs = 0;
  #stopped = false;
  readonly #clock: Clock;
  readonly #timers: Timers;

  constructor(model: ReplicaModel<EngineExchange>, timeScale = 1, time: { readonly clock: Clock; readonly timers: Timers } = wall) {
    if (!(timeScale > 0)) throw new RangeError(`timeScale must be > 0, got ${timeScale}`);
    this.model = model;
    this.timeScale = timeScale;
    this.#clock = time.clock;
    this.#timers = time.timers;
  }

  submit(x: EngineExchange): AddResult<EngineExchange> {
    const r = this.model.add(x);
    if (r.ok) {
      x.seq = r.seq;
      this.#kick();
    }
    return r;
  }

  abort(x: EngineExchange): void {
    this.model.abort(x.id);
  }

  /** Stop stepping; in-flight exchanges are left to the server to close. */
  stop(): void {
    this.#stopped = true;
    this.#timers.cancel(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = this.#immediate = null;
  }

  #kick(): void {
    if (this.#stopped || this.#timer !== null || this.#immediate !== null || this.#pending !== null) return;
    this.#nextAtMs = this.#clock.monoMs();
    // setImmediate: requests arriving in the same turn of the event loop share the first step
    this.#immediate = setImmediate(this.#tick);
  }

  readonly #tick = (): void => {
    this.#timer = this.#immediate = null;
    const nowMs = this.#clock.monoMs();
    const due = this.#pending;
    if (due !== null) {
      this.#pending = null;
      this.#deliver(due, nowMs / 1000);
    }
    if (this.#stopped || !this.model.hasWork) return;
    const r = this.model.step();
    this.#pending = r;
    this.#stepStartS = nowMs / 1000;
    // a step that scheduled nothing (cannot happen with a consistent model) still waits 1 ms
    const durMs = r.scheduledTokens > 0 ? (r.durationS * 1000 * this.slowFactor) / this.timeScale : 1;
    this.#nextAtMs = (nowMs - this.#nextAtMs > MAX_LAG_MS ? nowMs : this.#nextAtMs) + durMs;
    const delay = this.#nextAtMs - this.#clock.monoMs();
    if (delay >= 1) this.#timer = this.#timers.after(delay, runTick, this.#tick);
    else this.#immediate = setImmediate(this.#tick);
  };

  #deliver(r: StepResult<EngineExchange>, nowS: number): void {
    for (let i = 0; i < r.started.length; i++) {
      const x = r.started[i].req;
      if (!x.closed) x.onStarted(this.#stepStartS);
    }
    for (let i = 0; i < r.tokens.length; i++) {
      const x = r.tokens[i].req;
      if (!x.closed) x.onToken(nowS);
    }
  }
}

function runTick(tick: () => void): void {
  tick();
}
