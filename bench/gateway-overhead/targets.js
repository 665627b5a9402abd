// The processes under test: the fast upstream, the bare proxy, Switchyard (the real CLI); nginx is
// in nginx.js. Each is a child of the runner, tracked here so that stopAll() leaves nothing behind,
// whatever way the run ends.
import { fork, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HERE = new URL('.', import.meta.url).pathname;
const live = new Set();
const tempDirs = new Set();

export function track(child, name) {
  const entry = { child, name, exited: null };
  entry.exited = new Promise((r) => child.once('exit', (code, signal) => { live.delete(entry); r({ code, signal }); }));
  live.add(entry);
  return entry;
}

export function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

/** Whether a tracked child is still running. */
export function isLive(entry) {
  return live.has(entry);
}

/** SIGTERM to every child we started, SIGKILL to any still there after `graceMs`; temp dirs removed. */
export async function stopAll(graceMs = 15_000) {
  const entries = [...live];
  for (const e of entries) e.child.kill('SIGTERM');
  const timer = setTimeout(() => { for (const e of live) e.child.kill('SIGKILL'); }, graceMs);
  await Promise.all(entries.map((e) => e.exited));
  clearTimeout(timer);
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

/** Stops one child (and waits for it), e.g. to have the gateway write its CPU profile. */
export async function stopOne(entry, graceMs = 15_000) {
  if (!live.has(entry)) return entry.exited;
  entry.child.kill('SIGTERM');
  const timer = setTimeout(() => entry.child.kill('SIGKILL'), graceMs);
  const r = await entry.exited;
  clearTimeout(timer);
  return r;
}

/** Forks a node child that reports readiness over IPC with `{type}`. */
export function forkChild(file, readyType, name, env = process.env, execArgv = []) {
  const child = fork(join(HERE, file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv, env });
  const entry = track(child, name);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited (code ${code}) before it was ready`)));
    child.on('message', (m) => { if (m?.type === readyType) resolve({ entry, child, pid: child.pid, msg: m }); });
  });
}

export async function startUpstream() {
  const { entry, pid, msg } = await forkChild('upstream.js', 'listening', 'upstream');
  return { entry, pid, port: msg.port, origin: `http://127.0.0.1:${msg.port}` };
}

/** The reference Node.js proxy (node:http + undici, nothing else) in front of the upstream; profiled into `cpuProfDir` when given. */
export async function startBareProxy(upstreamOrigin, cpuProfDir = null) {
  const execArgv = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const { entry, pid, msg } = await forkChild('bare-proxy.js', 'listening', 'bare-proxy', { ...process.env, BARE_UPSTREAM: upstreamOrigin }, execArgv);
  return { entry, pid, origin: `http://127.0.0.1:${msg.port}` };
}

/** Rebuilds dist/ when it is missing or older than src/. Returns tsc's complaints, if any. */
export function ensureBuilt(root) {
  const main = join(root, 'dist/cli/main.js');
  const newestSrc = newestMtime(join(root, 'src'));
  if (existsSync(main) && statSync(main).mtimeMs >= newestSrc) return { built: false, problems: null };
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  return { built: true, problems: r.status === 0 ? null : (r.stdout + r.stderr).trim() };
}

function newestMtime(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The floor reference (floor-proxy.js): the bare proxy plus the JSON work no gateway can skip. */
export async function startFloorProxy(upstreamOrigin, cpuProfDir = null) {
  const execArgv = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const { entry, pid, msg } = await forkChild('floor-proxy.js', 'listening', 'floor-proxy', { ...process.env, BARE_UPSTREAM: upstreamOrigin }, execArgv);
  return { entry, pid, origin: `http://127.0.0.1:${msg.port}` };
}

/** `switchyard up` fronting the upstream; resolves when it prints its banner. */
export function startSwitchyard({ root, upstreamOrigin, key, cpuProfDir, nodeArgs: extra = [], timeoutMs = 30_000, env: extraEnv = {} }) {
  const dataDir = tempDir('switchyard-bench-');
  const nodeArgs = [...extra, ...(cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [])];
  // limits the bench never reaches: it measures the path every request takes, not a 429
  const config = join(dataDir, 'bench.yaml');
  writeFileSync(config, 'tiers:\n  default: { requestsPerMinute: 1.0e12, inputTokensPerMinute: 1.0e15, outputTokensPerMinute: 1.0e15 }\n');
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'bin/switchyard.js'), 'up', '--port', '0', '--data-dir', dataDir, '--config', config, '--replica', `bench-model=${upstreamOrigin}/v1`], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...extraEnv, SWITCHYARD_DEMO_KEY: key, SWITCHYARD_LOG_LEVEL: 'warn' },
  });
  const entry = track(child, 'switchyard');
  let out = '';
  let err = '';
  // Keep draining both pipes for the whole run, so a chatty gateway never blocks on a full pipe.
  child.stderr.on('data', (c) => { err = (err + c).slice(-8_000); });
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`switchyard up failed: ${why}\n${(out + err).trim().slice(-3_000)}`));
    };
    const timer = setTimeout(fail, timeoutMs, `no banner within ${timeoutMs} ms`);
    child.once('exit', (code, signal) => fail(`exited (code ${code}, signal ${signal})`));
    child.stdout.on('data', (c) => {
      out = (out + c).slice(-8_000);
      const m = settled ? null : /Switchyard is up at (\S+)/.exec(out);
      if (m) {
        settled = true;
        clearTimeout(timer);
        resolve({ entry, pid: child.pid, origin: m[1], stderrTail: () => err });
      }
    });
  });
}
