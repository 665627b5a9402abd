import { resolveConfig } from '../../engine/config.js';
import { getProfile, type HardwareProfile } from '../../engine/index.js';
import { startupMs } from '../../engine/startup.js';
import type { ReplicaOptions } from '../../engine/types.js';
import { replicaCapacity, replicaLatency } from '../autoscaler/capacity.js';
import { PlanError, type DemandSpec, type LoadedPlan, type PlanSpec, type WhatIf } from './spec.js';
import type { Budget, FailureScenario, Offer, PlanMode, PlanProblem, Stream } from './types.js';

// A plan in plain numbers: what can be bought where (offers), what one replica of each carries of
// each stream's request-size class within its tier's SLO (the engine model's capacity, with the TTFT
// budget less the network between the clients and the replica's region), the GPU budgets, and the
// failure scenarios the fleet must carry its demand through. What-ifs are changed plans.

export interface BuildOptions {
  readonly mode: PlanMode;
  /** keep only offers on these GPU types (null or absent: every type) */
  readonly gpuTypes?: readonly string[] | null;
}

/** one-way latency between two regions when the plan states none at all */
export const DEFAULT_LATENCY_MS = 100;
/** one-way latency from a client to a replica in its own region */
export const INTRA_REGION_MS = 0.5;
/** seconds a preempted spot replica is down when the plan does not say: a cold vLLM start-up */
export const DEFAULT_REPLACE_S = startupMs('cold') / 1000;

/** `normal`, then each region lost when the plan must survive the loss of any one. */
export function scenariosOf(plan: PlanSpec): FailureScenario[] {
  const lost = plan.failure.survive === 'any-region' ? plan.regions.map((r): FailureScenario => `lost:${r.name}`) : [];
  return ['normal', ...lost];
}

/** The plan as a PlanProblem over the given streams (streamsOf). */
export function buildProblem(loaded: LoadedPlan, streams: readonly Stream[], opts: BuildOptions): PlanProblem {
  const { plan } = loaded;
  const keep = opts.gpuTypes == null ? null : new Set(opts.gpuTypes);
  const offers = offersOf(plan).filter((o) => keep === null || keep.has(o.gpu));
  const engines = new Map(plan.hardware.map((h) => [h.profile, engineOf(h.engine)]));
  const latency = latencyOf(plan);
  const cache = new Map<string, Served>();
  const served = streams.map((s) => {
    const tier = plan.tiers[s.tier];
    if (tier === undefined) throw new PlanError(`stream ${s.id}: unknown tier "${s.tier}"`);
    const allowed = new Set(opts.mode.local ? s.allowed.filter((r) => r === s.origin) : s.allowed);
    return s.buckets.map((b) => offers.map((o): Served => {
      if (o.model !== s.model || !allowed.has(o.region)) return NOT_SERVED;
      const ttftMs = tier.ttftMs - networkMs(latency, s.origin, o.region);
      if (!(ttftMs > 0)) return NOT_SERVED;
      const P = Math.round(b.promptTokens);
      const O = Math.max(1, Math.round(b.outputTokens));
      const key = `${o.profile}|${P}|${O}|${ttftMs}|${tier.itlMs}`;
      let c = cache.get(key);
      if (c === undefined) {
        c = perReplica(profileOf(o.profile), engines.get(o.profile) ?? {}, P, O, { ttftMs, itlMs: tier.itlMs });
        cache.set(key, c);
      }
      // the wait a tight request of this class can bear behind another's prefill: its TTFT budget
      // less the network and its own prefill (and the step that emits its first token, which its
      // own prefill at rate 0 includes: see perReplica)
      return c.requestsPerS > 0 ? { ...c, requestsPerS: c.requestsPerS * plan.utilisation, slackS: ttftMs / 1000 - c.ttftIdleS } : NOT_SERVED;
    }));
  });
  const capacity = served.map((bs) => bs.map((os) => os.map((c) => c.requestsPerS)));
  const prefillS = served.map((bs) => bs.map((os) => os.map((c) => c.prefillS)));
  // Head-of-line blocking (solve.ts derives the row): a tight request of class b′ misses when it
  // lands on a replica whose current prefill has more than its slack B_b′ left. By PASTA the share
  // of stream t's requests at offer o that find a prefill of class b with more than B_b′ left is
  // λ_b·(S_b − B_b′)⁺ for each b′, so per request of class b the cost to stream t is the
  // share-weighted Σ_b′ (S_b − B_b′)⁺ over t's classes that may land there. Attainment is judged per
  // stream, so the coefficient is the worst stream's: the tightest tier sets it, each of its classes
  // at its own share (the single tightest class would let a class of 0.01 % of requests price all).
  const patience = offers.map((_o, oi) => served.flatMap((bs, si) => {
    const here = bs.map((os, bi) => ({ share: streams[si].buckets[bi].share, slackS: os[oi].slackS, ok: os[oi].requestsPerS > 0 })).filter((c) => c.ok);
    const total = here.reduce((a, c) => a + c.share, 0);
    return total > 0 ? [here.map((c) => ({ w: c.share / total, slackS: c.slackS }))] : [];
  }));
  const blocking = served.map((bs) => bs.map((os) => os.map((c, oi) => {
    if (!(c.requestsPerS > 0)) return 0;
    let worst = 0;
    for (const classes of patience[oi]) worst = Math.max(worst, classes.reduce((a, k) => a + k.w * Math.max(0, c.prefillS - k.slackS), 0));
    return worst;
  })));
  return {
    hours: plan.hours,
    regions: plan.regions.map((r) => r.name),
    offers,
    streams,
    capacity,
    prefillS,
    blocking,
    // Head-of-line blocking and queueing are two ways to miss, and their misses add. The capacity
    // model spends its tail on queueing (p99s at the SLO at full rate, the plan at `utilisation` of
    // it); blocking is given the other half of the miss budget, so the two together stay within it
    blockingShare: (1 - plan.check.attainment) / 2,
    mixTypesInRegion: plan.mixTypesInRegion,
    budgets: budgetsOf(plan),
    scenarios: scenariosOf(plan),
    mode: opts.mode,
  };
}

/** what one replica does with one request class: its capacity within the SLO, its prefill, and its idle TTFT */
interface Served {
  readonly requestsPerS: number;
  readonly prefillS: number;
  /** an idle replica's TTFT for the class: its prefill and the step that emits the first token, s */
  readonly ttftIdleS: number;
  /** the TTFT budget left for waiting behind other prefills, s (set once the network is known) */
  readonly slackS: number;
}

const NOT_SERVED: Served = { requestsPerS: 0, prefillS: 0, ttftIdleS: 0, slackS: Infinity };

/**
 * What the report must say about offers the solver can never buy: an offer whose capacity is 0 for
 * every request-size class of every stream that may reach it (requests too long for its context or
 * KV cache, or an SLO it cannot meet even idle once the network is taken off), and hardware entries
 * whose model no demand asks for. Without them a plan quietly leaves a GPU type out, and a user
 * reads "never the cheapest" where the truth is "never able".
 */
export function offerWarnings(loaded: LoadedPlan, p: PlanProblem): string[] {
  const out: string[] = [];
  const engines = new Map(loaded.plan.hardware.map((h) => [h.profile, engineOf(h.engine)]));
  const wanted = new Set(p.streams.map((s) => s.model));
  for (const h of loaded.plan.hardware) {
    if (!wanted.has(h.model)) out.push(`${h.profile} serves ${h.model}, which no demand entry asks for: it is never bought`);
  }
  p.offers.forEach((o, oi) => {
    if (!wanted.has(o.model)) return;
    let classes = 0;
    let tooLong = 0;
    p.streams.forEach((s, si) => {
      if (s.model !== o.model || !s.allowed.includes(o.region) || (p.mode.local && o.region !== s.origin)) return;
      s.buckets.forEach((b, bi) => {
        classes++;
        if ((p.capacity[si]?.[bi]?.[oi] ?? 0) > 0) classes = -Infinity;
        else {
          const cfg = resolveConfig(profileOf(o.profile), engines.get(o.profile) ?? {});
          const len = Math.round(b.promptTokens) + Math.max(1, Math.round(b.outputTokens));
          if (len > cfg.maxModelLen || len > cfg.numGpuBlocks * cfg.blockSize) tooLong++;
        }
      });
    });
    if (!(classes > 0)) return; // it can serve something, or nothing may reach it (residency)
    const why = tooLong === classes
      ? 'every request class is too long for its context or KV cache'
      : tooLong > 0
        ? `${tooLong} of ${classes} request classes are too long for its context or KV cache and it misses the tiers' TTFT/ITL on the rest even idle`
        : "it misses the tiers' TTFT/ITL even idle, once the network from the clients is taken off";
    out.push(`${o.id} can serve none of the ${o.model} demand that may reach it (${why}): it is never bought`);
  });
  return out;
}

/**
 * What one replica serves of this shape within the SLO: its rate (0 when it cannot hold the shape or
 * meet the SLO at any load), and its prefill, from the same engine model (capacity.ts): an idle
 * replica's TTFT is the prefill plus one decode step, so the prefill is the difference
 */
function perReplica(profile: HardwareProfile, engine: ReplicaOptions, P: number, O: number, slo: { ttftMs: number; itlMs: number }): Served {
  const cfg = resolveConfig(profile, engine);
  // the engine refuses a request beyond its context or its whole KV cache
  if (P + O > cfg.maxModelLen || P + O > cfg.numGpuBlocks * cfg.blockSize) return NOT_SERVED;
  const shape = { promptTokens: P, outputTokens: O };
  const idle = replicaLatency(profile, engine, shape, 0);
  const timing = { prefillS: (idle.ttftMs - idle.stepMs) / 1000, ttftIdleS: idle.ttftMs / 1000, slackS: Infinity };
  const cap = replicaCapacity(profile, engine, shape, slo);
  const meets = (l: { ttftMs: number; itlMs: number }) => l.ttftMs <= slo.ttftMs * (1 + 1e-9) && l.itlMs <= slo.itlMs * (1 + 1e-9);
  if (meets(cap)) return { requestsPerS: cap.requestsPerS, ...timing };
  // replicaCapacity floors its rate (10 % prefill busy) so a pool never asks for infinity; the
  // planner needs the truth below that floor: the highest rate that meets both, or 0 when even an
  // idle replica misses them
  if (!meets(idle)) return NOT_SERVED;
  let lo = 0;
  let hi = cap.requestsPerS;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (meets(replicaLatency(profile, engine, shape, mid))) lo = mid;
    else hi = mid;
  }
  return { requestsPerS: lo, ...timing };
}

function profileOf(name: string): HardwareProfile {
  const p = getProfile(name);
  if (p === undefined) throw new PlanError(`unknown hardware profile "${name}"`);
  return p;
}

/** the plan's engine options are vLLM's knobs under the same names */
function engineOf(e: PlanSpec['hardware'][number]['engine']): ReplicaOptions {
  const o: ReplicaOptions = {};
  if (e.maxNumSeqs !== undefined) o.maxNumSeqs = e.maxNumSeqs;
  if (e.maxNumBatchedTokens !== undefined) o.maxNumBatchedTokens = e.maxNumBatchedTokens;
  if (e.maxModelLen !== undefined) o.maxModelLen = e.maxModelLen;
  if (e.enablePrefixCaching !== undefined) o.enablePrefixCaching = e.enablePrefixCaching;
  return o;
}

/** a price per GPU-hour in one region, or undefined where it is not offered */
const priceIn = (p: number | Record<string, number>, region: string): number | undefined =>
  typeof p === 'number' ? p : Object.hasOwn(p, region) ? p[region] : undefined;

/** Every offer of the plan: per region, each hardware entry priced there on demand, then on spot. */
export function offersOf(plan: PlanSpec): Offer[] {
  const out: Offer[] = [];
  for (const { name: region } of plan.regions) {
    for (const h of plan.hardware) {
      const prof = profileOf(h.profile);
      const base = { region, profile: h.profile, model: h.model, gpu: prof.gpu.name, gpus: prof.tp };
      const usd = priceIn(h.usdPerGpuHour, region);
      if (usd !== undefined) {
        out.push({ ...base, id: `${region}/${h.profile}`, usdPerGpuHour: usd, spot: false, availability: 1, preemptionsPerHour: 0, replaceS: 0 });
      }
      const spotUsd = h.spot === undefined ? undefined : priceIn(h.spot.usdPerGpuHour, region);
      if (h.spot !== undefined && spotUsd !== undefined) {
        const replaceS = h.spot.replaceS ?? DEFAULT_REPLACE_S;
        out.push({
          ...base, id: `${region}/${h.profile}/spot`, usdPerGpuHour: spotUsd, spot: true,
          availability: Math.max(0, 1 - (h.spot.preemptionsPerHour * replaceS) / 3600),
          preemptionsPerHour: h.spot.preemptionsPerHour, replaceS,
        });
      }
    }
  }
  return out;
}

/** Per region: one budget of any GPU type, or one per listed type (a type the plan runs but leaves out gets 0). */
export function budgetsOf(plan: PlanSpec): Budget[] {
  const types = [...new Set(plan.hardware.map((h) => profileOf(h.profile).gpu.name))];
  const out: Budget[] = [];
  for (const r of plan.regions) {
    const b = r.gpuBudget;
    if (b === undefined) continue;
    if (typeof b === 'number') {
      out.push({ region: r.name, gpuTypes: null, gpus: b });
      continue;
    }
    for (const g of Object.keys(b)) out.push({ region: r.name, gpuTypes: [g], gpus: b[g] });
    for (const g of types) if (!Object.hasOwn(b, g)) out.push({ region: r.name, gpuTypes: [g], gpus: 0 });
  }
  return out;
}

type Latency = (a: string, b: string) => number;

/** One-way ms between regions: stated by either side (the larger if both), else the largest stated, else 100 ms. */
export function latencyOf(plan: PlanSpec): Latency {
  const stated = new Map<string, number>();
  const key = (a: string, b: string) => (a < b ? `${a}\n${b}` : `${b}\n${a}`);
  for (const r of plan.regions) {
    for (const [o, ms] of Object.entries(r.latencyMs)) {
      const k = key(r.name, o);
      stated.set(k, Math.max(stated.get(k) ?? 0, ms));
    }
  }
  const fallback = stated.size > 0 ? Math.max(...stated.values()) : DEFAULT_LATENCY_MS;
  return (a, b) => (a === b ? 0 : stated.get(key(a, b)) ?? fallback);
}

/** the TTFT a client loses to the network: a round trip between the regions plus one within a region */
function networkMs(latency: Latency, origin: string, region: string): number {
  return 2 * latency(origin, region) + 2 * INTRA_REGION_MS;
}

// ── what-ifs ──────────────────────────────────────────────────────────────────

/** A readable default name for a what-if. */
export function whatIfName(w: WhatIf): string {
  if (w.name !== undefined) return w.name;
  const where = (r: string | undefined) => (r === undefined ? '' : ` in ${r}`);
  switch (w.kind) {
    case 'region-lost': return `${w.region} lost`;
    case 'demand': return `demand ×${w.factor}${where(w.region)}`;
    case 'price': return `${w.profile} at $${w.usdPerGpuHour}/GPU-h in ${w.region}`;
    case 'spot': return `spot ${w.profile}${where(w.region)} at ${w.priceFactor} × on-demand, ${w.preemptionsPerHour} preemptions/h`;
  }
}

/** prices as a record over the plan's regions, so one region's can change */
function priceRecord(plan: PlanSpec, p: number | Record<string, number>): Record<string, number> {
  if (typeof p !== 'number') return { ...p };
  return Object.fromEntries(plan.regions.map((r) => [r.name, p]));
}

const without = (p: Record<string, number>, region: string): Record<string, number> =>
  Object.fromEntries(Object.entries(p).filter(([r]) => r !== region));

/**
 * The world a what-if describes, as a plan; nothing else changes. `region-lost`: the region keeps
 * its clients (their latency to the rest is unchanged) but offers nothing, and the fleet is planned
 * for that world with no further loss (the failure policy becomes `none`: losing a second region is
 * not what was asked); demand held there by residency is lost with it (`pinnedTo` names it), as the
 * failure policy's `unprotected` streams are. `demand`: rates × factor (of one region's clients, or all).
 * `price`: the profile's price in the region, offered there when it was not. `spot`: the profile's
 * spot offers replaced by ones at priceFactor × its on-demand price (in one region, or wherever it
 * is offered on demand), with the preemptions given.
 */
/** Demand whose residency allows only `region`: it cannot be served anywhere once the region is gone. */
export function pinnedTo(d: DemandSpec, region: string): boolean {
  return d.residency !== undefined && d.residency.every((r) => r === region);
}

export function applyWhatIf(plan: PlanSpec, w: WhatIf): PlanSpec {
  switch (w.kind) {
    case 'region-lost':
      return {
        ...plan,
        failure: { ...plan.failure, survive: 'none' },
        demand: plan.demand.filter((d) => !pinnedTo(d, w.region)),
        hardware: plan.hardware.map((h) => ({
          ...h,
          usdPerGpuHour: without(priceRecord(plan, h.usdPerGpuHour), w.region),
          ...(h.spot === undefined ? {} : { spot: { ...h.spot, usdPerGpuHour: without(priceRecord(plan, h.spot.usdPerGpuHour), w.region) } }),
        })),
      };
    case 'demand':
      return {
        ...plan,
        demand: plan.demand.map((d) => {
          if (w.region !== undefined && d.region !== w.region) return d;
          const r = d.rate;
          const rate = 'ratesPerS' in r ? { ratesPerS: r.ratesPerS.map((x) => x * w.factor) } : { ...r, peakPerS: r.peakPerS * w.factor };
          return { ...d, rate };
        }),
      };
    case 'price':
      return {
        ...plan,
        hardware: plan.hardware.map((h) => (h.profile !== w.profile ? h : { ...h, usdPerGpuHour: { ...priceRecord(plan, h.usdPerGpuHour), [w.region]: w.usdPerGpuHour } })),
      };
    case 'spot':
      return {
        ...plan,
        hardware: plan.hardware.map((h) => {
          if (h.profile !== w.profile) return h;
          const onDemand = priceRecord(plan, h.usdPerGpuHour);
          const regions = Object.keys(onDemand).filter((r) => w.region === undefined || r === w.region);
          const usdPerGpuHour = Object.fromEntries(regions.map((r) => [r, onDemand[r] * w.priceFactor]));
          return { ...h, spot: { usdPerGpuHour, preemptionsPerHour: w.preemptionsPerHour, ...(w.replaceS === undefined ? {} : { replaceS: w.replaceS }) } };
        }),
      };
  }
}
