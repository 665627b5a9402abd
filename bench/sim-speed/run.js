#!/usr/bin/env node
// Simulator speed: how many times faster than real time `switchyard sim` runs a whole trace, on one
// core (one Node thread), with memory. Issue 4, point 9:
//   A. the Azure 2023 conversation trace, the whole hour (19,366 requests), on 16 replicas of the 8B profile
//   B. the Mooncake conversation trace (12,031 requests, 59 min) on 8 replicas of the 70B FP8 profile
// Each runs twice, side by side: with decode runs (what `switchyard sim` does) and, as the
// baseline, stepping the engine one step at a time (same results; checked). Then the cost's growth
// with replicas (same trace, 4 → 32 replicas) and with requests (rate-scaled 1× → 4×).
//
//   npm run bench:sim                 # ~3 min; BENCH_QUICK=1 skips the growth tables
//
// Results: stdout, and bench/sim-speed/latest.json.

import { execFileSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import os from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const traces = join(root, 'traces');
if (!existsSync(join(root, 'dist', 'sim', 'index.js')) || statSync(join(root, 'dist', 'sim', 'index.js')).mtimeMs < statSync(join(root, 'src', 'sim', 'simulator.ts')).mtimeMs) {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
const { parseScenario, runScenario } = await import(join(root, 'dist', 'sim', 'index.js'));

const quick = process.env.BENCH_QUICK === '1';

function scenario(name, { trace, file, profile, model, replicas, rateScale = 1, durationS }) {
  return parseScenario({
    name, seed: 1, durationS,
    regions: [{ name: 'us-east' }],
    fleet: [{ region: 'us-east', model, profile, replicas }],
    workload: { kind: trace, file: join(traces, file), rateScale },
    policies: ['least-outstanding'],
  }, name);
}

/** One run in this process; wall time, heap and RSS growth, and the report's own figures. */
function measure(s, coalesce) {
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peakHeap = 0;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const { report, runs } = runScenario({ scenario: s, baseDir: root }, {
    coalesce,
    onProgress: () => { const h = process.memoryUsage().heapUsed; if (h > peakHeap) peakHeap = h; },
  });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const run = runs[0];
  const simulatedS = Math.max(...run.requests.map((r) => (r.finishS === r.finishS ? r.finishS : r.arrivalS)));
  const pol = report.policies[0];
  return {
    wallS, cpuS: (cpu.user + cpu.system) / 1e6, simulatedS, speedup: simulatedS / wallS,
    requests: run.requests.length, ok: run.requests.filter((r) => r.outcome === 'ok').length,
    peakHeapMiB: peakHeap / 2 ** 20, rssGrowthMiB: (process.memoryUsage().rss - rss0) / 2 ** 20,
    ttftP50: pol?.ttft?.p50 ?? null, e2eP50: pol?.e2e?.p50 ?? null,
    records: run.requests,
  };
}

function same(a, b) {
  if (a.records.length !== b.records.length) return false;
  for (let i = 0; i < a.records.length; i++) {
    const x = a.records[i], y = b.records[i];
    if (x.id !== y.id || x.outcome !== y.outcome || !(Object.is(x.finishS, y.finishS)) || !(Object.is(x.firstTokenS, y.firstTokenS))) return false;
  }
  return true;
}

const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const results = { date: new Date().toISOString(), cpu: os.cpus()[0]?.model, node: process.version, headline: [], growth: { replicas: [], requests: [] } };

const cases = [
  { label: 'Azure conv, 1 h, 16× llama-3.1-8b-h100', trace: 'azure', file: 'AzureLLMInferenceTrace_conv.csv', profile: 'llama-3.1-8b-h100', model: 'llama-3.1-8b', replicas: 16, durationS: 3600 },
  { label: 'Mooncake conversation, 59 min, 8× llama-3.3-70b-fp8-h100-tp2', trace: 'mooncake', file: 'mooncake/conversation_trace.jsonl', profile: 'llama-3.3-70b-fp8-h100-tp2', model: 'llama-3.3-70b', replicas: 8, durationS: 3600 },
];

console.log(`sim-speed on ${results.cpu}, node ${process.version}, one thread\n`);
console.log('| case | requests | simulated | decode runs: wall | × real time | single steps (baseline): wall | × real time | runs ÷ steps speed | same results | peak heap |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
for (const c of cases) {
  const s = scenario(c.label.split(',')[0].replace(/\W+/g, '-').toLowerCase(), c);
  const fast = measure(s, true);
  const slow = measure(s, false);
  const row = {
    case: c.label, requests: fast.requests, simulatedS: fast.simulatedS,
    coalesced: { wallS: fast.wallS, speedup: fast.speedup, peakHeapMiB: fast.peakHeapMiB },
    singleStep: { wallS: slow.wallS, speedup: slow.speedup, peakHeapMiB: slow.peakHeapMiB },
    ratio: slow.wallS / fast.wallS, identical: same(fast, slow), ttftP50: fast.ttftP50, e2eP50: fast.e2eP50,
  };
  results.headline.push(row);
  console.log(`| ${c.label} | ${fmt(row.requests)} | ${fmt(row.simulatedS)} s | ${fmt(fast.wallS, 2)} s | ${fmt(fast.speedup)}× | ${fmt(slow.wallS, 2)} s | ${fmt(slow.speedup)}× | ${fmt(row.ratio, 1)}× | ${row.identical ? 'yes' : '**no**'} | ${fmt(fast.peakHeapMiB, 0)} MiB |`);
}

if (!quick) {
  const base = cases[0];
  console.log('\nGrowth with replicas (the same Azure conv hour on 4 to 32 replicas):\n');
  console.log('| replicas | wall | × real time | µs wall per request |');
  console.log('| ---: | ---: | ---: | ---: |');
  for (const n of [4, 8, 16, 32]) {
    const m = measure(scenario(`grow-r${n}`, { ...base, replicas: n }), true);
    results.growth.replicas.push({ replicas: n, wallS: m.wallS, speedup: m.speedup, requests: m.requests });
    console.log(`| ${n} | ${fmt(m.wallS, 2)} s | ${fmt(m.speedup)}× | ${fmt((m.wallS / m.requests) * 1e6, 1)} |`);
  }
  console.log('\nGrowth with requests (Azure conv on 16 replicas, arrival rate scaled):\n');
  console.log('| rate | requests | wall | × real time | µs wall per request |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const k of [1, 2, 4]) {
    const m = measure(scenario(`grow-x${k}`, { ...base, rateScale: k }), true);
    results.growth.requests.push({ rateScale: k, requests: m.requests, wallS: m.wallS, speedup: m.speedup });
    console.log(`| ×${k} | ${fmt(m.requests)} | ${fmt(m.wallS, 2)} s | ${fmt(m.speedup)}× | ${fmt((m.wallS / m.requests) * 1e6, 1)} |`);
  }
}
writeFileSync(join(here, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
