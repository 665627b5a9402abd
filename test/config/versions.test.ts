import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, ConfigError, loadConfig } from '../../src/config/index.js';

function file(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'sy-versions-')), 'c.yaml');
  writeFileSync(f, text);
  return f;
}

const load = (text: string) => loadConfig(file(text));
const TWO = 'models: [{ id: m, versions: [{ id: v1 }, { id: v2, weights: ckpt-2, engine: "vllm 0.11", settings: { temperature: 0.7 }, warmup: {} }] }]\n';

describe('model versions in config', () => {
  it('default to one version named like the model, which is stable', () => {
    const c = loadConfig(undefined);
    for (const m of c.models) {
      expect(m.versions).toEqual([{ id: m.id }]);
      expect(m.stable).toBe(m.id);
    }
    expect(configSchema.parse({}).models.every((m) => m.stable === m.id)).toBe(true);
  });

  it('take what a file gives; stable defaults to the first; a warm-up gets its defaults', () => {
    const m = load(TWO).models[0];
    expect(m.versions.map((v) => v.id)).toEqual(['v1', 'v2']);
    expect(m.stable).toBe('v1');
    expect(m.versions[1]).toEqual({
      id: 'v2', weights: 'ckpt-2', engine: 'vllm 0.11', settings: { temperature: 0.7 },
      warmup: { requests: 2, prompt: expect.any(String), maxTokens: 8 },
    });
    expect(m.versions[0].warmup).toBeUndefined();
  });

  it('give replicas and demo pools the model\'s stable version unless they name one', () => {
    const c = load(`models: [{ id: m, versions: [{ id: v1 }, { id: v2 }], stable: v2 }]\ndemo: [{ model: m, region: us-east }, { model: m, region: eu-west, version: v1, faults: { errorRate: 0.5, outputFactor: 2 } }]`);
    expect(c.demo.map((p) => p.version)).toEqual(['v2', 'v1']);
    expect(c.demo[1].faults).toEqual({ errorRate: 0.5, outputFactor: 2 });
    const derived = load('models: [{ id: m, versions: [{ id: v1 }, { id: v2 }], stable: v2 }]');
    expect(derived.demo.every((p) => p.version === 'v2')).toBe(true);
    const r = load(`${TWO}replicas: [{ model: m, url: "http://10.0.0.1:8000" }, { model: m, url: "http://10.0.0.2:8000", version: v2 }]`);
    expect(r.replicas.map((x) => x.version)).toEqual(['v1', 'v2']);
  });

  it('--replica MODEL@VERSION=URL names the version; a model the file does not describe serves its own name', () => {
    const c = loadConfig(file(TWO), { replicas: ['m@v2=http://10.0.0.1:8000', 'other=http://10.0.0.2:8000'] });
    expect(c.replicas.map((r) => `${r.model}@${r.version}`)).toEqual(['m@v2', 'other@other']);
  });

  it.each([
    { why: 'two versions with one id', text: 'models: [{ id: m, versions: [{ id: v1 }, { id: v1 }] }]', says: 'models.0.versions.1.id: two versions are named `v1`' },
    { why: 'a stable version that is not one', text: 'models: [{ id: m, versions: [{ id: v1 }], stable: v9 }]', says: "models.0.stable: `v9` is not one of the model's versions (`v1`)" },
    { why: 'an empty list of versions', text: 'models: [{ id: m, versions: [] }]', says: 'models.0.versions: a model needs at least one version' },
    { why: 'an unknown key in a version', text: 'models: [{ id: m, versions: [{ id: v1, wieghts: x }] }]', says: 'models.0.versions.0.wieghts' },
    { why: 'a warm-up of no requests', text: 'models: [{ id: m, versions: [{ id: v1, warmup: { requests: 0 } }] }]', says: 'models.0.versions.0.warmup.requests' },
    { why: 'a replica of a version the model lacks', text: `${TWO}replicas: [{ model: m, url: "http://10.0.0.1:1", version: v3 }]`, says: 'replicas.0.version: model `m` has no version `v3`; its versions are `v1`, `v2`' },
    { why: 'a demo pool of a version the model lacks', text: `${TWO}demo: [{ model: m, region: us-east, version: v3 }]`, says: 'demo.0.version: model `m` has no version `v3`' },
    { why: 'a version of a model the file does not describe', text: 'replicas: [{ model: other, url: "http://10.0.0.1:1", version: v2 }]', says: 'replicas.0.version: model `other` is not described under `models:`' },
    { why: 'a demo fault rate above 1', text: 'demo: [{ model: llama-3.1-8b, region: us-east, faults: { errorRate: 1.5 } }]', says: 'demo.0.faults.errorRate' },
    { why: 'a demo output factor of 0', text: 'demo: [{ model: llama-3.1-8b, region: us-east, faults: { outputFactor: 0 } }]', says: 'demo.0.faults.outputFactor' },
    { why: 'a lease no longer than a poll', text: 'rollouts: { leaseTtlMs: 1000, pollMs: 1000 }', says: 'rollouts.leaseTtlMs: must be longer than pollMs (1000)' },
  ])('refuses $why, naming where', ({ text, says }) => {
    expect(() => load(text)).toThrow(ConfigError);
    expect(() => load(text)).toThrow(says);
  });

  it('--replica with an empty version is refused', () => {
    expect(() => loadConfig(undefined, { replicas: ['m@=http://10.0.0.1:1'] })).toThrow(/MODEL@VERSION=URL/);
  });
});

describe('the rollouts block', () => {
  it('has the controller loop\'s defaults', () => {
    expect(loadConfig(undefined).rollouts).toEqual({ tickMs: 1_000, leaseTtlMs: 10_000, pollMs: 1_000 });
  });

  it('takes a gateway id and other intervals', () => {
    expect(load('rollouts: { tickMs: 500, gatewayId: gw-1 }').rollouts).toEqual({ tickMs: 500, leaseTtlMs: 10_000, pollMs: 1_000, gatewayId: 'gw-1' });
  });
});
