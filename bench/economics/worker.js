// One worker thread of the economics curve: runs the jobs the main thread posts — one (case, level):
// the search for the smallest fixed fleet that meets the attainment goal, then the autoscaled run
// on the same arrivals — and answers each with what the table needs. Never started by hand.

import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { ATTAINMENT_GOAL, CASES, SAMPLE_S, scenarioOf, windowsOf } from './cases.js';
import { smallestPassing } from './search.js';

const { dist, tracesDir } = workerData;
const load = (p) => import(join(dist, p));
const { parseScenario, runScenario } = await load('sim/index.js');
const { meetsSlo } = await load('sim/report/summarize.js');
const { getProfile } = await load('engine/index.js');
const { gpuHourUsd, phaseWeights, splitCost } = await load('control/economics/index.js');
const { replicaCapacity } = await load('control/autoscaler/capacity.js');

const caseById = new Map(CASES.map((c) => [c.id, c]));

parentPort.on('message', (job) => {
  const c0 = process.cpuUsage();
  try {
    parentPort.postMessage({ id: job.id, ok: true, result: { ...job, ...level(job), cpuS: cpuSince(c0) } });
  } catch (err) {
    parentPort.postMessage({ id: job.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
});
parentPort.postMessage({ ready: true });

function cpuSince(c0) {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

/**
 * A level: first the fixed fleet — the smallest N meeting the goal, searched from the modelled size
 * (the level's mean rate over one replica's SLO capacity at the trace's mean request) — then
 * Switchyard's autoscaler starting from that N, as if the pool had been sized for the level the day
 * before (docs/autoscaling.md's convention): what is measured is what the policy does with it.
 */
function level(job) {
  const c = caseById.get(job.caseId);
  const profile = getProfile(c.profile);
  const cap = replicaCapacity(profile, {}, c.shape, { ttftMs: c.slo.ttftMs, itlMs: c.slo.tpotMs });
  const modelled = Math.max(1, Math.ceil((c.ratePerS * c.rateScale * job.level) / cap.requestsPerS));
  const max = Math.min(1000, 3 * modelled + 8);
  const tried = new Map();
  const at = (n) => {
    if (!tried.has(n)) tried.set(n, runOne(c, job, { name: 'fixed', replicas: n }));
    return tried.get(n);
  };
  const n = smallestPassing((k) => at(k).attainment >= ATTAINMENT_GOAL, modelled, max);
  const fixed = { ...at(n), n, met: at(n).attainment >= ATTAINMENT_GOAL };
  const autoMax = Math.min(1000, Math.max(max, 3 * n + 8));
  const auto = runOne(c, job, { name: 'switchyard', initial: n, max: autoMax });
  return {
    modelled, max: autoMax,
    auto,
    fixed,
    tried: [...tried.entries()].sort((a, b) => a[0] - b[0]).map(([k, r]) => ({ n: k, attainment: r.attainment, gpuHours: r.gpuHours })),
  };
}

function runOne(c, job, policy) {
  const scenario = parseScenario(scenarioOf(c, job.level, job.quick, policy), `${c.id}/${job.level}x/${policy.name}`);
  const t0 = process.hrtime.bigint();
  const { runs } = runScenario({ scenario, baseDir: tracesDir });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  return { wallS, ...measure(runs[0], c, windowsOf(c, job.quick)) };
}

/** What the table needs, over the measured window alone (busy time, which the records keep per run, aside). */
function measure(run, c, w) {
  const from = w.warmupS;
  const to = w.warmupS + w.durationS;
  const profile = getProfile(c.profile);
  const slo = { ttftS: c.slo.ttftMs / 1000, tpotS: c.slo.tpotMs / 1000 };
  let requests = 0;
  let good = 0;
  let ok = 0;
  let inputTokens = 0;
  let cachedInputTokens = 0;
  let outputTokens = 0;
  let promptAll = 0;
  let outputAll = 0;
  const ttft = [];
  for (const r of run.requests) {
    if (r.arrivalS < from || r.arrivalS >= to) continue;
    requests++;
    promptAll += r.promptLen;
    if (meetsSlo(r, slo)) good++;
    if (r.outcome !== 'ok') continue;
    ok++;
    inputTokens += r.promptLen;
    cachedInputTokens += r.cachedTokens;
    outputTokens += r.outputLen;
    outputAll += r.outputLen;
    ttft.push(r.firstTokenS - r.arrivalS);
  }
  // provisioned replicas (starting, ready, draining) on the sample clock: GPU-hours are their
  // integral over the window, as the simulator charges them (asked for → gone)
  let sum = 0;
  let k = 0;
  let peak = 0;
  for (const x of run.autoscale.replicasOverTime) {
    if (x.atS < from || x.atS >= to) continue;
    const n = x.starting + x.ready + x.draining;
    sum += n;
    k++;
    peak = Math.max(peak, n);
  }
  const meanReplicas = k > 0 ? sum / k : NaN;
  const gpuHours = (sum * SAMPLE_S * profile.tp) / 3600;
  const usdPerGpuHour = gpuHourUsd(profile);
  const costUsd = gpuHours * usdPerGpuHour;
  // the window's own mean shape sets the phase split and the SLO capacity a replica has
  const shape = { promptTokens: ok > 0 ? inputTokens / ok : 1, outputTokens: ok > 0 ? Math.max(1, outputTokens / ok) : 1 };
  const split = splitCost(costUsd, { inputTokens, cachedInputTokens, outputTokens }, phaseWeights(profile, {}, shape));
  const cap = replicaCapacity(profile, {}, shape, { ttftMs: c.slo.ttftMs, itlMs: c.slo.tpotMs });
  // the decode batch: sequences running on a replica that has any, at each sample in the window
  let seqs = 0;
  let busySamples = 0;
  for (const s of run.samples) {
    if (s.atS < from || s.atS >= to) continue;
    for (const n of s.perReplicaRunning) {
      if (n > 0) {
        seqs += n;
        busySamples++;
      }
    }
  }
  let upS = 0;
  let busyS = 0;
  let prefixQueries = 0;
  let prefixHits = 0;
  for (const r of run.replicas) {
    upS += r.upS;
    busyS += r.busyS;
    prefixQueries += r.prefixQueries;
    prefixHits += r.prefixHits;
  }
  const ratePerS = requests / w.durationS;
  return {
    requests,
    ratePerS,
    ok,
    attainment: requests > 0 ? good / requests : NaN,
    ttftP99S: p99(ttft),
    gpuHours,
    usdPerGpuHour,
    costUsd,
    inputTokens,
    cachedInputTokens,
    outputTokens,
    inputUsd: split.inputUsd,
    outputUsd: split.outputUsd,
    perMInput: inputTokens > 0 ? (split.inputUsd * 1e6) / inputTokens : NaN,
    perMOutput: outputTokens > 0 ? (split.outputUsd * 1e6) / outputTokens : NaN,
    perMBlended: inputTokens + outputTokens > 0 ? (costUsd * 1e6) / (inputTokens + outputTokens) : NaN,
    meanBatch: busySamples > 0 ? seqs / busySamples : NaN,
    sloBatch: cap.batch,
    sloRatePerS: cap.requestsPerS,
    /** the window's demand over what the provisioned replicas carry at the SLO (modelled) */
    sloLoad: meanReplicas > 0 ? ratePerS / (meanReplicas * cap.requestsPerS) : NaN,
    outputTokPerGpuS: gpuHours > 0 ? outputTokens / (gpuHours * 3600) : NaN,
    cachedShare: inputTokens > 0 ? cachedInputTokens / inputTokens : NaN,
    prefixHitRate: prefixQueries > 0 ? prefixHits / prefixQueries : NaN,
    busy: upS > 0 ? busyS / upS : NaN,
    meanReplicas,
    peakReplicas: peak,
    promptMean: requests > 0 ? promptAll / requests : NaN,
    outputMean: ok > 0 ? outputAll / ok : NaN,
  };
}

/** nearest-rank p99 */
function p99(xs) {
  if (xs.length === 0) return NaN;
  xs.sort((x, y) => x - y);
  return xs[Math.min(xs.length - 1, Math.ceil(0.99 * xs.length) - 1)];
}
