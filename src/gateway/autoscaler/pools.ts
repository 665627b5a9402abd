import type { Config } from '../../config/index.js';
import { AUTOSCALER_MAX_REPLICAS, autoscalerPoolSchema, type AutoscalerPoolConfig } from '../../config/schema.js';
import { poolName, type PoolSpec } from '../../control/index.js';
import { getProfile, startupMs, type StartupKind } from '../../engine/index.js';

// Which pools the gateway's autoscaler sizes, and what each is: the configured pools, or, with none
// configured, every demo pool between 1 and twice its replicas (two pools of one model in one
// region, two versions, are one pool: they scale as one).

/** A pool as the gateway runs it: the driver's spec and how its replicas are made. */
export interface AutoscaledPool {
  readonly spec: PoolSpec;
  /** the engine profile's name (the demo engine's `--profile`) */
  readonly profile: string;
  /** the demo engine's simulated start-up (`--startup`) */
  readonly startup: StartupKind | number;
  /** a Deployment to scale; null: `switchyard engine` processes on this machine */
  readonly kubernetes: AutoscalerPoolConfig['kubernetes'] | null;
}

/** The derived pools' upper bound: this many times the replicas the demo pool starts with. */
const DERIVED_GROWTH = 2;

export function autoscaledPools(config: Config): AutoscaledPool[] {
  const a = config.autoscaler;
  const given = a.pools.length > 0 ? a.pools : derived(config);
  return given.map((p) => {
    const model = config.models.find((m) => m.id === p.model);
    const demo = config.demo.find((d) => d.model === p.model && d.region === p.region && d.profile !== undefined);
    const profileName = demo?.profile ?? model?.profile ?? 'llama-3.1-8b-h100';
    const profile = getProfile(profileName);
    if (profile === undefined) throw new RangeError(`autoscaler pool ${p.region}/${p.model}: unknown engine profile ${profileName}`);
    return {
      spec: {
        name: poolName(p.region, p.model), model: p.model, region: p.region, profile, engine: {},
        min: p.min, max: p.max, scaleToZero: p.scaleToZero, startupMs: startupMs(p.startup), slo: { ttftMs: p.slo.ttftMs, itlMs: p.slo.itlMs },
      },
      profile: profileName, startup: p.startup, kubernetes: p.kubernetes ?? null,
    };
  });
}

function derived(config: Config): AutoscalerPoolConfig[] {
  const byPool = new Map<string, AutoscalerPoolConfig>();
  const demoReplicas = new Map<string, number>();
  for (const d of config.demo) {
    const name = poolName(d.region, d.model);
    const replicas = d.replicas + (demoReplicas.get(name) ?? 0);
    demoReplicas.set(name, replicas);
    // a big demo pool is held to the pool ceiling rather than refused at start-up
    const max = Math.min(AUTOSCALER_MAX_REPLICAS, Math.max(1, DERIVED_GROWTH * replicas));
    // the configured pool's defaults otherwise (start-up, SLO)
    byPool.set(name, autoscalerPoolSchema.parse({ model: d.model, region: d.region, min: 1, max }));
  }
  return [...byPool.values()];
}
