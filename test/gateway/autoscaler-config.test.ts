import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { AUTOSCALER_MAX_REPLICAS } from '../../src/config/schema.js';
import { switchyardKnobsSchema } from '../../src/control/autoscaler/spec.js';
import { startupMs } from '../../src/engine/index.js';
import { autoscaledPools } from '../../src/gateway/autoscaler/pools.js';

// The `autoscaler:` block of the gateway's file: its defaults, the pools it sizes, and refusals
// that name the field at fault.

const dir = mkdtempSync(join(tmpdir(), 'sy-autoscaler-config-'));
let n = 0;
function load(yaml: string) {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig(file);
}
function refusal(yaml: string): string {
  try {
    load(yaml);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
}

const pool = (extra: string) => `autoscaler:\n  pools:\n    - model: llama-3.1-8b\n      region: us-east\n${extra}`;

describe('the autoscaler block', () => {
  it('is off by default, with every knob at its default', () => {
    const a = loadConfig(undefined).autoscaler;
    expect(a).toEqual({ enabled: false, tickMs: 5_000, latencyWindowMs: 60_000, warmupMs: 60_000, staleAfterMs: 30_000, knobs: switchyardKnobsSchema.parse({}), pools: [] });
  });

  it('fills a pool\'s defaults: 1 to 4 replicas, a snapshot start-up, a 2 s / 100 ms SLO', () => {
    const [p] = load(pool('')).autoscaler.pools;
    expect(p).toEqual({ model: 'llama-3.1-8b', region: 'us-east', min: 1, max: 4, scaleToZero: false, startup: 'snapshot', slo: { ttftMs: 2_000, itlMs: 100 } });
    const [k] = load(pool('      kubernetes: { deployment: llama }\n')).autoscaler.pools;
    expect(k.kubernetes).toEqual({ namespace: 'default', deployment: 'llama', port: 8000 });
  });

  it.each([
    ['an unknown model', 'autoscaler:\n  pools:\n    - { model: gpt-9, region: us-east }\n', 'autoscaler.pools.0.model: `gpt-9` is not a configured model'],
    ['an unknown region', 'autoscaler:\n  pools:\n    - { model: llama-3.1-8b, region: mars }\n', 'autoscaler.pools.0.region: `mars` is not a configured region'],
    ['min above max', pool('      min: 5\n      max: 2\n'), 'autoscaler.pools.0.min: must be at most max (2)'],
    ['scale to zero with a minimum', pool('      scaleToZero: true\n'), 'autoscaler.pools.0.scaleToZero: needs min: 0'],
    ['an unknown start-up', pool('      startup: warm\n'), 'autoscaler.pools.0.startup: must be one of cold, tuned, snapshot'],
    ['a misspelt key', pool('      maxx: 3\n'), '`autoscaler.pools.0.maxx` — did you mean `autoscaler.pools.0.max`?'],
    ['a bad knob', 'autoscaler:\n  knobs: { deadBand: 2 }\n', 'autoscaler.knobs.deadBand:'],
    ['a pool listed twice', 'autoscaler:\n  pools:\n    - { model: llama-3.1-8b, region: us-east }\n    - { model: llama-3.1-8b, region: us-east, max: 8 }\n', 'autoscaler.pools.1: the pool us-east/llama-3.1-8b is listed twice'],
    ['a kubernetes pool without its deployment', pool('      kubernetes: { namespace: ml }\n'), 'autoscaler.pools.0.kubernetes.deployment:'],
    // every field bounded: a value no pool could mean (seconds typed as ms, a name the API refuses) is refused here, not at the first tick
    ['a latency window of a day', 'autoscaler: { latencyWindowMs: 86400000 }\n', 'autoscaler.latencyWindowMs:'],
    ['a latency window under a second', 'autoscaler: { latencyWindowMs: 5 }\n', 'autoscaler.latencyWindowMs:'],
    ['a warm-up of a day', 'autoscaler: { warmupMs: 86400000 }\n', 'autoscaler.warmupMs:'],
    ['a staleness of a day', 'autoscaler: { staleAfterMs: 86400000 }\n', 'autoscaler.staleAfterMs:'],
    ['a TTFT objective of hours', pool('      slo: { ttftMs: 36000000 }\n'), 'autoscaler.pools.0.slo.ttftMs:'],
    ['an ITL objective of hours', pool('      slo: { itlMs: 36000000 }\n'), 'autoscaler.pools.0.slo.itlMs:'],
    ['a minimum beyond any pool', pool('      min: 5000\n      max: 5000\n'), 'autoscaler.pools.0.min:'],
    ['a namespace Kubernetes refuses', pool('      kubernetes: { namespace: "ML/prod", deployment: llama }\n'), 'autoscaler.pools.0.kubernetes.namespace: must be a Kubernetes namespace name'],
    ['a deployment name Kubernetes refuses', pool('      kubernetes: { deployment: "Llama 8B" }\n'), 'autoscaler.pools.0.kubernetes.deployment: must be a Kubernetes Deployment name'],
  ])('refuses %s, naming the path', (_what, yaml, message) => {
    expect(refusal(yaml)).toContain(message);
  });

  it('with no pools, sizes every demo pool between 1 and twice its replicas', () => {
    const c = load('autoscaler: { enabled: true }\ndemo:\n  - { model: llama-3.1-8b, region: us-east, replicas: 2 }\n  - { model: llama-3.3-70b, region: eu-west, replicas: 1, profile: llama-3.1-8b-h100 }\n');
    const pools = autoscaledPools(c);
    expect(pools.map((p) => ({ name: p.spec.name, min: p.spec.min, max: p.spec.max, startupMs: p.spec.startupMs, profile: p.profile, kubernetes: p.kubernetes }))).toEqual([
      { name: 'us-east/llama-3.1-8b', min: 1, max: 4, startupMs: startupMs('snapshot'), profile: 'llama-3.1-8b-h100', kubernetes: null },
      { name: 'eu-west/llama-3.3-70b', min: 1, max: 2, startupMs: startupMs('snapshot'), profile: 'llama-3.1-8b-h100', kubernetes: null },
    ]);
  });

  it('holds a derived pool of a large demo fleet to the pool ceiling instead of refusing to start', () => {
    const c = load('autoscaler: { enabled: true }\ndemo:\n  - { model: llama-3.1-8b, region: us-east, replicas: 400 }\n  - { model: llama-3.1-8b, region: us-east, replicas: 300 }\n');
    const [p] = autoscaledPools(c);
    expect({ name: p.spec.name, max: p.spec.max }).toEqual({ name: 'us-east/llama-3.1-8b', max: AUTOSCALER_MAX_REPLICAS });
  });

  it('takes a configured pool\'s start-up in seconds and its model\'s engine profile', () => {
    const [p] = autoscaledPools(load('autoscaler:\n  pools:\n    - { model: llama-3.3-70b, region: eu-west, startup: 1.5, max: 3 }\n'));
    expect({ startupMs: p.spec.startupMs, profile: p.profile, gpu: p.spec.profile.name, max: p.spec.max }).toEqual({ startupMs: 1_500, profile: 'llama-3.3-70b-fp8-h100-tp2', gpu: 'llama-3.3-70b-fp8-h100-tp2', max: 3 });
  });
});
