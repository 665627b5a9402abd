import type { RolloutRecord } from './rollout.js';

// The rollout section of a run's terminal report: what the driver did and when, when each
// analysis first failed, and how many calls each side served.

const sec = (s: number): string => `${s.toFixed(1)} s`;

export function rolloutLines(r: RolloutRecord): string[] {
  const out = [`rollout of ${r.model}: ${r.stable} → ${r.candidate}, started at ${sec(r.startS)}, ended ${r.phase}`];
  if (r.error !== null) return [...out, `  could not start: ${r.error}`];
  for (const t of r.transitions) {
    const w = Object.entries(t.weights).map(([region, v]) => `${region} ${v} %`).join(', ') || 'no weights';
    out.push(`  ${sec(t.atS).padStart(9)}  ${t.action.padEnd(22)} ${t.phase.padEnd(12)} ${w}${t.reason ? ` — ${t.reason}` : ''}`);
  }
  for (const d of r.detections) {
    out.push(d.atS === null
      ? `  ${d.method}: never failed (${d.candidateCalls} candidate calls in all)`
      : `  ${d.method}: failed on ${d.metric} after ${sec(d.atS - r.startS)}, ${d.candidateCalls} candidate calls (${d.candidateFailures} failed) — ${d.reason}`);
  }
  const c = r.calls;
  out.push(`  calls since the start: stable ${c.stable} (${c.stableFailures} failed), candidate ${c.candidate} (${c.candidateFailures} failed)`);
  return out;
}
