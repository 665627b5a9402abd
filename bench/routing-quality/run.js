#!/usr/bin/env node
// Routing quality (issue 5): the published baselines and Switchyard's default profile, side by
// side on the same arrivals, on three workloads over 8 replicas in 2 regions — each as is, and
// under a replica crash, a slow replica and a region outage. Prints markdown tables.
//   npm run bench:routing-quality            (about 5 minutes on 2 cores)
//   npm run bench:routing-quality -- shared  (only scenarios whose name contains "shared")
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
if (!existsSync(join(root, 'dist', 'sim', 'index.js'))) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
const { loadScenario, runScenario } = await import(join(root, 'dist', 'sim', 'index.js'));

const SCENARIOS = ['routing-shared-prefix', 'routing-mooncake', 'routing-azure-conv'];
const only = process.argv[2];

/** Faults at a quarter of the run, on us-east (where the crash and slow replica are replica 0). */
function faultsFor(kind, s) {
  const at = Math.round(s.durationS / 4);
  const model = s.fleet[0].model;
  switch (kind) {
    case 'none': return [];
    case 'replica crash': return [{ kind: 'crash', atS: at, forS: Math.round(s.durationS / 4), replica: `us-east/${model}/0`, region: null }];
    case 'slow replica': return [{ kind: 'slow', atS: at, forS: Math.round(s.durationS / 2), factor: 4, replica: `us-east/${model}/0`, region: null }];
    case 'region outage': return [{ kind: 'crash', atS: at, forS: Math.round(s.durationS / 6), replica: null, region: 'us-east' }];
  }
}

const fmt = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));

for (const name of SCENARIOS) {
  if (only && !name.includes(only)) continue;
  const loaded = loadScenario(join(root, 'scenarios', `${name}.yaml`));
  for (const fault of ['none', 'replica crash', 'slow replica', 'region outage']) {
    const scenario = { ...loaded.scenario, faults: faultsFor(fault, loaded.scenario) };
    const t0 = performance.now();
    const { report } = runScenario({ ...loaded, scenario });
    const wall = (performance.now() - t0) / 1000;
    console.log(`\n### ${name} — ${fault === 'none' ? 'no faults' : fault}${fault === 'none' ? '' : ` (${report.scenario.faults.join('; ')})`}\n`);
    console.log(`${report.scenario.workload}; SLO TTFT ≤ ${report.scenario.slo.ttftS * 1000} ms, TPOT ≤ ${report.scenario.slo.tpotS * 1000} ms; simulated in ${wall.toFixed(0)} s\n`);
    console.log('| profile | TTFT p50 (ms) | TTFT p99 (ms) | e2e p99 (s) | throughput (req/s) | prefix hit | goodput | failed |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const rows = report.policies;
    const baselines = rows.filter((p) => p.policy !== 'default');
    const bestP99 = Math.min(...baselines.map((p) => p.ttft.p99));
    for (const p of rows) {
      const ratio = p.policy === 'default' ? ` (${(bestP99 / p.ttft.p99).toFixed(2)}× the best baseline)` : '';
      console.log(`| ${p.policy} | ${fmt(p.ttft.p50 * 1000)} | ${fmt(p.ttft.p99 * 1000)}${ratio} | ${fmt(p.e2e.p99, 2)} | ${fmt(p.throughput.reqPerS, 2)} | ${fmt(p.prefixCacheHitRate * 100, 1)} % | ${fmt(p.goodput.fraction * 100, 1)} % | ${fmt(p.counts.failed + p.counts.rejected)} |`);
    }
  }
}
