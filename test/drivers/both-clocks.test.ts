import { describe, expect, it } from 'vitest';
import { AdmissionDriver, admissionPolicy, type Grant } from '../../src/admission/index.js';
import { dispatched, OutlierPools, prefilled, PrefixIndex, released, SessionTable, type InFlightCounts } from '../../src/fleet/index.js';
import { Decider, resolveProfile, Router, type Endpoint, type RouteTicket } from '../../src/routing/index.js';
import { AgendaClock } from '../../src/sim/clock.js';
import { Agenda } from '../../src/sim/events.js';
import { seededRandom } from '../../src/sim/workload/index.js';
import { ManualTime, sleep, wallClock, wallTimers, type Rng, type TimePorts } from '../../src/time/index.js';
import { decideRetry, RetryBudget, type UpstreamFailure } from '../../src/upstream/index.js';

// The drivers the gateway and the simulator share, each run through one scripted scenario three
// times: on the wall's clock and real timers (as the gateway runs them), on a ManualTime, and on
// the simulator's agenda clock. What each did (dispatches, sheds, picks, ejections, retries) must
// be the same sequence under all three: a driver that reads time or arms a timer behind its ports
// would do something else on a virtual clock. Script steps are 40–60 ms apart, so a loaded box
// delays the wall run without reordering it.

/** A scripted scenario: arms its steps on the ports' timers, logs what the drivers do, returns how long it runs (ms). */
type Scenario = (ports: TimePorts, log: string[]) => number;

async function underWall(s: Scenario, rng: Rng): Promise<string[]> {
  const log: string[] = [];
  const ms = s({ clock: wallClock, timers: wallTimers, rng }, log);
  await sleep(ms + 40);
  return log;
}

function underManual(s: Scenario, rng: Rng): string[] {
  const t = new ManualTime(1_700_000_000_000);
  const log: string[] = [];
  const ms = s(t.ports(rng), log);
  t.advance(ms + 40);
  return log;
}

function underAgenda(s: Scenario, rng: Rng): string[] {
  const agenda = new Agenda<0>();
  const clock = new AgendaClock(agenda, 0);
  const log: string[] = [];
  const ms = s({ clock, timers: clock, rng }, log);
  const end = (ms + 40) / 1000;
  while (agenda.peekTime() <= end) {
    const e = agenda.pop()!;
    clock.nowS = e.t;
    clock.fire(e.target);
  }
  return log;
}

/** Steps at fixed offsets from the scenario's start, on its timers. */
function script(ports: TimePorts, steps: ReadonlyArray<readonly [atMs: number, step: () => void]>): number {
  for (const [atMs, step] of steps) ports.timers.after(atMs, run, step);
  return Math.max(...steps.map(([at]) => at));
}
const run = (f: () => void): void => f();

async function expectSameUnderAllClocks(s: Scenario, rng: () => Rng, expected: readonly string[]): Promise<void> {
  const virtual = underManual(s, rng());
  expect(virtual).toEqual(expected);
  expect(underAgenda(s, rng())).toEqual(virtual);
  expect(await underWall(s, rng())).toEqual(virtual);
}

// ── admission ──────────────────────────────────────────────────────────────────

/**
 * One replica with one request at a time, then a second replica: a dispatch, a waiter whose
 * deadline passes, a waiter let go by a release, a shed on arrival, a client that leaves.
 */
const admission: Scenario = (ports, log) => {
  const replicas = [{ routable: true }, { routable: false }];
  const grants = new Map<string, Grant>();
  const d = new AdmissionDriver<string>({
    policy: admissionPolicy({ maxInflightPerReplica: 1, prior: { serviceMs: 20, firstTokenMs: 10 } }),
    replicasOf: () => replicas, clock: ports.clock, timers: ports.timers, rng: ports.rng,
    hooks: {
      start: (job, grant, waited) => {
        log.push(`start ${job}${waited !== null ? ' after waiting' : ''}`);
        if (grant !== null) grants.set(job, grant);
      },
      shed: (job, why) => log.push(`shed ${job}: ${why.reason}`),
    },
  });
  const ask = (deadlineMs: number | null) => ({ model: 'm', tenant: 't', weight: 1, priority: 'standard' as const, deadlineMs });
  let e: ReturnType<typeof d.admit> = null;
  return script(ports, [
    [0, () => d.admit('A', ask(null))],
    // waits; due 110 ms from now, so it expires 100 ms from now (a learned 10 ms first token earlier)
    [40, () => d.admit('B', ask(110))],
    [80, () => d.admit('C', ask(null))],
    [240, () => {
      d.firstToken(grants.get('A')!);
      d.release(grants.get('A')!);
    }],
    [300, () => {
      replicas[1].routable = true;
      d.recount('m');
      d.pump('m');
    }],
    [340, () => d.admit('D', ask(null))],
    // both replicas busy: a 5 ms deadline cannot be met
    [380, () => d.admit('F', ask(5))],
    [420, () => (e = d.admit('E', ask(null)))],
    [480, () => log.push(`E left: ${d.leave(e!)}`)],
    [540, () => {
      d.release(grants.get('C')!);
      d.release(grants.get('D')!);
      log.push(`queued ${d.queued}`);
    }],
  ]);
};

// ── pick and learn, with in-flight accounting ──────────────────────────────────

interface Replica extends Endpoint, InFlightCounts {
  slot: number;
  inflight: number;
  inflightTokens: number;
  pendingPrefill: number;
}

const decide: Scenario = (ports, log) => {
  const fleet: Replica[] = [0, 1, 2].map((slot) => ({
    slot, region: slot < 2 ? 'home' : 'away', routable: true, inflight: 0, inflightTokens: 0, pendingPrefill: 0, scraped: null, version: 'm', versionWeight: 1,
  }));
  const prefixes = new PrefixIndex({ capacityBlocks: () => 64, maxBlocks: 16 });
  const sessions = new SessionTable(64);
  const router = new Router({
    profile: resolveProfile('default'), regionOrder: (home) => (home === 'home' ? ['home', 'away'] : ['away', 'home']),
    state: { prefixIndex: prefixes, cachedBlocks: null, sessions },
  });
  const decider = new Decider({ router, prefixes, sessions, clock: ports.clock, rng: ports.rng });
  const prompt = new Float64Array([11, 12, 13, 14]);
  const ticket = (session: string | null): RouteTicket => ({
    homeRegion: 'home', allowedRegions: null, exclude: null, prefix: prompt, prefixStride: 1, prefixBlocks: 4,
    sessionKey: session, tokens: 600, promptTokens: 500, prefillOwed: 0, random: 0, sequence: 0, nowS: 0,
  });
  /** each call, with what it still owes its replica */
  const held: Array<{ r: Replica; tokens: number; owed: number; done: boolean }> = [];
  const pick = (label: string, t: RouteTicket): void => {
    const i = decider.pick(fleet, t);
    if (i < 0) return void log.push(`${label}: none`);
    const r = fleet[i];
    dispatched(r, t.tokens, t.prefillOwed);
    held.push({ r, tokens: t.tokens, owed: t.prefillOwed, done: false });
    log.push(`${label} → ${r.slot} owes ${t.prefillOwed} excludes [${t.exclude?.join(',')}]`);
  };
  const counts = (): string => fleet.map((r) => `${r.inflight}/${r.inflightTokens}/${r.pendingPrefill}`).join(' ');
  const retried = ticket('s1');
  return script(ports, [
    [0, () => pick('a', ticket('s1'))],
    [40, () => pick('b', ticket(null))],
    [80, () => {
      const a = held[0];
      prefilled(a.r, a.owed);
      a.owed = 0;
      log.push(`after a's first token: ${counts()}`);
    }],
    [120, () => pick('c', retried)],
    // c failed before its first token: released, and its retry goes elsewhere
    [160, () => {
      const c = held[2];
      released(c.r, c.tokens, c.owed);
      c.done = true;
      pick('c again', retried);
      pick('c third', retried);
      pick('c fourth', retried);
    }],
    [200, () => {
      for (const x of held) if (!x.done) released(x.r, x.tokens, x.owed);
      // a doubled release stays at zero
      released(fleet[0], 600, 0);
      log.push(`all released: ${counts()}`);
    }],
  ]);
};

// ── outlier pools ──────────────────────────────────────────────────────────────

const outliers: Scenario = (ports, log) => {
  const hosts = [0, 1, 2, 3].map((i) => ({ id: `r${i}`, model: 'm', region: i < 3 ? 'home' : 'away', out: false }));
  const pools = new OutlierPools<(typeof hosts)[number]>({
    consecutiveFailures: 2, intervalMs: 50, baseEjectionMs: 200, maxEjectionMs: 1_000, maxEjectionPercent: 50,
    failureRate: { threshold: 0.9, minRequests: 1_000 }, latency: null,
  }, {
    eject: (h, e) => {
      h.out = true;
      log.push(`eject ${h.id} (${e.reason}, ejection ${e.ejections})`);
    },
    readmit: (h) => {
      if (!h.out) return;
      h.out = false;
      log.push(`readmit ${h.id}`);
    },
  }, (h) => h.model);
  pools.regroup(hosts);
  const sweeper = ports.timers.every(50, (p: typeof pools) => p.sweep(ports.clock.nowMs()), pools);
  const fail = (i: number) => () => pools.failure(hosts[i], ports.clock.nowMs());
  return script(ports, [
    // steps fall between the 50 ms sweeps, so a late wall timer cannot swap a step and a sweep
    [20, fail(0)],
    [70, fail(0)],
    // a second out of a pool of three would pass the 50 % cap: r1 stays in
    [120, fail(1)],
    [170, fail(1)],
    // r0's 200 ms ejection lapses at 270; the next sweep lets it back, and r1's next failure ejects it
    [420, fail(1)],
    // r3 is alone in its region's pool: never ejected
    [470, fail(3)],
    [520, fail(3)],
    // r1 passes its health check again: back at once
    [570, () => pools.readmit(hosts[1], ports.clock.nowMs())],
    [620, () => {
      ports.timers.cancel(sweeper);
      log.push(`out: ${hosts.filter((h) => h.out).map((h) => h.id).join(',') || 'none'}`);
    }],
  ]);
};

// ── the retry decision and budget ──────────────────────────────────────────────

const retries: Scenario = (ports, log) => {
  const rule = { maxAttempts: 3, backoff: { baseMs: 100, maxMs: 100 } };
  // a share of 50 % of three active requests: 1.5 retries at once (at least one)
  const budget = new RetryBudget(0.5, 1);
  for (let i = 0; i < 3; i++) budget.started();
  const reset: UpstreamFailure = { kind: 'broken', message: 'reset' };
  const attempts = new Map<string, number>([['x', 1], ['y', 1], ['z', 1]]);
  const fail = (req: string, f: UpstreamFailure = reset) => (): void => {
    const n = attempts.get(req)!;
    const v = decideRetry(rule, f, n, budget, ports.rng);
    log.push(`${req} attempt ${n} failed: ${v.kind}`);
    if (v.kind === 'retry') ports.timers.after(v.waitMs, (r: string) => {
      attempts.set(r, attempts.get(r)! + 1);
      log.push(`${r} retried`);
    }, req);
  };
  return script(ports, [
    [0, fail('x')],
    [0, fail('y')],
    [0, fail('z')],
    // x's retry got its first byte: its share goes back, and z may retry
    [140, () => budget.release()],
    [180, fail('z')],
    [320, fail('z', { kind: 'status', status: 400, body: 'bad request' })],
    [360, () => {
      budget.release();
      budget.release();
      log.push(`retrying ${budget.retrying}`);
    }],
  ]);
};

describe('the shared drivers do the same on the wall clock, a manual clock and the simulator agenda', () => {
  it('admission: dispatches, waits, deadline expiry, release, recount, shed on arrival, a client leaving', async () => {
    await expectSameUnderAllClocks(admission, () => seededRandom(3), [
      'start A',
      'shed B: expired',
      'start C after waiting',
      'start D',
      'shed F: deadline',
      'E left: true',
      'queued 0',
    ]);
  });

  it('decide: the pick, what it teaches (prefix, session, exclusions, prefill owed) and the clamped counts', async () => {
    await expectSameUnderAllClocks(decide, () => seededRandom(9), [
      'a → 0 owes 500 excludes [0]',
      'b → 1 owes 500 excludes [1]',
      "after a's first token: 1/600/0 1/600/500 0/0/0",
      // same session, same prompt: back to a's replica, which is believed to hold the prompt already
      'c → 0 owes 0 excludes [0]',
      // its retries go elsewhere, the home region first, then the next
      'c again → 1 owes 500 excludes [0,1]',
      'c third → 2 owes 500 excludes [0,1,2]',
      'c fourth: none',
      'all released: 0/0/0 0/0/0 0/0/0',
    ]);
  });

  it('outlier pools: consecutive failures eject, the sweep readmits, the ejection cap and single-replica pools hold, a passing probe readmits', async () => {
    await expectSameUnderAllClocks(outliers, () => seededRandom(1), [
      'eject r0 (consecutive_failures, ejection 1)',
      'readmit r0',
      'eject r1 (consecutive_failures, ejection 1)',
      'readmit r1',
      'out: none',
    ]);
  });

  it('retry rule: backoff on the timers, the budget refusing a third concurrent retry, a 4xx never retried', async () => {
    // draws 0.9 then 0.2: y's retry (20 ms) fires before x's (90 ms)
    const draws = () => {
      const xs = [0.9, 0.2, 0.5, 0.5];
      let i = 0;
      return () => xs[i++ % xs.length];
    };
    await expectSameUnderAllClocks(retries, draws, [
      'x attempt 1 failed: retry',
      'y attempt 1 failed: retry',
      'z attempt 1 failed: overflow',
      'y retried',
      'x retried',
      'z attempt 1 failed: retry',
      'z retried',
      'z attempt 2 failed: final',
      'retrying 0',
    ]);
  });

  it('tells a driver that arms a real timer behind a virtual clock apart (the comparison can fail)', () => {
    // the admission driver handed a manual clock but the wall's timers: B's expiry never fires in virtual time
    const t = new ManualTime(1_700_000_000_000);
    const log: string[] = [];
    const never = {};
    const ms = admission({ clock: t, timers: { every: t.every.bind(t), cancel: t.cancel.bind(t), after: (m, f, a) => (m === 100 ? never : t.after(m, f, a)) }, rng: seededRandom(3) }, log);
    t.advance(ms + 40);
    expect(log).not.toEqual(underManual(admission, seededRandom(3)));
  });
});
