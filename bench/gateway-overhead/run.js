#!/usr/bin/env node
// `npm run bench:gateway`: the gateway's cost, side by side with a direct call and nginx, in one
// run on one machine. See bench/README.md for the method. Settings (env):
//   BENCH_SECONDS (5)   measured window per phase     BENCH_WARMUP_SECONDS (1) before each window
//   BENCH_PREWARM_SECONDS (2) per target and shape, once, before the first phase
//   BENCH_CONCURRENCY ("1,50")                        BENCH_ROUNDS (1) rounds, median reported
//   BENCH_TARGETS ("direct,nginx,bare-node-proxy,floor-node-proxy,switchyard-openai,switchyard-anthropic")
//   BENCH_STREAM ("false,true")
//   BENCH_CPU_PROF=<dir> run the gateway under `node --cpu-prof` and write its profile there
//   BENCH_GATEWAY_NODE_ARGS="--perf-basic-prof ..." extra node flags for the gateway process
//   BENCH_COMPARE_ROOT=<dir> a second checkout (built): its Switchyard runs beside this one as the
//     targets compare-openai / compare-anthropic, so a change is measured against its base in one run
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLK_TCK } from './procstat.js';
import { combineRounds, derive, judge, renderTable, writeResults } from './report.js';
import { nginxPath, startNginx } from './nginx.js';
import { ensureBuilt, forkChild, startBareProxy, startFloorProxy, startSwitchyard, startUpstream, stopAll, stopOne } from './targets.js';
import { requestFor } from './workload.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const env = process.env;
const SECONDS = Number(env.BENCH_SECONDS ?? 5);
const WARMUP = Number(env.BENCH_WARMUP_SECONDS ?? 1);
const PREWARM = Number(env.BENCH_PREWARM_SECONDS ?? 2);
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 1));
const CONCURRENCY = (env.BENCH_CONCURRENCY ?? '1,50').split(',').map(Number);
const STREAMS = (env.BENCH_STREAM ?? 'false,true').split(',').map((s) => s === 'true');
const WANTED = new Set((env.BENCH_TARGETS ?? 'direct,nginx,bare-node-proxy,floor-node-proxy,switchyard-openai,switchyard-anthropic').split(','));
const NODE_ARGS = (env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
const CPU_PROF = env.BENCH_CPU_PROF ? resolve(env.BENCH_CPU_PROF) : null;
const COMPARE_ROOT = env.BENCH_COMPARE_ROOT ? resolve(env.BENCH_COMPARE_ROOT) : null;
const KEY = `sk-bench-${randomBytes(12).toString('hex')}`;

const say = (s) => process.stderr.write(`[bench] ${s}\n`);

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  await stopAll();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(130));
process.on('SIGTERM', () => void shutdown(143));

async function main() {
  const run = {
    startedAt: new Date().toISOString(),
    machine: { cpuModel: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, kernel: `Linux ${release()}`, clkTck: CLK_TCK, nginx: null, loadavgAtStart: loadavg() },
    settings: { prewarmSeconds: PREWARM, warmupSeconds: WARMUP, seconds: SECONDS, rounds: ROUNDS, concurrency: CONCURRENCY },
    targets: {},
    phases: [],
    goals: [],
  };

  const upstream = await startUpstream();
  say(`upstream on ${upstream.origin} (pid ${upstream.pid})`);
  const targets = [];
  if (WANTED.has('direct')) {
    targets.push({ name: 'direct', origin: upstream.origin, wire: 'openai', pids: [] });
    run.targets.direct = { present: true };
  }

  let nginx = null;
  if (WANTED.has('nginx')) {
    const bin = nginxPath();
    if (bin === null) run.targets.nginx = { present: false, reason: 'nginx is not installed (apt-get install -y nginx-light)' };
    else {
      try {
        nginx = await startNginx({ bin, upstreamPort: upstream.port });
        run.machine.nginx = nginx.version;
        run.targets.nginx = { present: true, version: nginx.version, workers: nginx.workers.length };
        targets.push({ name: 'nginx', origin: nginx.origin, wire: 'openai', pids: nginx.workers });
        say(`nginx ${nginx.version} on ${nginx.origin} (worker pids ${nginx.workers.join(', ')})`);
      } catch (err) {
        run.targets.nginx = { present: false, reason: String(err.message) };
        say(`nginx absent: ${err.message}`);
      }
    }
  }

  let bareEntry = null;
  if (WANTED.has('bare-node-proxy')) {
    const bare = await startBareProxy(upstream.origin, CPU_PROF && join(CPU_PROF, 'bare'));
    run.targets['bare-node-proxy'] = { present: true };
    targets.push({ name: 'bare-node-proxy', origin: bare.origin, wire: 'openai', pids: [bare.pid] });
    bareEntry = bare.entry;
  }

  if (WANTED.has('floor-node-proxy')) {
    const floor = await startFloorProxy(upstream.origin);
    run.targets['floor-node-proxy'] = { present: true };
    targets.push({ name: 'floor-node-proxy', origin: floor.origin, wire: 'openai', pids: [floor.pid] });
  }

  let gw = null;
  if (WANTED.has('switchyard-openai') || WANTED.has('switchyard-anthropic')) {
    try {
      const b = ensureBuilt(ROOT);
      if (b.built) say(b.problems ? `built dist/ with type errors (continuing):\n${b.problems.slice(0, 2_000)}` : 'built dist/');
      gw = await startSwitchyard({ root: ROOT, upstreamOrigin: upstream.origin, key: KEY, cpuProfDir: CPU_PROF, nodeArgs: NODE_ARGS });
      say(`switchyard on ${gw.origin} (pid ${gw.pid})${CPU_PROF ? `, profiling into ${CPU_PROF}` : ''}`);
      for (const wire of ['openai', 'anthropic']) {
        const name = `switchyard-${wire}`;
        if (!WANTED.has(name)) continue;
        run.targets[name] = { present: true };
        targets.push({ name, origin: gw.origin, wire, pids: [gw.pid] });
      }
    } catch (err) {
      for (const w of ['openai', 'anthropic']) if (WANTED.has(`switchyard-${w}`)) run.targets[`switchyard-${w}`] = { present: false, reason: String(err.message).split('\n')[0] };
      say(String(err.message));
    }
  }

  if (COMPARE_ROOT !== null) {
    const other = await startSwitchyard({ root: COMPARE_ROOT, upstreamOrigin: upstream.origin, key: KEY, nodeArgs: NODE_ARGS });
    say(`switchyard from ${COMPARE_ROOT} on ${other.origin} (pid ${other.pid}), for comparison`);
    for (const wire of ['openai', 'anthropic']) {
      if (!WANTED.has(`switchyard-${wire}`)) continue;
      run.targets[`compare-${wire}`] = { present: true, root: COMPARE_ROOT };
      targets.push({ name: `compare-${wire}`, origin: other.origin, wire, pids: [other.pid] });
    }
  }

  const loadgen = await forkChild('loadgen.js', 'ready', 'loadgen');
  let seq = 0;
  const runPhase = (phase) => new Promise((res, rej) => {
    const id = ++seq;
    const onMsg = (m) => {
      if (m?.type !== 'result' || m.id !== id) return;
      loadgen.child.off('message', onMsg);
      if (m.error) rej(new Error(m.error));
      else res(m.result);
    };
    loadgen.child.on('message', onMsg);
    loadgen.child.send({ type: 'run', id, phase });
  });

  // A gateway in service is warm: give every target's JIT a few thousand requests of each shape
  // before anything is measured, so the first phase does not pay for compilation.
  if (PREWARM > 0) {
    for (const t of targets) {
      for (const stream of [false, true]) {
        const req = requestFor(t.wire, stream, KEY);
        const r = await runPhase({
          origin: t.origin, path: req.path, headers: req.headers, body: req.body, wire: t.wire, stream,
          concurrency: 4, warmupMs: 0, measureMs: PREWARM * 1000, pids: { target: t.pids, upstream: [upstream.pid] },
        });
        if (r.errors > 0) say(`pre-warm of ${t.name} (${stream ? 'streamed' : 'non-streamed'}): ${r.errors} errors, first: ${r.firstError}`);
      }
    }
    say(`pre-warmed ${targets.length} targets for ${PREWARM}s per shape`);
  }

  // Every phase runs each target back to back, so all see the same machine at the same moment.
  const shapes = [];
  for (const c of CONCURRENCY) for (const stream of STREAMS) shapes.push({ stream, concurrency: c });
  for (const shape of shapes) {
    const rounds = Object.fromEntries(targets.map((t) => [t.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) {
        const req = requestFor(t.wire, shape.stream, KEY);
        const r = await runPhase({
          origin: t.origin, path: req.path, headers: req.headers, body: req.body, wire: t.wire, stream: shape.stream,
          concurrency: shape.concurrency, warmupMs: WARMUP * 1000, measureMs: SECONDS * 1000,
          pids: { target: t.pids, upstream: [upstream.pid] },
        });
        rounds[t.name].push(r);
        say(`${shape.stream ? 'stream' : 'json  '} c=${String(shape.concurrency).padEnd(3)} ${t.name.padEnd(21)} p50 ${Math.round(r.latencyUs.p50 ?? NaN)} µs  p99 ${Math.round(r.latencyUs.p99 ?? NaN)} µs  ${Math.round(r.rps)} req/s  cpu ${r.cpu.target.usPerReq?.toFixed(1)} µs/req  errors ${r.errors}`);
      }
    }
    const results = {};
    for (const t of targets) results[t.name] = combineRounds(rounds[t.name]);
    run.phases.push(derive({ ...shape, results }));
  }
  run.goals = judge(run.phases);
  run.finishedAt = new Date().toISOString();
  // Other work on the machine shows in the figures; the load average at each end says how much.
  run.machine.loadavgAtEnd = loadavg();

  const table = renderTable(run);
  process.stdout.write(table + '\n');
  // latest.json is the committed record: only a full, unprofiled run of every target may replace it.
  const full = !env.BENCH_TARGETS && !env.BENCH_STREAM && !env.BENCH_CONCURRENCY && !CPU_PROF && NODE_ARGS.length === 0 && COMPARE_ROOT === null;
  const file = writeResults(HERE, run, { latest: full });
  say(full ? `wrote ${file} and ${join(HERE, 'latest.json')}` : `wrote ${file} (a partial or profiled run: latest.json left as it was)`);
  if (bareEntry && CPU_PROF) {
    await stopOne(bareEntry);
    say(`bare proxy CPU profile written to ${join(CPU_PROF, 'bare')}`);
  }
  if (gw && CPU_PROF) {
    await stopOne(gw.entry);
    say(`gateway CPU profile written to ${CPU_PROF} (summarize: node bench/gateway-overhead/profile-top.js ${CPU_PROF})`);
  }
}

main().then(() => shutdown(0), (err) => {
  say(`failed: ${err?.stack ?? err}`);
  void shutdown(1);
});
