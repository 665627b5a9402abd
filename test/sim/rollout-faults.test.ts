import { describe, expect, it } from 'vitest';
import { getProfile } from '../../src/engine/index.js';
import { resolveProfile } from '../../src/routing/index.js';
import { simulate, type Fault, type SimulationInput } from '../../src/sim/index.js';
import { poisson, seededRandom } from '../../src/sim/workload/index.js';

// The faults a candidate build can be given, on a version's replicas: a share of calls failing
// with a 500, outputs longer than asked, a slower prefill. Two versions share the traffic (no
// rollout: both at weight 1), so each fault shows against the version without it.

const H100_8B = getProfile('llama-3.1-8b-h100')!;

function input(faults: Partial<Fault>[], seed = 7): SimulationInput {
  const replicas = ['v1', 'v2'].flatMap((version) => [0, 1].map((i) => ({
    id: `us-east/${version}/${i}`, region: 'us-east', model: 'm', version, profile: H100_8B, engine: {}, costPerGpuHour: 2,
  })));
  return {
    policyName: 'least-outstanding', profile: resolveProfile('least-outstanding'), regionOrder: (home) => [home], prefixBlockTokens: 64, prefixMaxBlocks: 256,
    outlier: null, replicas,
    workload: poisson({ ratePerS: 8, durationS: 60, seed, prompt: { kind: 'uniform', min: 200, max: 2000 }, output: { kind: 'fixed', value: 50 } }),
    network: { latencyS: () => 0.0005 },
    tenants: () => ({ region: 'us-east', allowedRegions: null }),
    defaultModel: 'm', durationS: 60, drainLimitS: 600,
    faults: faults.map((f) => ({ atS: 0, forS: null, replica: null, region: null, version: null, ...f }) as Fault),
    random: seededRandom(seed), faultRandom: seededRandom(seed ^ 0xe770),
    sampleS: 1, scrapeIntervalS: 1, probeIntervalS: 2, maxAttempts: 1, coalesce: true,
  };
}

const servedBy = (r: ReturnType<typeof simulate>, v: string) => r.requests.filter((q) => q.outcome === 'ok' && q.replica!.includes(`/${v}/`));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('an errors fault on a version', () => {
  it('fails about that share of its calls, and none of the other version\'s, the same way for the same seed', () => {
    const r = simulate(input([{ kind: 'errors', version: 'v2', rate: 0.3 }]));
    const failed = r.requests.filter((q) => q.outcome === 'failed').length;
    const v1 = servedBy(r, 'v1').length;
    const v2 = servedBy(r, 'v2').length;
    // without retries a failed call is a failed request: 30 % of v2's calls
    expect(failed / (failed + v2)).toBeGreaterThan(0.2);
    expect(failed / (failed + v2)).toBeLessThan(0.4);
    expect(v1).toBeGreaterThan(150);
    expect(JSON.stringify(simulate(input([{ kind: 'errors', version: 'v2', rate: 0.3 }])))).toBe(JSON.stringify(r));
  });

  it('takes the highest rate in force: a 1 % background and a version at 100 % fail every call of that version', () => {
    const r = simulate(input([{ kind: 'errors', rate: 0.01 }, { kind: 'errors', version: 'v2', rate: 1 }]));
    expect(servedBy(r, 'v2')).toEqual([]);
    expect(servedBy(r, 'v1').length).toBeGreaterThan(150);
  });
});

describe('a long-outputs fault on a version', () => {
  it('makes its outputs that many times as long', () => {
    const r = simulate(input([{ kind: 'long-outputs', version: 'v2', factor: 2 }]));
    expect(new Set(servedBy(r, 'v2').map((q) => q.outputLen))).toEqual(new Set([100]));
    expect(new Set(servedBy(r, 'v1').map((q) => q.outputLen))).toEqual(new Set([50]));
  });
});

describe('a ttft fault on a version', () => {
  it('slows its first tokens by about the factor, and its later tokens far less', () => {
    const r = simulate(input([{ kind: 'ttft', version: 'v2', factor: 2 }]));
    const ttft = (v: string) => median(servedBy(r, v).map((q) => q.firstTokenS - q.arrivalS));
    const tpot = (v: string) => median(servedBy(r, v).map((q) => (q.finishS - q.firstTokenS) / (q.outputLen - 1)));
    expect(ttft('v2') / ttft('v1')).toBeGreaterThan(1.6);
    expect(tpot('v2') / tpot('v1')).toBeLessThan(1.3);
  });
});
