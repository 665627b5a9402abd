import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// `switchyard sim` as a user runs it: the real CLI in its own process, a scenario file on disk.

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sy-sim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scenario = `
name: tiny
seed: 5
durationS: 60
regions: [{ name: us-east, latencyMs: { eu-west: 30 } }, { name: eu-west }]
fleet:
  - { region: us-east, model: m, profile: llama-3.1-8b-h100, replicas: 2 }
  - { region: eu-west, model: m, profile: llama-3.1-8b-h100, replicas: 2 }
tenants: { eu: { region: eu-west } }
workload:
  kind: shared-prefix
  ratePerS: 2
  systemPrompts: 3
  systemPromptLen: 1200
  userLen: { kind: uniform, min: 20, max: 200 }
  output: { kind: uniform, min: 20, max: 200 }
  sessions: { turns: 3, thinkTimeS: 5 }
  tenants: [{ name: us, weight: 1 }, { name: eu, weight: 1 }]
faults: [{ kind: crash, replica: us-east/m/0, atS: 20, forS: 10 }]
policies: [least-outstanding, round-robin]
slo: { ttftMs: 300, tpotMs: 40 }
`;

async function sim(args: string[]) {
  return run(process.execPath, [bin, 'sim', ...args], { cwd: dir });
}

describe('switchyard sim', () => {
  it('prints the side-by-side report and writes the same JSON and HTML for the same scenario and seed', async () => {
    writeFileSync(join(dir, 'tiny.yaml'), scenario);
    const a = await sim(['tiny.yaml', '--out', 'a']);
    const b = await sim(['tiny.yaml', '--out', 'b']);
    expect(a.stdout).toMatch(/least-outstanding\s+round-robin/);
    expect(a.stdout).toMatch(/crash of replica us-east\/m\/0 at 20 s for 10 s/);
    expect(a.stdout).toMatch(/prefix-cache hit rate\s+[1-9]\d*\.\d %/);
    const json = readFileSync(join(dir, 'a', 'tiny.json'), 'utf8');
    expect(json).toBe(readFileSync(join(dir, 'b', 'tiny.json'), 'utf8'));
    expect(readFileSync(join(dir, 'a', 'tiny.html'), 'utf8')).toBe(readFileSync(join(dir, 'b', 'tiny.html'), 'utf8'));
    const report = JSON.parse(json);
    expect(report.policies.map((p: { policy: string }) => p.policy)).toEqual(['least-outstanding', 'round-robin']);
    expect(report.policies[0].counts.arrived).toBeGreaterThan(100);
    // another seed, another run
    await sim(['tiny.yaml', '--out', 'a', '--seed', '6']);
    expect(readFileSync(join(dir, 'a', 'tiny.seed6.json'), 'utf8')).not.toBe(json);
  }, 60_000);

  it('refuses a broken scenario with every problem and its path, exit 1', async () => {
    writeFileSync(join(dir, 'bad.yaml'), scenario.replace('profile: llama-3.1-8b-h100, replicas: 2 }\n  - { region: eu-west', 'profile: h200, replicas: 2 }\n  - { region: mars'));
    const err = await sim(['bad.yaml']).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/fleet\.0\.profile: unknown profile "h200"/);
    expect(err?.stderr).toMatch(/fleet\.1\.region: unknown region "mars"/);
    expect(err?.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
  }, 30_000);
});
