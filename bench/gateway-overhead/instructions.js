#!/usr/bin/env node
// Instructions per request, counted by valgrind (callgrind): a figure other load on the machine
// cannot move, for comparing a change with its base when the CPU-time figures of run.js drown in
// the noise of a shared box. User-space instructions only (the kernel's socket work is not
// counted), of one target process, over a window of N requests after a warm-up of W, c at once.
//   node bench/gateway-overhead/instructions.js <target> <wire> [n=3000] [c=10] [KEY=VALUE ...]
//     target: bare | floor | <a built checkout's root> (its Switchyard, `switchyard up`)
//   BENCH_IR_WARM (5000) requests before the window: V8 is still compiling at 2000
// Needs valgrind (apt-get install -y valgrind). One run takes 1–4 minutes.
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { requestFor } from './workload.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const [target, wire = 'openai', nArg = '3000', cArg = '10', ...envArgs] = process.argv.slice(2);
if (!target) {
  process.stderr.write('usage: instructions.js <bare|floor|checkout root> <openai|anthropic> [n] [c] [KEY=VALUE ...]\n');
  process.exit(2);
}
const N = Number(nArg);
const C = Number(cArg);
const WARM = Number(process.env.BENCH_IR_WARM ?? 5000);
const KEY = 'sk-bench-instructions000000000000';
const work = mkdtempSync(join(tmpdir(), 'switchyard-ir-'));
const out = join(work, 'callgrind.out');
// instrumentation off until the window: the warm-up runs at valgrind's plain speed
const VALGRIND = ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`];

const upstream = fork(join(HERE, 'upstream.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
const upPort = await new Promise((r) => upstream.on('message', (m) => m?.type === 'listening' && r(m.port)));
const upOrigin = `http://127.0.0.1:${upPort}`;

let child;
let origin;
if (target === 'bare' || target === 'floor') {
  child = spawn('valgrind', [...VALGRIND, process.execPath, join(HERE, `${target}-proxy.js`)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, BARE_UPSTREAM: upOrigin } });
  origin = await new Promise((r) => child.on('message', (m) => m?.type === 'listening' && r(`http://127.0.0.1:${m.port}`)));
} else {
  // As run.js configures it (every stage on). Work paced by the clock (probes, scrapes, the spend
  // refresh) is put out of the window: in valgrind's slow motion it would fall on 50× fewer
  // requests than in service. So is the ledger's flush interval where the checkout has the knob
  // (ledger.flushIntervalMs): its batches then go by size, as under load. An older checkout keeps
  // its 200 ms flush, smaller batches: compare such a checkout only with itself.
  const knowsFlush = readFileSync(join(resolve(target), 'dist/config/schema.js'), 'utf8').includes('flushIntervalMs');
  writeFileSync(join(work, 'bench.yaml'), 'tiers:\n  default: { requestsPerMinute: 1.0e12, inputTokensPerMinute: 1.0e15, outputTokensPerMinute: 1.0e15 }\n' +
    'fleet: { healthIntervalMs: 600000, healthTimeoutMs: 60000, scrapeIntervalMs: 0 }\nspend: { refreshMs: 3600000 }\n' +
    (knowsFlush ? 'ledger: { flushIntervalMs: 3600000 }\n' : ''));
  const env = { ...process.env, ...Object.fromEntries(envArgs.map((kv) => kv.split('='))), SWITCHYARD_DEMO_KEY: KEY, SWITCHYARD_LOG_LEVEL: 'warn' };
  child = spawn('valgrind', [...VALGRIND, process.execPath, join(resolve(target), 'bin/switchyard.js'), 'up', '--port', '0', '--data-dir', work,
    '--config', join(work, 'bench.yaml'), '--replica', `bench-model=${upOrigin}/v1`], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let text = '';
  origin = await new Promise((r) => child.stdout.on('data', (d) => {
    text += d;
    const m = /Switchyard is up at (\S+)/.exec(text);
    if (m) r(m[1]);
  }));
}
child.stderr.on('data', () => {});

const req = requestFor(wire, false, KEY);
const pool = new Pool(origin, { connections: C, pipelining: 1 });
let failed = 0;
async function load(n) {
  let sent = 0;
  const worker = async () => {
    while (sent < n) {
      sent++;
      const r = await pool.request({ path: req.path, method: 'POST', headers: req.headers, body: req.body });
      await r.body.text();
      if (r.statusCode !== 200) failed++;
    }
  };
  await Promise.all(Array.from({ length: C }, worker));
}
const control = (flag) => execFileSync('callgrind_control', [flag, String(child.pid)], { encoding: 'utf8', timeout: 600_000 });

await load(WARM);
// between two idle moments, so the window holds exactly N requests (and the event loop's idling)
control('--instr=on');
await load(N);
control('--dump');
await pool.close();
child.kill('SIGKILL');
await new Promise((r) => child.on('exit', r));
upstream.kill();

let ir = null;
for (const f of readdirSync(work)) {
  if (!f.startsWith('callgrind.out.')) continue;
  const m = /^(?:summary|totals):\s+(\d+)/m.exec(readFileSync(join(work, f), 'utf8'));
  if (m) ir = Math.max(ir ?? 0, Number(m[1]));
}
rmSync(work, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ target, wire, n: N, c: C, warm: WARM, env: envArgs.join(' '), instructions: ir, perRequest: ir && Math.round(ir / N), failed }) + '\n');
