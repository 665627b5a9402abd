import { describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../../src/ledger/index.js';
import { parseScenario, runScenario, type RunRecords } from '../../../src/sim/index.js';
import { ManualTime } from '../../../src/time/index.js';
import { availability, record, rig, SECOND, T0 } from './rig.js';

// The fleet simulator's outcomes fed to the tracker in the order they finished: a region of two
// replicas serves 10 requests a second for 30 min, then both crash for 5 min. The page must show
// within the workbook's detection time of the crash, and nothing must fire before it. (The report
// has no end time for a failed request: it counts as of its arrival.)

const CRASH_S = 1_800;
const scenario = parseScenario({
  name: 'slo-crash', seed: 11, durationS: 2_400,
  regions: [{ name: 'us-east' }],
  fleet: [{ region: 'us-east', model: 'llama-3.1-8b', profile: 'llama-3.1-8b-h100', replicas: 2 }],
  workload: { kind: 'poisson', ratePerS: 10, prompt: { kind: 'lognormal', p50: 400, p90: 1_200, max: 4_000 }, output: { kind: 'lognormal', p50: 60, p90: 200, max: 500 } },
  faults: [{ kind: 'crash', region: 'us-east', atS: CRASH_S, forS: 300 }],
  policies: ['least-outstanding'],
});

const STATUS = { ok: 200, rejected: 503, failed: 502, shed: 529 } as const;

/** a request that failed has no finish time in the report: it is counted as of its arrival */
const endS = (q: RunRecords['requests'][number]): number => (Number.isFinite(q.finishS) ? q.finishS : q.arrivalS);

function settleAll(run: RunRecords, slo: ReturnType<typeof rig>): void {
  const done = [...run.requests].sort((a, b) => endS(a) - endS(b) || a.id - b.id);
  for (const q of done) {
    const at = T0 + Math.round(endS(q) * 1_000);
    if (at > slo.time.nowMs()) slo.time.advance(at - slo.time.nowMs());
    const ok = q.outcome === 'ok';
    const r: UsageRecord = record(STATUS[q.outcome], {
      model: q.model, stream: true, ttftMs: ok ? (q.firstTokenS - q.arrivalS) * 1_000 : null, latencyMs: (endS(q) - q.arrivalS) * 1_000,
    });
    slo.tracker.settled(r, 'default');
  }
}

describe('burn-rate alerts on the fleet simulator\'s outcomes', () => {
  it('pages within 52 s plus one evaluation step of a region crash, and not before', () => {
    const { runs } = runScenario({ scenario, baseDir: '.' }, { clock: new ManualTime() });
    const run = runs[0];
    const failedBefore = run.requests.filter((q) => q.outcome !== 'ok' && endS(q) < CRASH_S).length;
    const slo = rig([availability()]);
    settleAll(run, slo);
    const crash = T0 + CRASH_S * SECOND;
    const fired = slo.lines.filter((l) => l.msg === 'SLO burn-rate alert firing' && l.fields.rule === '1h-5m');
    expect(fired.length).toBeGreaterThan(0);
    expect(fired[0].at).toBeGreaterThanOrEqual(crash);
    const detection = fired[0].at - crash;
    console.log(`simulated region crash after 30 min of traffic (${failedBefore} failures before it): 1h-5m page after ${detection / 1000} s`);
    expect(detection).toBeLessThanOrEqual(52 * SECOND + 10 * SECOND);
    // the hour's window holds only the 30 min before: 1.44 % of them is 26 s of failures
    expect(detection).toBeGreaterThanOrEqual(0.0144 * CRASH_S * SECOND - 10 * SECOND);
  });
});
