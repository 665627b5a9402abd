import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario, runScenario, type LoadedScenario } from '../../src/sim/index.js';
import type { RolloutRecord } from '../../src/sim/rollout.js';

// A rollout in the simulator, as a platform team reads it: the gateway's driver and analysis on the
// simulated fleet roll a broken build back, promote a good one through every step, do the same
// thing for the same seed, and send the candidate nothing before the rollout starts.

// the shipped scenarios, cut short once their rollout is decided (it starts at 60 s; the good one succeeds by ~121 s)
const cut = (l: LoadedScenario, durationS: number): LoadedScenario => ({ ...l, scenario: { ...l.scenario, durationS } });
const broken = cut(loadScenario('scenarios/rollout-broken.yaml'), 90);
const good = cut(loadScenario('scenarios/rollout-good.yaml'), 140);

function run(l: LoadedScenario, seed?: number) {
  const { runs } = runScenario(l, seed === undefined ? {} : { seed });
  const r = runs[0];
  expect(r.rollout).toBeDefined();
  return { run: r, rollout: r.rollout! };
}

const actions = (r: RolloutRecord) => r.transitions.map((t) => t.action);
const candidateServed = (r: ReturnType<typeof run>['run']) => r.requests.filter((q) => q.replica !== null && q.replica.includes('@v2'));

describe('a broken candidate in the simulator', () => {
  const { run: records, rollout } = run(broken);

  it('is rolled back: started, given its first share, failed on errors, then back to 0', () => {
    expect(rollout.error).toBeNull();
    expect(rollout.phase).toBe('rolled_back');
    const a = actions(rollout);
    expect(a[0]).toBe('rollout.start');
    const back = a.indexOf('rollout.rollback');
    expect(back).toBeGreaterThan(0);
    expect(a.indexOf('rollout.rolled_back')).toBeGreaterThan(back);
    expect(a.at(-1)).toBe('rollout.rolled_back');
    // times never go backwards
    const times = rollout.transitions.map((t) => t.atS);
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    const last = rollout.transitions.at(-1)!;
    expect(Object.values(last.weights).every((w) => w === 0)).toBe(true);
    expect(rollout.detections[0].metric).toBe('errors');
  });

  it('is caught within seconds and a few dozen candidate calls', () => {
    const d = rollout.detections[0];
    expect(d.atS).not.toBeNull();
    expect(d.atS! - rollout.startS).toBeLessThan(30);
    expect(d.candidateCalls).toBeLessThan(100);
    expect(d.candidateFailures).toBeGreaterThan(0);
  });

  it('gets no new traffic once its share is back at 0', () => {
    const zeroS = rollout.transitions.at(-1)!.atS;
    // a call sent before the weight moved may still end after it, so allow a request's lifetime
    const late = candidateServed(records).filter((q) => q.arrivalS > zeroS + 1);
    expect(late).toEqual([]);
  });
});

const promoted = run(good);

describe('a good candidate in the simulator', () => {
  const { rollout } = promoted;

  it('is promoted through every step to 100 %', () => {
    expect(rollout.phase).toBe('succeeded');
    const shares = rollout.transitions.map((t) => t.weights['us-east'] ?? 0);
    for (const w of [10, 50, 100]) expect(shares).toContain(w);
    // shares only rise on the way up
    expect([...shares].sort((x, y) => x - y)).toEqual(shares);
    expect(actions(rollout)).not.toContain('rollout.rollback');
    expect(rollout.detections[0].atS).toBeNull();
  });
});

describe('a rollout in the simulator is a function of its scenario and seed', () => {
  it('gives the same transitions for the same seed', () => {
    const a = run(broken, 3).rollout;
    const b = run(broken, 3).rollout;
    expect(JSON.stringify(b.transitions)).toBe(JSON.stringify(a.transitions));
    expect(b.detections).toEqual(a.detections);
  });
});

describe('candidate replicas before the rollout', () => {
  it('get no traffic until the rollout gives them a share', () => {
    const { run: records, rollout } = promoted;
    const served = candidateServed(records);
    expect(served.length).toBeGreaterThan(0);
    for (const q of served) expect(q.firstTokenS).toBeGreaterThanOrEqual(rollout.startS);
  });
});

describe('a rollout scenario that does not fit its fleet', () => {
  it('is reported, not run, when the driver\'s machine refuses the spec', () => {
    const spec = { ...broken.scenario.rollout!.spec, waves: [['eu-west']] };
    const { rollout } = run(cut({ ...broken, scenario: { ...broken.scenario, rollout: { ...broken.scenario.rollout!, spec } } }, 65));
    expect(rollout.error).toMatch(/eu-west/);
    expect(rollout.transitions).toEqual([]);
    expect(rollout.calls.candidate).toBe(0);
  });

  it('names the missing version', () => {
    expect(() => parseScenario({ ...good.scenario, rollout: { ...good.scenario.rollout, spec: { ...good.scenario.rollout!.spec, candidate: 'v9' } } }))
      .toThrow(/rollout\.spec\.candidate: no pool of llama-3\.1-8b serves version "v9"/);
  });
});
