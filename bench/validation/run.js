#!/usr/bin/env node
// What validating a request costs (issue 11 §1): per body and wire, ns per request of
//   - JSON.parse alone (every variant pays it),
//   - the hand-written checks + translation the gateway had before the schemas (baseline/, compiled
//     from the sources at commit 3dfcd68),
//   - the zod-4 schema's safeParse (src/api/schema/*),
//   - the same schema as JSON Schema compiled by ajv (as Fastify does; src/api/schema/compile.ts),
//   - the gateway's parse today (JSON.parse + depth bound + ajv schema + the checks a schema
//     cannot say + translation),
// all in one run, with ratios to the baseline.
//   npm run bench:validation
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bodies } from './bodies.js';
import * as old from './baseline/anthropic-request.js';
import * as oldOpenAI from './baseline/openai-request.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
if (!existsSync(join(root, 'dist', 'api', 'schema', 'anthropic.js'))) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
const schemaA = await import(join(root, 'dist', 'api', 'schema', 'anthropic.js'));
const schemaO = await import(join(root, 'dist', 'api', 'schema', 'openai.js'));
const api = await import(join(root, 'dist', 'api', 'index.js'));

const { compile } = await import(join(root, 'dist', 'api', 'schema', 'compile.js'));
// the same zod schemas as JSON Schema, compiled by ajv exactly as the gateway does at load
const ajvA = compile(schemaA.messagesBody);
const ajvO = compile(schemaO.chatBody);

function must(ok, what) {
  if (!ok) throw new Error(`${what} refused a body the bench expects to be valid`);
}

// Each variant gets the body as the gateway has it: `text` (a Buffer) and, for the checks alone,
// `obj` (already parsed), so the table shows what validation adds to the JSON.parse every variant pays.
const variants = {
  anthropic: [
    ['JSON.parse alone', (text) => JSON.parse(text)],
    ['baseline: hand-written checks + translation', (_t, obj) => must(old.parseAnthropicMessages(obj).ok, 'baseline')],
    ['zod 4 schema', (_t, obj) => must(schemaA.messagesBody.safeParse(obj).success, 'zod')],
    ['ajv schema', (_t, obj) => must(ajvA.check(obj) === null, 'ajv')],
    ['baseline, whole: JSON.parse + checks + translation', (text) => must(old.parseAnthropicMessages(text).ok, 'baseline')],
    ['gateway today: JSON.parse + depth bound + ajv schema + translation', (text) => must(api.parseAnthropicMessages(text).ok, 'gateway')],
  ],
  openai: [
    ['JSON.parse alone', (text) => JSON.parse(text)],
    ['baseline: hand-written checks', (_t, obj) => must(oldOpenAI.parseOpenAIChat(obj).ok, 'baseline')],
    ['zod 4 schema', (_t, obj) => must(schemaO.chatBody.safeParse(obj).success, 'zod')],
    ['ajv schema', (_t, obj) => must(ajvO.check(obj) === null, 'ajv')],
    ['baseline, whole: JSON.parse + checks', (text) => must(oldOpenAI.parseOpenAIChat(text).ok, 'baseline')],
    ['gateway today: JSON.parse + depth bound + ajv schema', (text) => must(api.parseOpenAIChat(text).ok, 'gateway')],
  ],
};

/**
 * CPU ns per call, median of 5 rounds of ~100 ms of CPU each. CPU time, not wall time: the box is
 * shared, and another process's turn on the core is not this code's cost.
 */
const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
function nsPerOp(fn, text, obj) {
  for (let i = 0; i < 200; i++) fn(text, obj);
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const t0 = cpuNs();
    let t = t0;
    while (t - t0 < 100e6) {
      for (let i = 0; i < 20; i++) fn(text, obj);
      n += 20;
      t = cpuNs();
    }
    rounds.push((t - t0) / n);
  }
  return rounds.sort((a, b) => a - b)[2];
}

const fmt = (ns) => Math.round(ns).toLocaleString('en-US');
const lines = [];
for (const b of bodies(root)) {
  for (const wire of ['anthropic', 'openai']) {
    const text = Buffer.from(JSON.stringify(b[wire]));
    const obj = JSON.parse(text);
    const res = variants[wire].map(([name, fn]) => [name, nsPerOp(fn, text, obj)]);
    lines.push(`\n${b.name}, ${wire} (${(text.length / 1024).toFixed(1)} KB)\n`);
    lines.push('| variant | CPU ns / request | ÷ baseline |');
    lines.push('| --- | ---: | ---: |');
    // the checks alone against the baseline's checks; the whole parse against the baseline's whole parse
    res.forEach(([name, ns], i) => lines.push(`| ${name} | ${fmt(ns)} | ${i === 0 ? '' : (ns / res[i < 4 ? 1 : 4][1]).toFixed(2)} |`));
  }
}
// Tool-id matching: N calls answered in reverse order, once each (the probe's 150,000 took 16–19 s
// in the baseline). Linear time doubles with N; quadratic quadruples.
const scaling = ['\ntool calls answered in reverse order, one parse each\n', '| wire | calls | MB | baseline CPU ms | today CPU ms |', '| --- | ---: | ---: | ---: | ---: |'];
for (const n of [10_000, 20_000, 40_000]) {
  const ids = Array.from({ length: n }, (_, i) => `call_${i}`);
  const o = [{ role: 'user', content: 'q' }, { role: 'assistant', content: null, tool_calls: ids.map((id) => ({ id, type: 'function', function: { name: 'f', arguments: '{}' } })) }, ...ids.map((_, i) => ({ role: 'tool', tool_call_id: ids[n - 1 - i], content: 'ok' }))];
  const a = [{ role: 'user', content: 'q' }, { role: 'assistant', content: ids.map((id) => ({ type: 'tool_use', id, name: 'f', input: {} })) }, { role: 'user', content: ids.map((_, i) => ({ type: 'tool_result', tool_use_id: ids[n - 1 - i], content: 'ok' })) }];
  const bodyO = Buffer.from(JSON.stringify({ model: 'm', tools: [{ type: 'function', function: { name: 'f' } }], messages: o }));
  const bodyA = Buffer.from(JSON.stringify({ model: 'm', max_tokens: 8, tools: [{ name: 'f', input_schema: { type: 'object' } }], messages: a }));
  const once = (fn) => { const t0 = cpuNs(); must(fn().ok, 'scaling'); return ((cpuNs() - t0) / 1e6).toFixed(0); };
  scaling.push(`| anthropic | ${n.toLocaleString('en-US')} | ${(bodyA.length / 1e6).toFixed(1)} | ${once(() => old.parseAnthropicMessages(bodyA))} | ${once(() => api.parseAnthropicMessages(bodyA))} |`);
  scaling.push(`| openai | ${n.toLocaleString('en-US')} | ${(bodyO.length / 1e6).toFixed(1)} | ${once(() => oldOpenAI.parseOpenAIChat(bodyO))} | ${once(() => api.parseOpenAIChat(bodyO))} |`);
}

console.log(`validation cost per request, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
console.log(lines.join('\n'));
console.log(scaling.join('\n'));
