// Matching: each candidate call is grouped with the most recent stable calls of its stratum that
// ended within the window of it. Groups are formed from arrival order alone, never from a value,
// so under "candidate = stable" the members of a group are exchangeable and the tests stay exact.

import type { CallSample } from '../types.js';

/** A deque of samples: push at the tail, take from either end (arrays with a moving head, reused). */
class Deque {
  private items: (CallSample | undefined)[] = new Array(8);
  private head = 0;
  size = 0;

  push(s: CallSample): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) % this.items.length] = s;
    this.size++;
  }
  first(): CallSample { return this.items[this.head]!; }
  last(): CallSample { return this.items[(this.head + this.size - 1) % this.items.length]!; }
  shift(): CallSample {
    const s = this.items[this.head]!;
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.size--;
    return s;
  }
  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.size = 0;
  }
  pop(): CallSample {
    const i = (this.head + this.size - 1) % this.items.length;
    const s = this.items[i]!;
    this.items[i] = undefined;
    this.size--;
    return s;
  }
  private grow(): void {
    const next: (CallSample | undefined)[] = new Array(this.items.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}

interface Stratum {
  readonly stable: Deque;
  readonly pending: Deque;
}

/** What matching and the tests read of a sample, checked before it is read: a malformed one is dropped. */
export function wellFormed(s: CallSample): boolean {
  return s !== null && typeof s === 'object' && Number.isFinite(s.atMs) && typeof s.region === 'string'
    && typeof s.failed === 'boolean' && typeof s.stream === 'boolean' && typeof s.truncated === 'boolean'
    && Number.isFinite(s.promptTokens) && Number.isFinite(s.cachedTokens);
}

/** Powers of two: 0 → 0, 1 → 1, 2–3 → 2, 4–7 → 3, … (capped, so a stratum key stays small). */
export function sizeBucket(tokens: number): number {
  if (!(tokens >= 1)) return 0;
  return Math.min(40, 32 - Math.clz32(Math.min(tokens, 0xffffffff)));
}

/** The tokens the replica had to compute: a cached prefix is not work done. */
export function computedTokens(s: CallSample): number {
  return Math.max(0, s.promptTokens - Math.max(0, s.cachedTokens));
}

/** The stratum within a region, as a small integer: stream, cache hit, computed-prompt bucket. */
export function callKey(s: CallSample): number {
  return (s.stream ? 128 : 0) | (s.cachedTokens > 0 ? 64 : 0) | sizeBucket(computedTokens(s));
}

/**
 * A failed call reports no usage, so its cache state is unknown: errors are matched on what was
 * known before the call (region, stream, prompt size), or failures would land in the "miss" stratum
 * and a candidate with a cold cache would be compared unfairly, in either direction.
 */
export function requestKey(s: CallSample): number {
  return (s.stream ? 128 : 0) | sizeBucket(s.promptTokens);
}

/** Called for each group formed: the candidate, and `k` stable samples in `stable[0..k)` (reused: copy what you keep). */
export type OnGroup = (candidate: CallSample, stable: readonly CallSample[], k: number) => void;

export class Matcher {
  private readonly regions = new Map<string, (Stratum | undefined)[]>();
  /** every stratum made, for expiry without a scan of empty slots */
  private readonly all: Stratum[] = [];
  private waiting = 0;
  private readonly scratch: CallSample[];
  /** samples kept waiting per stratum and side; beyond, the oldest go first (by arrival, never by value) */
  private readonly keep: number;
  /** candidate samples that passed their window without a stable match */
  unmatched = 0;
  groups = 0;
  /** samples not compared because they were sent before their region's latest share change */
  straddled = 0;
  /** per region, the latest share change (monotonic ms) */
  private readonly shifts = new Map<string, number>();

  constructor(
    private readonly key: (s: CallSample) => number,
    private readonly windowMs: number,
    private readonly maxMatched: number,
    private readonly onGroup: OnGroup,
  ) {
    this.scratch = new Array(maxMatched);
    this.keep = Math.max(64, maxMatched * 8);
  }

  /**
   * The region's shares changed at `atMs`: what is queued there was sent before it, and so is any
   * call still running; none of it is compared (both sides alike, so the rule looks at no value).
   */
  shift(region: string, atMs: number): void {
    this.shifts.set(region, atMs);
    const strata = this.regions.get(region);
    if (strata === undefined) return;
    for (const st of strata) {
      if (st === undefined) continue;
      this.straddled += st.stable.size + st.pending.size;
      this.waiting -= st.pending.size;
      st.stable.clear();
      st.pending.clear();
    }
  }

  /** sent before its region's latest share change */
  private straddles(s: CallSample): boolean {
    if (this.shifts.size === 0) return false;
    const at = this.shifts.get(s.region);
    if (at === undefined) return false;
    const sent = typeof s.sentAtMs === 'number' && Number.isFinite(s.sentAtMs) ? s.sentAtMs : s.atMs;
    if (sent >= at) return false;
    this.straddled++;
    return true;
  }

  candidate(s: CallSample): void {
    if (this.straddles(s)) return;
    const st = this.stratum(s);
    this.expireStable(st, s.atMs - this.windowMs);
    if (st.stable.size > 0) this.form(st, s);
    else {
      if (st.pending.size === this.keep) { st.pending.shift(); this.waiting--; this.unmatched++; }
      st.pending.push(s);
      this.waiting++;
    }
  }

  stable(s: CallSample): void {
    if (this.straddles(s)) return;
    const st = this.stratum(s);
    if (st.stable.size === this.keep) st.stable.shift();
    st.stable.push(s);
    if (st.pending.size === 0) return;
    this.expirePending(st, s.atMs - this.windowMs);
    while (st.pending.size > 0 && st.stable.size > 0) { this.waiting--; this.form(st, st.pending.shift()); }
  }

  /** Drops candidate samples whose window has passed with no stable match (the caller's `nowMs`). */
  expire(nowMs: number): void {
    if (this.waiting === 0) return;
    for (const st of this.all) if (st.pending.size > 0) this.expirePending(st, nowMs - this.windowMs);
  }

  private form(st: Stratum, c: CallSample): void {
    let k = 0;
    // the most recent first; a stable sample is used once
    while (k < this.maxMatched && st.stable.size > 0) {
      const s = st.stable.last();
      if (Math.abs(s.atMs - c.atMs) > this.windowMs) break;
      this.scratch[k++] = st.stable.pop();
    }
    if (k === 0) { this.unmatched++; return; }
    this.groups++;
    this.onGroup(c, this.scratch, k);
  }

  private expireStable(st: Stratum, oldestMs: number): void {
    while (st.stable.size > 0 && st.stable.first().atMs < oldestMs) st.stable.shift();
  }

  private expirePending(st: Stratum, oldestMs: number): void {
    while (st.pending.size > 0 && st.pending.first().atMs < oldestMs) { st.pending.shift(); this.waiting--; this.unmatched++; }
  }

  private stratum(s: CallSample): Stratum {
    let strata = this.regions.get(s.region);
    if (strata === undefined) { strata = new Array(256); this.regions.set(s.region, strata); }
    const k = this.key(s);
    let st = strata[k];
    if (st === undefined) { st = { stable: new Deque(), pending: new Deque() }; strata[k] = st; this.all.push(st); }
    return st;
  }
}
