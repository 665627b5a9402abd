import { admissionReport, HEAVY_FACTOR, sloOf } from './admission.js';
import { series } from './series.js';
import { cdfPoints, jain, quantiles } from './stats.js';
import type { AutoscaleReport, PolicyReport, ReplicaReport, RequestRecord, RunRecords, ScenarioInfo, SimReport, Slo, TenantReport } from './types.js';

// Records → figures. Pure; the same records always give the same report.

/** Mean time per output token after the first; NaN for a one-token answer. */
export function tpot(r: RequestRecord): number {
  return r.outputLen >= 2 ? (r.finishS - r.firstTokenS) / (r.outputLen - 1) : NaN;
}

/** Completed, and within every bound of the SLO (a one-token answer has no TPOT to miss). */
export function meetsSlo(r: RequestRecord, slo: Slo): boolean {
  if (r.outcome !== 'ok') return false;
  if (r.firstTokenS - r.arrivalS > slo.ttftS) return false;
  const t = tpot(r);
  if (t === t && t > slo.tpotS) return false;
  return slo.e2eS === undefined || r.finishS - r.arrivalS <= slo.e2eS;
}

export function summarize(run: RunRecords, slo: Slo): PolicyReport {
  const reqs = run.requests;
  // with admission, each request is held to its class's SLO
  const sloFor = sloOf(run, slo);
  const meets = (r: RequestRecord) => meetsSlo(r, sloFor(r.tenant));
  const ok = reqs.filter((r) => r.outcome === 'ok');
  const ttft = ok.map((r) => r.firstTokenS - r.arrivalS);
  const e2e = ok.map((r) => r.finishS - r.arrivalS);
  const itl = ok.map(tpot).filter((x) => x === x);
  const d = run.durationS;
  let good = 0;
  let inTok = 0;
  let outTok = 0;
  let retries = 0;
  for (const r of reqs) {
    if (meets(r)) good++;
    retries += r.retries;
  }
  for (const r of ok) {
    inTok += r.promptLen;
    outTok += r.outputLen;
  }
  let queries = 0;
  let hits = 0;
  let preemptions = 0;
  let gpuHours = 0;
  let cost = 0;
  for (const r of run.replicas) {
    queries += r.prefixQueries;
    hits += r.prefixHits;
    preemptions += r.preemptions;
    const h = (r.upS * r.gpus) / 3600;
    gpuHours += h;
    cost += h * r.costPerGpuHour;
  }
  const tenants = tenantReports(reqs, meets, outTok);
  const admission = admissionReport(run, meets);
  return {
    policy: run.policy,
    ...(admission !== undefined ? { admission } : {}),
    ...(run.rollout !== undefined ? { rollout: run.rollout } : {}),
    ...(run.autoscale !== undefined ? { autoscale: autoscaleReport(run) } : {}),
    counts: { arrived: reqs.length, ok: ok.length, rejected: count(reqs, 'rejected'), failed: count(reqs, 'failed'), retries },
    ttft: quantiles(ttft), itl: quantiles(itl), e2e: quantiles(e2e),
    goodput: { reqPerS: good / d, fraction: reqs.length > 0 ? good / reqs.length : NaN },
    throughput: { reqPerS: ok.length / d, inputTokPerS: inTok / d, outputTokPerS: outTok / d },
    prefixCacheHitRate: queries > 0 ? hits / queries : 0,
    preemptions, gpuHours, costUsd: cost,
    costPerMTokens: inTok + outTok > 0 ? (cost / (inTok + outTok)) * 1e6 : NaN,
    costPerMOutputTokens: outTok > 0 ? (cost / outTok) * 1e6 : NaN,
    jainGoodput: jain(tenants.map((t) => t.goodputFraction)),
    jainCompletion: jain(tenants.map((t) => t.ok / t.requests)),
    tenants,
    replicas: replicaReports(run),
    series: series(run),
    cdf: { ttft: cdfPoints(ttft), itl: cdfPoints(itl), e2e: cdfPoints(e2e) },
    wallS: run.wallS,
  };
}

export function buildReport(info: ScenarioInfo, runs: readonly RunRecords[], slo: Slo): SimReport {
  const admitted = runs.some((r) => r.admission !== undefined);
  return {
    scenario: info,
    policies: runs.map((r) => summarize(r, slo)),
    notes: [
      'Latencies are what the client sees, network included, over requests that completed ok. Quantiles interpolate linearly between closest ranks (numpy\'s default): q of n sorted values sits at rank (n − 1)·q.',
      'Inter-token latency is each request\'s mean TPOT, (finish − first token) / (output tokens − 1), for answers of 2 tokens or more: the simulator coalesces decode steps and does not time every token.',
      'Goodput counts requests that completed ok with TTFT and TPOT (and end to end, when set) within the SLO; its rate is per second of the arrival window, its share is of all arrivals.',
      'Throughput and token rates are per second of the arrival window; requests finishing during the drain count too.',
      'Jain\'s index (Σx)² / (n·Σx²) is over tenants: "tenant goodput" of each tenant\'s share of requests meeting the SLO, "tenant completion" of its share completed ok. 1 when all fare alike, 1/n when one alone is served.',
      'Cost is GPU-hours (GPUs × seconds up / 3600) × the price per GPU-hour. Per M tokens "all" counts input and output tokens of ok requests, "output" output tokens only.',
      'Plots over time span the run, drain included, in buckets of at least one sample period; CDFs are downsampled to at most 200 points.',
      ...(admitted ? ADMISSION_NOTES : []),
      ...(runs.some((r) => r.autoscale !== undefined) ? AUTOSCALE_NOTES : []),
    ],
  };
}

const AUTOSCALE_NOTES = [
  'Autoscaling: the gateway\'s autoscaler (control/autoscaler) ran on the run\'s clock over the autoscaled pools. A replica it asks for is charged from the ask: it loads for its pool\'s start-up, taking nothing, then enters rotation at the next health probe with an empty cache; a drained one leaves rotation at once, finishes what it holds, and is charged until then. GPU-hours of a fixed replica count while its process ran.',
  'Scale events are decisions that changed the replica count; an oscillation is a scale event in the opposite direction of the pool\'s previous one, within 10 minutes of it. Peak and mean replicas count those starting, ready and draining, on the sample clock.',
];

const ADMISSION_NOTES = [
  'Admission: one queue per model (a pool = the model\'s replicas), running at most routable replicas × maxInflightPerReplica requests. Shed requests were turned away by it (a 529), on arrival or when their deadline passed while they waited; they are counted apart from rejected and failed. TTFT includes the wait in its queue. With per-class TTFT bounds in the SLO, each request is held to its class\'s.',
  `Fairness under admission: Jain's index of served / fair share over tenants, where served counts requests that met their SLO and the fair share is the weighted max-min (water-filling) share of everything served given what each tenant offered. "Others" leaves out heavy tenants: those that offered more than ${HEAVY_FACTOR}× their weighted share of all requests. Across priority classes the index measures priority as much as fairness.`,
];

/** The autoscale record's figures; the mean of the samples is over time, as they are evenly spaced. */
function autoscaleReport(run: RunRecords): AutoscaleReport {
  const a = run.autoscale!;
  let peak = 0;
  let sum = 0;
  for (const s of a.replicasOverTime) {
    const n = s.starting + s.ready + s.draining;
    peak = Math.max(peak, n);
    sum += n;
  }
  const n = a.replicasOverTime.length;
  return {
    gpuHours: a.gpuHours, scaleEvents: a.scaleEvents, oscillations: a.oscillations,
    peakReplicas: peak, meanReplicas: n > 0 ? sum / n : NaN,
    policies: [...new Set(a.pools.map((p) => p.policy))],
  };
}

function count(reqs: readonly RequestRecord[], o: RequestRecord['outcome']): number {
  let n = 0;
  for (const r of reqs) if (r.outcome === o) n++;
  return n;
}

function tenantReports(reqs: readonly RequestRecord[], meets: (r: RequestRecord) => boolean, totalOut: number): TenantReport[] {
  const by = new Map<string, RequestRecord[]>();
  for (const r of reqs) {
    let l = by.get(r.tenant);
    if (!l) by.set(r.tenant, (l = []));
    l.push(r);
  }
  return [...by.keys()].sort().map((tenant) => {
    const l = by.get(tenant)!;
    const ok = l.filter((r) => r.outcome === 'ok');
    let out = 0;
    for (const r of ok) out += r.outputLen;
    return {
      tenant, requests: l.length, ok: ok.length,
      ttft: quantiles(ok.map((r) => r.firstTokenS - r.arrivalS)), e2e: quantiles(ok.map((r) => r.finishS - r.arrivalS)),
      goodputFraction: l.filter(meets).length / l.length,
      outputTokens: out, outputShare: totalOut > 0 ? out / totalOut : 0,
    };
  });
}

function replicaReports(run: RunRecords): ReplicaReport[] {
  return run.replicas.map((r, i) => {
    let sum = 0;
    for (const s of run.samples) sum += s.perReplicaRunning[i] ?? 0;
    return {
      id: r.id, region: r.region, requests: r.requests,
      busyFraction: r.upS > 0 ? Math.min(1, r.busyS / r.upS) : 0,
      meanRunning: run.samples.length > 0 ? sum / run.samples.length : 0,
      prefixHitRate: r.prefixQueries > 0 ? r.prefixHits / r.prefixQueries : 0,
      preemptions: r.preemptions,
    };
  });
}
