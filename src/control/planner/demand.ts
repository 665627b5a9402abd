import { resolve } from 'node:path';
import { readTrace } from '../../sim/workload/diurnal.js';
import { sampler } from '../../sim/workload/lengths.js';
import { RandomStream } from '../../sim/workload/rng.js';
import type { LengthDist } from '../../sim/workload/types.js';
import { PlanError, type DemandSpec, type LoadedPlan, type PlanSpec } from './spec.js';
import type { Bucket, Stream } from './types.js';

// A plan's demand as the solver sees it: per entry, a request rate per hour of the horizon, and its
// request shapes cut into size classes (Mélange's buckets), because a replica's capacity depends on
// the shape and a mix of long and short requests is best served by different GPU types. Shapes come
// from the trace the demand names (its prompt and output lengths) or from draws of its distributions.

/** draws taken from a `lengths` source: enough that a bucket's share is within ~1 % of the truth */
export const LENGTH_DRAWS = 20_000;

/** One Stream per demand entry, in the plan's order. Throws PlanError naming the entry when a trace cannot be read. */
export function streamsOf(loaded: LoadedPlan): Stream[] {
  const { plan, baseDir } = loaded;
  const regions = plan.regions.map((r) => r.name);
  // one read per trace file within a call: several streams often share a trace
  const traces = new Map<string, { prompt: ArrayLike<number>; output: ArrayLike<number>; timeS: ArrayLike<number> }>();
  return plan.demand.map((d, i) => {
    const allowed = d.residency ?? regions;
    return {
      id: d.name,
      origin: d.region,
      model: d.model,
      tier: d.tier,
      allowed: allowed.includes(d.region) ? [d.region, ...allowed.filter((r) => r !== d.region)] : [...allowed],
      ratesPerS: hourlyRates(d, plan.hours),
      buckets: bucketsOf(shapesOf(d, i, plan, baseDir, traces), plan.buckets.prompt, plan.buckets.output),
    };
  });
}

/** the entry's mean request rate in each hour of the horizon */
export function hourlyRates(d: DemandSpec, hours: number): number[] {
  const r = d.rate;
  if ('ratesPerS' in r) return r.ratesPerS.slice(0, hours);
  if ('factors' in r) return Array.from({ length: hours }, (_, h) => r.peakPerS * r.factors[h % 24]);
  // sampled at the hour's middle, so a peak at 14.5 is hour 14's rate
  return Array.from({ length: hours }, (_, h) => r.peakPerS * (r.trough + ((1 - r.trough) * (1 + Math.cos((2 * Math.PI * (h + 0.5 - r.peakAtHour)) / 24))) / 2));
}

interface Shapes {
  readonly prompt: ArrayLike<number>;
  readonly output: ArrayLike<number>;
}

function shapesOf(d: DemandSpec, i: number, plan: PlanSpec, baseDir: string, cache: Map<string, { prompt: ArrayLike<number>; output: ArrayLike<number>; timeS: ArrayLike<number> }>): Shapes {
  const q = d.requests;
  if (q.kind === 'lengths') {
    // own streams per entry (and per column), so adding an entry moves no other entry's draws
    const base = new RandomStream(plan.seed).fork(1000 + i);
    const pr = base.fork(1);
    const or = base.fork(2);
    const ps = sampler(q.prompt as LengthDist, { what: `demand.${i}.requests.prompt`, tokens: true, column: 'prompt' });
    const os = sampler(q.output as LengthDist, { what: `demand.${i}.requests.output`, tokens: true, column: 'output' });
    const prompt = new Float64Array(LENGTH_DRAWS);
    const output = new Float64Array(LENGTH_DRAWS);
    for (let k = 0; k < LENGTH_DRAWS; k++) {
      prompt[k] = ps(pr);
      output[k] = os(or);
    }
    return { prompt, output };
  }
  const file = resolve(baseDir, q.file);
  const key = `${q.kind}:${file}`;
  let t = cache.get(key);
  if (t === undefined) {
    try {
      const table = readTrace(q.kind, file);
      t = { prompt: table.promptLen, output: table.outputLen, timeS: table.timeS };
    } catch (err) {
      throw new PlanError(`demand.${i}.requests.file: ${(err as Error).message}`);
    }
    cache.set(key, t);
  }
  // the window of trace time asked for (the simulator's startS/durationS, without rate scaling)
  const from = q.startS ?? 0;
  const to = q.durationS === undefined ? Infinity : from + q.durationS;
  let a = 0;
  while (a < t.timeS.length && t.timeS[a] < from) a++;
  let b = a;
  while (b < t.timeS.length && t.timeS[b] < to) b++;
  if (b === a) throw new PlanError(`demand.${i}.requests: the trace ${q.file} has no requests between ${from} s and ${to} s`);
  return { prompt: slice(t.prompt, a, b), output: slice(t.output, a, b) };
}

const slice = (x: ArrayLike<number>, a: number, b: number): ArrayLike<number> =>
  a === 0 && b === x.length ? x : Array.prototype.slice.call(x, a, b);

/** the class of a length: the first edge it does not exceed; edges.length for the open class above them */
function classOf(x: number, edges: readonly number[]): number {
  let c = 0;
  while (c < edges.length && x > edges[c]) c++;
  return c;
}

const label = (axis: string, c: number, edges: readonly number[]): string =>
  c < edges.length ? `${axis}≤${edges[c]}` : `${axis}>${edges[edges.length - 1]}`;

/** The id of the bucket a request of this shape falls in (bucketsOf's ids). */
export function bucketIdOf(prompt: number, output: number, promptEdges: readonly number[], outputEdges: readonly number[]): string {
  return `${label('p', classOf(prompt, promptEdges), promptEdges)},${label('o', classOf(output, outputEdges), outputEdges)}`;
}

/** Requests cut into buckets at the edges (prompt ≤ edge, output ≤ edge; above the last, open); empty buckets dropped. */
export function bucketsOf(s: Shapes, promptEdges: readonly number[], outputEdges: readonly number[]): Bucket[] {
  const nO = outputEdges.length + 1;
  const cells = (promptEdges.length + 1) * nO;
  const count = new Float64Array(cells);
  const sumP = new Float64Array(cells);
  const sumO = new Float64Array(cells);
  const n = s.prompt.length;
  for (let k = 0; k < n; k++) {
    const c = classOf(s.prompt[k], promptEdges) * nO + classOf(s.output[k], outputEdges);
    count[c]++;
    sumP[c] += s.prompt[k];
    sumO[c] += s.output[k];
  }
  const out: Bucket[] = [];
  for (let c = 0; c < cells; c++) {
    if (count[c] === 0) continue;
    out.push({
      id: `${label('p', Math.floor(c / nO), promptEdges)},${label('o', c % nO, outputEdges)}`,
      share: count[c] / n,
      promptTokens: sumP[c] / count[c],
      outputTokens: sumO[c] / count[c],
    });
  }
  return out;
}
