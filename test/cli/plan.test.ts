import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// `switchyard plan` as a user runs it: the built CLI (bin/switchyard.js → dist/); build first:
// npx tsc -p tsconfig.build.json

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'switchyard.js');
const FIXTURE = join(ROOT, 'test', 'control', 'planner', 'fixtures', 'small.yaml');

interface Run { code: number; stdout: string; stderr: string }

function run(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 90_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const noStack = (r: Run) => expect(r.stderr).not.toMatch(/^\s+at /m);

/** the small fixture with its trace path made absolute (so the copy can live anywhere) and a change */
function smallPlan(dir: string, edit: (yaml: string) => string = (y) => y): string {
  const yaml = readFileSync(FIXTURE, 'utf8').replace('../../../../traces/', `${join(ROOT, 'traces')}/`);
  const file = join(dir, 'plan.yaml');
  writeFileSync(file, edit(yaml));
  return file;
}

describe('switchyard plan', { timeout: 120_000 }, () => {
  it('prints the text report, writes NAME.json and NAME.html, and the wall times on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-plan-'));
    const r = await run('plan', smallPlan(dir), '--out', dir, '--no-check');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^plan small \(seed 7\)/);
    for (const s of ['vs per-region peak', 'vs best single type', 'replicas per region and hour', 'what-ifs:', 'cost per million tokens']) expect(r.stdout).toContain(s);
    expect(r.stdout).toContain('attainment in sim    not checked');
    expect(r.stdout).toContain(`report: ${join(dir, 'small.json')}`);
    expect(r.stderr).toMatch(/solved 8 plans in [\d.]+ s .*not checked \(--no-check\)/);
    const json = JSON.parse(readFileSync(join(dir, 'small.json'), 'utf8'));
    expect(json.name).toBe('small');
    expect(json.plan.solution.status).toBe('optimal');
    expect(readFileSync(join(dir, 'small.html'), 'utf8')).toMatch(/^<!doctype html>[\s\S]*<svg [\s\S]*<\/html>\n$/);
  });

  it('prints the JSON report alone on stdout with --json, the same bytes as the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-plan-json-'));
    const r = await run('plan', smallPlan(dir), '--out', dir, '--no-check', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(dir, 'small.json'), 'utf8'));
    expect(JSON.parse(r.stdout).singleType).toHaveLength(2);
    expect(r.stderr).toContain(`report: ${join(dir, 'small.json')}`);
  });

  it('checks the plan in the simulator unless told not to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-plan-check-'));
    const file = smallPlan(dir, (y) => y.replace('check: { windowS: 30, hours: all }', 'check: { windowS: 10, hours: [1], failures: false }').replace(/^whatIfs:[\s\S]*?(?=^check:)/m, ''));
    const r = await run('plan', file, '--out', dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/attainment in sim +\d+\.\d % over 1 hour; target 99\.0 %: (met|MISSED)/);
    expect(r.stderr).toMatch(/checked in [\d.]+ s \(\d+ simulator runs, [\d,]+ virtual seconds\)/);
  });

  it('refuses a malformed plan with exit 1, naming the path of each mistake, without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-plan-bad-'));
    const file = smallPlan(dir, (y) => y.replace('tier: batch', 'tier: bulk').replace('hours: 3', 'hours: 3\nhorizon: 4'));
    const r = await run('plan', file, '--out', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`switchyard: ${file} is not a valid plan:`);
    expect(r.stderr).toContain('demand.1.tier: unknown tier "bulk"');
    expect(r.stderr).toMatch(/\(top\): .*horizon/);
    expect(r.stdout).toBe('');
    noStack(r);
  });

  it('says which file it cannot read', async () => {
    const r = await run('plan', join(tmpdir(), 'no-such-plan.yaml'), '--no-check');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/switchyard: cannot read plan .*no-such-plan\.yaml/);
    noStack(r);
  });
});
