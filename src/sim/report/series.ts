import type { RunRecords, Series } from './types.js';

/** Buckets at most this many, so a page with several policies stays well under a megabyte. */
export const MAX_BUCKETS = 300;

/**
 * Rates and levels over time, from the start to the last completion or sample (the drain after
 * the arrivals stop is part of the story: that is where a backlog shows). Completions and their
 * output tokens come from the request records; queue depth and running from the samples.
 */
export function series(run: RunRecords): Series {
  let endS = run.durationS;
  for (const r of run.requests) if (r.outcome === 'ok' && r.finishS > endS) endS = r.finishS;
  for (const s of run.samples) if (s.atS > endS) endS = s.atS;
  const stepS = Math.max(run.sampleS, endS / MAX_BUCKETS);
  // the end itself belongs to the last bucket, so it is not an extra, near-empty one
  const n = Math.max(1, Math.ceil(endS / stepS));
  const bucket = (t: number) => Math.min(n - 1, Math.floor(t / stepS));
  const done = new Float64Array(n);
  const tok = new Float64Array(n);
  const queued = new Float64Array(n);
  const running = new Float64Array(n);
  const samples = new Float64Array(n);
  const admitted = run.admission !== undefined;
  const held = new Float64Array(admitted ? n : 0);
  for (const r of run.requests) {
    if (r.outcome !== 'ok') continue;
    const b = bucket(r.finishS);
    done[b]++;
    tok[b] += r.outputLen;
  }
  for (const s of run.samples) {
    const b = bucket(s.atS);
    queued[b] += s.queued;
    running[b] += s.running;
    if (admitted) held[b] += s.held ?? 0;
    samples[b]++;
  }
  const out = { t: [] as number[], c: [] as number[], o: [] as number[], q: [] as number[], r: [] as number[] };
  for (let b = 0; b < n; b++) {
    out.t.push(b * stepS);
    out.c.push(done[b] / stepS);
    out.o.push(tok[b] / stepS);
    out.q.push(samples[b] > 0 ? queued[b] / samples[b] : 0);
    out.r.push(samples[b] > 0 ? running[b] / samples[b] : 0);
  }
  const base = { stepS, t: out.t, completionsPerS: out.c, outputTokPerS: out.o, queued: out.q, running: out.r };
  return admitted ? { ...base, held: Array.from(held, (h, b) => (samples[b] > 0 ? h / samples[b] : 0)) } : base;
}
