// Cross-check of the main run's method: the same targets loaded by wrk (C, little CPU of its own)
// instead of the Node load generator, non-streamed, c=1 and c=50. `node bench/gateway-overhead/wrk-check.js`
import { spawnSync, fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { startUpstream, startSwitchyard, track, stopAll } from './targets.js';
import { requestFor } from './workload.js';
import { cpuNs } from './procstat.js';
const KEY = 'sk-sy-bench-key-000000000000000000000000000';
if (spawnSync('wrk', ['--version']).error) {
  console.error('wrk is not installed (apt-get install -y wrk)');
  process.exit(1);
}
const up = await startUpstream();
const bare = fork(new URL('./bare-proxy.js', import.meta.url).pathname, [], { env: { ...process.env, BARE_UPSTREAM: up.origin } });
track(bare, 'bare');
const barePort = await new Promise((r) => bare.on('message', (m) => m.type === 'listening' && r(m.port)));
const raw = fork(new URL('./raw-net-proxy.js', import.meta.url).pathname, [], { env: { ...process.env, BARE_UPSTREAM: up.origin } });
track(raw, 'raw');
const rawPort = await new Promise((r) => raw.on('message', (m) => m.type === 'listening' && r(m.port)));
const sy = await startSwitchyard({ root: '/work/main', upstreamOrigin: up.origin, key: KEY });
for (const wire of ['openai', 'anthropic']) {
  const req = requestFor(wire, false, KEY);
  const hdrs = Object.entries(req.headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join('\n');
  writeFileSync(`/tmp/wrk-${wire}.lua`, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(req.body)}\n${hdrs}\n`);
}
const run = (name, origin, pid, wire, c) => {
  const req = requestFor(wire, false, KEY);
  spawnSync('wrk', ['-t1', `-c${c}`, '-d2s', '-s', `/tmp/wrk-${wire}.lua`, origin + req.path]); // warm
  const a = pid ? cpuNs(pid) : 0;
  const out = spawnSync('wrk', ['-t1', `-c${c}`, '-d6s', '--latency', '-s', `/tmp/wrk-${wire}.lua`, origin + req.path], { encoding: 'utf8' }).stdout;
  const b = pid ? cpuNs(pid) : 0;
  const n = Number(/(\d+) requests in/.exec(out)[1]);
  const p50 = /50%\s+(\S+)/.exec(out)[1];
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
  console.log(`${name.padEnd(22)} c=${String(c).padEnd(3)} ${String(Math.round(n / 6)).padStart(6)} req/s  p50 ${p50.padStart(8)}  cpu ${pid ? ((b - a) / 1000 / n).toFixed(1) : '-'} µs/req  non2xx ${non2xx}`);
};
for (const c of [1, 50]) {
  run('direct', up.origin, up.pid, 'openai', c);
  run('raw-net-proxy', `http://127.0.0.1:${rawPort}`, raw.pid, 'openai', c);
  run('bare-node-proxy', `http://127.0.0.1:${barePort}`, bare.pid, 'openai', c);
  run('switchyard-openai', sy.origin, sy.pid, 'openai', c);
  run('switchyard-anthropic', sy.origin, sy.pid, 'anthropic', c);
}
await stopAll();
