import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

function file(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'sy-demo-')), 'c.yaml');
  writeFileSync(f, text);
  return f;
}

const pools = (text: string) => loadConfig(file(text)).demo.map((p) => `${p.region}/${p.model}×${p.replicas}`);

describe('the demo fleet', () => {
  it('is, with no file, two replicas of each default model in each default region', () => {
    expect(loadConfig(undefined).demo.map((p) => `${p.region}/${p.model}×${p.replicas}`)).toEqual([
      'us-east/llama-3.1-8b×2', 'eu-west/llama-3.1-8b×2', 'us-east/llama-3.3-70b×2', 'eu-west/llama-3.3-70b×2',
    ]);
  });

  it('#11 – a file with its own models and replicas loads without knowing of the default demo pools, and starts none', () => {
    const c = loadConfig(file('models: [{ id: my-model }]\nreplicas: [{ model: my-model, url: "http://10.0.0.1:8000/v1" }]\n'));
    expect(c.demo).toEqual([]);
    expect(c.models.map((m) => m.id)).toEqual(['my-model']);
  });

  it('#11 – replicas alone (by file or by --replica) start no demo pools', () => {
    expect(pools('replicas: [{ model: other, url: "http://10.0.0.1:8000" }]')).toEqual([]);
    expect(loadConfig(undefined, { replicas: ['other=http://10.0.0.1:8000'] }).demo).toEqual([]);
  });

  it('#11 – is derived from the models a file gives when it names no demo pools', () => {
    expect(pools('models: [{ id: tiny, profile: llama-3.1-8b-a100 }]')).toEqual(['us-east/tiny×2', 'eu-west/tiny×2']);
    expect(pools('models: [{ id: tiny }]\nregions: [{ name: home }]\nregion: home')).toEqual(['home/tiny×2']);
  });

  it('takes the pools a file names, as given', () => {
    expect(pools('demo: [{ model: llama-3.1-8b, region: eu-west, replicas: 1 }]')).toEqual(['eu-west/llama-3.1-8b×1']);
  });

  it.each([
    { why: 'a pool naming a model the file does not describe', text: 'models: [{ id: tiny }]\ndemo: [{ model: llama-3.1-8b, region: us-east }]',
      says: 'demo.0.model: a demo pool for unknown model `llama-3.1-8b`; the models are `tiny` (add it under `models:`)' },
    { why: 'a pool in an unknown region', text: 'demo: [{ model: llama-3.1-8b, region: mars }]', says: 'demo.0.region: a demo pool in unknown region `mars`' },
    { why: 'a pool with an unknown engine profile', text: 'demo: [{ model: llama-3.1-8b, region: us-east, profile: nope }]', says: 'demo.0.profile: unknown engine profile `nope`; known: ' },
    { why: 'a model with an unknown engine profile', text: 'models: [{ id: m, profile: nope }]', says: 'models.0.profile: unknown engine profile `nope`; known: llama-3.1-8b-h100' },
    { why: 'a gateway region that is not a region', text: 'region: mars', says: "region: the gateway's region `mars` is not one of the regions, `us-east`, `eu-west`" },
    { why: 'a file with no models and no replicas', text: 'models: []', says: 'models: no models and no replicas, so nothing to serve' },
    { why: 'demo pools beside replicas in the same file', text: 'demo: [{ model: llama-3.1-8b, region: us-east }]\nreplicas: [{ model: m, url: "http://10.0.0.1:1" }]',
      says: 'demo pools are started only when no replicas are given' },
  ])('refuses $why, clearly', ({ text, says }) => {
    expect(() => loadConfig(file(text))).toThrow(ConfigError);
    expect(() => loadConfig(file(text))).toThrow(says);
  });

  it('lets --replica flags win over the demo pools of a file', () => {
    expect(loadConfig(file('demo: [{ model: llama-3.1-8b, region: us-east }]'), { replicas: ['m=http://10.0.0.1:1'] }).demo).toEqual([]);
  });
});

describe('a replica URL', () => {
  it.each(['mailto:x@y', 'file:///etc/passwd', 'data:text/plain,hi', 'http://', 'ftp://host/'])('#11 – %s is refused: only http(s) with a host can be dialled', (url) => {
    expect(() => loadConfig(undefined, { replicas: [`m=${url}`] })).toThrow('replicas.0.url: must be an http:// or https:// URL with a host');
  });
});
