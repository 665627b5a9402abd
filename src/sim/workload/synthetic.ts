import { describeLength, sampler, type Sampler } from './lengths.js';
import { RandomStream } from './rng.js';
import { describeTenants, tenantPicker, type TenantPicker } from './tenants.js';
import { WorkloadError, type Arrival, type LengthDist, type TenantMix, type Workload } from './types.js';

// Independent requests: a renewal process of arrivals (exponential gaps for Poisson, gamma gaps
// for bursts), each request a fresh prompt that shares nothing with any other.

export interface SyntheticOptions {
  readonly ratePerS: number;
  /** the first arrival comes after this (virtual seconds); a spike is a part that starts late */
  readonly startS?: number;
  /** no arrivals after startS + durationS; omitted = endless (the simulator stops at its own duration) */
  readonly durationS?: number;
  readonly seed: number;
  readonly prompt: LengthDist;
  readonly output: LengthDist;
  /** weighted tenant mix; or `tenant` for one name */
  readonly tenants?: TenantMix;
  readonly tenant?: string;
  readonly model?: string | null;
  readonly name?: string;
}

export interface GammaOptions extends SyntheticOptions {
  /** coefficient of variation of the gaps: 1 is Poisson, above 1 bursty, below 1 regular */
  readonly cv: number;
}

/** Poisson arrivals: exponential gaps at the given mean rate. */
export function poisson(o: SyntheticOptions): Workload {
  return new Renewal(o, o.name ?? 'poisson', `Poisson ${o.ratePerS} req/s`, arrivalGap(o.ratePerS, 1, o.durationS));
}

/** Bursty arrivals: gamma gaps with shape 1/cv² and the given mean rate. */
export function gamma(o: GammaOptions): Workload {
  return new Renewal(o, o.name ?? 'gamma', `gamma arrivals ${o.ratePerS} req/s cv ${o.cv}`, arrivalGap(o.ratePerS, o.cv, o.durationS));
}

/** Gaps of a renewal process at `ratePerS`: exponential for cv 1, else gamma with shape 1/cv². */
export function arrivalGap(ratePerS: number, cv: number, durationS: number | undefined): Sampler {
  if (!(ratePerS > 0) || !Number.isFinite(ratePerS)) throw new WorkloadError(`ratePerS must be a finite number > 0, got ${ratePerS}`);
  if (!(cv > 0) || !Number.isFinite(cv)) throw new WorkloadError(`cv must be a finite number > 0, got ${cv}`);
  if (durationS !== undefined && !(durationS > 0)) throw new WorkloadError(`durationS must be > 0, got ${durationS}`);
  if (cv === 1) return (r) => r.exponential(1 / ratePerS);
  const shape = 1 / (cv * cv);
  const scale = 1 / (ratePerS * shape);
  return (r) => r.gamma(shape, scale);
}

// key spaces inside one workload: prompt 2·id, output 2·id + 1
class Renewal implements Workload {
  readonly name: string;
  readonly description: string;
  readonly #gap: Sampler;
  readonly #prompt: Sampler;
  readonly #output: Sampler;
  readonly #tenant: TenantPicker;
  readonly #model: string | null;
  readonly #end: number;
  readonly #times: RandomStream;
  readonly #lengths: RandomStream;
  readonly #who: RandomStream;
  #t: number;
  #id = 0;
  #done = false;

  constructor(o: SyntheticOptions, name: string, arrivals: string, gap: Sampler) {
    this.name = name;
    this.#gap = gap;
    this.#prompt = sampler(o.prompt, { what: 'prompt', tokens: true, column: 'prompt' });
    this.#output = sampler(o.output, { what: 'output', tokens: true, column: 'output' });
    this.#tenant = tenantPicker(o.tenants, o.tenant);
    this.#model = o.model ?? null;
    const start = o.startS ?? 0;
    if (!(start >= 0) || !Number.isFinite(start)) throw new WorkloadError(`startS must be a finite number ≥ 0, got ${start}`);
    this.#t = start;
    this.#end = start + (o.durationS ?? Infinity);
    const root = new RandomStream(o.seed);
    this.#times = root.fork(1);
    this.#lengths = root.fork(2);
    this.#who = root.fork(3);
    const from = start > 0 ? ` from ${start} s` : '';
    const span = o.durationS !== undefined ? `${from} for ${o.durationS} s (~${Math.round(o.ratePerS * o.durationS).toLocaleString('en-US')} requests)` : from;
    const who = describeTenants(o.tenants, o.tenant);
    this.description = `${arrivals}${span}, prompt ${describeLength(o.prompt)}, output ${describeLength(o.output)}${who ? `, ${who}` : ''}`;
  }

  next(): Arrival | null {
    if (this.#done) return null;
    const t = this.#t + this.#gap(this.#times);
    if (t > this.#end) {
      this.#done = true; // stays exhausted: a later, shorter gap must not slip back under the end
      return null;
    }
    this.#t = t;
    const id = this.#id++;
    const promptLen = this.#prompt(this.#lengths);
    return {
      id, atS: t, tenant: this.#tenant(this.#who), model: this.#model, promptLen, outputLen: this.#output(this.#lengths),
      segments: [{ key: 2 * id, length: promptLen }], outputKey: 2 * id + 1, session: null,
    };
  }
}
