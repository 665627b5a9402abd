import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

function file(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'sy-config-')), 'c.yaml');
  writeFileSync(f, text);
  return f;
}

describe('loading the configuration', () => {
  it('gives the embedded demo with no file: two models, two regions, several replicas each', () => {
    const c = loadConfig(undefined);
    expect(c.server.port).toBe(8080);
    expect(c.server.host).toBe('127.0.0.1');
    expect(new Set(c.demo.map((p) => p.model)).size).toBeGreaterThanOrEqual(2);
    expect(new Set(c.demo.map((p) => p.region)).size).toBeGreaterThanOrEqual(2);
    expect(c.demo.every((p) => p.replicas >= 2)).toBe(true);
  });

  it('gives each loaded configuration its own default tiers: a change to one is never another\'s', () => {
    const a = loadConfig(undefined);
    const b = loadConfig(undefined);
    a.tiers.default.requestsPerMinute = 1;
    a.tiers.free.concurrentRequests = 99;
    expect(b.tiers.default.requestsPerMinute).toBe(4_000);
    expect(b.tiers.free.concurrentRequests).toBe(5);
    expect(loadConfig(undefined).tiers.default.requestsPerMinute).toBe(4_000);
  });

  it('has a replica leave rotation after three unanswered probes by default (a refusal or an error status at once)', () => {
    expect(loadConfig(undefined).fleet.unhealthyThreshold).toBe(3);
    expect(loadConfig(file('fleet: { unhealthyThreshold: 1 }\n')).fleet.unhealthyThreshold).toBe(1);
    expect(() => loadConfig(file('fleet: { unhealthyThreshold: 0 }\n'))).toThrow(/fleet\.unhealthyThreshold/);
  });

  it('lets command-line flags override the file', () => {
    const c = loadConfig(file('server: { port: 9000, host: 0.0.0.0 }\n'), { port: 7000 });
    expect(c.server.port).toBe(7000);
    expect(c.server.host).toBe('0.0.0.0');
  });

  it('turns --replica MODEL=URL into replicas, adding the model when the file does not know it', () => {
    const c = loadConfig(undefined, { replicas: ['my-model=http://10.0.0.1:8000/v1'] });
    expect(c.replicas).toEqual([expect.objectContaining({ model: 'my-model', url: 'http://10.0.0.1:8000/v1', region: 'local' })]);
    expect(c.models.some((m) => m.id === 'my-model')).toBe(true);
  });

  it.each([
    { why: 'a port out of range', text: 'server: { port: 70000 }', msg: 'server.port' },
    { why: 'a demo pool for an unknown model', text: 'demo: [{ model: ghost, region: us-east }]', msg: 'demo.0.model: a demo pool for unknown model `ghost`' },
    { why: 'a replica URL that is not a URL', text: 'replicas: [{ model: m, url: "not a url" }]', msg: 'replicas.0.url' },
    { why: 'a timeout that is not a number', text: 'upstream: { idleTimeoutMs: soon }', msg: 'upstream.idleTimeoutMs' },
    { why: 'an unknown routing profile', text: 'routing: { profile: fastest }', msg: 'unknown routing profile "fastest"; known: round-robin' },
    { why: 'a profile with an unknown scorer', text: 'routing: { profiles: { mine: { scorers: [{ scorer: vibes }] } } }', msg: 'routing.profiles.mine.scorers.0.scorer' },
    { why: 'an odd prefix block size', text: 'routing: { prefix: { blockChars: 511 } }', msg: 'routing.prefix.blockChars' },
  ])('names the field for $why', ({ text, msg }) => {
    expect(() => loadConfig(file(text))).toThrow(ConfigError);
    expect(() => loadConfig(file(text))).toThrow(msg);
  });

  it('routes with the default profile unless told otherwise, and takes a profile defined in the file', () => {
    expect(loadConfig(undefined).routing.profile).toBe('default');
    const c = loadConfig(file('routing:\n  profile: mine\n  profiles:\n    mine: { filters: [region], scorers: [{ scorer: queue-depth, weight: 2 }], picker: power-of-two }\n'));
    // the names of earlier releases are read and normalised to the plugin types
    expect(c.routing.profiles.mine).toMatchObject({ filters: ['region-filter'], scorers: [{ use: 'queue-depth-scorer', weight: 2 }], picker: 'power-of-two-picker', staleAfterS: 3 });
  });

  it('rejects a --replica flag without a model name', () => {
    expect(() => loadConfig(undefined, { replicas: ['http://x:1'] })).toThrow('--replica expects MODEL=URL');
  });
});
