#!/usr/bin/env node
// The fuzz suite's generators for longer than `npm test` runs them (issue 11 §3): both wire APIs,
// count_tokens, the admin API and raw HTTP, against the gateway in-process on a real socket in
// front of a real simengine replica. Reports cases per second and every distinct failure with its
// seed, its fast-check path, a command that replays it and a curl line that sends it again.
//   npm run bench:fuzz -- --seconds 60 [--seed N] [--cases N] [--family openai] [--concurrency N] [--dist DIR]
//   npm run bench:fuzz -- --replay openai.invalid --seed N --path 12:0:3
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import fc from 'fast-check';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const seconds = Number(arg('seconds', 60));
const maxCases = Number(arg('cases', Infinity));
const seed0 = Number(arg('seed', Date.now() % 1_000_000_007));
const only = arg('family', '');
const dist = resolve(arg('dist', join(root, 'dist')));
const replay = arg('replay', null);
const concurrency = Math.max(1, Number(arg('concurrency', 1)));
const CHUNK = 25;

if (dist === join(root, 'dist') && !existsSync(join(dist, 'gateway', 'index.js'))) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });

// The generators live with the specs, in TypeScript: transpile them once (they import only
// fast-check, undici and each other), under node_modules so their imports resolve.
const out = join(root, 'node_modules', '.cache', 'switchyard-fuzz');
function transpile(dir) {
  for (const f of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = join(dir, f.name);
    if (f.isDirectory()) transpile(rel);
    else if (f.name.endsWith('.ts') && !f.name.endsWith('.test.ts')) {
      const js = ts.transpileModule(readFileSync(join(root, rel), 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      mkdirSync(dirname(join(out, rel)), { recursive: true });
      writeFileSync(join(out, rel.replace(/\.ts$/, '.js')), js);
    }
  }
}
transpile('test/fuzz');
writeFileSync(join(out, 'package.json'), '{"type":"module"}');
const load = (p) => import(pathToFileURL(join(out, 'test', 'fuzz', p)).href);
const { startRig } = await load('rig.js');
const { FAMILIES } = await load('families.js');
const { caseProperty, summary } = await load('property.js');
const { curlLine, inlineable } = await load('curl.js');
const lib = async (p) => import(pathToFileURL(join(dist, p, 'index.js')).href);
const [{ loadConfig }, { startPlatform }, { createLogger }, { startEngineServer }, { ensureDemoTenant, openStore }] =
  await Promise.all(['config', 'gateway', 'observe', 'simengine', 'tenancy'].map(lib));

const rig = await startRig({ loadConfig, startPlatform, startEngineServer, createLogger, openStore, ensureDemoTenant });
const families = FAMILIES.filter(([name]) => name.includes(replay ?? only));

if (replay !== null) {
  const [name, arb] = families.find(([n]) => n === replay) ?? [];
  if (!arb) throw new Error(`no family ${replay}; families: ${FAMILIES.map(([n]) => n).join(', ')}`);
  const r = await fc.check(caseProperty(rig, arb), { seed: Number(arg('seed')), path: arg('path'), endOnFailure: true });
  console.log(r.failed ? `${name} fails:\n  ${summary(r.counterexample[0])}\n  ${r.errorInstance?.message}` : `${name}: the case passes now`);
  await rig.close();
  process.exit(r.failed ? 1 : 0);
}

for (const f of readdirSync(join(root, 'bench', 'fuzz'))) if (/^results-fail-.*\.json$/.test(f)) unlinkSync(join(root, 'bench', 'fuzz', f));
const failures = new Map();
const perFamily = Object.fromEntries(families.map(([n]) => [n, 0]));
let cases = 0;
let round = 0;
const t0 = performance.now();
const deadline = t0 + seconds * 1000;
// A failure's kind, without the ids and numbers that differ between occurrences.
// A crash is one whatever the input: its error and the frame it was thrown from.
function kindOf(family, note, message) {
  const crash = /→ crash: ([^|]*)\|\s*at ([^(|]*)/.exec(message);
  if (crash) return `crash | ${crash[1].trim()} | ${crash[2].trim()}`;
  const status = /(\d{3}):/.exec(message)?.[1] ?? message.slice(0, 60);
  return `${family} | ${note} | ${status}`;
}

// `--concurrency N` runs N turns at once (shared state, races); an error that escapes is then
// charged to every case in flight, so crashes are best attributed at 1, the default.
async function worker() {
  while (performance.now() < deadline && cases < maxCases) {
    const [name, arb] = families[round % families.length];
    const seed = seed0 + round++;
    const r = await fc.check(caseProperty(rig, arb), { seed, numRuns: Math.max(1, Math.min(CHUNK, maxCases - cases)), endOnFailure: true });
    cases += r.numRuns + r.numShrinks;
    perFamily[name] += r.numRuns;
    if (!r.failed) continue;
    const c = r.counterexample[0];
    const message = r.errorInstance?.message ?? String(r.error);
    const kind = kindOf(name, c.note, message);
    const seen = failures.get(kind);
    if (seen) {
      seen.count++;
      seen.inputs.add(`${name}: ${c.note}`);
    } else failures.set(kind, { family: name, note: c.note, message, seed, path: r.counterexamplePath, case: c, count: 1, inputs: new Set([`${name}: ${c.note}`]) });
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const elapsed = (performance.now() - t0) / 1000;
const health = await rig.healthz().catch((e) => `no answer (${e.message})`);

console.log(`fuzz: ${cases} cases in ${elapsed.toFixed(1)} s = ${(cases / elapsed).toFixed(0)} cases/s (seed ${seed0}, concurrency ${concurrency}, dist ${relative(root, dist) || '.'})`);
console.log(`per family: ${Object.entries(perFamily).map(([n, k]) => `${n} ${k}`).join(', ')}`);
globalThis.gc?.();
const mb = (n) => (n / 2 ** 20).toFixed(0);
console.log(`after the run: /healthz ${health}; errors that escaped to the process: ${rig.escaped.length}; rss ${mb(process.memoryUsage().rss)} MB, heap ${mb(process.memoryUsage().heapUsed)} MB${globalThis.gc ? ' after GC' : ''}`);
console.log(`slowest answer: ${rig.slowest.ms.toFixed(0)} ms (${rig.slowest.what})`);
console.log(`${failures.size} distinct failures\n`);
let n = 0;
for (const f of failures.values()) {
  n++;
  const lines = f.case.steps.map((s, i) => {
    let file = null;
    if (!inlineable(s.body)) {
      file = join('bench', 'fuzz', `results-fail-${n}-${i + 1}.json`);
      writeFileSync(join(root, file), typeof s.body === 'string' ? s.body.replace(/\{\{(\w+)\}\}/g, (m, k) => rig.slots[k] ?? m) : s.body);
    }
    return curlLine(s, { ...rig.slots, added: 'ID-FROM-STEP-1' }, file);
  });
  console.log(`${n}. [${f.family}] ${f.note} (×${f.count})`);
  console.log(`   ${f.message.split('\n')[0].slice(0, 400)}`);
  if (f.inputs.size > 1) console.log(`   also from: ${[...f.inputs].slice(1).join('; ')}`);
  console.log(`   replay: npm run bench:fuzz -- --replay ${f.family} --seed ${f.seed} --path ${f.path}`);
  for (const l of lines) console.log(`   ${l.length > 2_000 ? l.slice(0, 2_000) + ' …' : l}`);
  console.log('');
}
writeFileSync(join(root, 'bench', 'fuzz', `results-${seed0}.json`), JSON.stringify({
  seed: seed0, seconds: elapsed, cases, casesPerSecond: cases / elapsed, perFamily, healthz: health, escaped: rig.escaped, slowest: rig.slowest,
  failures: [...failures.values()].map(({ case: c, inputs, ...f }) => ({ ...f, inputs: [...inputs], summary: summary(c) })),
}, null, 2));
await rig.close();
process.exit(0);
