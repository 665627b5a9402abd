#!/usr/bin/env node
// Rollouts judged on traces: the gateway's rollout driver and its sequential analysis, against two
// baselines (Argo/Flagger's interval threshold, Kayenta's Mann-Whitney), on the very same simulated
// runs. Every case runs dry (the schedule proceeds the same whatever the analyses say) with all three
// analyses fed every call; then one live run per bad case shows the sequential analysis rolling back.
// Two child processes share the runs. See bench/rollouts/cases.js for the setup.
//
//   node bench/rollouts/run.js            # ~15 min on 2 cores; writes bench/rollouts/latest.json
//   node bench/rollouts/run.js --quick    # 3 seeds a case, 10 A/A: a smoke run of a few minutes
//   node bench/rollouts/run.js --tables   # the tables again from latest.json's runs (or --tables FILE.json)

import { execFileSync, fork } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CASES, ROLLOUT_S, SCHEDULE, TRACES, WARMUP_S } from './cases.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const dist = join(root, 'dist');
const tablesOnly = process.argv.includes('--tables');
// `--tables other.json` renders (and rewrites) that file instead
const named = tablesOnly ? process.argv[process.argv.indexOf('--tables') + 1] : undefined;
const out = named !== undefined && named.endsWith('.json') ? named : join(here, 'latest.json');
const saved = tablesOnly ? JSON.parse(readFileSync(out, 'utf8')) : null;
const quick = saved?.quick ?? process.argv.includes('--quick');
const SEEDS = quick ? 3 : 10;
const AA_SEEDS = quick ? 10 : 100;
const WORKERS = 2;
const METHODS = ['sequential', 'interval-threshold', 'mann-whitney'];

let results;
let wallS = NaN;
if (saved !== null) {
  // the tables again from the runs saved last time, without running anything
  results = saved.runs;
  wallS = saved.wallS ?? NaN;
} else {
  buildIfStale();
  const t0 = process.hrtime.bigint();
  results = await runAll(jobsOf());
  wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  // the runs first, so a table that fails to render loses nothing
  save({ wallS, runs: results });
}

const tables = Object.keys(TRACES).map((trace) => tableOf(trace, results.filter((r) => r.trace === trace)));
const goals = Object.keys(TRACES).flatMap((trace) => goalsOf(trace, tables.find((t) => t.trace === trace)));

console.log(`\nrollout evidence: ${results.length} simulated runs${wallS === wallS ? ` in ${wallS.toFixed(0)} s wall` : ''}, ${results.reduce((s, r) => s + r.cpuS, 0).toFixed(0)} s CPU (${WORKERS} processes)`);
console.log(`schedule (every case): ${describeSchedule()}; the analysis watches throughout; rollout starts after the warm-up`);
for (const t of tables) printTable(t);
console.log('\ngoals');
console.log('| trace | goal | result | |');
console.log('| --- | --- | --- | --- |');
for (const g of goals) console.log(`| ${g.trace} | ${g.goal} | ${g.pass ? 'PASS' : 'FAIL'} | ${g.detail} |`);
save({ wallS, tables, goals, runs: results });

function save(parts) {
  writeFileSync(out, JSON.stringify({
    quick, seeds: SEEDS, aaSeeds: AA_SEEDS, schedule: SCHEDULE, warmupS: WARMUP_S, rolloutS: ROLLOUT_S,
    traces: Object.fromEntries(Object.entries(TRACES).map(([k, v]) => [k, v.label])), ...parts,
  }, null, 1) + '\n');
}

function jobsOf() {
  const jobs = [];
  for (const trace of Object.keys(TRACES)) {
    for (const c of CASES) {
      const n = c.id === 'aa' ? AA_SEEDS : SEEDS;
      for (let seed = 1; seed <= n; seed++) jobs.push({ trace, caseId: c.id, seed, live: false });
      if (c.kind !== 'good') jobs.push({ trace, caseId: c.id, seed: 1, live: true });
    }
  }
  // the slow trace first, so the two processes finish together
  jobs.sort((x, y) => (x.trace === y.trace ? 0 : x.trace === 'mooncake' ? -1 : 1));
  jobs.forEach((j, i) => (j.id = i));
  return jobs;
}

// ── running ────────────────────────────────────────────────────────────────────

function buildIfStale() {
  const built = join(dist, 'sim', 'index.js');
  const newest = (dir) => Math.max(...readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(dir, f)).mtimeMs));
  const src = newest(join(root, 'src'));
  if (existsSync(built) && statSync(built).mtimeMs >= src) return;
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  } catch {
    // a type error elsewhere still emits; the runs say so if the simulator did not build
    if (!existsSync(built)) throw new Error('the build failed: run `npx tsc -p tsconfig.build.json` and fix what it reports');
  }
}

function runAll(all) {
  return new Promise((resolvePromise, reject) => {
    const queue = [...all];
    const out = [];
    let done = 0;
    let live = WORKERS;
    for (let w = 0; w < WORKERS; w++) {
      const child = fork(join(here, 'worker.js'), [dist, join(root, 'traces')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const next = () => {
        const job = queue.shift();
        if (job === undefined) {
          child.disconnect();
          if (--live === 0) resolvePromise(out.sort((a, b) => a.id - b.id));
          return;
        }
        child.send(job);
      };
      child.on('message', (m) => {
        if (m.ready) return next();
        if (!m.ok) {
          child.kill();
          return reject(new Error(`run ${JSON.stringify(all[m.id])} failed:\n${m.error}`));
        }
        out.push({ id: m.id, ...m.result });
        done++;
        process.stderr.write(`\r${done}/${all.length} runs`);
        // now and then, what is done so far (`--tables` renders it)
        if (done % 10 === 0 && done < all.length) save({ partial: true, runs: [...out].sort((a, b) => a.id - b.id) });
        next();
      });
      child.on('exit', (code) => {
        if (code !== 0 && code !== null) reject(new Error(`a worker exited with ${code}`));
      });
    }
  });
}

// ── the tables ─────────────────────────────────────────────────────────────────

function tableOf(trace, rs) {
  const rows = [];
  for (const c of CASES) {
    const dry = rs.filter((r) => r.caseId === c.id && !r.live);
    const live = rs.find((r) => r.caseId === c.id && r.live) ?? null;
    const methods = METHODS.map((m) => {
      const ds = dry.map((r) => r.detections.find((d) => d.method === m));
      const hit = ds.filter((d) => d.afterS !== null);
      const hurt = (d) => (c.kind === 'errors' ? d.candidateFailures : d.candidateCalls);
      return {
        method: m, runs: ds.length, detected: hit.length,
        // a run in which it never failed counts as the whole window (censored): medians say "–" when most did not
        afterS: summary(ds.map((d) => (d.afterS === null ? Infinity : d.afterS))),
        candidateCalls: summary(ds.map((d) => (d.afterS === null ? Infinity : d.candidateCalls))),
        hurt: summary(ds.map((d) => (d.afterS === null ? Infinity : hurt(d)))),
        metrics: [...new Set(hit.map((d) => d.metric))],
        // every candidate call a run served, for the censored runs' context
        windowCalls: median(dry.map((r) => r.calls.candidate)),
      };
    });
    rows.push({
      caseId: c.id, label: c.label, kind: c.kind, runs: dry.length,
      effect: { ttftP95Ratio: median(dry.map((r) => r.effect.ttftP95Ratio)), outputRatio: median(dry.map((r) => r.effect.outputRatio)), candidateErrorRate: median(dry.map((r) => r.calls.candidateFailures / r.calls.candidate)) },
      methods,
      live: live === null ? null : { phase: live.phase, failedAfterS: live.failedAfterS, backToZeroS: live.backToZeroS, candidateCalls: live.calls.candidate, candidateFailures: live.calls.candidateFailures, metric: live.detections[0].metric },
    });
  }
  return { trace, label: TRACES[trace].label, rows };
}

function summary(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s.length ? s[Math.floor((s.length - 1) / 2)] : NaN, worst: s.length ? s[s.length - 1] : NaN };
}

function median(xs) {
  const s = xs.filter((x) => x === x).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
}

function num(x) {
  return x === Infinity ? '–' : x !== x ? 'n/a' : Math.round(x).toLocaleString('en-US');
}

function secs(x) {
  return x === Infinity ? '–' : x !== x ? 'n/a' : `${x.toFixed(0)} s`;
}

function printTable(t) {
  console.log(`\n${t.trace}: ${t.label}`);
  console.log('bad cases: medians (worst) over the seeds; – = not detected in the window (the detected column says how often);');
  console.log('measured effect: errors over every candidate call; p95 TTFT and mean output candidate/stable while both take 50 %');
  console.log('| case | measured effect | method | detected | time to detect | candidate calls before | requests hurt before |');
  console.log('| --- | --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of t.rows.filter((x) => x.kind !== 'good')) {
    // errors: over every candidate call; latency and length: candidate/stable while both take 50 %
    const eff = r.kind === 'errors' ? `${(100 * r.effect.candidateErrorRate).toFixed(1)} % of calls fail`
      : r.kind === 'latency' ? `p95 TTFT ×${r.effect.ttftP95Ratio.toFixed(2)}` : `mean output ×${r.effect.outputRatio.toFixed(2)}`;
    r.methods.forEach((m, i) => {
      console.log(`| ${i === 0 ? r.label : ''} | ${i === 0 ? eff : ''} | ${m.method} | ${m.detected}/${m.runs} | ${secs(m.afterS.median)} (${secs(m.afterS.worst)}) | ${num(m.candidateCalls.median)} (${num(m.candidateCalls.worst)}) | ${num(m.hurt.median)} (${num(m.hurt.worst)}) |`);
    });
  }
  console.log('\nfalse rollbacks (runs in which the analysis failed a good candidate)');
  console.log(`| case | runs | ${METHODS.join(' | ')} |`);
  console.log(`| --- | ---: | ${METHODS.map(() => '---:').join(' | ')} |`);
  for (const r of t.rows.filter((x) => x.kind === 'good')) {
    console.log(`| ${r.label} | ${r.runs} | ${r.methods.map((m) => `${m.detected}${m.metrics.length ? ` (${m.metrics.join(', ')})` : ''}`).join(' | ')} |`);
  }
  console.log('\nlive runs (sequential analysis deciding, seed 1): the actual rollback');
  console.log('| case | failed on | failed after | back to 0 % after | candidate calls | of them failed |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of t.rows.filter((x) => x.live !== null)) {
    const l = r.live;
    console.log(`| ${r.label} | ${l.metric ?? '(not failed)'} | ${l.failedAfterS === null ? '–' : secs(l.failedAfterS)} | ${l.backToZeroS === null ? `– (${l.phase})` : secs(l.backToZeroS)} | ${num(l.candidateCalls)} | ${num(l.candidateFailures)} |`);
  }
}

// ── the goals ──────────────────────────────────────────────────────────────────

function goalsOf(trace, t) {
  const row = (id) => t.rows.find((r) => r.caseId === id);
  const seq = (id) => row(id).methods[0];
  const out = [];
  const broken = row('errors-50');
  out.push({
    trace, goal: 'broken build (50 % errors) rolled back before 100 requests hurt',
    pass: seq('errors-50').detected === seq('errors-50').runs && seq('errors-50').hurt.worst < 100 && broken.live !== null && broken.live.backToZeroS !== null && broken.live.candidateFailures < 100,
    detail: `worst ${num(seq('errors-50').hurt.worst)} failed candidate calls before detection; live: ${broken.live === null ? 'not run' : `back to 0 % after ${secs(broken.live.backToZeroS ?? Infinity)}, ${broken.live.candidateFailures} failed candidate calls in all`}`,
  });
  for (const id of ['errors-2', 'ttft-50']) {
    const m = seq(id);
    out.push({
      trace, goal: `${row(id).label} caught before the candidate served 5,000 calls`,
      pass: m.detected === m.runs && m.candidateCalls.worst < 5000,
      detail: m.detected === m.runs ? `median ${num(m.candidateCalls.median)}, worst ${num(m.candidateCalls.worst)} candidate calls`
        : `caught in ${m.detected}/${m.runs} runs (the window gives the candidate ~${num(m.windowCalls)} calls)${m.detected > 0 ? `; median ${num(m.candidateCalls.median)}` : ''}`,
    });
  }
  const aa = seq('aa');
  out.push({ trace, goal: '≤ 1 % false rollbacks over A/A', pass: aa.detected <= 0.01 * aa.runs, detail: `${aa.detected} of ${aa.runs} runs` });
  const cold = seq('cold');
  out.push({ trace, goal: 'the cold cache alone never rolls back', pass: cold.detected === 0, detail: `${cold.detected} of ${cold.runs} runs` });
  // a baseline that fails good candidates often also "detects" bad ones by chance: say how often it fails an A/A
  const aaRow = row('aa');
  const falseRate = (m) => aaRow.methods.find((x) => x.method === m);
  const noted = (m) => {
    const f = falseRate(m.method);
    return f !== undefined && f.detected > 0.01 * f.runs ? `; fails ${f.detected}/${f.runs} A/A` : '';
  };
  for (const r of t.rows) {
    const [s, ...base] = r.methods;
    const better = r.kind === 'good'
      ? base.every((b) => s.detected <= b.detected)
      : base.every((b) => s.detected >= b.detected && s.afterS.median <= b.afterS.median);
    const strictly = r.kind === 'good' ? base.some((b) => s.detected < b.detected) : base.some((b) => s.detected > b.detected || s.afterS.median < b.afterS.median);
    out.push({
      trace, goal: `sequential better than both baselines: ${r.label}`, pass: better,
      detail: r.kind === 'good'
        ? r.methods.map((m) => `${m.method} ${m.detected}/${m.runs}`).join(', ') + (better && !strictly ? ' (a tie)' : '')
        : r.methods.map((m) => `${m.method} ${secs(m.afterS.median)} (${m.detected}/${m.runs}${noted(m)})`).join(', ') + (better && !strictly ? ' (a tie)' : ''),
    });
  }
  return out;
}

function describeSchedule() {
  return SCHEDULE.map((s) => ('setWeight' in s ? `${s.setWeight} %` : `hold ${s.pause.duration}`)).join(' → ');
}
