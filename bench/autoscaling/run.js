#!/usr/bin/env node
// Autoscaling judged on traces: a fixed fleet sized for the peak, a KEDA-style queue rule, an
// AIBrix-KPA-style rule and Switchyard's policy, side by side on the very same arrivals, in the
// simulator (the gateway's own driver and policies on its virtual clock). The fixed fleet is the
// smallest N that meets the attainment goal (searched); KEDA's and KPA's one knob is swept and the
// best reported; Switchyard runs its defaults, and its knobs are swept on one case. Two worker
// threads share the runs. See bench/autoscaling/cases.js for the setup.
//
//   node bench/autoscaling/run.js            # 70 runs, ~15 min on this shared 2-core VM; writes latest.json and the tables into docs/autoscaling.md
//   node bench/autoscaling/run.js --quick    # the 1-hour cases, one value a knob: a smoke run of a minute or two
//   node bench/autoscaling/run.js --tables   # the tables again from latest.json (or --tables FILE.json)

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  ATTAINMENT_GOAL, CASES, DEFAULT_STARTUP, KEDA_SWEEP, KNOB_CASE, KNOB_SWEEP, KPA_SWEEP, MODEL, PROFILE, ROUTING, SLO, STARTUPS, TICK_S, WARMUP_S, workloadOf,
} from './cases.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const dist = process.env.SY_DIST ?? join(root, 'dist');
const doc = join(root, 'docs', 'autoscaling.md');
const BEGIN = '<!-- bench:autoscale:begin (npm run bench:autoscale writes this part) -->';
const END = '<!-- bench:autoscale:end -->';
const tablesOnly = process.argv.includes('--tables');
const named = tablesOnly ? process.argv[process.argv.indexOf('--tables') + 1] : undefined;
const out = named !== undefined && named.endsWith('.json') ? named : join(here, 'latest.json');
const saved = tablesOnly ? JSON.parse(readFileSync(out, 'utf8')) : null;
const quick = saved?.quick ?? process.argv.includes('--quick');
const WORKERS = 2;

const cases = quick ? CASES.filter((c) => !c.day) : CASES;
const kedaSweep = quick ? [5] : KEDA_SWEEP;
const kpaSweep = quick ? [32] : KPA_SWEEP;
const knobSweep = quick ? {} : KNOB_SWEEP;
const startups = quick ? [DEFAULT_STARTUP] : STARTUPS;

let runs;
let wallS = NaN;
let knobDefaults = saved?.knobDefaults ?? null;
if (saved !== null) {
  runs = saved.runs;
  wallS = saved.wallS ?? NaN;
} else {
  buildIfStale();
  const { switchyardKnobsSchema } = await import(join(dist, 'control', 'autoscaler', 'spec.js'));
  knobDefaults = switchyardKnobsSchema.parse({});
  const t0 = process.hrtime.bigint();
  // first every run at the default start-up; then the other start-ups, with each baseline's best
  // knob, and Switchyard with the knob values its sweep chose on every case
  runs = await runAll(firstJobs(), 0);
  save({ partial: true, runs });
  runs = [...runs, ...(await runAll(startupJobs(runs), runs.length))];
  wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  save({ runs });
}

const md = render(runs);
console.log(md);
save({ runs, markdown: md });
// a smoke run leaves the docs' figures alone
if (!quick) writeDoc(md);

function save(parts) {
  writeFileSync(out, JSON.stringify({
    quick, wallS, knobDefaults, model: MODEL, profile: PROFILE, routing: ROUTING, slo: SLO, tickS: TICK_S, attainmentGoal: ATTAINMENT_GOAL,
    warmupS: WARMUP_S, cases: cases.map((c) => ({ id: c.id, label: c.label, durationS: c.durationS, hint: c.hint, max: c.max, workload: workloadOf(c) })),
    ...parts,
  }, null, 1) + '\n');
}

// ── the jobs ───────────────────────────────────────────────────────────────────

function firstJobs() {
  const jobs = [];
  for (const c of cases) {
    const at = (policy, extra = {}) => jobs.push({ type: 'run', caseId: c.id, policy, startup: DEFAULT_STARTUP, day: c.day === true, ...extra });
    jobs.push({ type: 'search', caseId: c.id, policy: { name: 'fixed' }, startup: DEFAULT_STARTUP, day: c.day === true });
    for (const q of kedaSweep) at({ name: 'keda', options: { queuePerReplica: q } });
    for (const t of kpaSweep) at({ name: 'kpa', options: { targetConcurrency: t } });
    at({ name: 'switchyard', options: {} });
    if (c.id === KNOB_CASE) {
      for (const [knob, values] of Object.entries(knobSweep)) {
        for (const v of values) at({ name: 'switchyard', options: { [knob]: v } }, { knob });
      }
    }
  }
  // the long runs first, so the two threads finish together
  return jobs.sort((x, y) => Number(y.day) - Number(x.day));
}

function startupJobs(first) {
  const jobs = [];
  const chosen = chosenKnobs(first);
  if (Object.keys(chosen).length > 0) {
    for (const c of cases) jobs.push({ type: 'run', caseId: c.id, policy: { name: 'switchyard', options: chosen }, startup: DEFAULT_STARTUP, chosen: true, day: c.day === true });
  }
  jobs.sort((x, y) => Number(y.day === true) - Number(x.day === true));
  for (const c of cases.filter((x) => !x.day)) {
    for (const startup of startups.filter((s) => s !== DEFAULT_STARTUP)) {
      for (const name of ['keda', 'kpa']) jobs.push({ type: 'run', caseId: c.id, policy: best(first, c.id, name).policy, startup });
      jobs.push({ type: 'run', caseId: c.id, policy: { name: 'switchyard', options: {} }, startup });
    }
  }
  return jobs;
}

// ── running ────────────────────────────────────────────────────────────────────

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

function runAll(jobs, firstId) {
  jobs.forEach((j, i) => (j.id = firstId + i));
  if (jobs.length === 0) return Promise.resolve([]);
  return new Promise((resolvePromise, reject) => {
    const queue = [...jobs];
    const done = [];
    let live = Math.min(WORKERS, jobs.length);
    const n = live;
    for (let w = 0; w < n; w++) {
      const worker = new Worker(join(here, 'worker.js'), { workerData: { dist, tracesDir: join(root, 'traces') } });
      const next = () => {
        const job = queue.shift();
        if (job === undefined) {
          worker.terminate();
          if (--live === 0) resolvePromise(done.sort((a, b) => a.id - b.id));
          return;
        }
        worker.postMessage(job);
      };
      worker.on('message', (m) => {
        if (m.ready) return next();
        if (!m.ok) {
          worker.terminate();
          return reject(new Error(`run ${JSON.stringify(jobs.find((j) => j.id === m.id))} failed:\n${m.error}`));
        }
        done.push({ id: m.id, ...m.result });
        process.stderr.write(`\r${firstId + done.length}/${firstId + jobs.length} runs`);
        next();
      });
      worker.on('error', reject);
    }
  });
}

// ── choosing ───────────────────────────────────────────────────────────────────

function meets(r) {
  return r.attainment >= ATTAINMENT_GOAL;
}

/** The best of a sweep: the fewest GPU-hours among runs meeting the goal; if none does, the highest attainment. */
function pick(rs) {
  const ok = rs.filter(meets).sort((a, b) => a.gpuHours - b.gpuHours || b.attainment - a.attainment);
  if (ok.length > 0) return ok[0];
  return [...rs].sort((a, b) => b.attainment - a.attainment || a.gpuHours - b.gpuHours)[0];
}

function main(rs, caseId, startup = DEFAULT_STARTUP) {
  return rs.filter((r) => r.caseId === caseId && r.startup === startup && r.knob === undefined && r.chosen !== true);
}

function best(rs, caseId, name, startup = DEFAULT_STARTUP) {
  return pick(main(rs, caseId, startup).filter((r) => r.policy.name === name));
}

/** Per swept knob, the value its sweep chose, where that is not the default: a knob whose values all ran alike keeps its default. */
function chosenKnobs(rs) {
  const out = {};
  for (const knob of Object.keys(knobSweep)) {
    const rsK = rs.filter((r) => r.knob === knob);
    if (rsK.length === 0) continue;
    const alike = rsK.every((r) => r.gpuHours === rsK[0].gpuHours && r.attainment === rsK[0].attainment);
    const v = alike ? knobDefaults?.[knob] : pick(rsK).policy.options[knob];
    if (v !== undefined && v !== knobDefaults?.[knob]) out[knob] = v;
  }
  return out;
}

function chosenRun(rs, caseId) {
  return rs.find((r) => r.caseId === caseId && r.chosen === true);
}

function fixedOf(rs, caseId) {
  return rs.find((r) => r.caseId === caseId && r.type === 'search');
}

function defaults(rs, caseId, startup = DEFAULT_STARTUP) {
  return main(rs, caseId, startup).find((r) => r.policy.name === 'switchyard' && Object.keys(r.policy.options).length === 0);
}

// ── the tables ─────────────────────────────────────────────────────────────────

function render(rs) {
  const L = [];
  const cpu = rs.reduce((s, r) => s + r.cpuS, 0);
  L.push(`Run of ${new Date().toISOString().slice(0, 10)}${quick ? ' (--quick)' : ''}: ${rs.length} simulated runs${wallS === wallS ? ` in ${wallS.toFixed(0)} s wall` : ''}, ${cpu.toFixed(0)} s CPU (${WORKERS} worker threads). `
    + `One pool of ${PROFILE} (${MODEL}, 2 GPUs a replica: GPU-hours count both), one region, routing ${ROUTING}, SLO TTFT ${SLO.ttftMs} ms and ITL ${SLO.tpotMs} ms; `
    + `the driver ticks every ${TICK_S} s for every policy; start-up ${DEFAULT_STARTUP} unless said.`);
  L.push('');
  L.push('| case | policy | GPU-h | ÷ fixed | attainment | TTFT p99 | ITL p99 | shed / failed | scale events | oscillations | peak / mean replicas |');
  L.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const goals = [];
  for (const c of cases) {
    const fixed = fixedOf(rs, c.id);
    if (fixed === undefined) continue;
    const rows = [
      [`fixed ${fixed.n}${fixed.met ? '' : ' (goal not met at max)'}`, fixed],
      [`KEDA, ${best(rs, c.id, 'keda').policy.options.queuePerReplica} waiting/replica`, best(rs, c.id, 'keda')],
      [`KPA, ${best(rs, c.id, 'kpa').policy.options.targetConcurrency} concurrent/replica`, best(rs, c.id, 'kpa')],
      ['**Switchyard**, defaults', defaults(rs, c.id)],
      ...(chosenRun(rs, c.id) !== undefined ? [[`**Switchyard**, the sweep's knobs (${describeKnobs(chosenRun(rs, c.id).policy.options)})`, chosenRun(rs, c.id)]] : []),
    ];
    rows.forEach(([label, r], i) => L.push(row(i === 0 ? c.label : '', label, r, fixed)));
    const keda = best(rs, c.id, 'keda');
    for (const [which, sy] of [['defaults', defaults(rs, c.id)], ["the sweep's knobs", chosenRun(rs, c.id)]]) {
      if (sy === undefined) continue;
      const fewer = 1 - sy.gpuHours / fixed.gpuHours;
      goals.push([c.label, which, '≥ 30 % fewer GPU-hours than fixed at ≥ 99 % attainment', fewer >= 0.3 && meets(sy), `${fewer >= 0 ? `${pct(fewer)} fewer` : `${pct(-fewer)} more`}, ${pct(sy.attainment, 2)} attainment`]);
      goals.push([c.label, which, 'better than KEDA on GPU-hours and attainment', sy.gpuHours < keda.gpuHours && sy.attainment > keda.attainment,
        `${sy.gpuHours.toFixed(1)} vs ${keda.gpuHours.toFixed(1)} GPU-h, ${pct(sy.attainment, 2)} vs ${pct(keda.attainment, 2)}`]);
    }
  }
  L.push('');
  L.push(`The fixed fleet is the smallest N meeting ${pct(ATTAINMENT_GOAL, 0)} attainment (N − 1 tried and short of it); every autoscaled run starts from the case's peak-sized N (the hint) and may use up to the case's max. `
    + 'Attainment: the share of all requests completed within both the TTFT and the ITL (mean time per output token) objective. '
    + 'KEDA and KPA: the best of their sweep (fewest GPU-hours at the goal, else the highest attainment); Switchyard: its defaults, and the values its own knob sweep preferred (below). '
    + 'An oscillation is a scale event in the opposite direction within 10 minutes of the previous one.');
  L.push('');
  L.push('Goals');
  L.push('');
  L.push('| case | Switchyard with | goal | | figures |');
  L.push('| --- | --- | --- | --- | --- |');
  for (const [c, which, g, pass, detail] of goals) L.push(`| ${c} | ${which} | ${g} | ${pass ? 'met' : '**missed**'} | ${detail} |`);

  L.push('');
  L.push('The baselines\' sweeps (GPU-hours, attainment)');
  L.push('');
  L.push(`| case | ${kedaSweep.map((q) => `KEDA ${q}`).join(' | ')} | ${kpaSweep.map((t) => `KPA ${t}`).join(' | ')} |`);
  L.push(`| --- | ${[...kedaSweep, ...kpaSweep].map(() => '---:').join(' | ')} |`);
  for (const c of cases) {
    const m = main(rs, c.id);
    if (m.length === 0) continue;
    const cell = (r) => (r === undefined ? 'n/a' : `${r.gpuHours.toFixed(1)}, ${pct(r.attainment, 1)}`);
    L.push(`| ${c.label} | ${kedaSweep.map((q) => cell(m.find((r) => r.policy.name === 'keda' && r.policy.options.queuePerReplica === q))).join(' | ')} | ${kpaSweep.map((t) => cell(m.find((r) => r.policy.name === 'kpa' && r.policy.options.targetConcurrency === t))).join(' | ')} |`);
  }

  const knobRuns = rs.filter((r) => r.knob !== undefined);
  if (knobRuns.length > 0) {
    const c = CASES.find((x) => x.id === KNOB_CASE);
    const base = defaults(rs, KNOB_CASE);
    const fixed = fixedOf(rs, KNOB_CASE);
    L.push('');
    L.push(`Switchyard's knobs, one at a time around the defaults, on ${c.label}: the values the evidence chose`);
    L.push('');
    L.push('| knob | value | GPU-h | ÷ fixed | attainment | TTFT p99 | scale events | oscillations | |');
    L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const knob of Object.keys(KNOB_SWEEP)) {
      const rsK = knobRuns.filter((r) => r.knob === knob);
      if (rsK.length === 0) continue;
      const alike = rsK.every((r) => r.gpuHours === rsK[0].gpuHours && r.attainment === rsK[0].attainment);
      const chosen = alike ? rsK.find((r) => r.policy.options[knob] === knobDefaults?.[knob]) : pick(rsK);
      for (const r of rsK) {
        const isDefault = r.policy.options[knob] === knobDefaults?.[knob];
        const mark = [r === chosen ? (alike ? 'no effect here: the default stays' : 'chosen') : '', isDefault && r !== chosen ? 'the default' : ''].filter(Boolean).join('');
        L.push(`| ${knob} | ${fmtKnob(knob, r.policy.options[knob])}${isDefault ? ' (default)' : ''} | ${r.gpuHours.toFixed(1)} | ${(r.gpuHours / fixed.gpuHours).toFixed(2)} | ${pct(r.attainment, 2)} | ${secs(r.ttftP99S)} | ${r.scaleEvents} | ${r.oscillations} | ${mark} |`);
      }
    }
    L.push('');
    L.push(`Chosen: the fewest GPU-hours among values meeting ${pct(ATTAINMENT_GOAL, 0)} attainment, else the highest attainment. Defaults in the main table: ${base ? `${base.gpuHours.toFixed(1)} GPU-h, ${pct(base.attainment, 2)}` : 'n/a'}. `
      + `The chosen values together (${describeKnobs(chosenKnobs(rs)) || 'the defaults'}) are the main table's "the sweep's knobs" row on every case.`);
  }

  const other = startups.filter((s) => s !== DEFAULT_STARTUP);
  if (other.length > 0 && rs.some((r) => r.startup !== DEFAULT_STARTUP)) {
    L.push('');
    L.push('Start-up time: the 1-hour cases again with a cold start (vLLM defaults) and a snapshot restore (GPU-hours ÷ the same fixed fleet, which never starts a replica)');
    L.push('');
    L.push('| case | policy | start-up | GPU-h | ÷ fixed | attainment | TTFT p99 | scale events | oscillations |');
    L.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const c of cases.filter((x) => !x.day)) {
      const fixed = fixedOf(rs, c.id);
      for (const name of ['keda', 'kpa', 'switchyard']) {
        for (const s of startups) {
          const r = s === DEFAULT_STARTUP ? (name === 'switchyard' ? defaults(rs, c.id) : best(rs, c.id, name)) : main(rs, c.id, s).find((x) => x.policy.name === name);
          if (r === undefined) continue;
          L.push(`| ${c.label} | ${name} | ${s} | ${r.gpuHours.toFixed(1)} | ${(r.gpuHours / fixed.gpuHours).toFixed(2)} | ${pct(r.attainment, 2)} | ${secs(r.ttftP99S)} | ${r.scaleEvents} | ${r.oscillations} |`);
        }
      }
    }
  }

  for (const c of cases.filter((x) => x.day)) {
    const fixed = fixedOf(rs, c.id);
    if (fixed === undefined) continue;
    L.push('');
    L.push(`${c.label}: mean replicas provisioned, by hour (0–23)`);
    L.push('');
    L.push(`| policy | ${Array.from({ length: 24 }, (_, h) => h).join(' | ')} |`);
    L.push(`| --- | ${Array.from({ length: 24 }, () => '---:').join(' | ')} |`);
    const rows = [[`fixed ${fixed.n}`, fixed], ['KEDA', best(rs, c.id, 'keda')], ['KPA', best(rs, c.id, 'kpa')], ['Switchyard, defaults', defaults(rs, c.id)]];
    if (chosenRun(rs, c.id) !== undefined) rows.push(["Switchyard, the sweep's knobs", chosenRun(rs, c.id)]);
    for (const [label, r] of rows) {
      L.push(`| ${label} | ${(r.replicasByHour ?? []).map((x) => (x ?? 0).toFixed(1)).join(' | ')} |`);
    }
  }
  return L.join('\n');
}

function row(caseLabel, label, r, fixed) {
  return `| ${caseLabel} | ${label} | ${r.gpuHours.toFixed(1)} | ${(r.gpuHours / fixed.gpuHours).toFixed(2)} | ${pct(r.attainment, 2)} | ${secs(r.ttftP99S)} | ${(r.itlP99S * 1000).toFixed(0)} ms | ${r.shed} / ${r.failed} | ${r.scaleEvents} | ${r.oscillations} | ${r.peakReplicas} / ${r.meanReplicas.toFixed(1)} |`;
}

function pct(x, digits = 1) {
  return x === x ? `${(100 * x).toFixed(digits)} %` : 'n/a';
}

function secs(x) {
  return x !== x ? 'n/a' : x < 10 ? `${x.toFixed(2)} s` : `${x.toFixed(0)} s`;
}

function describeKnobs(o) {
  return Object.entries(o).map(([k, v]) => `${k} ${fmtKnob(k, v)}`).join(', ');
}

function fmtKnob(knob, v) {
  return knob.endsWith('Ms') ? `${v / 1000} s` : String(v);
}

function writeDoc(md) {
  if (!existsSync(doc)) return console.error(`\n${doc} is missing: the tables are in ${out}`);
  const text = readFileSync(doc, 'utf8');
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) return console.error(`\n${doc} has no ${BEGIN} … ${END} markers: the tables are in ${out}`);
  writeFileSync(doc, `${text.slice(0, a + BEGIN.length)}\n\n${md}\n\n${text.slice(b)}`);
  console.error(`\nthe tables are in ${doc}`);
}
