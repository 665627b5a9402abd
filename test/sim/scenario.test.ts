import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/index.js';
import { loadScenario, parseScenario, ScenarioError } from '../../src/sim/index.js';

const pick = <T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> => Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;

const examples = fileURLToPath(new URL('../../scenarios/', import.meta.url));

const minimal = () => ({
  name: 'x', durationS: 60,
  regions: [{ name: 'us-east', latencyMs: { 'eu-west': 40 } }, { name: 'eu-west' }],
  fleet: [{ region: 'us-east', model: 'm', profile: 'llama-3.1-8b-h100', replicas: 2 }],
  workload: { kind: 'poisson', ratePerS: 1, prompt: 100, output: 10 },
});

describe('a scenario file', () => {
  it('fills what it leaves out: seed, policies, SLO, probe and scrape intervals', () => {
    const s = parseScenario(minimal());
    expect(s).toMatchObject({ seed: 1, policies: ['default'], slo: { ttftMs: 2000, tpotMs: 100 }, upstream: { maxAttempts: 3 }, probeIntervalS: 2 });
  });

  it('takes the gateway\'s retry knobs under the gateway\'s names and defaults (upstream.*, fleet.outlier)', () => {
    const gw = configSchema.parse({});
    const s = parseScenario({ ...minimal(), upstream: { maxAttempts: 2, hedge: { enabled: true } } });
    expect(s.upstream).toEqual({ ...pick(gw.upstream, ['maxAttempts', 'retryBudget', 'backoff', 'hedge']), maxAttempts: 2, hedge: { enabled: true, delayMs: gw.upstream.hedge.delayMs } });
    expect(s.outlier).toEqual(gw.fleet.outlier);
    expect(s.probeIntervalS * 1000).toBe(gw.fleet.healthIntervalMs);
    expect(s.scrapeIntervalS * 1000).toBe(gw.fleet.scrapeIntervalMs);
    // the same 16 Ki prompt tokens: 256 blocks of 64 tokens, 128 of 512 characters at four a token
    expect(s.prefixMaxBlocks * s.prefixBlockTokens).toBe((gw.routing.prefix.maxBlocks * gw.routing.prefix.blockChars) / 4);
    // the name of earlier releases is still read, as the gateway's key
    expect(parseScenario({ ...minimal(), maxAttempts: 2 }).upstream.maxAttempts).toBe(2);
    expect(() => parseScenario({ ...minimal(), maxAttempts: 2, upstream: { maxAttempts: 3 } })).toThrow(/maxAttempts/);
  });

  it.each([
    ['an unknown profile, listing the known ones', (s: any) => { s.fleet[0].profile = 'gpt-5'; }, /fleet\.0\.profile: unknown profile "gpt-5"; known: llama-3\.1-8b-h100/],
    ['a pool in an undeclared region', (s: any) => { s.fleet[0].region = 'mars'; }, /fleet\.0\.region: unknown region "mars"/],
    ['a fault on a replica that does not exist, naming the scheme', (s: any) => { s.faults = [{ kind: 'crash', atS: 1, replica: 'r9' }]; }, /faults\.0\.replica: no replica "r9"; replicas are named REGION\/MODEL\/INDEX, e.g. us-east\/m\/0/],
    ['an unknown routing policy', (s: any) => { s.policies = ['fastest']; }, /policies\.0/],
    ['a workload kind that does not exist', (s: any) => { s.workload = { kind: 'zipfian' }; }, /workload/],
    ['a misspelt field', (s: any) => { s.durationSec = 5; }, /durationSec/],
    ['no duration', (s: any) => { delete s.durationS; }, /durationS/],
    ['pools that cut KV blocks differently', (s: any) => { s.fleet.push({ region: 'eu-west', model: 'm', profile: 'llama-3.1-8b-h100', replicas: 1, engine: { blockSize: 32 } }); }, /fleet: every pool must use the same engine\.blockSize \(got 16, 32\)/],
  ])('refuses %s', (_why, mutate, message) => {
    const s = minimal();
    mutate(s);
    expect(() => parseScenario(s, 'my.yaml')).toThrow(ScenarioError);
    expect(() => parseScenario(s, 'my.yaml')).toThrow(message);
  });

  it('says which file is unreadable or not YAML', () => {
    expect(() => loadScenario('/nonexistent/s.yaml')).toThrow(/cannot read scenario \/nonexistent\/s\.yaml/);
  });

  it('every example scenario under scenarios/ is valid (plan-*.yaml are capacity plans, not scenarios)', () => {
    const files = readdirSync(examples).filter((f) => f.endsWith('.yaml') && !f.startsWith('plan-'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) expect(() => loadScenario(examples + f), f).not.toThrow();
  });
});
