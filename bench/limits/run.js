#!/usr/bin/env node
// The rate limiter's cost per request (issue 6 asks ≤ 10 µs of CPU in memory): an admission and a
// settlement over 10,000 keys, in memory and through the real Redis (one round trip each); and the
// admission queue's, with a free slot and saturated; beside a baseline that only reads a Map, in one run.
//   npm run bench:limits
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
if (!existsSync(join(root, 'dist', 'limits', 'index.js'))) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
const { MemoryLimiter, RedisLimiter } = await import(join(root, 'dist', 'limits', 'index.js'));
const { AdmissionQueue, admissionPolicy } = await import(join(root, 'dist', 'admission', 'index.js'));

const limits = { requestsPerMinute: 1e6, inputTokensPerMinute: 1e9, outputTokensPerMinute: 1e9 };
const keys = Array.from({ length: 10_000 }, (_, i) => `ws_${i}`);

function cpuPer(n, fn) {
  const t0 = process.cpuUsage();
  fn(n);
  const c = process.cpuUsage(t0);
  return ((c.user + c.system) * 1000) / n;
}

const base = new Map(keys.map((k) => [k, 1]));
const mem = new MemoryLimiter();
let now = Date.now();
const run = {
  baseline: (n) => { let s = 0; for (let i = 0; i < n; i++) s += base.get(keys[i % keys.length]); return s; },
  memory: (n) => {
    for (let i = 0; i < n; i++) {
      const key = keys[i % keys.length];
      mem.admitNow({ key, limits, inputTokens: 800, outputTokens: 1024, nowMs: now + i / 1000 });
      mem.commitNow(key, limits, { inputTokens: 40, outputTokens: 1024 - 300 }, now + i / 1000);
    }
  },
};
// admission: a pool with a free slot (the common case), and a saturated one where every request
// waits behind 1,000 others of 100 tenants in three classes and is pulled when one finishes
const free = new AdmissionQueue(admissionPolicy());
free.setCapacity(1e9);
const busy = new AdmissionQueue(admissionPolicy({ classes: { standard: { shed: null }, batch: { shed: null } } }));
busy.setCapacity(64);
const classes = ['interactive', 'standard', 'batch'];
const arrival = (i) => ({ tenant: keys[i % 100], weight: 1, priority: classes[i % 3], deadlineAtMs: 1e15, nowMs: now, random: 0.5 });
for (let i = 0; i < 64 + 1_000; i++) busy.offer(i, arrival(i));
run['admission, slot free'] = (n) => { for (let i = 0; i < n; i++) { free.offer(i, arrival(i)); free.finished(1_000); } };
run['admission, saturated'] = (n) => { for (let i = 0; i < n; i++) { busy.offer(i, arrival(i)); busy.finished(1_000); busy.pull(); } };

for (let round = 0; round < 2; round++) {
  const rows = Object.entries(run).map(([name, fn]) => [name, cpuPer(1_000_000, fn)]);
  if (round === 0) continue;
  console.log('| per request | CPU ns (limiter: admit + commit; admission: offer + finish (+ pull)) | ÷ baseline | goal |');
  console.log('| --- | ---: | ---: | --- |');
  for (const [name, ns] of rows) console.log(`| ${name} | ${ns.toFixed(0)} | ${(ns / rows[0][1]).toFixed(1)} | ${name === 'baseline' ? '' : ns <= 10_000 ? 'met (≤ 10,000)' : '**missed**'} |`);
}

// Redis: wall time and this process's CPU per request, 64 in flight
const redis = new RedisLimiter({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', prefix: `sy:bench:${process.pid}:` });
try {
  await redis.ready();
  const n = 50_000;
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  let i = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (i < n) {
      const key = keys[i++ % keys.length];
      await redis.admit({ key, limits, inputTokens: 800, outputTokens: 1024, nowMs: Date.now() });
    }
  }));
  const wall = performance.now() - w0;
  const c = process.cpuUsage(t0);
  console.log(`\nRedis (one Lua call per admission, 64 in flight): ${(((c.user + c.system) * 1000) / n).toFixed(0)} ns gateway CPU and ${((wall * 1000) / n).toFixed(1)} µs wall per admission (${Math.round(n / (wall / 1000)).toLocaleString('en-US')} admissions/s)`);
} catch (err) {
  console.log(`\nRedis not reachable (${err.message}); skipped`);
} finally {
  await redis.close();
}
