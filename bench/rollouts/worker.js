// One child process of the rollout evidence: runs the jobs the parent sends (a trace, a case, a
// seed, live or dry) and answers each with what the tables need. Never started by hand.

import { join } from 'node:path';
import { CASES, HALF_STEP, scenarioOf } from './cases.js';

const [built, tracesDir] = process.argv.slice(2);
const { parseScenario, runScenario } = await import(join(built, 'sim', 'index.js'));
const caseById = new Map(CASES.map((c) => [c.id, c]));

process.on('message', (job) => {
  const c0 = process.cpuUsage();
  try {
    process.send({ id: job.id, ok: true, result: { ...runJob(job), cpuS: cpuSince(c0) } });
  } catch (err) {
    process.send({ id: job.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
});
process.send({ ready: true });

function cpuSince(c0) {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

function runJob({ trace, caseId, seed, live }) {
  const c = caseById.get(caseId);
  const scenario = parseScenario(scenarioOf(trace, c, seed, live), `${trace}/${caseId}/${seed}`);
  const { runs } = runScenario({ scenario, baseDir: tracesDir });
  const run = runs[0];
  const ro = run.rollout;
  if (ro.error !== null) throw new Error(`the rollout did not start: ${ro.error}`);
  const start = ro.startS;
  const back = ro.transitions.find((t) => t.action === 'rollout.rolled_back');
  const failed = ro.transitions.find((t) => t.action === 'rollout.rollback');
  return {
    trace, caseId, seed, live,
    phase: ro.phase,
    detections: ro.detections.map((d) => ({
      method: d.method, afterS: d.atS === null ? null : d.atS - start, metric: d.metric,
      candidateCalls: d.candidateCalls, candidateFailures: d.candidateFailures,
    })),
    calls: ro.calls,
    // live: from the start until every region's share is 0 again
    backToZeroS: back === undefined ? null : back.atS - start,
    failedAfterS: failed === undefined ? null : failed.atS - start,
    effect: measuredEffect(run, start),
  };
}

/** What the fault does, measured: candidate against stable while both take half the traffic. */
function measuredEffect(run, start) {
  const from = start + HALF_STEP[0];
  const to = start + HALF_STEP[1];
  const side = { stable: { ttft: [], out: 0, n: 0 }, candidate: { ttft: [], out: 0, n: 0 } };
  for (const q of run.requests) {
    if (q.outcome !== 'ok' || q.replica === null || !(q.firstTokenS >= from && q.firstTokenS < to)) continue;
    const s = q.replica.includes('@candidate/') ? side.candidate : side.stable;
    s.ttft.push(q.firstTokenS - q.arrivalS);
    s.out += q.outputLen;
    s.n++;
  }
  const p95 = (xs) => {
    if (xs.length === 0) return NaN;
    xs.sort((a, b) => a - b);
    return xs[Math.min(xs.length - 1, Math.floor(0.95 * xs.length))];
  };
  return {
    ttftP95Ratio: p95(side.candidate.ttft) / p95(side.stable.ttft),
    outputRatio: side.candidate.out / side.candidate.n / (side.stable.out / side.stable.n),
  };
}
