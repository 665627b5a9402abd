import { describe, expect, it } from 'vitest';
import { autoscaleOf, parseScenario, renderText, runScenario, ScenarioError } from '../../src/sim/index.js';
import { kedaPolicy } from '../../src/control/autoscaler/baselines.js';
import { STARTUP_PROFILES } from '../../src/engine/startup.js';

// A scenario's `autoscale:` block: the pools the gateway's autoscaler scales, with which policy, on
// which tick, each pool's limits and start-up; the report gains what it did.

const NO_WALL = { nowMs: () => 0, monoMs: () => 0 };

const scenario = (autoscale: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: 'as', durationS: 120, seed: 3,
  regions: [{ name: 'us-east' }],
  fleet: [{ region: 'us-east', model: 'm', profile: 'llama-3.1-8b-h100', replicas: 1 }],
  workload: { kind: 'mix', parts: [
    { kind: 'poisson', ratePerS: 2, durationS: 40, prompt: 400, output: 80 },
    { kind: 'poisson', ratePerS: 40, startS: 40, durationS: 80, prompt: 400, output: 80 },
  ] },
  slo: { ttftMs: 1500, tpotMs: 80 },
  autoscale,
  ...extra,
});

describe('a scenario\'s autoscale block', () => {
  it('fills in its defaults and names the pools as the policies see them, with the scenario\'s SLO', () => {
    const s = parseScenario(scenario({ pools: [{ region: 'us-east', model: 'm', max: 4, startup: 'tuned' }] }));
    expect(s.autoscale).toMatchObject({ policy: 'switchyard', tickS: 15, pools: [{ min: 1, max: 4, scaleToZero: false, startup: 'tuned' }] });
    const a = autoscaleOf(s)!;
    expect(a.pools).toEqual([expect.objectContaining({
      name: 'us-east/m', min: 1, max: 4, initial: 1, startupMs: Math.round(STARTUP_PROFILES.tuned.seconds * 1000), slo: { ttftMs: 1500, itlMs: 80 },
    })]);
    expect(a.policyFor(a.pools[0]).name).toBe('switchyard');
    // a fresh policy per call: each run keeps its own history
    expect(a.policyFor(a.pools[0])).not.toBe(a.policyFor(a.pools[0]));
    expect(autoscaleOf(parseScenario({ ...scenario({}), autoscale: undefined }))).toBeNull();
  });

  it.each([
    ['a pool the fleet does not have', { pools: [{ region: 'us-east', model: 'x', max: 2 }] }, /autoscale\.pools\.0: no pool of the fleet serves x in us-east/],
    ['min above max', { pools: [{ region: 'us-east', model: 'm', min: 3, max: 2 }] }, /autoscale\.pools\.0\.min: min 3 is above max 2/],
    ['an unknown start-up', { pools: [{ region: 'us-east', model: 'm', max: 2, startup: 'warm' }] }, /autoscale\.pools\.0\.startup: start-up 'warm' is not one of cold, tuned, snapshot/],
    ['scale to zero with a minimum', { pools: [{ region: 'us-east', model: 'm', max: 2, scaleToZero: true }] }, /autoscale\.pools\.0\.scaleToZero: a pool that may scale to zero needs min 0/],
    ['a mistyped knob', { knobs: { targetUtilization: 0.5 }, pools: [{ region: 'us-east', model: 'm', max: 2 }] }, /autoscale\.knobs/],
    ['knobs for a baseline', { policy: 'keda', knobs: {}, pools: [{ region: 'us-east', model: 'm', max: 2 }] }, /autoscale\.knobs: knobs are Switchyard's policy's; the keda rule takes `options`/],
    ['a KPA option for KEDA', { policy: 'keda', options: { targetConcurrency: 4 }, pools: [{ region: 'us-east', model: 'm', max: 2 }] }, /autoscale\.options/],
    // bounded: a max is that many slots held in memory, a tick that many driver rounds per simulated second
    ['a max of a billion slots', { pools: [{ region: 'us-east', model: 'm', max: 1e9 }] }, /autoscale\.pools\.0\.max/],
    ['a tick of a microsecond', { tickS: 1e-6, pools: [{ region: 'us-east', model: 'm', max: 2 }] }, /autoscale\.tickS/],
    ['a latency window of a week', { latencyWindowS: 604800, pools: [{ region: 'us-east', model: 'm', max: 2 }] }, /autoscale\.latencyWindowS/],
    ['a warm-up of a week', { warmupS: 604800, pools: [{ region: 'us-east', model: 'm', max: 2 }] }, /autoscale\.warmupS/],
    ['a staleness of a week', { staleAfterS: 604800, pools: [{ region: 'us-east', model: 'm', max: 2 }] }, /autoscale\.staleAfterS/],
    ['a start-up of a day', { pools: [{ region: 'us-east', model: 'm', max: 2, startup: 86400 }] }, /autoscale\.pools\.0\.startup/],
  ])('rejects %s, naming the path', (_, block, message) => {
    expect(() => parseScenario(scenario(block))).toThrow(ScenarioError);
    expect(() => parseScenario(scenario(block))).toThrow(message);
  });

  it('lets faults name the slots of an autoscaled pool, up to its max', () => {
    const pools = [{ region: 'us-east', model: 'm', max: 3 }];
    expect(() => parseScenario(scenario({ pools }, { faults: [{ kind: 'crash', atS: 1, replica: 'us-east/m/2' }] }))).not.toThrow();
    expect(() => parseScenario(scenario({ pools }, { faults: [{ kind: 'crash', atS: 1, replica: 'us-east/m/3' }] }))).toThrow(/faults\.0\.replica/);
  });
});

describe('a run of an autoscaled scenario', () => {
  const loaded = { scenario: parseScenario(scenario({ policy: 'switchyard', tickS: 5, pools: [{ region: 'us-east', model: 'm', max: 4, startup: 'snapshot' }] })), baseDir: '.' };

  it('grows the pool under the burst with Switchyard\'s policy, and the report says so', () => {
    const { runs, report } = runScenario(loaded, { clock: NO_WALL });
    const a = runs[0].autoscale!;
    expect(a.pools).toEqual([expect.objectContaining({ pool: 'us-east/m', policy: 'switchyard' })]);
    expect(a.scaleEvents).toBeGreaterThan(0);
    expect(Math.max(...a.replicasOverTime.map((s) => s.ready))).toBeGreaterThan(1);
    const p = report.policies[0].autoscale!;
    expect(p.peakReplicas).toBeGreaterThan(1);
    expect(p.meanReplicas).toBeGreaterThan(1);
    expect(report.policies[0].gpuHours).toBeCloseTo(a.gpuHours, 9);
    const text = renderText(report);
    expect(text).toMatch(/scale events \/ oscillations\s+\d+ \/ \d+/);
    expect(text).toMatch(/autoscaled from 1, start-up 5\.5 s/);
  });

  it('takes policies given in code in place of the block, and a fixed fleet with null', () => {
    const base = autoscaleOf(loaded.scenario)!;
    const keda = runScenario(loaded, { clock: NO_WALL, autoscale: { ...base, policyFor: (pool) => kedaPolicy(pool, { queuePerReplica: 2 }) } }).runs[0];
    expect(keda.autoscale!.pools[0].policy).toBe('keda');
    const fixed = runScenario(loaded, { clock: NO_WALL, autoscale: null }).runs[0];
    expect(fixed.autoscale).toBeUndefined();
    expect(fixed.replicas.map((r) => r.id)).toEqual(['us-east/m/0']);
  });

  it('is a pure function of the scenario', () => {
    const a = runScenario(loaded, { clock: NO_WALL }).runs[0];
    const b = runScenario(loaded, { clock: NO_WALL }).runs[0];
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });
});
