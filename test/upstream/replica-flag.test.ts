import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

// `--replica MODEL=URL` fronts an OpenAI-compatible server; `MODEL=anthropic+URL` one that speaks
// the Anthropic Messages API.
const replicas = (...flags: string[]) => loadConfig(undefined, { replicas: flags }).replicas;

describe('the --replica flag', () => {
  it.each([
    // [flag, protocol, url]
    ['m=http://10.0.0.5:8000/v1', 'openai', 'http://10.0.0.5:8000/v1'],
    ['m=anthropic+https://api.anthropic.com', 'anthropic', 'https://api.anthropic.com'],
    ['m=anthropic+http://127.0.0.1:8080', 'anthropic', 'http://127.0.0.1:8080'],
  ])('%s fronts a replica speaking %s at %s', (flag, protocol, url) => {
    expect(replicas(flag)).toEqual([expect.objectContaining({ model: 'm', protocol, url })]);
  });

  it('refuses an anthropic+ prefix on something that is not an http(s) URL', () => {
    expect(() => replicas('m=anthropic+mailto:x@y')).toThrow(ConfigError);
  });

  it('defaults a config replica to the OpenAI-compatible protocol, and refuses an unknown one', () => {
    expect(configReplica({}).protocol).toBe('openai');
    expect(configReplica({ protocol: 'anthropic' }).protocol).toBe('anthropic');
    expect(() => configReplica({ protocol: 'grpc' })).toThrow(/protocol/);
  });
});

function configReplica(extra: Record<string, unknown>) {
  const file = join(mkdtempSync(join(tmpdir(), 'sy-flag-')), 'c.json');
  writeFileSync(file, JSON.stringify({ replicas: [{ model: 'm', url: 'http://h:1', ...extra }] }));
  return loadConfig(file).replicas[0];
}
