// A pool's trailing hour: one-minute slots in a ring, each holding the replica time, GPU cost and
// tokens (per tenant) of its minute. A slot is reused when its minute comes round again, so adding
// costs no allocation but a tenant's first tokens in a minute. The trailing hour is the current
// (partial) minute, the 59 before it, and the part of the one before those that is still within
// the hour (its sums scaled by that part): a window that slides smoothly rather than by minutes.

export const SLOT_MS = 60_000;
/** the window's length in slots */
export const SLOTS = 60;
/** one more than the window: the oldest, partly inside it */
const RING = SLOTS + 1;

export interface TokenSum {
  input: number;
  cached: number;
  output: number;
}

class Slot {
  minute = -1;
  upMs = 0;
  busyMs = 0;
  usd = 0;
  readonly tokens = new Map<string, TokenSum>();

  at(minute: number): this {
    if (this.minute !== minute) {
      this.minute = minute;
      this.upMs = 0;
      this.busyMs = 0;
      this.usd = 0;
      this.tokens.clear();
    }
    return this;
  }
}

/** The trailing hour's sums. */
export interface WindowSums {
  upMs: number;
  busyMs: number;
  usd: number;
  /** per tenant */
  readonly tokens: Map<string, TokenSum>;
}

export class TrailingHour {
  readonly #slots = Array.from({ length: RING }, () => new Slot());

  #slot(nowMs: number): Slot {
    const minute = Math.floor(nowMs / SLOT_MS);
    return this.#slots[minute % RING].at(minute);
  }

  addTime(nowMs: number, upMs: number, busyMs: number, usd: number): void {
    const s = this.#slot(nowMs);
    s.upMs += upMs;
    s.busyMs += busyMs;
    s.usd += usd;
  }

  addTokens(nowMs: number, tenant: string, input: number, cached: number, output: number): void {
    const s = this.#slot(nowMs);
    let t = s.tokens.get(tenant);
    if (t === undefined) s.tokens.set(tenant, (t = { input: 0, cached: 0, output: 0 }));
    t.input += input;
    t.cached += cached;
    t.output += output;
  }

  sums(nowMs: number): WindowSums {
    const now = Math.floor(nowMs / SLOT_MS);
    // the share of the oldest slot's minute that is still within the hour
    const oldest = 1 - (nowMs - now * SLOT_MS) / SLOT_MS;
    const out: WindowSums = { upMs: 0, busyMs: 0, usd: 0, tokens: new Map() };
    for (const s of this.#slots) {
      if (s.minute < now - SLOTS || s.minute > now) continue;
      const f = s.minute === now - SLOTS ? oldest : 1;
      if (f === 0) continue;
      out.upMs += s.upMs * f;
      out.busyMs += s.busyMs * f;
      out.usd += s.usd * f;
      for (const [tenant, t] of s.tokens) {
        let o = out.tokens.get(tenant);
        if (o === undefined) out.tokens.set(tenant, (o = { input: 0, cached: 0, output: 0 }));
        o.input += t.input * f;
        o.cached += t.cached * f;
        o.output += t.output * f;
      }
    }
    return out;
  }
}
