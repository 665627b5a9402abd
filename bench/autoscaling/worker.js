// One worker thread of the autoscaling evidence: runs the jobs the main thread posts (a case, a
// policy and its options, a start-up: one scenario, see cases.js) and answers each with what the tables need. A `search` job
// finds the smallest fixed fleet that meets the attainment goal, walking from the case's hint.
// Never started by hand.

import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { ATTAINMENT_GOAL, CASES, PROFILE, SAMPLE_S, SLO, WARMUP_S, scenarioOf } from './cases.js';

const { dist, tracesDir } = workerData;
const load = (p) => import(join(dist, p));
const { oscillations, parseScenario, runScenario } = await load('sim/index.js');
const { meetsSlo, tpot } = await load('sim/report/summarize.js');
const { getProfile } = await load('engine/index.js');

const caseById = new Map(CASES.map((c) => [c.id, c]));
const profile = getProfile(PROFILE);

parentPort.on('message', (job) => {
  const c0 = process.cpuUsage();
  try {
    const result = job.type === 'search' ? search(job) : { ...job, ...runOne(caseById.get(job.caseId), job.policy, job.startup) };
    parentPort.postMessage({ id: job.id, ok: true, result: { ...result, cpuS: cpuSince(c0) } });
  } catch (err) {
    parentPort.postMessage({ id: job.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
});
parentPort.postMessage({ ready: true });

function cpuSince(c0) {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

/** The smallest N whose fixed fleet meets the goal: from the hint down while it passes, up while it fails. */
function search(job) {
  const c = caseById.get(job.caseId);
  const tried = new Map();
  const at = (n) => {
    if (!tried.has(n)) tried.set(n, runOne(c, { name: 'fixed', options: { replicas: n } }, job.startup));
    return tried.get(n);
  };
  const pass = (n) => at(n).attainment >= ATTAINMENT_GOAL;
  let n = c.hint;
  if (pass(n)) while (n > 1 && pass(n - 1)) n--;
  else {
    while (!pass(n) && n < c.max) n++;
  }
  return { ...job, n, met: pass(n), tried: [...tried.values()].map((r) => ({ n: r.policy.options.replicas, attainment: r.attainment, gpuHours: r.gpuHours })), ...at(n) };
}

/** One simulated run: the case's scenario with the policy's `autoscale:` block, as `switchyard sim` would run it. */
function runOne(c, policy, startup) {
  const scenario = parseScenario(scenarioOf(c, policy, startup), `${c.id}/${policy.name}`);
  const t0 = process.hrtime.bigint();
  const { runs } = runScenario({ scenario, baseDir: tracesDir });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  return { caseId: c.id, policy, startup, wallS, ...measure(runs[0], c) };
}

/** What the tables need, over the measured window [WARMUP_S, WARMUP_S + durationS) alone. */
function measure(run, c) {
  const from = WARMUP_S;
  const to = WARMUP_S + c.durationS;
  const slo = { ttftS: SLO.ttftMs / 1000, tpotS: SLO.tpotMs / 1000 };
  const ttft = [];
  const itl = [];
  let requests = 0;
  let good = 0;
  let shed = 0;
  let failed = 0;
  for (const r of run.requests) {
    if (r.arrivalS < from || r.arrivalS >= to) continue;
    requests++;
    if (meetsSlo(r, slo)) good++;
    if (r.outcome === 'shed') shed++;
    else if (r.outcome !== 'ok') failed++;
    else {
      ttft.push(r.firstTokenS - r.arrivalS);
      const t = tpot(r);
      if (t === t) itl.push(t);
    }
  }
  const a = run.autoscale;
  // provisioned replicas (starting, ready and draining) on the sample clock: GPU-hours are their
  // integral over the window, as the simulator charges them (asked for → gone)
  let peak = 0;
  let sum = 0;
  let k = 0;
  const hourly = [];
  for (const x of a.replicasOverTime) {
    if (x.atS < from || x.atS >= to) continue;
    const n = x.starting + x.ready + x.draining;
    peak = Math.max(peak, n);
    sum += n;
    k++;
    const h = Math.floor((x.atS - from) / 3600);
    hourly[h] = (hourly[h] ?? 0) + n;
  }
  const decisions = a.decisions.filter((d) => d.atMs >= from * 1000 && d.atMs < to * 1000);
  const reasons = {};
  let events = 0;
  for (const d of decisions) {
    if (d.to === d.from) continue;
    events++;
    reasons[d.reason] = (reasons[d.reason] ?? 0) + 1;
  }
  return {
    requests,
    attainment: requests > 0 ? good / requests : NaN,
    ttftP99S: p99(ttft), itlP99S: p99(itl),
    shed, failed,
    gpuHours: (sum * SAMPLE_S * profile.tp) / 3600,
    gpuHoursWholeRun: a.gpuHours,
    scaleEvents: events,
    oscillations: oscillations(decisions),
    peakReplicas: peak,
    meanReplicas: k > 0 ? sum / k : NaN,
    replicasByHour: c.day ? hourly.map((x) => (x * SAMPLE_S) / 3600) : undefined,
    reasons,
    errors: a.errors,
  };
}

/** nearest-rank p99 */
function p99(xs) {
  if (xs.length === 0) return NaN;
  xs.sort((x, y) => x - y);
  return xs[Math.min(xs.length - 1, Math.ceil(0.99 * xs.length) - 1)];
}
