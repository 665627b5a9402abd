import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { admissionSchema, PRIORITIES } from '../admission/index.js';
import { getProfile, profileNames } from '../engine/index.js';
import { KNOB_DEFAULTS, retryShape } from '../config/index.js';
import { outlierSchema } from '../fleet/index.js';
import { rolloutSpecSchema } from '../control/rollouts/spec.js';
import { KEDA_DEFAULTS, KPA_DEFAULTS, switchyardKnobsSchema } from '../control/index.js';
import { parseStartup } from '../engine/startup.js';
import { BUILTIN_PROFILES, profileSchema } from '../routing/index.js';
import { faultSchema } from './faults.js';
import { WorkloadSpec } from './workload/index.js';

// A scenario is the simulator's whole input: fleet, network, tenants, workload, faults, the
// policies (and admission disciplines) to compare and the SLO that defines goodput. YAML on disk,
// checked by this schema.

const engineOptions = z.object({
  maxNumSeqs: z.number().int().positive().optional(),
  maxNumBatchedTokens: z.number().int().positive().optional(),
  blockSize: z.number().int().positive().optional(),
  numGpuBlocks: z.number().int().positive().optional(),
  maxModelLen: z.number().int().positive().optional(),
  enablePrefixCaching: z.boolean().optional(),
  /** KV offloading to host RAM (vLLM --kv-offloading-size), GiB per replica; 0 = off */
  kvOffloadGiB: z.number().nonnegative().optional(),
  /** host → GPU bandwidth per GPU, GB/s */
  kvOffloadGBs: z.number().positive().optional(),
}).strict();

const pool = z.object({
  region: z.string().min(1),
  model: z.string().min(1),
  /** the model version it serves (a rollout moves traffic between versions); default the model id */
  version: z.string().min(1).optional(),
  /**
   * names the pool apart from others of the same model (and version) in its region, e.g. an H100 and
   * an A100 pool, or on-demand and spot: its replicas are `REGION/MODEL#NAME/INDEX`. The router
   * still sees one model's replicas (routing reads the model and version, never the pool).
   */
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a pool name of letters, digits, dot, dash or underscore').optional(),
  profile: z.string().superRefine((p, ctx) => {
    if (getProfile(p) === undefined) ctx.addIssue({ code: 'custom', message: `unknown profile "${p}"; known: ${profileNames().join(', ')}` });
  }),
  replicas: z.number().int().positive(),
  /** USD per GPU-hour; defaults by GPU (control/economics/prices.ts) */
  costPerGpuHour: z.number().nonnegative().optional(),
  engine: engineOptions.default({}),
}).strict();

const region = z.object({
  name: z.string().min(1),
  /** one-way latency to other regions, ms (symmetric: either side may state it) */
  latencyMs: z.record(z.string(), z.number().nonnegative()).default({}),
}).strict();

/** an admission discipline to run: the gateway's `admission:` block, named for the report (default: its discipline) */
const admission = admissionSchema.extend({ label: z.string().min(1).optional() });

/**
 * A rollout the gateway's driver runs during the run: started at `atS` with `spec` (what the admin
 * API takes). Before it starts only the model's stable version serves: the candidate's pools idle.
 */
const rollout = z.strictObject({
  atS: z.number().nonnegative(),
  spec: rolloutSpecSchema,
  /** the driver's tick, seconds */
  tickS: z.number().positive().default(1),
  /**
   * the candidate's pools serve beside stable's until the rollout starts, so their caches are warm
   * (an A/A run: the same build on both sides); default false: they idle, their caches cold
   */
  warm: z.boolean().default(false),
  /** analyses that watch the same calls and decide nothing; the report says when each first failed */
  shadow: z.array(z.enum(['interval-threshold', 'mann-whitney'])).default([]),
});

/** the most slots an autoscaled pool may have (the gateway's pools have the same ceiling) */
const AUTOSCALE_MAX_SLOTS = 1_000;
/** an hour: the longest tick, window, warm-up, staleness or start-up the block takes */
const AUTOSCALE_MAX_WINDOW_S = 3_600;

/** optional non-negative numbers named as a baseline's options (its defaults name them) */
const optionsOf = (defaults: object) => z.strictObject(Object.fromEntries(Object.keys(defaults).map((k) => [k, z.number().nonnegative().optional()])));

/** a pool the autoscaler scales: one of the fleet's, by region and model; `replicas` there is only its default `initial` */
const autoscalePool = z.strictObject({
  region: z.string().min(1),
  model: z.string().min(1),
  min: z.number().int().nonnegative().max(AUTOSCALE_MAX_SLOTS).default(1),
  /** each is a slot held for the whole run: bounded, as the gateway's pools are */
  max: z.number().int().positive().max(AUTOSCALE_MAX_SLOTS),
  /** replicas ready at t = 0; default the fleet pool's `replicas`, within [min, max] */
  initial: z.number().int().nonnegative().max(AUTOSCALE_MAX_SLOTS).optional(),
  /** may go to 0 at zero traffic (min must then be 0) */
  scaleToZero: z.boolean().default(false),
  /** asked for → first request: cold | tuned | snapshot (engine/startup.ts's measured profiles) or seconds */
  startup: z.union([z.string(), z.number()]).default('cold').superRefine((v, ctx) => {
    const r = parseStartup(v);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message });
    else if (r.ms > AUTOSCALE_MAX_WINDOW_S * 1000) ctx.addIssue({ code: 'custom', message: `a start-up of ${r.ms / 1000} s is over the hour a start-up may take` });
  }),
});

/**
 * The autoscaler the gateway runs over some of the fleet's pools (the gateway's own driver and
 * policies on the run's clock). The latency objective is the scenario's `slo` (TTFT, and TPOT as
 * the inter-token latency).
 */
const autoscale = z.strictObject({
  policy: z.enum(['switchyard', 'keda', 'kpa', 'fixed']).default('switchyard'),
  /** Switchyard's policy knobs (control/autoscaler/spec.ts); every knob has a default */
  knobs: switchyardKnobsSchema.optional(),
  /** the KEDA- or KPA-style rule's options (control/autoscaler/baselines.ts); unstated: their defaults */
  options: z.union([optionsOf(KEDA_DEFAULTS), optionsOf(KPA_DEFAULTS)]).optional(),
  /** the driver's tick, seconds */
  tickS: z.number().min(0.1).max(AUTOSCALE_MAX_WINDOW_S).default(15),
  latencyWindowS: z.number().min(1).max(AUTOSCALE_MAX_WINDOW_S).optional(),
  warmupS: z.number().nonnegative().max(AUTOSCALE_MAX_WINDOW_S).optional(),
  staleAfterS: z.number().min(1).max(AUTOSCALE_MAX_WINDOW_S).optional(),
  pools: z.array(autoscalePool).min(1),
});

/** a routing profile to run: a shipped or scenario-defined name, optionally relabelled */
const policy = z.union([
  z.string().min(1),
  z.object({ profile: z.string().min(1), label: z.string().min(1).optional() }).strict(),
]);

export const scenarioSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a name of letters, digits, dot, dash or underscore (it names the report files)'),
  description: z.string().default(''),
  seed: z.number().int().nonnegative().default(1),
  /** seconds of arrivals to simulate; the fleet then drains */
  durationS: z.number().positive(),
  drainLimitS: z.number().positive().default(900),
  regions: z.array(region).min(1),
  /** one-way latency inside a region (client ↔ gateway ↔ replica), ms */
  intraRegionLatencyMs: z.number().nonnegative().default(0.5),
  fleet: z.array(pool).min(1),
  /** model for arrivals that name none; default the first pool's */
  defaultModel: z.string().optional(),
  tenants: z.record(z.string(), z.object({
    region: z.string().optional(),
    allowedRegions: z.array(z.string()).nullable().default(null),
    /** its class in the admission queue (read only when `admission` is given) */
    priority: z.enum(PRIORITIES).default('standard'),
    /** its tier's weight in the fair queue against tenants of the same priority */
    weight: z.number().positive().default(1),
    /** the first token is due this long after arrival, when sooner than its class's deadline */
    deadlineMs: z.number().positive().optional(),
  }).strict()).default({}),
  workload: WorkloadSpec,
  faults: z.array(faultSchema).default([]),
  rollout: rollout.optional(),
  autoscale: autoscale.optional(),
  /** routing profiles defined for this scenario, beside the shipped ones */
  profiles: z.record(z.string(), profileSchema).default({}),
  policies: z.array(policy).min(1).default(['default']),
  /**
   * admission disciplines to compare, each run with every routing policy (the cross product);
   * absent = no admission: every arrival goes straight to the router, as before admission existed
   */
  admission: z.array(admission).min(1).optional(),
  /** tokens per prefix block the router indexes (a multiple of the engines' blockSize) */
  prefixBlockTokens: z.number().int().positive().default(64),
  /** prefix blocks of a prompt the router considers (default: the gateway's span of prompt, in 64-token blocks) */
  prefixMaxBlocks: z.number().int().positive().default(KNOB_DEFAULTS.prefixTokens / 64),
  slo: z.object({
    ttftMs: z.number().positive().default(2_000),
    tpotMs: z.number().positive().default(100),
    e2eMs: z.number().positive().optional(),
    /** a looser TTFT for lower classes (batch may promise minutes); read only with `admission` */
    ttftMsByPriority: z.object({
      interactive: z.number().positive().optional(),
      standard: z.number().positive().optional(),
      batch: z.number().positive().optional(),
    }).strict().optional(),
  }).strict().prefault({}),
  sampleS: z.number().positive().optional(),
  /** the gateway's fleet.scrapeIntervalMs, in seconds */
  scrapeIntervalS: z.number().positive().default(KNOB_DEFAULTS.scrapeIntervalMs / 1000),
  /** the gateway's fleet.healthIntervalMs, in seconds */
  probeIntervalS: z.number().positive().default(KNOB_DEFAULTS.healthIntervalMs / 1000),
  /** the gateway's retry knobs, as `upstream.*` in its config: maxAttempts, retryBudget, backoff, hedge */
  upstream: z.strictObject(retryShape).prefault({}),
  /** the gateway's outlier detection, as `fleet.outlier` in its config (on by default, as there) */
  outlier: outlierSchema.prefault({}),
}).strict().superRefine((s, ctx) => {
  const names = new Set(s.regions.map((r) => r.name));
  const need = (where: (string | number)[], r: string) => {
    if (!names.has(r)) ctx.addIssue({ code: 'custom', path: where, message: `unknown region "${r}"; the scenario's regions are ${[...names].join(', ')}` });
  };
  s.fleet.forEach((p, i) => need(['fleet', i, 'region'], p.region));
  s.regions.forEach((r, i) => Object.keys(r.latencyMs).forEach((o) => need(['regions', i, 'latencyMs', o], o)));
  for (const [t, v] of Object.entries(s.tenants)) {
    if (v.region !== undefined) need(['tenants', t, 'region'], v.region);
    v.allowedRegions?.forEach((r) => need(['tenants', t, 'allowedRegions'], r));
  }
  // an autoscaled pool's replicas are its slots, 0 … max − 1
  const scaled = new Map((s.autoscale?.pools ?? []).map((a) => [`${a.region}/${a.model}`, a.max]));
  // held to the ceiling here too: zod runs this even when a max over it was refused
  const ids = new Set(s.fleet.flatMap((p) => Array.from({ length: Math.min(scaled.get(`${p.region}/${p.model}`) ?? p.replicas, Math.max(p.replicas, AUTOSCALE_MAX_SLOTS)) }, (_, i) => poolReplicaId(p, i))));
  // replica ids name faults' targets and the report's rows: two pools must not share them
  const pools = new Map<string, number>();
  s.fleet.forEach((p, i) => {
    const key = poolReplicaId(p, 0);
    const first = pools.get(key);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['fleet', i, 'name'], message: `pools ${first} and ${i} serve ${p.version ?? p.model} in ${p.region} and ${p.name === undefined ? 'have no name' : `are both named "${p.name}"`}, so their replicas' ids collide; give each its own \`name\`` });
    else pools.set(key, i);
  });
  const seen = new Set<string>();
  s.autoscale?.pools.forEach((a, i) => {
    const key = `${a.region}/${a.model}`;
    const mine = s.fleet.filter((p) => p.region === a.region && p.model === a.model);
    if (mine.length === 0) ctx.addIssue({ code: 'custom', path: ['autoscale', 'pools', i], message: `no pool of the fleet serves ${a.model} in ${a.region}; an autoscaled pool is one of the fleet's` });
    if (mine.length > 1) ctx.addIssue({ code: 'custom', path: ['autoscale', 'pools', i], message: `${mine.length} pools of the fleet serve ${a.model} in ${a.region}; an autoscaled pool is one pool of one version` });
    if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['autoscale', 'pools', i], message: `${key} is listed twice` });
    seen.add(key);
    if (a.min > a.max) ctx.addIssue({ code: 'custom', path: ['autoscale', 'pools', i, 'min'], message: `min ${a.min} is above max ${a.max}` });
    if (a.initial !== undefined && a.initial > a.max) ctx.addIssue({ code: 'custom', path: ['autoscale', 'pools', i, 'initial'], message: `initial ${a.initial} is above max ${a.max}` });
    if (a.scaleToZero && a.min > 0) ctx.addIssue({ code: 'custom', path: ['autoscale', 'pools', i, 'scaleToZero'], message: `a pool that may scale to zero needs min 0 (it has ${a.min})` });
  });
  if (s.autoscale !== undefined) {
    const a = s.autoscale;
    if (a.knobs !== undefined && a.policy !== 'switchyard') ctx.addIssue({ code: 'custom', path: ['autoscale', 'knobs'], message: `knobs are Switchyard's policy's; the ${a.policy} rule takes \`options\`` });
    if (a.options !== undefined && a.policy !== 'keda' && a.policy !== 'kpa') ctx.addIssue({ code: 'custom', path: ['autoscale', 'options'], message: `options are the keda and kpa rules'; ${a.policy === 'switchyard' ? 'Switchyard\'s policy takes `knobs`' : 'a fixed fleet has none'}` });
    if (a.options !== undefined && (a.policy === 'keda' || a.policy === 'kpa')) {
      const known = Object.keys(a.policy === 'keda' ? KEDA_DEFAULTS : KPA_DEFAULTS);
      for (const k of Object.keys(a.options)) {
        if (!known.includes(k)) ctx.addIssue({ code: 'custom', path: ['autoscale', 'options', k], message: `the ${a.policy} rule has no option "${k}"; it has ${known.join(', ')}` });
      }
    }
  }
  const versions = new Set(s.fleet.map((p) => p.version ?? p.model));
  s.faults.forEach((f, i) => {
    if (f.region !== null) need(['faults', i, 'region'], f.region);
    if (f.version !== null && !versions.has(f.version)) {
      ctx.addIssue({ code: 'custom', path: ['faults', i, 'version'], message: `no pool serves version "${f.version}"; the pools' versions are ${[...versions].join(', ')}` });
    }
    if (f.replica !== null && !ids.has(f.replica)) {
      ctx.addIssue({ code: 'custom', path: ['faults', i, 'replica'], message: `no replica "${f.replica}"; replicas are named REGION/MODEL/INDEX, e.g. ${[...ids][0]} (a named pool's REGION/MODEL#NAME/INDEX)` });
    }
  });
  const blockSizes = new Set(s.fleet.map((p) => p.engine.blockSize ?? 16));
  if (blockSizes.size > 1) ctx.addIssue({ code: 'custom', path: ['fleet'], message: `every pool must use the same engine.blockSize (got ${[...blockSizes].join(', ')})` });
  s.policies.forEach((p, i) => {
    const name = typeof p === 'string' ? p : p.profile;
    if (!Object.hasOwn(s.profiles, name) && !Object.hasOwn(BUILTIN_PROFILES, name)) {
      ctx.addIssue({ code: 'custom', path: ['policies', i], message: `unknown routing profile "${name}"; known: ${[...Object.keys(s.profiles), ...Object.keys(BUILTIN_PROFILES)].join(', ')}` });
    }
  });
  const labels = new Set<string>();
  s.admission?.forEach((a, i) => {
    const label = a.label ?? a.discipline;
    if (labels.has(label)) ctx.addIssue({ code: 'custom', path: ['admission', i, 'label'], message: `two admission entries are labelled "${label}"; give each its own label` });
    labels.add(label);
  });
  if (s.rollout !== undefined) {
    const r = s.rollout.spec;
    const mine = new Set(s.fleet.filter((p) => p.model === r.model).map((p) => p.version ?? p.model));
    if (mine.size === 0) ctx.addIssue({ code: 'custom', path: ['rollout', 'spec', 'model'], message: `no pool serves model "${r.model}"` });
    else {
      if (!mine.has(r.candidate)) ctx.addIssue({ code: 'custom', path: ['rollout', 'spec', 'candidate'], message: `no pool of ${r.model} serves version "${r.candidate}"; give a pool \`version: ${r.candidate}\`` });
      if (r.stable !== undefined && !mine.has(r.stable)) ctx.addIssue({ code: 'custom', path: ['rollout', 'spec', 'stable'], message: `no pool of ${r.model} serves version "${r.stable}"` });
      if (r.stable === undefined && ![...mine].some((v) => v !== r.candidate)) ctx.addIssue({ code: 'custom', path: ['rollout', 'spec', 'stable'], message: `no pool of ${r.model} serves a version other than the candidate to roll it out from` });
    }
    if (s.rollout.atS >= s.durationS) ctx.addIssue({ code: 'custom', path: ['rollout', 'atS'], message: `the rollout starts at ${s.rollout.atS} s, not before the arrivals end (durationS ${s.durationS})` });
  }
  if (s.defaultModel !== undefined && !s.fleet.some((p) => p.model === s.defaultModel)) {
    ctx.addIssue({ code: 'custom', path: ['defaultModel'], message: `no pool serves "${s.defaultModel}"` });
  }
});

export type Scenario = z.infer<typeof scenarioSchema>;

/** How a scenario names a replica (faults target it by this). */
export function replicaId(region: string, model: string, index: number): string {
  return `${region}/${model}/${index}`;
}

/**
 * A pool's replica: a pool of a version other than the model id is named apart,
 * `REGION/MODEL@VERSION/INDEX`, and a named pool `REGION/MODEL#NAME/INDEX` (both: `MODEL@VERSION#NAME`).
 */
export function poolReplicaId(p: { readonly region: string; readonly model: string; readonly version?: string; readonly name?: string }, index: number): string {
  const served = p.version === undefined || p.version === p.model ? p.model : `${p.model}@${p.version}`;
  return replicaId(p.region, p.name === undefined ? served : `${served}#${p.name}`, index);
}

export interface LoadedScenario {
  readonly scenario: Scenario;
  /** trace paths in the workload resolve against this */
  readonly baseDir: string;
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/** Read and check a scenario file; a ScenarioError names every problem with its path. */
export function loadScenario(file: string): LoadedScenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioError(`cannot read scenario ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ScenarioError(`${file} is not valid YAML: ${(err as Error).message}`);
  }
  return { scenario: parseScenario(raw, file), baseDir: dirname(resolve(file)) };
}

export function parseScenario(raw: unknown, source = 'scenario'): Scenario {
  const r = scenarioSchema.safeParse(withOldNames(raw));
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new ScenarioError(`${source} is not a valid scenario:\n${lines.join('\n')}`);
  }
  return r.data;
}

/**
 * Scenarios written before the retry knobs took the gateway's names said `maxAttempts` at the top:
 * it is read as `upstream.maxAttempts` (both at once is an error, as any unknown key is).
 */
function withOldNames(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !('maxAttempts' in raw)) return raw;
  const { maxAttempts, ...rest } = raw as Record<string, unknown>;
  const up = rest.upstream;
  if (up !== undefined && (up === null || typeof up !== 'object' || 'maxAttempts' in up)) return raw;
  return { ...rest, upstream: { ...(up as object | undefined), maxAttempts } };
}

