#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (from `node --cpu-prof`, as BENCH_CPU_PROF makes): the functions
// with the most self time, mapped from dist/*.js back to src/*.ts through the source maps, and the
// share of time by area (node's http core, undici, Switchyard's rooms, GC...).
//   node bench/gateway-overhead/profile-top.js <file.cpuprofile | dir> [top=30]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const arg = process.argv[2];
const TOP = Number(process.argv[3] ?? 30);
if (!arg) {
  process.stderr.write('usage: profile-top.js <file.cpuprofile | dir> [top]\n');
  process.exit(2);
}
const file = statSync(arg).isDirectory()
  ? readdirSync(arg).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(arg, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
  : arg;
const prof = JSON.parse(readFileSync(file, 'utf8'));

// Self time per node id, from the sample stream.
const self = new Map();
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = prof.nodes.filter((n) => n.callFrame.functionName === '(idle)').reduce((s, n) => s + (self.get(n.id) ?? 0), 0);
const busy = total - idle;

const maps = new Map();
function sourceOf(url, line, col) {
  if (!url.startsWith('file://')) return null;
  const path = fileURLToPath(url);
  if (!maps.has(path)) {
    let m = null;
    try { if (existsSync(path + '.map')) m = new SourceMap(JSON.parse(readFileSync(path + '.map', 'utf8'))); } catch { /* no map */ }
    maps.set(path, m);
  }
  const m = maps.get(path);
  const e = m?.findEntry(line, col);
  if (!e || e.originalSource === undefined) return null;
  const src = e.originalSource.startsWith('file://') ? fileURLToPath(e.originalSource) : resolve(path, '..', e.originalSource);
  return `${relative(ROOT, src)}:${e.originalLine + 1}`;
}

function where(cf) {
  if (!cf.url) return '';
  const mapped = sourceOf(cf.url, cf.lineNumber, cf.columnNumber);
  if (mapped) return mapped;
  const u = cf.url.startsWith('file://') ? relative(ROOT, fileURLToPath(cf.url)) : cf.url;
  return `${u}:${cf.lineNumber + 1}`;
}

function area(cf) {
  const u = cf.url;
  if (!u) return cf.functionName.startsWith('(') ? cf.functionName : '(native / builtins)';
  if (u.startsWith('node:')) return u.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (m) return m[1];
  const d = /\/dist\/([^/]+)\//.exec(u);
  return d ? `switchyard ${d[1]}/` : u;
}

const byFn = new Map();
const byArea = new Map();
for (const n of prof.nodes) {
  const t = self.get(n.id) ?? 0;
  if (t === 0 || n.callFrame.functionName === '(idle)') continue;
  const key = `${n.callFrame.functionName || '(anonymous)'}  ${where(n.callFrame)}`;
  byFn.set(key, (byFn.get(key) ?? 0) + t);
  const a = area(n.callFrame);
  byArea.set(a, (byArea.get(a) ?? 0) + t);
}

// Inclusive time of Switchyard's own functions (and node's http entry points): which stage costs.
const kids = new Map(prof.nodes.map((n) => [n.id, n.children ?? []]));
const nodeById = new Map(prof.nodes.map((n) => [n.id, n]));
const incl = new Map();
const onPath = new Map();
function walk(id) {
  const n = nodeById.get(id);
  const cf = n.callFrame;
  const own = cf.url.includes('/dist/') ? `${cf.functionName || '(anonymous)'}  ${where(cf)}` : null;
  let t = self.get(id) ?? 0;
  if (own) onPath.set(own, (onPath.get(own) ?? 0) + 1);
  for (const c of kids.get(id)) t += walk(c);
  if (own) {
    const k = onPath.get(own) - 1;
    onPath.set(own, k);
    // Count a recursive function once, at its outermost frame.
    if (k === 0) incl.set(own, (incl.get(own) ?? 0) + t);
  }
  return cf.functionName === '(idle)' ? 0 : t;
}
walk(prof.nodes[0].id);

const pct = (t) => ((100 * t) / busy).toFixed(1).padStart(5) + '%';
const ms = (t) => (t / 1000).toFixed(0).padStart(7) + ' ms';
const out = [`${file}`, `busy ${ms(busy).trim()} of ${ms(total).trim()} sampled (idle excluded); shares are of busy time`, '', 'self time by area:'];
for (const [a, t] of [...byArea].sort((x, y) => y[1] - x[1]).slice(0, 20)) out.push(`  ${pct(t)} ${ms(t)}  ${a}`);
out.push('', `top ${TOP} functions by self time:`);
for (const [k, t] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, TOP)) out.push(`  ${pct(t)} ${ms(t)}  ${k}`);
out.push('', `top ${TOP} Switchyard functions by inclusive time:`);
for (const [k, t] of [...incl].sort((x, y) => y[1] - x[1]).slice(0, TOP)) out.push(`  ${pct(t)} ${ms(t)}  ${k}`);
process.stdout.write(out.join('\n') + '\n');
