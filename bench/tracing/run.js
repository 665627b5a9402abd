#!/usr/bin/env node
// `npm run bench:tracing`: what tracing costs the gateway, in CPU per request, measured on the
// gateway process (its /proc ticks over the measured window, read by the load generator, which
// runs in a process of its own). Side by side in one run, rounds alternated:
//   off       this tree, tracing off (the default)
//   on-0      this tree, tracing on at sample rate 0 (the cost of being on, without spans)
//   on-0.1    this tree, tracing on at sample rate 0.1, exporting to a local OTLP sink
//   on-1.0    the same at sample rate 1.0
//   baseline  the gateway before tracing (commit 9f596c4), when BENCH_COMPARE_ROOT names a built
//             checkout of it (default /tmp/base-tracing if it exists)
// Settings (env): BENCH_SECONDS (4) per phase, BENCH_WARMUP_SECONDS (0.5), BENCH_ROUNDS (3),
// BENCH_CONCURRENCY (16), BENCH_STREAM ("false,true"), BENCH_TARGETS (all; e.g. "off,on-1.0"),
// BENCH_CPU_PROF=<dir> (profile the gateways into it; summarise with
// bench/gateway-overhead/profile-top.js). Writes bench/tracing/latest.json on a full run.
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt, forkChild, startSwitchyard, startUpstream, stopAll } from '../gateway-overhead/targets.js';
import { requestFor } from '../gateway-overhead/workload.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const env = process.env;
const SECONDS = Number(env.BENCH_SECONDS ?? 4);
const WARMUP = Number(env.BENCH_WARMUP_SECONDS ?? 0.5);
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 3));
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 16);
const STREAMS = (env.BENCH_STREAM ?? 'false,true').split(',').map((s) => s === 'true');
const COMPARE_ROOT = env.BENCH_COMPARE_ROOT ? resolve(env.BENCH_COMPARE_ROOT) : existsSync('/tmp/base-tracing/dist/cli/main.js') ? '/tmp/base-tracing' : null;
const WANTED = env.BENCH_TARGETS ? new Set(env.BENCH_TARGETS.split(',')) : null;
const CPU_PROF = env.BENCH_CPU_PROF ? resolve(env.BENCH_CPU_PROF) : null;
const KEY = `sk-bench-${randomBytes(12).toString('hex')}`;
const say = (s) => process.stderr.write(`[bench:tracing] ${s}\n`);

process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

/** An OTLP/HTTP sink: reads each export, counts its bytes, answers 200. */
async function startSink() {
  let exports = 0;
  let bytes = 0;
  const server = createServer((q, s) => {
    q.on('data', (d) => (bytes += d.length)).on('end', () => {
      exports++;
      s.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/v1/traces`, stats: () => ({ exports, bytes }), close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const b = ensureBuilt(ROOT);
  if (b.built) say(b.problems ? 'built dist/ (with type errors elsewhere in the tree; continuing)' : 'built dist/');
  const upstream = await startUpstream();
  const sink = await startSink();
  const traced = (rate) => ({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER_ARG: String(rate) });
  const untraced = { OTEL_TRACES_EXPORTER: 'none' };
  const specs = [
    { name: 'off', root: ROOT, env: untraced },
    // on, sampling nothing: what every request pays for tracing being on, apart from its spans
    { name: 'on-0', root: ROOT, env: traced(0) },
    { name: 'on-0.1', root: ROOT, env: traced(0.1) },
    { name: 'on-1.0', root: ROOT, env: traced(1) },
  ];
  // the baseline predates the OTEL_* variables: its tracing is simply absent
  if (COMPARE_ROOT !== null) specs.push({ name: 'baseline', root: COMPARE_ROOT, env: {} });
  else say('no baseline: set BENCH_COMPARE_ROOT to a built checkout of 9f596c4 for off÷baseline');
  const targets = [];
  for (const s of specs) {
    if (WANTED !== null && !WANTED.has(s.name)) continue;
    const gw = await startSwitchyard({ root: s.root, upstreamOrigin: upstream.origin, key: KEY, env: s.env, cpuProfDir: CPU_PROF && join(CPU_PROF, s.name) });
    targets.push({ ...s, origin: gw.origin, pid: gw.pid });
    say(`${s.name}: pid ${gw.pid} at ${gw.origin}`);
  }
  const loadgen = await forkChild('loadgen.js', 'ready', 'loadgen');
  let seq = 0;
  const phase = (p) => new Promise((res, rej) => {
    const id = ++seq;
    const on = (m) => {
      if (m?.type !== 'result' || m.id !== id) return;
      loadgen.child.off('message', on);
      if (m.error) rej(new Error(m.error));
      else res(m.result);
    };
    loadgen.child.on('message', on);
    loadgen.child.send({ type: 'run', id, phase: p });
  });
  const run = (t, stream, warmupMs, measureMs) => {
    const req = requestFor('openai', stream, KEY);
    return phase({ origin: t.origin, path: req.path, headers: req.headers, body: req.body, wire: 'openai', stream, concurrency: CONCURRENCY, warmupMs, measureMs, pids: { target: [t.pid], upstream: [upstream.pid] } });
  };
  for (const t of targets) for (const stream of STREAMS) await run(t, stream, 0, 1_500); // JIT warm-up
  const results = [];
  for (const stream of STREAMS) {
    const per = Object.fromEntries(targets.map((t) => [t.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // alternate the order each round, so drift in the machine falls on every target alike
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        const r = await run(t, stream, WARMUP * 1000, SECONDS * 1000);
        if (r.errors > 0) say(`${t.name}: ${r.errors} errors, first: ${r.firstError}`);
        per[t.name].push({ usPerReq: r.cpu.target.usPerReq, rps: r.rps, p50Us: r.latencyUs.p50 });
        say(`${stream ? 'stream' : 'json  '} round ${round + 1} ${t.name.padEnd(8)} ${r.cpu.target.usPerReq.toFixed(1)} µs CPU/req  ${Math.round(r.rps)} req/s`);
      }
    }
    const m = Object.fromEntries(Object.entries(per).map(([k, v]) => [k, { usPerReq: median(v.map((x) => x.usPerReq)), rps: median(v.map((x) => x.rps)), p50Us: median(v.map((x) => x.p50Us)), rounds: v }]));
    const ratio = (a, b) => (m[a] && m[b] ? m[a].usPerReq / m[b].usPerReq : null);
    results.push({ stream, concurrency: CONCURRENCY, targets: m, ratios: { 'on-0÷off': ratio('on-0', 'off'), 'on-0.1÷off': ratio('on-0.1', 'off'), 'on-1.0÷off': ratio('on-1.0', 'off'), 'off÷baseline': ratio('off', 'baseline') } });
  }
  const out = {
    startedAt: new Date().toISOString(),
    machine: { cpuModel: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, loadavgAtEnd: loadavg() },
    settings: { seconds: SECONDS, warmupSeconds: WARMUP, rounds: ROUNDS, concurrency: CONCURRENCY, baseline: COMPARE_ROOT },
    sink: sink.stats(),
    results,
    goals: { 'off÷baseline': '< 1.01', 'on-0.1÷off': '< 1.10' },
  };
  const full = WANTED === null && CPU_PROF === null && !env.BENCH_STREAM;
  if (full) writeFileSync(join(HERE, 'latest.json'), JSON.stringify(out, null, 2) + '\n');
  const f = (x) => (x === null ? 'n/a' : x.toFixed(3));
  const lines = ['| shape | baseline µs/req | off µs/req | on-0 µs/req | on-0.1 µs/req | on-1.0 µs/req | off÷baseline | on-0÷off | on-0.1÷off | on-1.0÷off |', '|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of results) {
    const u = (k) => (r.targets[k] ? r.targets[k].usPerReq.toFixed(1) : 'n/a');
    lines.push(`| ${r.stream ? 'streamed' : 'non-streamed'}, c=${r.concurrency} | ${u('baseline')} | ${u('off')} | ${u('on-0')} | ${u('on-0.1')} | ${u('on-1.0')} | ${f(r.ratios['off÷baseline'])} | ${f(r.ratios['on-0÷off'])} | ${f(r.ratios['on-0.1÷off'])} | ${f(r.ratios['on-1.0÷off'])} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  say(`sink got ${out.sink.exports} exports, ${(out.sink.bytes / 1e6).toFixed(1)} MB; ${full ? `wrote ${join(HERE, 'latest.json')}` : 'a partial or profiled run: latest.json left as it was'}`);
  await sink.close();
}

main().then(() => stopAll().then(() => process.exit(0)), (err) => {
  say(String(err?.stack ?? err));
  void stopAll().then(() => process.exit(1));
});
