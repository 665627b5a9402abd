import { resolve } from 'node:path';
import { z } from 'zod';
import { azureTrace } from './azure.js';
import { diurnal, readTrace, traceLoop } from './diurnal.js';
import { sampler } from './lengths.js';
import { mix } from './mix.js';
import { mooncakeTrace } from './mooncake.js';
import { deriveSeed } from './rng.js';
import { sharedPrefix } from './shared-prefix.js';
import { gamma, poisson } from './synthetic.js';
import { EMPIRICAL_TRACES, WorkloadError, type LengthDist, type Workload } from './types.js';

// The scenario YAML's `workload:` block: one schema, checked at load, and the builder that turns it
// into a Workload. No defaults live in the schema (parsing twice changes nothing); the builders
// apply them.

const pos = z.number().positive();
const nonneg = z.number().nonnegative();

const lengthKinds = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), value: nonneg }).strict(),
  z.object({ kind: z.literal('uniform'), min: nonneg, max: pos }).strict(),
  z.object({
    kind: z.literal('lognormal'), mean: pos.optional(), p50: pos.optional(), p90: pos.optional(), sigma: nonneg.optional(),
    min: nonneg.optional(), max: pos.optional(),
  }).strict(),
  z.object({ kind: z.literal('empirical'), trace: z.enum(EMPIRICAL_TRACES), of: z.enum(['prompt', 'output']).optional(), min: nonneg.optional(), max: pos.optional() }).strict(),
], { error: (i) => (i.code === 'invalid_union' ? 'kind must be fixed, uniform, lognormal or empirical (or give a plain number)' : undefined) });

/** a number (fixed) or { kind: fixed | uniform | lognormal | empirical, … } */
export const LengthSpec = z.preprocess((v) => (typeof v === 'number' ? { kind: 'fixed', value: v } : v), lengthKinds).superRefine((d, ctx) => {
  // the sampler owns the cross-field rules (lognormal's mean/p50/sigma/p90, min ≤ max)
  try {
    sampler(d as LengthDist, { what: 'length', tokens: false, column: 'prompt' });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^length: /, '') });
  }
});

const tenantMix = z.array(z.object({ name: z.string().min(1), weight: pos }).strict()).min(1);

/** fields every kind takes */
const who = {
  /** pins this workload's randomness; default: the scenario's seed */
  seed: z.number().int().nonnegative().optional(),
  tenant: z.string().min(1).optional(),
  tenants: tenantMix.optional(),
  model: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
};

const oneTenantRule = (v: { tenant?: string; tenants?: unknown }, ctx: z.RefinementCtx): void => {
  if (v.tenant !== undefined && v.tenants !== undefined) ctx.addIssue({ code: 'custom', path: ['tenants'], message: 'give tenant (one name) or tenants (a weighted mix), not both' });
};

/** startS here is virtual time (arrivals from startS to startS + durationS); a trace's startS is trace time to skip */
const synthetic = { ...who, ratePerS: pos, startS: nonneg.optional(), durationS: pos.optional(), prompt: LengthSpec, output: LengthSpec };
const trace = {
  ...who, file: z.string().min(1), timeScale: pos.optional(), rateScale: pos.optional(), durationS: pos.optional(), startS: nonneg.optional(),
};

const leafKinds = [
  z.object({ kind: z.literal('poisson'), ...synthetic }).strict().superRefine(oneTenantRule),
  z.object({ kind: z.literal('gamma'), ...synthetic, cv: pos }).strict().superRefine(oneTenantRule),
  z.object({
    kind: z.literal('shared-prefix'), ...who, ratePerS: pos, cv: pos.optional(), durationS: pos.optional(),
    systemPrompts: z.number().int().nonnegative(), systemPromptLen: LengthSpec.optional(), zipf: nonneg.optional(),
    sessions: z.object({ turns: LengthSpec, thinkTimeS: LengthSpec, assumedTpotS: nonneg.optional() }).strict().optional(),
    userLen: LengthSpec, output: LengthSpec, maxPromptLen: z.number().int().positive().optional(),
  }).strict().superRefine((v, ctx) => {
    oneTenantRule(v, ctx);
    if (v.systemPrompts > 0 && v.systemPromptLen === undefined) ctx.addIssue({ code: 'custom', path: ['systemPromptLen'], message: 'systemPromptLen is required when systemPrompts > 0' });
  }),
  z.object({ kind: z.literal('azure'), ...trace }).strict().superRefine(oneTenantRule),
  z.object({ kind: z.literal('mooncake'), ...trace, blockTokens: z.number().int().positive().optional() }).strict().superRefine(oneTenantRule),
] as const;

const KINDS = 'poisson, gamma, shared-prefix, azure, mooncake, mix, diurnal';
const leaf = z.discriminatedUnion('kind', [...leafKinds], { error: (i) => (i.code === 'invalid_union' ? `kind must be one of ${KINDS.replace(', mix, diurnal', '')} (a mix's parts cannot be mixes or days)` : undefined) });

/** a day built from a trace: `of` looped and warped so its rate follows `shape` (diurnal.ts) */
const diurnalKind = z.object({
  kind: z.literal('diurnal'),
  name: z.string().min(1).optional(),
  seed: z.number().int().nonnegative().optional(),
  of: z.discriminatedUnion('kind', [leafKinds[3], leafKinds[4]], { error: (i) => (i.code === 'invalid_union' ? 'of must be a trace: kind azure or mooncake' : undefined) }),
  periodS: pos.optional(),
  durationS: pos,
  shape: z.union([
    z.object({
      trough: z.number().gt(0).max(1, 'trough is the trough\'s rate ÷ the peak\'s, at most 1'),
      peakAtS: nonneg,
    }).strict(),
    z.array(nonneg).min(1).refine((fs) => fs.some((f) => f > 0), 'at least one factor must be > 0'),
  ], { error: (i) => (i.code === 'invalid_union' ? 'shape is { trough, peakAtS } or a list of factors (one per equal slice of the period: 24 = hourly)' : undefined) }),
}).strict();

export const WorkloadSpec = z.discriminatedUnion('kind', [
  ...leafKinds,
  z.object({ kind: z.literal('mix'), name: z.string().min(1).optional(), parts: z.array(leaf).min(1) }).strict(),
  diurnalKind,
], { error: (i) => (i.code === 'invalid_union' ? `kind must be one of ${KINDS}` : undefined) });

export type WorkloadSpec = z.output<typeof WorkloadSpec>;
export type WorkloadSpecInput = z.input<typeof WorkloadSpec>;

export interface SpecContext {
  /** trace paths resolve against this (the scenario file's folder) */
  readonly baseDir: string;
  readonly seed: number;
}

/** Build a Workload from a `workload:` block. Throws WorkloadError naming every problem with its path. */
export function fromSpec(spec: WorkloadSpecInput | WorkloadSpec, ctx: SpecContext): Workload {
  const r = WorkloadSpec.safeParse(spec);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new WorkloadError(`workload is not valid:\n${lines.join('\n')}`);
  }
  const s = r.data;
  if (s.kind === 'diurnal') {
    const { of } = s;
    const table = readTrace(of.kind, resolve(ctx.baseDir, of.file), of.kind === 'mooncake' ? of.blockTokens : undefined);
    return diurnal(traceLoop(table, of, of.seed ?? s.seed ?? ctx.seed), s);
  }
  if (s.kind !== 'mix') return build(s, ctx.baseDir, s.seed ?? ctx.seed);
  // each part its own stream unless it pins a seed
  return mix(s.parts.map((p, i) => build(p, ctx.baseDir, p.seed ?? deriveSeed(ctx.seed, i + 1))), { name: s.name });
}

type Leaf = Exclude<WorkloadSpec, { kind: 'mix' | 'diurnal' }>;

function build(s: Leaf, baseDir: string, seed: number): Workload {
  switch (s.kind) {
    case 'poisson': return poisson({ ...s, seed });
    case 'gamma': return gamma({ ...s, seed });
    case 'shared-prefix': return sharedPrefix({ ...s, systemPromptLen: s.systemPromptLen ?? 1, seed });
    case 'azure': return azureTrace(resolve(baseDir, s.file), { ...s, seed });
    case 'mooncake': return mooncakeTrace(resolve(baseDir, s.file), { ...s, seed });
  }
}
