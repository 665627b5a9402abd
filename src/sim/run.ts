import { admissionPolicy } from '../admission/index.js';
import { getProfile } from '../engine/index.js';
import { outlierPolicy } from '../fleet/index.js';
import { regionOrder, resolveProfile, UNSTATED_WIRE_MS } from '../routing/index.js';
import { wallClock, type Clock } from '../time/index.js';
import { describeFault } from './faults.js';
import { buildReport, type RunRecords, type ScenarioInfo, type SimReport, type Slo } from './report/index.js';
import { poolReplicaId, type LoadedScenario, type Scenario } from './scenario.js';
import type { SimAdmissionInput, TenantAdmission } from './admission.js';
import { DEFAULT_PER_REPLICA_LIMIT, type SimRolloutInput } from './rollout.js';
import { simulate, type Network, type TenantPlacement } from './simulator.js';
import type { SimReplicaSpec } from './replica.js';
import { fromSpec, seededRandom } from './workload/index.js';
import { fixedPolicy, kedaPolicy, kpaPolicy, poolName, switchyardKnobsSchema, switchyardPolicy, type PoolSpec, type ScalingPolicy } from '../control/index.js';
import { parseStartup } from '../engine/startup.js';
import { gpuHourUsd } from '../control/economics/index.js';
import type { SimAutoscaleInput, SimAutoscalePool } from './autoscale.js';

// A scenario, run once per policy (and per admission discipline: every pair) on the same
// arrivals, into one report.

export interface RunOptions {
  /** overrides the scenario's seed */
  readonly seed?: number;
  /** take decode runs (default); false steps one at a time, same results, for checking that */
  readonly coalesce?: boolean;
  /** 0–1 over all runs */
  readonly onProgress?: (fraction: number, policy: string) => void;
  /** what times each run's wall seconds (never in the deterministic report); default the wall's */
  readonly clock?: Clock;
  /**
   * replaces the scenario's `autoscale:` block (null: a fixed fleet as the fleet states it). Start
   * from `autoscaleOf(scenario)` to keep its pools; `policyFor` is called once per pool and run, and
   * must hand a fresh policy each time (a policy keeps its own history).
   */
  readonly autoscale?: SimAutoscaleInput | null;
}

export interface ScenarioResult {
  readonly report: SimReport;
  readonly runs: readonly RunRecords[];
}

export function runScenario(loaded: LoadedScenario, opts: RunOptions = {}): ScenarioResult {
  const s = loaded.scenario;
  const seed = opts.seed ?? s.seed;
  const replicas = fleetOf(s);
  const network = networkOf(s);
  const tenants = placementOf(s);
  // the gateway's rule: stated latencies order the regions, an unstated pair counts as farthest
  const order = regionOrder(s.regions);
  const clock = opts.clock ?? wallClock;
  const routing = s.policies.map((p) => (typeof p === 'string' ? { profile: p, label: p } : { profile: p.profile, label: p.label ?? p.profile }));
  const policies = s.admission === undefined ? routing.map((p) => ({ ...p, admission: null }))
    : routing.flatMap((p) => admissionOf(s, seed).map((a) => ({ ...p, label: routing.length > 1 ? `${p.label}/${a.label}` : a.label, admission: a })));
  const runs: RunRecords[] = [];
  let workloadDescription = '';
  policies.forEach((p, k) => {
    const t0 = clock.monoMs();
    // a fresh workload per run: every policy sees the very same arrivals
    const workload = fromSpec(s.workload, { baseDir: loaded.baseDir, seed });
    workloadDescription = workload.description;
    const run = simulate({
      policyName: p.label,
      admission: p.admission,
      profile: resolveProfile(p.profile, s.profiles),
      regionOrder: order,
      prefixBlockTokens: s.prefixBlockTokens,
      prefixMaxBlocks: s.prefixMaxBlocks,
      replicas,
      workload,
      network,
      tenants,
      defaultModel: s.defaultModel ?? s.fleet[0].model,
      durationS: s.durationS,
      drainLimitS: s.drainLimitS,
      faults: s.faults,
      random: seededRandom(seed ^ 0x5eed),
      retryRandom: seededRandom(seed ^ 0x7e7),
      sampleS: s.sampleS ?? Math.max(1, s.durationS / 600),
      scrapeIntervalS: s.scrapeIntervalS,
      probeIntervalS: s.probeIntervalS,
      maxAttempts: s.upstream.maxAttempts,
      retryBudget: s.upstream.retryBudget,
      backoff: s.upstream.backoff,
      hedge: s.upstream.hedge,
      outlier: outlierPolicy(s.outlier),
      rollout: rolloutOf(s, p.admission, seed),
      autoscale: opts.autoscale !== undefined ? opts.autoscale : autoscaleOf(s),
      faultRandom: seededRandom(seed ^ 0xe770),
      coalesce: opts.coalesce ?? true,
      onProgress: opts.onProgress ? (f) => opts.onProgress!((k + f) / policies.length, p.label) : undefined,
    });
    runs.push({ ...run, wallS: (clock.monoMs() - t0) / 1000 });
  });
  const byClass = s.slo.ttftMsByPriority;
  const slo: Slo = {
    ttftS: s.slo.ttftMs / 1000, tpotS: s.slo.tpotMs / 1000, ...(s.slo.e2eMs !== undefined ? { e2eS: s.slo.e2eMs / 1000 } : {}),
    ...(byClass !== undefined && s.admission !== undefined ? { ttftSByPriority: Object.fromEntries(Object.entries(byClass).map(([p, ms]) => [p, ms / 1000])) } : {}),
  };
  const info: ScenarioInfo = {
    name: s.name, seed, description: s.description, workload: workloadDescription,
    fleet: fleetDescription(s, opts.autoscale !== undefined ? opts.autoscale : autoscaleOf(s)),
    faults: s.faults.map(describeFault), slo,
  };
  return { report: buildReport(info, runs, slo), runs };
}

/**
 * The scenario's autoscaler as a simulation input: its pools as the policies see them (engine
 * model, limits, start-up, the scenario's SLO with TPOT as the inter-token latency) and a policy
 * per pool made afresh on each call. Null when the scenario has no `autoscale:` block.
 */
export function autoscaleOf(s: Scenario): SimAutoscaleInput | null {
  const a = s.autoscale;
  if (a === undefined) return null;
  const pools: SimAutoscalePool[] = a.pools.map((p) => {
    const f = s.fleet.find((x) => x.region === p.region && x.model === p.model)!;
    // checked by the schema already
    const start = parseStartup(p.startup);
    if (!start.ok) throw new RangeError(start.message);
    return {
      name: poolName(p.region, p.model), region: p.region, model: p.model, profile: getProfile(f.profile)!, engine: f.engine,
      min: p.min, max: p.max, scaleToZero: p.scaleToZero, startupMs: start.ms,
      slo: { ttftMs: s.slo.ttftMs, itlMs: s.slo.tpotMs },
      initial: p.initial ?? Math.min(p.max, Math.max(p.min, f.replicas)),
    };
  });
  const knobs = switchyardKnobsSchema.parse(a.knobs ?? {});
  const initial = new Map(pools.map((p) => [p.name, p.initial]));
  const policyFor = (pool: PoolSpec): ScalingPolicy => {
    switch (a.policy) {
      case 'switchyard': return switchyardPolicy(pool, knobs);
      case 'keda': return kedaPolicy(pool, a.options);
      case 'kpa': return kpaPolicy(pool, a.options);
      case 'fixed': return fixedPolicy(pool, initial.get(pool.name) ?? pool.min);
    }
  };
  return {
    pools, policyFor, tickS: a.tickS,
    ...(a.latencyWindowS !== undefined ? { latencyWindowS: a.latencyWindowS } : {}),
    ...(a.warmupS !== undefined ? { warmupS: a.warmupS } : {}),
    ...(a.staleAfterS !== undefined ? { staleAfterS: a.staleAfterS } : {}),
  };
}

/** "4× llama-3.1-8b-h100 (llama-3.1-8b) in us-east"; an autoscaled pool says its range and start-up. */
function fleetDescription(s: Scenario, scaling: SimAutoscaleInput | null): string {
  return s.fleet.map((p) => {
    const a = scaling?.pools.find((x) => x.region === p.region && x.model === p.model);
    return a === undefined ? `${p.replicas}× ${p.profile} (${p.model}) in ${p.region}`
      : `${a.min}–${a.max}× ${p.profile} (${p.model}) in ${p.region}, autoscaled from ${a.initial}, start-up ${a.startupMs / 1000} s`;
  }).join('; ');
}

/** The scenario's rollout for one run; the driver's capacity per replica is the admission policy's (96 without admission). */
function rolloutOf(s: Scenario, admission: SimAdmissionInput | null, seed: number): SimRolloutInput | null {
  const r = s.rollout;
  if (r === undefined) return null;
  const limit = s.admission?.find((a) => (a.label ?? a.discipline) === admission?.label)?.maxInflightPerReplica ?? DEFAULT_PER_REPLICA_LIMIT;
  return { atS: r.atS, spec: r.spec, tickS: r.tickS, warm: r.warm, shadow: r.shadow, perReplicaLimit: limit, seed };
}

/** One admission input per entry of `admission:`, each with its own fresh draws from the same seed. */
function admissionOf(s: Scenario, seed: number): SimAdmissionInput[] {
  return (s.admission ?? []).map(({ label, ...policy }) => {
    const classes = new Map<string, TenantAdmission>();
    return {
      label: label ?? policy.discipline,
      policy: admissionPolicy(policy),
      tenant: (t) => {
        let c = classes.get(t);
        if (c === undefined) {
          const d = s.tenants[t];
          classes.set(t, (c = { priority: d?.priority ?? 'standard', weight: d?.weight ?? 1, deadlineMs: d?.deadlineMs ?? null }));
        }
        return c;
      },
      random: seededRandom(seed ^ 0xad317),
    };
  });
}

function fleetOf(s: Scenario): SimReplicaSpec[] {
  const out: SimReplicaSpec[] = [];
  for (const p of s.fleet) {
    const profile = getProfile(p.profile)!;
    for (let i = 0; i < p.replicas; i++) {
      out.push({ id: poolReplicaId(p, i), region: p.region, model: p.model, version: p.version ?? p.model, profile, engine: p.engine, costPerGpuHour: gpuHourUsd(profile, p.costPerGpuHour) });
    }
  }
  return out;
}

function networkOf(s: Scenario): Network {
  const table = new Map<string, number>();
  for (const r of s.regions) {
    for (const [o, ms] of Object.entries(r.latencyMs)) {
      table.set(`${r.name}→${o}`, ms / 1000);
      if (!table.has(`${o}→${r.name}`)) table.set(`${o}→${r.name}`, ms / 1000);
    }
  }
  const intra = s.intraRegionLatencyMs / 1000;
  // unstated pairs between distinct regions still need a delay on the wire: a cross-continent one
  // (their order is the gateway's rule: last)
  return { latencyS: (a, b) => (a === b ? intra : table.get(`${a}→${b}`) ?? UNSTATED_WIRE_MS / 1000) };
}

function placementOf(s: Scenario): (tenant: string) => TenantPlacement {
  const home = s.regions[0].name;
  const cache = new Map<string, TenantPlacement>();
  return (t) => {
    let p = cache.get(t);
    if (p === undefined) {
      const c = s.tenants[t];
      p = { region: c?.region ?? c?.allowedRegions?.[0] ?? home, allowedRegions: c?.allowedRegions ?? null };
      cache.set(t, p);
    }
    return p;
  };
}
