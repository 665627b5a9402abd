import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { nearest } from '../../src/config/issues.js';

function file(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'sy-strict-')), 'c.yaml');
  writeFileSync(f, text);
  return f;
}

function refusal(text: string): string {
  try {
    loadConfig(file(text));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`loaded without complaint: ${text}`);
}

const TIER = 'requestsPerMinute: 1, inputTokensPerMinute: 1, outputTokensPerMinute: 1';

describe('an unknown key anywhere in the configuration', () => {
  it('#11 – `limit: {backend: redis}` is refused with the nearest key, not silently kept as memory limits', () => {
    expect(refusal('limit: { backend: redis }\n')).toContain('unknown key `limit` at the top level — did you mean `limits`?');
  });

  it.each([
    { where: 'server', text: 'server: { prot: 9000 }', says: 'unknown key `server.prot` — did you mean `server.port`?' },
    { where: 'upstream (nested twice)', text: 'upstream: { retryBudget: { precent: 20 } }', says: '`upstream.retryBudget.precent` — did you mean `upstream.retryBudget.percent`?' },
    { where: 'a tier (inside a record)', text: `tiers: { default: { ${TIER}, prority: batch } }`, says: '`tiers.default.prority` — did you mean `tiers.default.priority`?' },
    { where: 'a routing profile', text: 'routing: { profiles: { mine: { scorer: [] } } }', says: '`routing.profiles.mine.scorer` — did you mean `routing.profiles.mine.scorers`?' },
    { where: 'a routing profile\'s scorer', text: 'routing: { profiles: { mine: { scorers: [{ scorer: queue-depth, wieght: 2 }] } } }', says: '`routing.profiles.mine.scorers.0.wieght` — did you mean `routing.profiles.mine.scorers.0.weight`?' },
    { where: 'routing.prefix', text: 'routing: { prefix: { blockChar: 512 } }', says: 'did you mean `routing.prefix.blockChars`?' },
    { where: 'admission', text: 'admission: { maxQueu: 5 }', says: '`admission.maxQueu` — did you mean `admission.maxQueue`?' },
    { where: 'an admission class', text: 'admission: { classes: { batch: { deadline: 5 } } }', says: '`admission.classes.batch.deadline` — did you mean `admission.classes.batch.deadlineMs`?' },
    { where: 'a model', text: 'models: [{ id: m, maxOutputToken: 10 }]', says: '`models.0.maxOutputToken` — did you mean `models.0.maxOutputTokens`?' },
    { where: 'a model\'s pricing', text: 'models: [{ id: m, pricing: { input: 1, ouput: 2 } }]', says: '`models.0.pricing.ouput` — did you mean `models.0.pricing.output`?' },
    { where: 'a replica', text: 'replicas: [{ model: m, url: "http://127.0.0.1:1", regoin: local }]', says: '`replicas.0.regoin` — did you mean `replicas.0.region`?' },
    { where: 'a demo pool', text: 'demo: [{ model: llama-3.1-8b, region: us-east, replica: 1 }]', says: '`demo.0.replica` — did you mean `demo.0.replicas`?' },
    { where: 'a region', text: 'regions: [{ name: us-east, latency: {} }]', says: '`regions.0.latency` — did you mean `regions.0.latencyMs`?' },
    { where: 'fleet.outlier.latency', text: 'fleet: { outlier: { latency: { fator: 2 } } }', says: '`fleet.outlier.latency.fator` — did you mean `fleet.outlier.latency.factor`?' },
    { where: 'spend', text: 'spend: { refresh: 10 }', says: '`spend.refresh` — did you mean `spend.refreshMs`?' },
    { where: 'limits', text: 'limits: { backnd: redis }', says: '`limits.backnd` — did you mean `limits.backend`?' },
  ])('is named with its path and the nearest valid key in $where', ({ text, says }) => {
    expect(refusal(text)).toContain(says);
  });

  it('lists the keys allowed there when none is near', () => {
    const msg = refusal('server: { colour: blue }');
    expect(msg).toContain('unknown key `server.colour`; the keys allowed there are host, port');
  });

  it('names every unknown key of a file at once, each on its own line', () => {
    const lines = refusal('limit: {}\nserver: { prot: 1 }\n').split('\n');
    expect(lines.filter((l) => l.includes('unknown key'))).toHaveLength(2);
  });

  it('keeps the limits a correctly spelt key asks for', () => {
    expect(loadConfig(file('limits: { backend: redis }')).limits.backend).toBe('redis');
  });
});

describe('the nearest key', () => {
  it.each<{ word: string; among: string[]; want: string | null; why: string }>([
    { word: 'limit', among: ['limits', 'server'], want: 'limits', why: 'a letter missing' },
    { word: 'prot', among: ['port', 'host'], want: 'port', why: 'two letters swapped' },
    { word: 'Port', among: ['port'], want: 'port', why: 'case ignored' },
    { word: 'maxInflight', among: ['maxInflightPerReplica', 'maxQueue'], want: 'maxInflightPerReplica', why: 'a unique prefix' },
    { word: 'xyz', among: ['port', 'host'], want: null, why: 'nothing within reach' },
    { word: 'ab', among: ['host'], want: null, why: 'a short word allows one edit only' },
  ])('of $word among $among is $want ($why)', ({ word, among, want }) => {
    expect(nearest(word, among)).toBe(want);
  });
});

describe('a file that cannot be read as configuration', () => {
  it('is a ConfigError naming the file when the YAML is broken', () => {
    const f = file('server: [1\n');
    expect(() => loadConfig(f)).toThrow(ConfigError);
    expect(() => loadConfig(f)).toThrow(`${f} is not valid YAML or JSON`);
  });

  it('names a `server:` that is not a mapping even when --port overrides it', () => {
    expect(() => loadConfig(file('server: 5'), { port: 0 })).toThrow(/server: .*object/);
  });
});
