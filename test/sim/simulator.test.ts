import { describe, expect, it } from 'vitest';
import { getProfile } from '../../src/engine/index.js';
import { DEFAULT_OUTLIER_POLICY, type OutlierPolicy } from '../../src/fleet/index.js';
import { resolveProfile, type BuiltinProfileName } from '../../src/routing/index.js';
import { simulate, type Fault, type SimulationInput } from '../../src/sim/index.js';
import { poisson, seededRandom, type LengthDist } from '../../src/sim/workload/index.js';

// The simulator's behaviour as a platform team relies on it: reproducible, the same with and
// without decode runs, and faults that play out as they would against the live gateway.

const H100_8B = getProfile('llama-3.1-8b-h100')!;

interface Setup {
  policy?: BuiltinProfileName;
  staleAfterS?: number;
  outlier?: OutlierPolicy | null;
  replicas?: { region: string; count: number }[];
  ratePerS?: number;
  durationS?: number;
  prompt?: LengthDist;
  output?: LengthDist;
  faults?: Partial<Fault>[];
  tenants?: { name: string; weight: number }[];
  placement?: Record<string, { region: string; allowedRegions: string[] | null }>;
  coalesce?: boolean;
  seed?: number;
  /** the gateway's upstream.* retry knobs */
  upstream?: Partial<Pick<SimulationInput, 'maxAttempts' | 'retryBudget' | 'backoff' | 'hedge'>>;
}

function input(s: Setup = {}): SimulationInput {
  const pools = s.replicas ?? [{ region: 'us-east', count: 4 }];
  const replicas = pools.flatMap((p) => Array.from({ length: p.count }, (_, i) => ({
    id: `${p.region}/${i}`, region: p.region, model: 'm', profile: H100_8B, engine: {}, costPerGpuHour: 2,
  })));
  const durationS = s.durationS ?? 60;
  const faults = (s.faults ?? []).map((f) => ({ forS: null, replica: null, region: null, ...f }) as Fault);
  return {
    policyName: s.policy ?? 'least-outstanding', profile: { ...resolveProfile(s.policy ?? 'least-outstanding'), ...(s.staleAfterS !== undefined ? { staleAfterS: s.staleAfterS } : {}) }, regionOrder: (home) => [home, ...['us-east', 'eu-west'].filter((r) => r !== home)], prefixBlockTokens: 64, prefixMaxBlocks: 256, outlier: s.outlier ?? null, replicas,
    workload: poisson({
      ratePerS: s.ratePerS ?? 8, durationS, seed: s.seed ?? 7, prompt: s.prompt ?? { kind: 'uniform', min: 200, max: 2000 },
      output: s.output ?? { kind: 'uniform', min: 20, max: 300 }, ...(s.tenants ? { tenants: s.tenants } : {}),
    }),
    network: { latencyS: (a, b) => (a === b ? 0.0005 : 0.040) },
    tenants: (t) => s.placement?.[t] ?? { region: 'us-east', allowedRegions: null },
    defaultModel: 'm', durationS, drainLimitS: 600, faults, random: seededRandom(s.seed ?? 7),
    sampleS: 1, scrapeIntervalS: 1, probeIntervalS: 2, maxAttempts: 3, coalesce: s.coalesce ?? true,
    ...s.upstream,
  };
}

const ok = (r: ReturnType<typeof simulate>) => r.requests.filter((x) => x.outcome === 'ok');
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('a simulation is a pure function of its scenario', () => {
  it('gives byte-identical records for the same input and seed', () => {
    const a = JSON.stringify(simulate(input({ faults: [{ kind: 'crash', atS: 20, forS: 10, replica: 'us-east/1' }] })));
    const b = JSON.stringify(simulate(input({ faults: [{ kind: 'crash', atS: 20, forS: 10, replica: 'us-east/1' }] })));
    expect(a).toBe(b);
    expect(JSON.stringify(simulate(input({ seed: 8 })))).not.toBe(JSON.stringify(simulate(input({ seed: 7 }))));
  });

  it('gives the same records with decode runs as with single steps, faults included', () => {
    const faults: Partial<Fault>[] = [
      { kind: 'crash', atS: 15, forS: 8, replica: 'us-east/0' },
      { kind: 'slow', atS: 25, forS: 10, factor: 3, replica: 'us-east/2' },
      { kind: 'stale-telemetry', atS: 5, forS: 30, replica: null },
    ];
    for (const policy of ['least-outstanding', 'queue-depth'] as const) {
      const runs = simulate(input({ policy, faults, coalesce: true }));
      const steps = simulate(input({ policy, faults, coalesce: false }));
      expect(runs.requests).toEqual(steps.requests);
      expect(runs.replicas).toEqual(steps.replicas);
    }
  });

  it('accounts every arrival exactly once', () => {
    const r = simulate(input({ faults: [{ kind: 'crash', atS: 10, forS: 5, region: 'us-east' }] }));
    const ids = r.requests.map((x) => x.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids[ids.length - 1]).toBe(ids.length - 1);
  });
});

describe('faults play out as against the live gateway', () => {
  it('a crash fails the streams already answering and retries the rest on another replica', () => {
    // long prompts at a high rate: at the crash some requests are still queued or prefilling
    const r = simulate(input({ ratePerS: 16, prompt: { kind: 'uniform', min: 6000, max: 16000 }, faults: [{ kind: 'crash', atS: 30, forS: 10, replica: 'us-east/0' }] }));
    const retried = r.requests.filter((x) => x.retries > 0);
    const failed = r.requests.filter((x) => x.outcome === 'failed');
    expect(retried.length).toBeGreaterThan(0);
    expect(retried.every((x) => x.outcome === 'ok' && x.replica !== 'us-east/0')).toBe(true);
    expect(failed.length).toBeGreaterThan(0);
    // every failure was on the crashed replica, in flight at the crash
    for (const f of failed) expect(f.arrivalS).toBeLessThan(30);
    // no new request lands on it while it is down (the gateway took it out of rotation)
    const during = ok(r).filter((x) => x.replica === 'us-east/0' && x.arrivalS > 30.1 && x.arrivalS < 40);
    expect(during).toHaveLength(0);
    // after the restart and a health probe it serves again
    expect(ok(r).some((x) => x.replica === 'us-east/0' && x.arrivalS > 43)).toBe(true);
  });

  it('a region outage sends unrestricted tenants to the other region, paying the latency, and fails residency-bound ones', () => {
    const placement = {
      free: { region: 'eu-west', allowedRegions: null },
      bound: { region: 'eu-west', allowedRegions: ['eu-west'] },
    };
    const r = simulate(input({
      replicas: [{ region: 'us-east', count: 3 }, { region: 'eu-west', count: 3 }], placement,
      tenants: [{ name: 'free', weight: 1 }, { name: 'bound', weight: 1 }],
      faults: [{ kind: 'crash', atS: 20, forS: 20, region: 'eu-west' }],
    }));
    const inOutage = (x: { arrivalS: number }) => x.arrivalS > 21 && x.arrivalS < 39;
    const free = r.requests.filter((x) => x.tenant === 'free' && inOutage(x));
    const bound = r.requests.filter((x) => x.tenant === 'bound' && inOutage(x));
    expect(free.every((x) => x.outcome === 'ok' && x.region === 'us-east')).toBe(true);
    expect(bound.every((x) => x.outcome !== 'ok')).toBe(true);
    // outside the outage the free tenant stays home, with a lower TTFT (no 2 × 40 ms crossing)
    const home = ok(r).filter((x) => x.tenant === 'free' && x.arrivalS < 19);
    expect(home.every((x) => x.region === 'eu-west')).toBe(true);
    const ttft = (xs: typeof home) => p50(xs.map((x) => x.firstTokenS - x.arrivalS));
    expect(ttft(free) - ttft(home)).toBeGreaterThan(0.07);
  });

  it('a slow replica serves its requests slower', () => {
    const r = simulate(input({ policy: 'round-robin', faults: [{ kind: 'slow', atS: 0, forS: null, factor: 4, replica: 'us-east/3' }] }));
    const e2e = (id: string) => p50(ok(r).filter((x) => x.replica === id).map((x) => (x.finishS - x.firstTokenS) / Math.max(1, x.outputLen - 1)));
    expect(e2e('us-east/3') / e2e('us-east/0')).toBeGreaterThan(3);
  });

  it('stale telemetry is scored as such: a frozen scrape does not attract traffic, its replica is discounted, not dropped', () => {
    // replica 0's metrics freeze at the first scrape (idle); the others keep reporting their load
    const stale: Partial<Fault>[] = [{ kind: 'stale-telemetry', atS: 0.5, forS: null, replica: 'us-east/0' }];
    const share = (r: ReturnType<typeof simulate>) => r.requests.filter((x) => x.replica === 'us-east/0').length / r.requests.length;
    const fresh = simulate(input({ policy: 'queue-depth', ratePerS: 30 }));
    const blind = simulate(input({ policy: 'queue-depth', ratePerS: 30, faults: stale }));
    expect(share(fresh)).toBeLessThan(0.4);
    // aged past staleAfterS, the frozen "idle" scrape is not believed: the router's own counts rule, at a discount
    expect(share(blind)).toBeGreaterThan(0.02);
    expect(share(blind)).toBeLessThan(0.25);
    // even a router that trusts scrapes of any age does not herd onto the replica that looks idle:
    // what it sent there since the scrape counts on top of what the scrape said
    const trusting = simulate(input({ policy: 'queue-depth', ratePerS: 30, faults: stale, staleAfterS: 1e9 }));
    expect(share(trusting)).toBeLessThan(0.4);
    // least-outstanding never reads telemetry: the fault changes nothing
    expect(simulate(input({ ratePerS: 20, faults: stale })).requests).toEqual(simulate(input({ ratePerS: 20 })).requests);
  });

  it('outlier detection ejects a replica whose first tokens lag the pool, as the live gateway does', () => {
    // replica 3 turns 6× slower at 20 s: its time to first token stands out against its pool's median
    const slow: Partial<Fault>[] = [{ kind: 'slow', atS: 20, forS: null, factor: 6, replica: 'us-east/3' }];
    const after = (r: ReturnType<typeof simulate>) => r.requests.filter((x) => x.arrivalS > 40 && x.replica === 'us-east/3').length;
    const policy = { ...DEFAULT_OUTLIER_POLICY, latency: { factor: 2, minRequests: 10, minPoolSize: 3 } };
    const watched = simulate(input({ policy: 'round-robin', ratePerS: 12, durationS: 90, faults: slow, outlier: policy }));
    const blind = simulate(input({ policy: 'round-robin', ratePerS: 12, durationS: 90, faults: slow }));
    expect(after(blind)).toBeGreaterThan(100);
    // ejected for 30 s, then back, then ejected again for 60 s: it gets only what arrives between
    expect(after(watched)).toBeLessThan(after(blind) / 2);
  });

  it('a request bigger than the replica can hold is rejected, as vLLM answers 400', () => {
    const r = simulate(input({ prompt: { kind: 'fixed', value: 200_000 }, ratePerS: 1, durationS: 5 }));
    expect(r.requests.length).toBeGreaterThan(0);
    expect(r.requests.every((x) => x.outcome === 'rejected')).toBe(true);
  });
});

describe('retries and hedging follow the gateway\'s rule (upstream/retry-policy.ts)', () => {
  // replica 0 is 8× slow throughout and crashes twice; long prompts, so it holds requests still
  // prefilling (no first token) when it does
  const faults: Partial<Fault>[] = [
    { kind: 'slow', atS: 0, factor: 8, replica: 'us-east/0' },
    { kind: 'crash', atS: 15, forS: 5, replica: 'us-east/0' },
    { kind: 'crash', atS: 35, forS: 5, replica: 'us-east/0' },
  ];
  const LONG = { kind: 'uniform', min: 6000, max: 16000 } as const;
  const hedge = { enabled: true, delayMs: 300 };
  const budget = { percent: 50, minConcurrency: 10 };
  const backoff = { baseMs: 25, maxMs: 250 };
  const failed = (r: ReturnType<typeof simulate>) => r.requests.filter((x) => x.outcome === 'failed').length;

  it('retries what had no first token yet, within maxAttempts', () => {
    const once = simulate(input({ faults, ratePerS: 16, prompt: LONG, upstream: { maxAttempts: 1 } }));
    const thrice = simulate(input({ faults, ratePerS: 16, prompt: LONG, upstream: { maxAttempts: 3, retryBudget: budget, backoff } }));
    expect(once.upstream?.retries ?? 0).toBe(0);
    expect(thrice.upstream!.retries).toBeGreaterThan(0);
    // each retry is of a request that would otherwise have failed
    expect(failed(thrice)).toBeLessThan(failed(once));
    expect(thrice.requests.every((x) => x.retries <= 2)).toBe(true);
  });

  it('refuses every retry and hedge once the budget is spent (here: a budget of nothing)', () => {
    const r = simulate(input({ faults, ratePerS: 16, prompt: LONG, upstream: { retryBudget: { percent: 0, minConcurrency: 0 }, hedge } }));
    expect(r.upstream!.retries).toBe(0);
    expect(r.upstream!.hedges).toBe(0);
    expect(r.upstream!.overflows).toBeGreaterThan(0);
  });

  it('hedges a slow first token on another replica; the first token wins and the loser is cancelled', () => {
    const plain = simulate(input({ faults, ratePerS: 16, prompt: LONG, upstream: { retryBudget: budget, backoff } }));
    const hedged = simulate(input({ faults, ratePerS: 16, prompt: LONG, upstream: { retryBudget: budget, backoff, hedge } }));
    expect(hedged.upstream!.hedges).toBeGreaterThan(0);
    expect(hedged.requests.every((x) => (x.hedges ?? 0) <= 1)).toBe(true);
    // a hedge that lost is a wasted call, and so is one that won (its first call lost)
    expect(hedged.upstream!.wasted).toBeGreaterThanOrEqual(hedged.upstream!.hedges);
    const p99 = (r: ReturnType<typeof simulate>) => {
      const t = ok(r).map((x) => x.firstTokenS - x.arrivalS).sort((a, b) => a - b);
      return t[Math.floor(t.length * 0.99)];
    };
    // the slow replica's queue is the tail hedging cuts
    expect(p99(hedged)).toBeLessThan(p99(plain));
  });

  it('gives the same records with decode runs as with single steps while hedges are cancelled mid-run', () => {
    const runs = simulate(input({ faults, ratePerS: 16, prompt: LONG, coalesce: true, upstream: { retryBudget: budget, backoff, hedge } }));
    const steps = simulate(input({ faults, ratePerS: 16, prompt: LONG, coalesce: false, upstream: { retryBudget: budget, backoff, hedge } }));
    expect(runs.upstream!.hedges).toBeGreaterThan(0);
    expect(runs.requests).toEqual(steps.requests);
    expect(runs.replicas).toEqual(steps.replicas);
    expect(JSON.stringify(simulate(input({ faults, ratePerS: 16, prompt: LONG, upstream: { retryBudget: budget, backoff, hedge } })))).toBe(JSON.stringify(runs));
  });
});
