// Fixed intervals of aggregates per side, as the interval-based baselines (Argo/Flagger, Kayenta)
// see a rollout: one measurement per interval, whatever the traffic.

import type { CallSample, Side } from '../types.js';
import { wellFormed } from './matcher.js';

/** One side's aggregates over one interval. */
export interface SideAggregate {
  calls: number;
  failures: number;
  /** every TTFT of the interval (for a p95) */
  readonly ttft: number[];
  itlSum: number;
  itlCount: number;
  outputSum: number;
  outputCount: number;
}

export interface Interval {
  readonly startMs: number;
  readonly endMs: number;
  readonly candidate: SideAggregate;
  readonly stable: SideAggregate;
}

function empty(): SideAggregate {
  return { calls: 0, failures: 0, ttft: [], itlSum: 0, itlCount: 0, outputSum: 0, outputCount: 0 };
}

/** Closes intervals of `lengthMs` from an anchor (the first mark, else the first sample) as time passes. */
export class Intervals {
  private anchorMs: number | null = null;
  private current: Interval | null = null;
  totals = { candidate: { calls: 0, failures: 0 }, stable: { calls: 0, failures: 0 } };

  constructor(private readonly lengthMs: number, private readonly onClose: (i: Interval) => void) {}

  /** Restarts the intervals at `nowMs` (the open one is closed first, as far as it got). */
  anchor(nowMs: number): void {
    this.advance(nowMs);
    if (this.current !== null && this.current.startMs < nowMs) this.onClose({ ...this.current, endMs: nowMs });
    this.anchorMs = nowMs;
    this.current = { startMs: nowMs, endMs: nowMs + this.lengthMs, candidate: empty(), stable: empty() };
  }

  observe(side: Side, s: CallSample): boolean {
    if (!wellFormed(s)) return false;
    if (this.anchorMs === null) this.anchor(s.atMs);
    this.advance(s.atMs);
    if (s.atMs < this.current!.startMs) return false; // before the anchor: not part of any measurement
    this.totals[side].calls++;
    if (s.failed) this.totals[side].failures++;
    const a = side === 'candidate' ? this.current!.candidate : this.current!.stable;
    a.calls++;
    if (s.failed) { a.failures++; return true; }
    if (s.ttftMs !== null && Number.isFinite(s.ttftMs)) a.ttft.push(s.ttftMs);
    if (s.itlMs !== null && Number.isFinite(s.itlMs)) { a.itlSum += s.itlMs; a.itlCount++; }
    if (Number.isFinite(s.outputTokens)) { a.outputSum += s.outputTokens; a.outputCount++; }
    return true;
  }

  /** Closes every interval that ended by `nowMs`. */
  advance(nowMs: number): void {
    while (this.current !== null && nowMs >= this.current.endMs) {
      const done = this.current;
      this.current = { startMs: done.endMs, endMs: done.endMs + this.lengthMs, candidate: empty(), stable: empty() };
      this.onClose(done);
    }
  }
}

/** The q-quantile of `xs` (sorted in place), nearest rank; null when empty. */
export function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  xs.sort((a, b) => a - b);
  return xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))];
}

export function median(xs: readonly number[]): number | null {
  return quantile(xs.slice(), 0.5);
}
