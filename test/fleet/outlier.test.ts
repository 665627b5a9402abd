import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTLIER_POLICY, OutlierDetector, type OutlierEvent, type OutlierPolicy } from '../../src/fleet/outlier.js';

// Every test drives the detector on a virtual clock: times are plain numbers, never sleeps.

const P = DEFAULT_OUTLIER_POLICY;
const policy = (over: Partial<OutlierPolicy> = {}): OutlierPolicy => ({ ...P, ...over });

/** n failures on host at nowMs; the last event (if any). */
function fail(d: OutlierDetector, host: number, n: number, nowMs: number): OutlierEvent | null {
  let e: OutlierEvent | null = null;
  for (let i = 0; i < n; i++) e = d.failure(host, nowMs) ?? e;
  return e;
}

/** Eject host by consecutive failures at nowMs and return how long the ejection lasts. */
function ejectFor(d: OutlierDetector, host: number, nowMs: number): number {
  const e = fail(d, host, P.consecutiveFailures, nowMs);
  if (e?.kind !== 'ejected') throw new Error(`host ${host} was not ejected at ${nowMs}`);
  return e.untilMs - nowMs;
}

const ejectedCount = (d: OutlierDetector, hosts: number, nowMs: number) => {
  let n = 0;
  for (let h = 0; h < hosts; h++) if (d.isEjected(h, nowMs)) n++;
  return n;
};

describe('defaults', () => {
  it('are Envoy\'s where Envoy has one, and ours for the rest', () => {
    expect(P).toMatchObject({
      consecutiveFailures: 5, // consecutive_5xx
      intervalMs: 10_000, // interval
      baseEjectionMs: 30_000, // base_ejection_time
      maxEjectionMs: 300_000, // max_ejection_time
      maxEjectionPercent: 50, // ours: Envoy's 10 % ejects nothing in a pool of fewer than 10
      failureRate: { threshold: 0.5, minRequests: 20 },
      latency: { factor: 3, minRequests: 20, minPoolSize: 3 },
    });
  });
});

describe('ejection after consecutive failures', () => {
  it('ejects on the Nth consecutive failure, not the N-1th', () => {
    const d = new OutlierDetector(P, 4);
    expect(fail(d, 0, 4, 1_000)).toBeNull();
    expect(d.isEjected(0, 1_000)).toBe(false);
    expect(d.stats(0).consecutiveFailures).toBe(4);
    expect(d.failure(0, 1_000)).toEqual({ kind: 'ejected', host: 0, reason: 'consecutive_failures', untilMs: 31_000, ejections: 1 });
    expect(d.isEjected(0, 1_000)).toBe(true);
    expect(d.isEjected(1, 1_000)).toBe(false); // only the failing host
  });

  it('starts counting again when a success intervenes', () => {
    const d = new OutlierDetector(P, 4);
    fail(d, 0, 4, 0);
    d.success(0, 50, 0);
    expect(d.stats(0).consecutiveFailures).toBe(0);
    expect(fail(d, 0, 4, 0)).toBeNull();
    expect(d.isEjected(0, 0)).toBe(false);
    expect(d.failure(0, 0)?.kind).toBe('ejected');
  });

  it('does not count failures of requests still arriving from a host already ejected', () => {
    const d = new OutlierDetector(P, 4);
    ejectFor(d, 0, 0);
    expect(fail(d, 0, 20, 1_000)).toBeNull(); // in flight when it was ejected
    expect(d.stats(0)).toMatchObject({ consecutiveFailures: 0, ejections: 1, totalEjections: 1 });
  });

  it('keeps failures of different hosts apart', () => {
    const d = new OutlierDetector(P, 4);
    for (let i = 0; i < 4; i++) for (let h = 0; h < 4; h++) expect(d.failure(h, 0)).toBeNull();
    expect(ejectedCount(d, 4, 0)).toBe(0);
  });
});

describe('ejection time', () => {
  it('is base × ejections: 30 s, 60 s, 90 s … capped at max_ejection_time (300 s)', () => {
    const d = new OutlierDetector(P, 4);
    const got: number[] = [];
    let t = 0;
    for (let i = 0; i < 12; i++) {
      const ms = ejectFor(d, 0, t);
      got.push(ms / 1000);
      t += ms; // back in at once, and failing again at once: no interval passes to decay the multiplier
    }
    expect(got).toEqual([30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300]);
    // like Envoy, the multiplier stops where base × multiplier reaches the cap, so decay can undo it
    expect(d.stats(0).ejections).toBe(10);
    expect(d.stats(0).totalEjections).toBe(12);
  });

  it('is at least the base time when max_ejection_time is below it (Envoy: max(base, max))', () => {
    const d = new OutlierDetector(policy({ baseEjectionMs: 30_000, maxEjectionMs: 10_000 }), 4);
    expect(ejectFor(d, 0, 0)).toBe(30_000);
    expect(ejectFor(d, 0, 30_000)).toBe(30_000);
  });
});

describe('re-admission', () => {
  it('happens when the ejection time passes: isEjected says so at once, the next sweep reports it once', () => {
    const d = new OutlierDetector(P, 4);
    ejectFor(d, 2, 5_000);
    expect(d.isEjected(2, 34_999)).toBe(true);
    expect(d.sweep(34_999)).toEqual([]);
    expect(d.isEjected(2, 35_000)).toBe(false); // a field compare, no sweep needed
    expect(d.stats(2, 35_000)).toMatchObject({ ejected: false, ejectedUntilMs: null });
    expect(d.stats(2)).toMatchObject({ ejected: true, ejectedUntilMs: 35_000, reason: 'consecutive_failures' }); // until a sweep notices
    expect(d.sweep(36_000)).toEqual([{ kind: 'readmitted', host: 2 }]);
    expect(d.sweep(44_000)).toEqual([]);
    expect(d.stats(2)).toEqual({ ejected: false, ejections: 1, ejectedUntilMs: null, reason: null, consecutiveFailures: 0, totalEjections: 1 });
  });

  it('counts failures again once the time has passed, even before a sweep', () => {
    const d = new OutlierDetector(P, 4);
    ejectFor(d, 0, 0);
    expect(ejectFor(d, 0, 30_000)).toBe(60_000);
    expect(d.sweep(31_000)).toEqual([]); // it was ejected again before any sweep saw it back
  });

  it('#11 – is reported by the failure that finds the time passed, so a late failure cannot keep the host out for good', () => {
    const d = new OutlierDetector(P, 4);
    ejectFor(d, 0, 1_000); // out until 31 s
    // a request sent during the ejection fails just after it ran out, before any sweep
    expect(d.failure(0, 31_100, 2_000)).toEqual({ kind: 'readmitted', host: 0 });
    expect(d.sweep(31_500)).toEqual([]); // already said: the caller has let it back in
    expect(d.stats(0)).toMatchObject({ ejected: false, ejectedUntilMs: null });
    // and a failure that counts, under the threshold, says the same once
    ejectFor(d, 1, 1_000);
    expect(d.failure(1, 31_100)).toEqual({ kind: 'readmitted', host: 1 });
    expect(d.failure(1, 31_200)).toBeNull();
  });
});

describe('multiplier decay', () => {
  // two ejections back to back leave the multiplier at 2; the second ends at 90 s
  function twice(): OutlierDetector {
    const d = new OutlierDetector(P, 4);
    ejectFor(d, 0, 0);
    ejectFor(d, 0, 30_000);
    return d;
  }

  it.each([
    { admittedS: 0, nextS: 90, why: 'no interval admitted: 2 → 3' },
    { admittedS: 9.999, nextS: 90, why: 'not yet one whole interval' },
    { admittedS: 10, nextS: 60, why: 'one interval: 2 → 1 → 2' },
    { admittedS: 20, nextS: 30, why: 'two intervals: 2 → 0 → 1' },
    { admittedS: 500, nextS: 30, why: 'never below zero' },
  ])('loses one per whole interval admitted ($why)', ({ admittedS, nextS }) => {
    const d = twice();
    const t = 90_000 + admittedS * 1000;
    d.sweep(t);
    expect(ejectFor(d, 0, t)).toBe(nextS * 1000);
  });

  it('does not depend on how often sweep runs, or whether it runs at all', () => {
    const often = twice();
    for (let t = 90_000; t <= 111_000; t += 700) often.sweep(t);
    const never = twice();
    const once = twice();
    once.sweep(111_000);
    expect([often, never, once].map((d) => ejectFor(d, 0, 111_000))).toEqual([30_000, 30_000, 30_000]);
  });

  it('does not decay while the host is ejected', () => {
    const d = twice(); // ejected 30 s → 90 s with multiplier 2
    for (let t = 30_000; t < 90_000; t += 10_000) d.sweep(t);
    expect(d.stats(0).ejections).toBe(2);
  });
});

describe('failure rate over the interval', () => {
  /** ok successes and bad failures, interleaved so no run of failures reaches the consecutive limit */
  function traffic(d: OutlierDetector, host: number, ok: number, bad: number, nowMs: number): void {
    while (ok > 0 || bad > 0) {
      for (let i = 0; i < 4 && bad > 0; i++, bad--) d.failure(host, nowMs);
      if (ok > 0) (d.success(host, 100, nowMs), ok--);
    }
  }

  it.each([
    { ok: 10, bad: 10, ejected: true, why: '0.5 ≥ 0.5 over 20 requests' },
    { ok: 11, bad: 9, ejected: false, why: '0.45 is below the threshold' },
    { ok: 9, bad: 10, ejected: false, why: '19 requests: below the minimum volume, however bad' },
    { ok: 0, bad: 0, ejected: false, why: 'no traffic' },
    { ok: 5, bad: 15, ejected: true, why: '0.75, never 5 failures in a row' },
  ])('$why', ({ ok, bad, ejected }) => {
    const d = new OutlierDetector(P, 4);
    d.sweep(0);
    traffic(d, 1, ok, bad, 1_000);
    const events = d.sweep(10_000);
    expect(events).toEqual(ejected ? [{ kind: 'ejected', host: 1, reason: 'failure_rate', untilMs: 40_000, ejections: 1 }] : []);
  });

  it('is judged once per interval, however often sweep is called', () => {
    const d = new OutlierDetector(P, 4);
    d.sweep(0);
    traffic(d, 1, 10, 10, 1_000);
    expect(d.sweep(5_000)).toEqual([]);
    expect(d.sweep(9_999)).toEqual([]);
    expect(d.sweep(10_000)).toHaveLength(1);
  });

  it('starts each interval from zero: two thin intervals do not add up', () => {
    const d = new OutlierDetector(P, 4);
    d.sweep(0);
    traffic(d, 1, 7, 8, 1_000);
    expect(d.sweep(10_000)).toEqual([]);
    traffic(d, 1, 7, 8, 11_000);
    expect(d.sweep(20_000)).toEqual([]); // 30 requests in all, but 15 in each interval
  });

  it('keeps to the interval grid when a sweep comes late', () => {
    const d = new OutlierDetector(P, 4);
    d.sweep(0);
    expect(d.sweep(10_400)).toEqual([]); // judged (nothing to find); the next judgement is due at 20 s, not 20.4 s
    traffic(d, 1, 10, 10, 15_000);
    expect(d.sweep(20_000)).toHaveLength(1);
  });
});

describe('latency outliers against the pool median', () => {
  /** n successes on each host with the given latency */
  function run(latencies: readonly number[], n: number, pol = P): OutlierEvent[] {
    const d = new OutlierDetector(pol, latencies.length);
    d.sweep(0);
    latencies.forEach((ms, h) => { for (let i = 0; i < n; i++) d.success(h, ms, 1_000); });
    return d.sweep(10_000);
  }

  it.each([
    { lat: [100, 110, 120, 400], n: 20, ejected: [3], why: '400 > 3 × median 115' },
    { lat: [100, 110, 120, 300], n: 20, ejected: [], why: '300 is within 3 × 115' },
    { lat: [100, 100, 100, 100], n: 20, ejected: [], why: 'a uniform pool has no outlier' },
    { lat: [100, 110, 400], n: 20, ejected: [2], why: 'three hosts are enough' },
    { lat: [100, 900], n: 20, ejected: [], why: 'two hosts are below minPoolSize' },
    { lat: [100, 110, 120, 400], n: 19, ejected: [], why: 'below minRequests on every host' },
  ])('$why', ({ lat, n, ejected }) => {
    const events = run(lat, n);
    expect(events.map((e) => e.kind === 'ejected' && e.reason === 'latency' && e.host)).toEqual(ejected);
  });

  it('leaves out hosts with too few requests from the median and from judgement', () => {
    const d = new OutlierDetector(P, 4);
    d.sweep(0);
    for (let i = 0; i < 20; i++) for (const [h, ms] of [[0, 100], [1, 100], [2, 5_000]]) d.success(h, ms, 1_000);
    for (let i = 0; i < 5; i++) d.success(3, 10_000, 1_000); // slow, but only 5 requests
    expect(d.sweep(10_000)).toEqual([{ kind: 'ejected', host: 2, reason: 'latency', untilMs: 40_000, ejections: 1 }]);
  });

  it('is off when the policy has no latency rule', () => {
    expect(run([100, 110, 120, 400], 20, policy({ latency: null }))).toEqual([]);
  });
});

describe('max ejection percent', () => {
  it('never ejects a third host of four at 50 %; the third goes once a place frees up', () => {
    const d = new OutlierDetector(P, 4);
    expect(ejectFor(d, 0, 0)).toBe(30_000);
    expect(ejectFor(d, 1, 1_000)).toBe(30_000);
    expect(fail(d, 2, 5, 2_000)).toBeNull(); // (2 + 1) / 4 = 75 % > 50 %
    expect(fail(d, 2, 3, 20_000)).toBeNull(); // still refused, still counting
    expect(d.stats(2).consecutiveFailures).toBe(8);
    expect(ejectedCount(d, 4, 20_000)).toBe(2);
    // host 0 is back at 30 s: the next failure of host 2 ejects it, without waiting for a sweep
    expect(d.failure(2, 30_000)?.kind).toBe('ejected');
    expect(ejectedCount(d, 4, 30_000)).toBe(2);
  });

  it('applies to rate and latency ejections in a sweep too', () => {
    const d = new OutlierDetector(P, 4);
    d.sweep(0);
    for (let h = 0; h < 4; h++) for (let i = 0; i < 20; i++) (i % 2 ? d.success(h, 100, 1_000) : d.failure(h, 1_000));
    const events = d.sweep(10_000);
    expect(events.map((e) => e.kind === 'ejected' && e.host)).toEqual([0, 1]);
    expect(ejectedCount(d, 4, 10_000)).toBe(2);
  });

  it.each([
    { hosts: 1, alwaysEjectOne: false, max: 0, why: 'the only replica stays: 1/1 > 50 %' },
    { hosts: 1, alwaysEjectOne: true, max: 1, why: 'always_eject_one_host allows the first' },
    { hosts: 2, alwaysEjectOne: false, max: 1, why: '1/2 ≤ 50 %' },
    { hosts: 3, alwaysEjectOne: false, max: 1, why: '2/3 > 50 %' },
    { hosts: 3, alwaysEjectOne: true, max: 1, why: 'always_eject_one_host allows one, not two' },
    { hosts: 4, alwaysEjectOne: false, max: 2, why: '2/4 ≤ 50 %, 3/4 is not' },
    { hosts: 10, alwaysEjectOne: false, max: 5, why: 'half of ten' },
  ])('a pool of $hosts holds at most $max ejected ($why)', ({ hosts, alwaysEjectOne, max }) => {
    const d = new OutlierDetector(policy({ alwaysEjectOne }), hosts);
    for (let h = 0; h < hosts; h++) fail(d, h, 5, 0);
    expect(ejectedCount(d, hosts, 0)).toBe(max);
  });

  it('holds under random traffic: a pool of 4 at 50 % never has 3 ejected', () => {
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 0x1_0000_0000);
    const d = new OutlierDetector(P, 4);
    let worst = 0;
    for (let t = 0; t < 2_000_000; t += 50) {
      const h = Math.floor(rnd() * 4);
      if (rnd() < 0.6) d.failure(h, t);
      else d.success(h, rnd() < 0.1 ? 2_000 : 100, t);
      if (t % 10_000 === 0) d.sweep(t);
      worst = Math.max(worst, ejectedCount(d, 4, t));
    }
    expect(worst).toBe(2);
  });
});

describe('readmit()', () => {
  it('brings a host back at once, without a readmitted event, and keeps its multiplier', () => {
    const d = new OutlierDetector(P, 4);
    ejectFor(d, 0, 0);
    d.readmit(0);
    expect(d.isEjected(0, 1)).toBe(false);
    expect(d.stats(0)).toMatchObject({ ejected: false, ejectedUntilMs: null, reason: null, ejections: 1 });
    expect(d.sweep(2)).toEqual([]);
    expect(ejectFor(d, 0, 3)).toBe(60_000); // Envoy keeps num_ejections when a health check un-ejects
  });

  it('frees a place under max ejection percent', () => {
    const d = new OutlierDetector(P, 4);
    ejectFor(d, 0, 0);
    ejectFor(d, 1, 0);
    expect(fail(d, 2, 5, 0)).toBeNull();
    d.readmit(1);
    expect(d.failure(2, 0)?.kind).toBe('ejected');
  });

  it('starts the decay interval at the next sweep', () => {
    const d = new OutlierDetector(P, 4);
    ejectFor(d, 0, 0);
    d.readmit(0);
    d.sweep(5_000); // anchors: one step due at 15 s
    d.sweep(15_000);
    expect(d.stats(0).ejections).toBe(0);
  });

  it('does nothing to a host that is not ejected', () => {
    const d = new OutlierDetector(P, 4);
    fail(d, 0, 3, 0);
    d.readmit(0);
    expect(d.stats(0).consecutiveFailures).toBe(3);
  });
});

describe('construction', () => {
  it('refuses a policy that could never act sensibly', () => {
    expect(() => new OutlierDetector(policy({ intervalMs: 0 }), 4)).toThrow(RangeError);
    expect(() => new OutlierDetector(policy({ consecutiveFailures: 0 }), 4)).toThrow(RangeError);
    expect(() => new OutlierDetector(P, -1)).toThrow(RangeError);
  });
});

describe('#11 – requests stuck through a hang the replica has recovered from', () => {
  /** n failures on host at nowMs of requests sent at sentAtMs; the last event (if any) */
  const failSent = (d: OutlierDetector, host: number, n: number, nowMs: number, sentAtMs: number) => {
    let e: OutlierEvent | null = null;
    for (let i = 0; i < n; i++) e = d.failure(host, nowMs, sentAtMs) ?? e;
    return e;
  };

  it('do not eject a replica that passed its health check again after they were sent', () => {
    const d = new OutlierDetector(policy(), 4);
    // requests sent at t=1 s into a hang; the replica answers its health check again at t=20 s
    d.recovered(0, 20_000);
    // at t=25 s they time out, all of them
    expect(failSent(d, 0, 20, 25_000, 1_000)).toBeNull();
    expect(d.isEjected(0, 25_000)).toBe(false);
    expect(d.stats(0).consecutiveFailures).toBe(0);
  });

  it('do not count toward its failure rate either', () => {
    const d = new OutlierDetector(policy({ consecutiveFailures: 1_000 }), 4);
    d.sweep(0);
    d.recovered(0, 5_000);
    failSent(d, 0, 30, 6_000, 1_000);
    expect(d.sweep(10_000)).toEqual([]);
  });

  it('do not eject it again once its ejection has run out or it was readmitted', () => {
    const d = new OutlierDetector(policy(), 4);
    const forMs = ejectFor(d, 1, 1_000); // ejected at t=1 s with requests still stuck on it
    // its ejection runs out: requests sent before that fail late, and the first says it is back
    expect(failSent(d, 1, 10, 1_000 + forMs + 5_000, 900)).toEqual({ kind: 'readmitted', host: 1 });
    expect(d.isEjected(1, 1_000 + forMs + 5_000)).toBe(false);
    const d2 = new OutlierDetector(policy(), 4);
    ejectFor(d2, 2, 1_000);
    d2.readmit(2, 3_000);
    expect(failSent(d2, 2, 10, 8_000, 2_000)).toBeNull();
    expect(d2.isEjected(2, 8_000)).toBe(false);
  });

  it('still eject a recovered replica for failures of requests sent after it recovered', () => {
    const d = new OutlierDetector(policy(), 4);
    d.recovered(0, 20_000);
    const e = failSent(d, 0, P.consecutiveFailures, 25_000, 21_000);
    expect(e).toMatchObject({ kind: 'ejected', host: 0, reason: 'consecutive_failures' });
  });
});
