#!/usr/bin/env node
// Prints the engine model against every published point (docs/engine-calibration.md is this
// output), and each profile's KV capacity as derived from memory.   npm run calibration
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
if (!existsSync(join(root, 'dist', 'engine', 'calibration', 'index.js'))) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
const { calibrationMarkdown, calibrationTable } = await import(join(root, 'dist', 'engine', 'calibration', 'index.js'));
const { PROFILES, kvBytesPerToken, kvCacheBytes, kvCapacityTokens, weightBytes } = await import(join(root, 'dist', 'engine', 'index.js'));

const rows = calibrationTable();
console.log(calibrationMarkdown(rows));
console.log('\n¹ not covered:');
const seen = new Set();
for (const r of rows.filter((x) => !x.covered)) {
  const key = `${r.profile}: ${r.why}`;
  if (seen.has(key)) continue;
  seen.add(key);
  console.log(`- ${r.profile}, ${r.point}: ${r.why}`);
}
console.log('\n| profile | GPUs | weights GB | KV bytes / token | KV cache GB | KV capacity, tokens |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const p of Object.values(PROFILES)) {
  console.log(`| ${p.name} | ${p.tp} × ${p.gpu.name} | ${(weightBytes(p) / 1e9).toFixed(1)} | ${kvBytesPerToken(p).toLocaleString('en-US')} | ${(kvCacheBytes(p) / 1e9).toFixed(1)} | ${kvCapacityTokens(p).toLocaleString('en-US')} |`);
}
