#!/usr/bin/env node
// Routing under faults: the gateway's retry rule (attempts, retry budget, backoff, hedging) measured
// in the simulator, which runs the gateway's own retry decision and budget on its virtual clock.
// One scenario (bench/retries/scenario.yaml: a crashing replica and a slow one), four settings of
// the gateway's `upstream.*` knobs, one table (the one in docs/routing.md).
//
//   node bench/retries/run.js            # ~20 s; writes bench/retries/latest.json

import { execFileSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const built = join(root, 'dist', 'sim', 'index.js');
if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(root, 'src', 'sim', 'simulator.ts')).mtimeMs) {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
const { loadScenario, runScenario } = await import(built);

const loaded = loadScenario(join(here, 'scenario.yaml'));
const NO_BUDGET = { percent: 100, minConcurrency: 1_000_000 };
const NO_BACKOFF = { baseMs: 0, maxMs: 0 };
const rows = [
  ['no retries', { maxAttempts: 1 }],
  ['retries, no budget or backoff', { retryBudget: NO_BUDGET, backoff: NO_BACKOFF }],
  ['retries with budget + backoff (the gateway\'s defaults)', {}],
  ['+ hedging after 1 s', { hedge: { enabled: true, delayMs: 1_000 } }],
];

const out = [];
for (const [label, upstream] of rows) {
  const scenario = { ...loaded.scenario, upstream: { ...loaded.scenario.upstream, ...upstream } };
  const { report, runs } = runScenario({ scenario, baseDir: loaded.baseDir });
  const p = report.policies[0];
  const run = runs[0];
  const n = run.requests.length;
  const failed = run.requests.filter((r) => r.outcome === 'failed').length;
  const u = run.upstream ?? { retries: 0, hedges: 0, overflows: 0, wasted: 0 };
  out.push({ label, requests: n, ttftP50Ms: p.ttft.p50 * 1000, ttftP99Ms: p.ttft.p99 * 1000, failedPct: (100 * failed) / n, ...u });
}

const f0 = (x) => (x === x ? x.toFixed(0) : '–');
console.log('| retry setting | TTFT p50 (ms) | TTFT p99 (ms) | failed | retries | hedges | refused by budget | wasted calls |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of out) {
  console.log(`| ${r.label} | ${f0(r.ttftP50Ms)} | ${f0(r.ttftP99Ms)} | ${r.failedPct.toFixed(2)} % | ${r.retries} | ${r.hedges} | ${r.overflows} | ${r.wasted} |`);
}
writeFileSync(join(here, 'latest.json'), JSON.stringify({ scenario: loaded.scenario.name, requests: out[0]?.requests, rows: out }, null, 2) + '\n');
