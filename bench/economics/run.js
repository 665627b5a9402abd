#!/usr/bin/env node
// The seed's curve: cost per million tokens from 1× to 10× a base traffic level, Switchyard's
// autoscaler on, on two real traces (Azure conv; Mooncake conversation, which reuses prefixes),
// beside the smallest fixed fleet that meets the SLO on the same arrivals. The columns carry the
// reasons the cost falls: the decode batch, the prefix-cache hit rate, and how much of the
// provisioned fleet's SLO capacity the demand fills (the whole-replica granularity). Two worker
// threads share the levels. See bench/economics/cases.js for the setup.
//
//   node bench/economics/run.js            # 12 levels, ~50 runs, ~8 min on this shared 2-core VM; writes latest.json, docs/capacity-curve.svg and the tables into docs/capacity.md
//   node bench/economics/run.js --quick    # 1× and 5× on 2–3-minute windows: a smoke run under a minute (leaves latest.json and the docs alone)
//   node bench/economics/run.js --tables   # the tables and the chart again from latest.json (or --tables FILE.json)

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ATTAINMENT_GOAL, CASES, LEVELS, QUICK_LEVELS, SAMPLE_S, SEED, STARTUP, TICK_S, windowsOf } from './cases.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const dist = process.env.SY_DIST ?? join(root, 'dist');
const doc = join(root, 'docs', 'capacity.md');
const svgFile = join(root, 'docs', 'capacity-curve.svg');
const BEGIN = '<!-- bench:economics:begin -->';
const END = '<!-- bench:economics:end -->';
const tablesOnly = process.argv.includes('--tables');
const named = tablesOnly ? process.argv[process.argv.indexOf('--tables') + 1] : undefined;
const smoke = !tablesOnly && process.argv.includes('--quick');
// a smoke run keeps its figures out of the record (latest.json is the full run's)
const out = named !== undefined && named.endsWith('.json') ? named : smoke ? join(tmpdir(), 'switchyard-bench-economics-quick.json') : join(here, 'latest.json');
const saved = tablesOnly ? JSON.parse(readFileSync(out, 'utf8')) : null;
const quick = saved?.quick ?? smoke;
const levels = quick ? QUICK_LEVELS : LEVELS;
const WORKERS = 2;
const command = `node bench/economics/run.js${quick ? ' --quick' : ''}`;

let results;
let wallS = NaN;
if (saved !== null) {
  results = saved.results;
  wallS = saved.wallS ?? NaN;
} else {
  buildIfStale();
  const t0 = process.hrtime.bigint();
  results = await runAll(jobs());
  wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  save({ results });
}

const { lineChart } = await import(join(dist, 'sim', 'report', 'svg.js'));
const svg = chart(results);
const md = render(results);
console.log(md);
save({ results, markdown: md });
// a smoke run leaves the docs' figures alone
if (!quick) {
  writeFileSync(svgFile, svg);
  writeDoc(md);
} else console.error(`\nthe figures are in ${out}`);

function save(parts) {
  writeFileSync(out, JSON.stringify({
    command, quick, wallS, cpuS: (parts.results ?? []).reduce((s, r) => s + r.cpuS, 0), workers: WORKERS,
    seed: SEED, tickS: TICK_S, sampleS: SAMPLE_S, startup: STARTUP, attainmentGoal: ATTAINMENT_GOAL, levels,
    cases: CASES.map((c) => ({ ...c, ...windowsOf(c, quick), quick: undefined })),
    ...parts,
  }, null, 1) + '\n');
}

// ── running ────────────────────────────────────────────────────────────────────

function jobs() {
  const js = CASES.flatMap((c) => levels.map((level) => ({ caseId: c.id, level, quick })));
  // the heaviest first (Mooncake's long prompts, the high levels), so the two threads finish together
  const weight = (j) => j.level * (j.caseId === 'mooncake' ? 4 : 1);
  return js.sort((a, b) => weight(b) - weight(a)).map((j, i) => ({ ...j, id: i }));
}

function buildIfStale() {
  const built = join(dist, 'sim', 'index.js');
  if (process.env.SY_DIST !== undefined) return;
  const newest = (dir) => Math.max(...readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(dir, f)).mtimeMs));
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(root, 'src'))) return;
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  } catch {
    // a type error elsewhere still emits; the runs say so if the simulator did not build
    if (!existsSync(built)) throw new Error('the build failed: run `npx tsc -p tsconfig.build.json` and fix what it reports');
  }
}

function runAll(list) {
  return new Promise((resolvePromise, reject) => {
    const queue = [...list];
    const done = [];
    let live = Math.min(WORKERS, list.length);
    const n = live;
    for (let w = 0; w < n; w++) {
      const worker = new Worker(join(here, 'worker.js'), { workerData: { dist, tracesDir: join(root, 'traces') } });
      const next = () => {
        const job = queue.shift();
        if (job === undefined) {
          worker.terminate();
          if (--live === 0) resolvePromise(done.sort((a, b) => a.caseId.localeCompare(b.caseId) || a.level - b.level));
          return;
        }
        worker.postMessage(job);
      };
      worker.on('message', (m) => {
        if (m.ready) return next();
        if (!m.ok) {
          worker.terminate();
          return reject(new Error(`level ${JSON.stringify(list.find((j) => j.id === m.id))} failed:\n${m.error}`));
        }
        done.push(m.result);
        process.stderr.write(`\r${done.length}/${list.length} levels`);
        next();
      });
      worker.on('error', reject);
    }
  });
}

// ── the tables ─────────────────────────────────────────────────────────────────

function render(rs) {
  const L = [];
  const cpu = rs.reduce((s, r) => s + r.cpuS, 0);
  const runs = rs.reduce((s, r) => s + 1 + r.tried.length, 0);
  L.push(`Run of ${new Date().toISOString().slice(0, 10)}${quick ? ' (--quick)' : ''} (\`${quick ? 'npm run bench:economics -- --quick' : 'npm run bench:economics'}\`): ${runs} simulated runs`
    + `${wallS === wallS ? ` in ${wallS.toFixed(0)} s wall` : ''}, ${cpu.toFixed(0)} s CPU (${WORKERS} worker threads); seed ${SEED}. `
    + `Switchyard's autoscaler with its defaults (tick ${TICK_S} s, start-up ${STARTUP}, pool min 1), one region. `
    + `The fixed fleet is the smallest N whose attainment reaches ${pct(ATTAINMENT_GOAL, 0)} on the same arrivals (N − 1 tried and short of it).`);
  for (const c of CASES) {
    const mine = rs.filter((r) => r.caseId === c.id).sort((a, b) => a.level - b.level);
    if (mine.length === 0) continue;
    const w = windowsOf(c, quick);
    const base = mine[0];
    L.push('');
    L.push(`**${c.label}** on ${c.profile} (${c.model}, ${mine[0].auto.usdPerGpuHour.toFixed(2)} USD a GPU-hour), routing \`${c.routing}\`, SLO TTFT ${c.slo.ttftMs / 1000} s and ITL ${c.slo.tpotMs} ms; `
      + `1× = ${c.rateScale === 1 ? 'the trace at its own rate' : `${c.rateScale} × the trace's rate`}; ${w.durationS / 60} min measured after ${w.warmupS / 60} min of warm-up.`);
    L.push('');
    const cols = '| traffic | req/s | replicas mean / peak | GPU-h | cost | $/M input | $/M output | $/M blended | ÷ 1× | decode batch | cache hit | busy | SLO load | attainment |';
    const sep = '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
    const cells = (x, b0) => `${x.ratePerS.toFixed(1)} | ${x.meanReplicas.toFixed(1)} / ${x.peakReplicas} | ${x.gpuHours.toFixed(1)} | $${x.costUsd.toFixed(2)} | ${usd(x.perMInput)} | ${usd(x.perMOutput)} | **${usd(x.perMBlended)}** | ${(x.perMBlended / b0.perMBlended).toFixed(2)} `
      + `| ${x.meanBatch.toFixed(1)} | ${pct(x.cachedShare)} | ${pct(x.busy)} | ${pct(x.sloLoad, 0)} | ${pct(x.attainment, 2)}`;
    L.push('Switchyard autoscaling (from the fixed fleet\'s N at t = 0):');
    L.push('');
    L.push(`${cols} ÷ fixed |`);
    L.push(`${sep} ---: |`);
    for (const r of mine) L.push(`| ${r.level}× | ${cells(r.auto, base.auto)} | ${(r.auto.perMBlended / r.fixed.perMBlended).toFixed(2)} |`);
    L.push('');
    L.push(`The fixed fleet (the smallest N meeting ${pct(ATTAINMENT_GOAL, 0)} attainment):`);
    L.push('');
    L.push(`| traffic | N ${cols.slice('| traffic '.length)}`);
    L.push(`| ---: ${sep}`);
    for (const r of mine) L.push(`| ${r.level}× | ${r.fixed.n}${r.fixed.met ? '' : ' (short)'} | ${cells(r.fixed, base.fixed)} |`);
    const top = mine[mine.length - 1];
    const against = (x, x0) => `cost per M blended ×${ratio(x.perMBlended, x0.perMBlended)} (input ×${ratio(x.perMInput, x0.perMInput)}, output ×${ratio(x.perMOutput, x0.perMOutput)}); `
      + `decode batch ×${ratio(x.meanBatch, x0.meanBatch)}; cache hit ${pts(x.cachedShare - x0.cachedShare)}; SLO load ×${ratio(x.sloLoad, x0.sloLoad)}; busy ×${ratio(x.busy, x0.busy)}; `
      + `output tokens a GPU-second ${x0.outputTokPerGpuS.toFixed(0)} → ${x.outputTokPerGpuS.toFixed(0)}`;
    L.push('');
    L.push(`${top.level}× against 1×, the fixed fleet (${base.fixed.n} → ${top.fixed.n} replicas): ${against(top.fixed, base.fixed)}. `
      + `Autoscaled (mean ${base.auto.meanReplicas.toFixed(1)} → ${top.auto.meanReplicas.toFixed(1)} replicas): ${against(top.auto, base.auto)}.`);
  }
  L.push('');
  L.push('Columns. Everything is of the measured window: requests arriving in it, the GPU time provisioned in it (replicas starting, ready or draining, every '
    + `${SAMPLE_S} s, × GPUs a replica × the price), the tokens of its completed requests. $/M input and output: the cost split by the engine model's time per uncached prompt token and per output token `
    + '(control/economics `phaseWeights` at the window\'s mean request, `splitCost`); blended: cost ÷ all tokens, input and output. '
    + `Decode batch: the sequences running on a replica that has any, at each ${SAMPLE_S} s sample, averaged (vLLM's running count: decodes and the prefill chunks sharing their steps). `
    + 'Cache hit: prompt tokens served from the prefix cache ÷ prompt tokens. Busy: the replicas\' modelled busy time ÷ their time up, over the whole run (warm-up and drain too): a replica with one sequence is busy. '
    + 'SLO load: the window\'s requests a second ÷ (mean replicas × the modelled rate one replica carries at the SLO, control/autoscaler `replicaCapacity` at the window\'s mean request): how much of the capacity paid for the demand uses. '
    + `Attainment: requests within both TTFT and ITL (mean time per output token) objectives ÷ requests. ÷ fixed: the autoscaled $/M over the fixed fleet's at the same level.`);
  L.push('');
  L.push('![Cost per million tokens against traffic](capacity-curve.svg)');
  return L.join('\n');
}

function chart(rs) {
  const panels = [];
  const rel = [];
  const why = [];
  for (const c of CASES) {
    const mine = rs.filter((r) => r.caseId === c.id).sort((a, b) => a.level - b.level);
    if (mine.length === 0) continue;
    panels.push(lineChart(`${c.label}: USD per million tokens (blended)`, 'traffic (× base)', 'USD / M tokens', [
      { name: 'autoscaled', points: mine.map((r) => [r.level, r.auto.perMBlended]) },
      { name: 'fixed fleet (smallest meeting SLO)', points: mine.map((r) => [r.level, r.fixed.perMBlended]) },
    ]));
    const a0 = mine[0].auto;
    const f0 = mine[0].fixed;
    rel.push({ name: `${c.id} autoscaled`, points: mine.map((r) => [r.level, r.auto.perMBlended / a0.perMBlended]) });
    rel.push({ name: `${c.id} fixed`, points: mine.map((r) => [r.level, r.fixed.perMBlended / f0.perMBlended]) });
    why.push({ name: `${c.id} decode batch`, points: mine.map((r) => [r.level, r.fixed.meanBatch / f0.meanBatch]) });
    why.push({ name: `${c.id} SLO load`, points: mine.map((r) => [r.level, r.fixed.sloLoad / f0.sloLoad]) });
    if (mine.some((r) => r.fixed.cachedShare > 0)) why.push({ name: `${c.id} cache hit`, points: mine.map((r) => [r.level, r.fixed.cachedShare / f0.cachedShare]) });
  }
  panels.push(lineChart('Cost per million tokens ÷ its 1× figure', 'traffic (× base)', '÷ 1×', rel, { yMax: 1.2 }));
  panels.push(lineChart('Why, on the fixed fleet: each ÷ its 1× figure', 'traffic (× base)', '÷ 1×', why));
  // the shared charts are 560 × 260: two a row
  const W = 560;
  const H = 260;
  const rows = Math.ceil(panels.length / 2);
  const inner = panels.map((p, i) => p.replace('<svg ', `<svg x="${(i % 2) * W}" y="${Math.floor(i / 2) * H}" `)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${rows * H}" viewBox="0 0 ${2 * W} ${rows * H}">\n<rect width="100%" height="100%" fill="#fff"/>\n${inner}\n</svg>\n`;
}

function usd(x) {
  return x === x ? `$${x.toFixed(3)}` : 'n/a';
}

function pct(x, digits = 1) {
  return x === x ? `${(100 * x).toFixed(digits)} %` : 'n/a';
}

function pts(x) {
  return x === x ? `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)} pts` : 'n/a';
}

function ratio(a, b) {
  return a === a && b === b && b !== 0 ? (a / b).toFixed(2) : 'n/a';
}

function writeDoc(text) {
  if (!existsSync(doc)) return console.error(`\n${doc} is missing: the tables are in ${out} (run with --tables once it has the markers)`);
  const body = readFileSync(doc, 'utf8');
  const a = body.indexOf(BEGIN);
  const b = body.indexOf(END);
  if (a < 0 || b < a) return console.error(`\n${doc} has no ${BEGIN} … ${END} markers: the tables are in ${out} (run with --tables once it has them)`);
  writeFileSync(doc, `${body.slice(0, a + BEGIN.length)}\n\n${text}\n\n${body.slice(b)}`);
  console.error(`\nthe tables are in ${doc}`);
}
