import { describe, expect, it } from 'vitest';
import { Breaker } from '../../src/limits/index.js';

// The rate-limit store's circuit breaker, on a virtual clock (issue 11: under a Redis partition
// every request waited out limits.timeoutMs).

describe('the rate-limit store breaker', () => {
  it('stays closed through fewer than `failures` failures in a row, and a success resets the count', () => {
    const b = new Breaker({ failures: 3, minSpanMs: 0, probeMs: 1_000 });
    b.failure(b.permit(0), 0);
    b.failure(b.permit(1), 1);
    b.success(b.permit(2));
    b.failure(b.permit(3), 3);
    b.failure(b.permit(4), 4);
    expect(b.state).toBe('closed');
    expect(b.permit(5)).toBe('call');
  });

  it('opens after `failures` failures in a row and then skips the store without waiting', () => {
    const b = new Breaker({ failures: 3, minSpanMs: 0, probeMs: 1_000 });
    for (let t = 0; t < 3; t++) b.failure(b.permit(t), t);
    expect(b.state).toBe('open');
    expect(b.opens).toBe(1);
    expect(b.permit(500)).toBe('skip');
    expect(b.permit(1_001)).toBe('skip'); // opened at t=2: not yet probeMs
  });

  it('lets exactly one probe through once probeMs has passed, and skips the rest while it is out', () => {
    const b = new Breaker({ failures: 1, minSpanMs: 0, probeMs: 1_000 });
    b.failure(b.permit(0), 0);
    expect(b.permit(1_000)).toBe('probe');
    expect(b.state).toBe('half_open');
    expect(b.permit(1_001)).toBe('skip');
    expect(b.permit(1_500)).toBe('skip');
  });

  it('closes when the probe succeeds', () => {
    const b = new Breaker({ failures: 1, minSpanMs: 0, probeMs: 1_000 });
    b.failure(b.permit(0), 0);
    const p = b.permit(1_000);
    b.success(p);
    expect(b.state).toBe('closed');
    expect(b.permit(1_001)).toBe('call');
  });

  it('opens again for another probeMs when the probe fails', () => {
    const b = new Breaker({ failures: 1, minSpanMs: 0, probeMs: 1_000 });
    b.failure(b.permit(0), 0);
    const p = b.permit(1_000);
    b.failure(p, 1_200);
    expect(b.state).toBe('open');
    expect(b.opens).toBe(2);
    expect(b.permit(2_100)).toBe('skip');
    expect(b.permit(2_200)).toBe('probe');
  });

  it('ignores late answers to calls made before it opened: only the probe decides', () => {
    const b = new Breaker({ failures: 2, minSpanMs: 0, probeMs: 1_000 });
    const early = b.permit(0); // a call sent while closed, answering late
    b.failure(b.permit(1), 1);
    b.failure(b.permit(2), 2);
    expect(b.state).toBe('open');
    b.success(early);
    expect(b.state).toBe('open');
    b.failure(early, 3); // and a late failure does not push the probe back
    expect(b.permit(1_002)).toBe('probe');
  });

  it('takes a probe that never answers as lost, and probes again after another probeMs', () => {
    const b = new Breaker({ failures: 1, minSpanMs: 0, probeMs: 1_000 });
    b.failure(b.permit(0), 0);
    expect(b.permit(1_000)).toBe('probe');
    expect(b.permit(1_999)).toBe('skip');
    expect(b.permit(2_000)).toBe('probe');
  });

  it('does not open for a stall of this process: failures in a row, but all from one instant', () => {
    // a busy event loop times out every call in flight at once; a partition keeps failing over time
    const b = new Breaker({ failures: 5, minSpanMs: 1_000, probeMs: 1_000 });
    for (let i = 0; i < 50; i++) b.failure(b.permit(10_000 + (i % 3)), 10_000 + (i % 3));
    expect(b.state).toBe('closed');
    b.success(b.permit(10_050));
    // the same count spread over a second opens it
    for (let t = 0; t <= 1_000; t += 250) b.failure(b.permit(20_000 + t), 20_000 + t);
    expect(b.state).toBe('open');
  });

  it('measures the span from the earliest failed call, even when answers come out of order', () => {
    const b = new Breaker({ failures: 3, minSpanMs: 1_000, probeMs: 1_000 });
    b.failure('call', 5_000);
    b.failure('call', 4_000);
    expect(b.state).toBe('closed');
    b.failure('call', 5_000);
    expect(b.state).toBe('open');
  });
});
