import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { getProfile, profileNames } from '../../engine/index.js';
import { LengthSpec } from '../../sim/workload/index.js';

// PLAN.yaml: what the planner is asked. Demand per region (request shapes from a trace or from
// length distributions; its rate from a daily shape and peak, or an hourly forecast), SLOs per tier,
// hardware profiles with a price per GPU-hour in each region that offers them, a GPU budget per
// region, residency, a failure policy, the what-ifs to report and how the simulator checks the plan.
// Every key is checked (an unknown one is an error) and every error names its path.

/** the longest horizon planned: a week of hours */
export const MAX_HOURS = 168;
/** bounds that keep a typo from asking the solver for a fleet the size of a country */
const MAX_RATE_PER_S = 1e5;
const MAX_GPUS = 1e5;
/**
 * the most routing variables one hour's MILP may hold, counted before any trace is read as
 * scenarios × Σ over demand entries of (bucket classes × offers of its model): about 30 000 take
 * HiGHS 6 s on this project's 2-core machine, so this bound keeps a worst-case hour near a minute
 * (the schema's other bounds alone admit ~2·10⁸, which would exhaust memory building the model)
 */
export const MAX_ROUTES_PER_HOUR = 200_000;

const name = z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash or underscore');
const usd = z.number().nonnegative().max(1_000);
/** USD per GPU-hour: one price everywhere, or per region (a region left out does not offer it) */
const priceByRegion = z.union([usd, z.record(z.string(), usd)]);

const engineOptions = z.strictObject({
  maxNumSeqs: z.number().int().positive().optional(),
  maxNumBatchedTokens: z.number().int().positive().optional(),
  maxModelLen: z.number().int().positive().optional(),
  enablePrefixCaching: z.boolean().optional(),
});

const region = z.strictObject({
  name,
  /** one-way latency to other regions, ms (either side may state it) */
  latencyMs: z.record(z.string(), z.number().nonnegative().max(10_000)).default({}),
  /** GPUs it may hold at once: a total, or per GPU type (a type left out: none of it); absent, unlimited */
  gpuBudget: z.union([z.number().int().nonnegative().max(MAX_GPUS), z.record(z.string(), z.number().int().nonnegative().max(MAX_GPUS))]).optional(),
});

const spot = z.strictObject({
  /** USD per GPU-hour on spot, as `usdPerGpuHour` (a region left out has no spot capacity) */
  usdPerGpuHour: priceByRegion,
  /** preemptions per replica-hour */
  preemptionsPerHour: z.number().nonnegative().max(60),
  /** seconds from a preemption to its replacement serving (default the profile's cold start-up) */
  replaceS: z.number().positive().max(3_600).optional(),
});

const hardware = z.strictObject({
  /** a hardware profile (engine/profiles.ts) */
  profile: z.string().superRefine((p, ctx) => {
    if (getProfile(p) === undefined) ctx.addIssue({ code: 'custom', message: `unknown hardware profile "${p}"; known: ${profileNames().join(', ')}` });
  }),
  /** the model id it serves, as demand names it */
  model: z.string().min(1).max(200),
  usdPerGpuHour: priceByRegion,
  engine: engineOptions.default({}),
  spot: spot.optional(),
});

const tier = z.strictObject({
  /** p99 time to first token, ms, as the client sees it */
  ttftMs: z.number().positive().max(600_000),
  /** p99 of a request's mean inter-token latency, ms */
  itlMs: z.number().positive().max(10_000),
});

/** where a stream's request shapes come from: a trace (its prompt and output lengths) or distributions */
const requests = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('azure'), file: z.string().min(1), startS: z.number().nonnegative().optional(), durationS: z.number().positive().optional() }),
  z.strictObject({ kind: z.literal('mooncake'), file: z.string().min(1), startS: z.number().nonnegative().optional(), durationS: z.number().positive().optional() }),
  z.strictObject({ kind: z.literal('lengths'), prompt: LengthSpec, output: LengthSpec }),
], { error: (i) => (i.code === 'invalid_union' ? 'kind must be azure, mooncake (a trace) or lengths (prompt and output distributions)' : undefined) });

/** bucket edges: each class holds lengths ≤ its edge (above the last, an open class) */
const edges = z.array(z.number().int().positive()).min(1).max(12).refine((e) => e.every((x, i) => i === 0 || x > e[i - 1]), 'edges must increase, e.g. [512, 2048, 8192]');

const ratePerS = z.number().nonnegative().max(MAX_RATE_PER_S);

/** how many requests a second, hour by hour */
const rate = z.union([
  /** a cosine day: `peakPerS` at `peakAtHour`, `trough` × it twelve hours away */
  z.strictObject({ peakPerS: ratePerS, trough: z.number().gt(0).max(1), peakAtHour: z.number().min(0).lt(24) }),
  /** the peak times a factor per hour of the day (24, repeated over the horizon) */
  z.strictObject({ peakPerS: ratePerS, factors: z.array(z.number().nonnegative().max(1)).length(24) }),
  /** a forecast: one rate per hour of the horizon */
  z.strictObject({ ratesPerS: z.array(ratePerS).min(1).max(MAX_HOURS) }),
], { error: () => 'rate is { peakPerS, trough, peakAtHour }, { peakPerS, factors: [24 numbers] } or { ratesPerS: [one per hour] }' });

const demand = z.strictObject({
  name,
  /** where its clients are */
  region: z.string().min(1),
  model: z.string().min(1).max(200),
  tier: z.string().min(1),
  /** regions it may be served in; default every region */
  residency: z.array(z.string().min(1)).min(1).optional(),
  requests,
  rate,
});

const whatIf = z.discriminatedUnion('kind', [
  /** the plan re-made without a region, and the plan's own survivors checked without it */
  z.strictObject({ kind: z.literal('region-lost'), name: z.string().min(1).optional(), region: z.string().min(1) }),
  /** every stream's rate (or one region's) times `factor` */
  z.strictObject({ kind: z.literal('demand'), name: z.string().min(1).optional(), factor: z.number().positive().max(100), region: z.string().min(1).optional() }),
  /** one profile's price in one region changed (offered there when it was not) */
  z.strictObject({ kind: z.literal('price'), name: z.string().min(1).optional(), region: z.string().min(1), profile: z.string().min(1), usdPerGpuHour: usd }),
  /** spot capacity of a profile (in one region, or every region that offers it) */
  z.strictObject({
    kind: z.literal('spot'), name: z.string().min(1).optional(), profile: z.string().min(1), region: z.string().min(1).optional(),
    /** spot price as a share of the on-demand price */
    priceFactor: z.number().positive().max(1), preemptionsPerHour: z.number().nonnegative().max(60), replaceS: z.number().positive().max(3_600).optional(),
  }),
], { error: (i) => (i.code === 'invalid_union' ? 'kind must be region-lost, demand, price or spot' : undefined) });

export const planSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a name of letters, digits, dot, dash or underscore (it names the report files)'),
  description: z.string().default(''),
  seed: z.number().int().nonnegative().default(1),
  /** hours planned, one fleet each */
  hours: z.number().int().min(1).max(MAX_HOURS).default(24),
  /** the share of a replica's modelled SLO capacity the plan fills (headroom for bursts) */
  utilisation: z.number().gt(0).max(1).default(0.85),
  /**
   * may one region hold replicas of more than one GPU type for a model in the same hour? false
   * (default): one type per (model, region, hour), spot and on-demand of it together, because the
   * gateway routes a region's requests across all its replicas blind to size and type, so a plan
   * that sends long prompts to one type and chat to another does not hold live. true: Mélange's
   * freedom, for a gateway that routes by request size
   */
  mixTypesInRegion: z.boolean().default(false),
  /** request-size classes (Mélange's buckets): prompt and output length edges */
  buckets: z.strictObject({
    prompt: edges.default([512, 2048, 8192, 32768]),
    output: edges.default([128, 512]),
  }).prefault({}),
  regions: z.array(region).min(1).max(20),
  hardware: z.array(hardware).min(1).max(50),
  tiers: z.record(z.string(), tier),
  demand: z.array(demand).min(1).max(200),
  /** `any-region`: the fleet carries all demand (residency permitting) with any one region lost */
  failure: z.strictObject({ survive: z.enum(['none', 'any-region']).default('none') }).prefault({}),
  whatIfs: z.array(whatIf).max(20).default([]),
  /** how the simulator checks a plan: each hour checked is run for `windowS` at that hour's rate with that hour's fleet */
  check: z.strictObject({
    /** SLO attainment every stream needs, 0–1 */
    attainment: z.number().gt(0).max(1).default(0.99),
    windowS: z.number().min(10).max(3_600).default(120),
    /** `all`, `peak` (each region's busiest hour and the horizon's quietest), or hour numbers */
    hours: z.union([z.enum(['all', 'peak']), z.array(z.number().int().nonnegative()).min(1).max(MAX_HOURS)]).default('all'),
    /** also run the busiest hour with each region lost (when failure.survive is any-region) */
    failures: z.boolean().default(true),
  }).prefault({}),
}).superRefine((p, ctx) => {
  const regions = new Set(p.regions.map((r) => r.name));
  const need = (path: (string | number)[], r: string) => {
    if (!regions.has(r)) ctx.addIssue({ code: 'custom', path, message: `unknown region "${r}"; the plan's regions are ${[...regions].join(', ')}` });
  };
  const seen = new Set<string>();
  p.regions.forEach((r, i) => {
    if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['regions', i, 'name'], message: `region "${r.name}" is listed twice` });
    seen.add(r.name);
    Object.keys(r.latencyMs).forEach((o) => {
      need(['regions', i, 'latencyMs', o], o);
      if (o === r.name) ctx.addIssue({ code: 'custom', path: ['regions', i, 'latencyMs', o], message: `a region's latency to itself is not stated (within a region it is under 1 ms); list the other regions only` });
    });
  });
  const models = new Set(p.hardware.map((h) => h.model));
  // offers are named REGION/PROFILE, so a profile is one hardware entry (one model)
  const offered = new Map<string, number>();
  const gpuTypes = new Set<string>();
  p.hardware.forEach((h, i) => {
    const first = offered.get(h.profile);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['hardware', i, 'profile'], message: `${h.profile} is already hardware entry ${first}; list each profile once` });
    else offered.set(h.profile, i);
    const prof = getProfile(h.profile);
    if (prof !== undefined) {
      gpuTypes.add(prof.gpu.name);
      const len = h.engine.maxModelLen;
      if (len !== undefined && len > prof.model.maxModelLen) {
        ctx.addIssue({ code: 'custom', path: ['hardware', i, 'engine', 'maxModelLen'], message: `${len} is beyond ${prof.model.name}'s context of ${prof.model.maxModelLen} tokens` });
      }
    }
    if (typeof h.usdPerGpuHour === 'object') Object.keys(h.usdPerGpuHour).forEach((r) => need(['hardware', i, 'usdPerGpuHour', r], r));
    // a profile priced nowhere would be silently left out of every plan
    const pricedSomewhere = (p: number | Record<string, number> | undefined) => p !== undefined && (typeof p === 'number' || Object.keys(p).length > 0);
    if (!pricedSomewhere(h.usdPerGpuHour) && !pricedSomewhere(h.spot?.usdPerGpuHour)) {
      ctx.addIssue({ code: 'custom', path: ['hardware', i, 'usdPerGpuHour'], message: `${h.profile} has a price in no region, so no plan can buy it: give a price per region that offers it, or remove the entry` });
    }
    if (h.spot !== undefined && typeof h.spot.usdPerGpuHour === 'object') Object.keys(h.spot.usdPerGpuHour).forEach((r) => need(['hardware', i, 'spot', 'usdPerGpuHour', r], r));
  });
  p.regions.forEach((r, i) => {
    if (typeof r.gpuBudget !== 'object') return;
    for (const g of Object.keys(r.gpuBudget)) {
      if (!gpuTypes.has(g)) ctx.addIssue({ code: 'custom', path: ['regions', i, 'gpuBudget', g], message: `no hardware entry runs on "${g}"; the plan's GPU types are ${[...gpuTypes].join(', ')}` });
    }
  });
  const names = new Set<string>();
  p.demand.forEach((d, i) => {
    if (names.has(d.name)) ctx.addIssue({ code: 'custom', path: ['demand', i, 'name'], message: `two demand entries are named "${d.name}"` });
    names.add(d.name);
    need(['demand', i, 'region'], d.region);
    d.residency?.forEach((r, j) => need(['demand', i, 'residency', j], r));
    if (!models.has(d.model)) ctx.addIssue({ code: 'custom', path: ['demand', i, 'model'], message: `no hardware entry serves "${d.model}"; the models offered are ${[...models].join(', ')}` });
    if (!Object.hasOwn(p.tiers, d.tier)) ctx.addIssue({ code: 'custom', path: ['demand', i, 'tier'], message: `unknown tier "${d.tier}"; the plan's tiers are ${Object.keys(p.tiers).join(', ') || '(none)'}` });
    if ('ratesPerS' in d.rate && d.rate.ratesPerS.length !== p.hours) ctx.addIssue({ code: 'custom', path: ['demand', i, 'rate', 'ratesPerS'], message: `${d.rate.ratesPerS.length} rates for a horizon of ${p.hours} hours; give one per hour` });
  });
  const profiles = new Set(p.hardware.map((h) => h.profile));
  p.whatIfs.forEach((w, i) => {
    if (w.kind === 'region-lost' || w.kind === 'price' || (w.kind === 'demand' && w.region !== undefined) || (w.kind === 'spot' && w.region !== undefined)) need(['whatIfs', i, 'region'], w.region!);
    if ((w.kind === 'price' || w.kind === 'spot') && !profiles.has(w.profile)) {
      ctx.addIssue({ code: 'custom', path: ['whatIfs', i, 'profile'], message: `no hardware entry uses "${w.profile}"; the plan's profiles are ${[...profiles].join(', ')}` });
    }
    if (w.kind === 'spot' && w.region !== undefined && profiles.has(w.profile)) {
      const h = p.hardware.find((x) => x.profile === w.profile)!;
      if (typeof h.usdPerGpuHour === 'object' && !Object.hasOwn(h.usdPerGpuHour, w.region)) {
        ctx.addIssue({ code: 'custom', path: ['whatIfs', i, 'region'], message: `${w.profile} has no on-demand price in ${w.region} to take the spot price from` });
      }
    }
    if (w.kind === 'region-lost' && p.regions.length < 2) ctx.addIssue({ code: 'custom', path: ['whatIfs', i], message: 'losing the only region leaves nothing to plan' });
  });
  const checked = new Set<number>();
  for (const [i, h] of (Array.isArray(p.check.hours) ? p.check.hours : []).entries()) {
    if (h >= p.hours) ctx.addIssue({ code: 'custom', path: ['check', 'hours', i], message: `hour ${h} is past the horizon (hours 0–${p.hours - 1})` });
    if (checked.has(h)) ctx.addIssue({ code: 'custom', path: ['check', 'hours', i], message: `hour ${h} is listed twice (each listed hour is one simulator run)` });
    checked.add(h);
  }
  const routes = routesBound(p);
  if (routes > MAX_ROUTES_PER_HOUR) {
    ctx.addIssue({
      code: 'custom', path: ['demand'],
      message: `the plan may need up to ${routes.toLocaleString('en-US')} routing variables an hour (failure scenarios × demand entries × bucket classes × offers of their model), more than the ${MAX_ROUTES_PER_HOUR.toLocaleString('en-US')} one hour's solve is allowed: use fewer bucket edges, merge demand entries, or offer fewer profiles or regions`,
    });
  }
  if (p.failure.survive === 'any-region' && p.regions.length < 2) ctx.addIssue({ code: 'custom', path: ['failure', 'survive'], message: 'surviving the loss of a region needs at least two regions' });
});

type PlanShape = Pick<z.output<typeof planSchema>, 'regions' | 'hardware' | 'demand' | 'buckets' | 'failure'>;

/**
 * An upper bound on one hour's routing variables (solve.ts's x): every scenario × every demand
 * entry × every bucket class × every offer of its model (on demand and spot, in every region that
 * prices it). Known before traces are read, so a plan too big to solve is refused at once.
 */
export function routesBound(p: PlanShape): number {
  const regions = p.regions.map((r) => r.name);
  const pricedIn = (x: number | Record<string, number> | undefined) => (x === undefined ? 0 : typeof x === 'number' ? regions.length : Object.keys(x).filter((r) => regions.includes(r)).length);
  const offers = new Map<string, number>();
  for (const h of p.hardware) offers.set(h.model, (offers.get(h.model) ?? 0) + pricedIn(h.usdPerGpuHour) + pricedIn(h.spot?.usdPerGpuHour));
  const cells = (p.buckets.prompt.length + 1) * (p.buckets.output.length + 1);
  const scenarios = 1 + (p.failure.survive === 'any-region' ? regions.length : 0);
  return scenarios * cells * p.demand.reduce((a, d) => a + (offers.get(d.model) ?? 0), 0);
}

export type PlanSpec = z.output<typeof planSchema>;
export type PlanSpecInput = z.input<typeof planSchema>;
export type WhatIf = PlanSpec['whatIfs'][number];
export type DemandSpec = PlanSpec['demand'][number];

export interface LoadedPlan {
  readonly plan: PlanSpec;
  /** trace paths resolve against this (the plan file's folder) */
  readonly baseDir: string;
}

export class PlanError extends Error {
  override readonly name = 'PlanError';
}

/** Check a plan; a PlanError names every problem with its path. */
export function parsePlan(raw: unknown, source = 'plan'): PlanSpec {
  const r = planSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new PlanError(`${source} is not a valid plan:\n${lines.join('\n')}`);
  }
  return r.data;
}

/** Read and check PLAN.yaml. */
export function loadPlan(file: string): LoadedPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PlanError(`cannot read plan ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new PlanError(`${file} is not valid YAML: ${(err as Error).message}`);
  }
  return { plan: parsePlan(raw, file), baseDir: dirname(resolve(file)) };
}
