import { describe, expect, it } from 'vitest';
import { NO_CHANGE, planScale } from '../../../src/control/autoscaler/plan.js';
import type { ReplicaReport } from '../../../src/control/autoscaler/types.js';

// planScale: from replicas wanted to replicas to start or drain, draining the cheapest to lose first.

const NOW = 100_000;
const STALE = 30_000;

const rep = (id: string, phase: ReplicaReport['phase'], o: Partial<ReplicaReport> = {}): ReplicaReport => ({
  id, phase, sinceMs: 0, reportedAtMs: NOW - 1_000, waiting: 0, running: 0, kvUsage: 0, inflight: 0, ...o,
});

describe('planScale going up', () => {
  it('starts the difference between desired and the starting plus ready replicas', () => {
    const replicas = [rep('a', 'ready'), rep('b', 'starting'), rep('c', 'draining')];
    expect(planScale(5, replicas, NOW, STALE)).toEqual({ start: 3, drain: [] });
  });

  it('starts from nothing, and rounds a fraction up', () => {
    expect(planScale(2.2, [], NOW, STALE)).toEqual({ start: 3, drain: [] });
  });
});

describe('planScale holding', () => {
  it('does nothing when starting plus ready already make desired (draining ones not counted)', () => {
    const replicas = [rep('a', 'ready'), rep('b', 'starting'), rep('c', 'draining'), rep('d', 'draining')];
    expect(planScale(2, replicas, NOW, STALE)).toBe(NO_CHANGE);
  });
});

describe('planScale going down', () => {
  it('drains starting replicas first, the newest first', () => {
    const replicas = [rep('r1', 'ready', { inflight: 0 }), rep('s-old', 'starting', { sinceMs: 10 }), rep('s-new', 'starting', { sinceMs: 50 })];
    expect(planScale(2, replicas, NOW, STALE).drain).toEqual(['s-new']);
    expect(planScale(1, replicas, NOW, STALE).drain).toEqual(['s-new', 's-old']);
  });

  it('then ready replicas whose telemetry is stale or missing', () => {
    const replicas = [
      rep('busy', 'ready', { inflight: 9 }),
      rep('idle', 'ready', { inflight: 0 }),
      rep('silent', 'ready', { inflight: 5, reportedAtMs: NOW - STALE - 1 }),
      rep('never', 'ready', { inflight: 7, reportedAtMs: null, sinceMs: 20 }),
      rep('s', 'starting'),
    ];
    expect(planScale(2, replicas, NOW, STALE).drain).toEqual(['s', 'never', 'silent']);
  });

  it('does not count telemetry exactly staleAfterMs old as stale', () => {
    const replicas = [rep('edge', 'ready', { inflight: 3, reportedAtMs: NOW - STALE }), rep('idle', 'ready', { inflight: 1 })];
    expect(planScale(1, replicas, NOW, STALE).drain).toEqual(['idle']);
  });

  it('then ready replicas with the fewest in flight, the newest first on a tie', () => {
    const replicas = [
      rep('r4', 'ready', { inflight: 4, sinceMs: 1 }),
      rep('r1-old', 'ready', { inflight: 1, sinceMs: 1 }),
      rep('r1-new', 'ready', { inflight: 1, sinceMs: 9 }),
      rep('r2', 'ready', { inflight: 2, sinceMs: 5 }),
    ];
    expect(planScale(1, replicas, NOW, STALE).drain).toEqual(['r1-new', 'r1-old', 'r2']);
  });

  it('never drains a replica already draining, and can drain every active one', () => {
    const replicas = [rep('d', 'draining'), rep('a', 'ready'), rep('b', 'starting')];
    const plan = planScale(0, replicas, NOW, STALE);
    expect(plan).toEqual({ start: 0, drain: ['b', 'a'] });
  });

  it('treats a negative or non-finite desired as zero', () => {
    const replicas = [rep('a', 'ready')];
    expect(planScale(-3, replicas, NOW, STALE).drain).toEqual(['a']);
    expect(planScale(Number.NaN, replicas, NOW, STALE).drain).toEqual(['a']);
  });
});
