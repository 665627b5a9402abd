#!/usr/bin/env node
// Routing overhead: CPU per decision of each shipped policy over 64 replicas in 2 regions, beside
// a baseline that only draws a random index, in one run. Issue 5 asks for ≤ 20 µs a request.
//   npm run bench:routing
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
if (!existsSync(join(root, 'dist', 'routing', 'index.js'))) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
const { POLICY_NAMES, routingPolicy } = await import(join(root, 'dist', 'routing', 'index.js'));

const N = 64;
const candidates = Array.from({ length: N }, (_, i) => ({
  region: i < N / 2 ? 'us-east' : 'eu-west', healthy: i % 17 !== 3, inflight: (i * 7) % 13,
  scraped: { waiting: (i * 5) % 4, running: (i * 3) % 20, kvUsage: ((i * 11) % 100) / 100 },
}));
let seed = 1;
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);

function measure(pick, iterations) {
  let sink = 0;
  const t0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    // the live request mix: every tenth request is a retry that excludes the replica it tried
    sink += pick({ candidates, homeRegion: i & 1 ? 'us-east' : 'eu-west', allowedRegions: i % 5 === 0 ? ['eu-west'] : null,
      exclude: i % 10 === 0 ? [i % N] : null, random: random(), sequence: i });
  }
  const cpu = process.cpuUsage(t0);
  const wallNs = Number(process.hrtime.bigint() - w0);
  if (sink < 0) console.log(sink);
  return { cpuNs: ((cpu.user + cpu.system) * 1000) / iterations, wallNs: wallNs / iterations };
}

const baseline = (p) => Math.floor(p.random * p.candidates.length);
const iterations = 2_000_000;
for (const round of ['warm-up', 'measured']) {
  const base = measure(baseline, iterations);
  const rows = POLICY_NAMES.map((name) => ({ name, ...measure(routingPolicy(name), iterations) }));
  if (round === 'warm-up') continue;
  console.log(`routing decisions over ${N} replicas (2 regions, some unhealthy, residency and retries in the mix), ${iterations.toLocaleString('en-US')} each\n`);
  console.log('| policy | CPU ns / decision | ÷ baseline | goal ≤ 20,000 ns |');
  console.log('| --- | ---: | ---: | --- |');
  console.log(`| baseline: a random index | ${base.cpuNs.toFixed(0)} | 1.0 | |`);
  for (const r of rows) console.log(`| ${r.name} | ${r.cpuNs.toFixed(0)} | ${(r.cpuNs / base.cpuNs).toFixed(1)} | ${r.cpuNs <= 20_000 ? 'met' : '**missed**'} |`);
}
