import type { Config } from '../../config/index.js';
import { DEFAULT_GPU_HOUR_USD } from '../../control/economics/index.js';
import { getProfile } from '../../engine/index.js';

// What a replica runs on and what an hour of it costs. The GPU type and count come from its engine
// profile: a `replicas:` entry may state one; a demo or autoscaled replica runs its pool's (or its
// model's) profile. Without one the hardware is unknown: 1 GPU at the fallback price, and the admin
// view says so rather than guessing a type.

/** Where a replica's price came from, in the order they are tried. */
export type PriceSource = 'replica' | 'region' | 'config' | 'default' | 'fallback';

export interface ReplicaHardware {
  /** the engine profile, null when unknown */
  readonly profile: string | null;
  /** its GPU type, null when unknown */
  readonly gpu: string | null;
  readonly gpus: number;
  readonly usdPerGpuHour: number;
  readonly priceFrom: PriceSource;
}

/** The replica fields hardware is told by. */
export interface ReplicaIdentity {
  readonly model: string;
  readonly region: string;
  readonly url: string;
  readonly version: string;
}

export type HardwareConfig = Pick<Config, 'costs' | 'replicas' | 'demo' | 'models'>;

/** Resolves each replica's hardware and price from the configuration. */
export function hardwareOf(config: HardwareConfig): (r: ReplicaIdentity) => ReplicaHardware {
  const c = config.costs;
  return (r) => {
    // a configured replica is known by its address (the fleet names it by position, which an admin join shifts)
    const listed = config.replicas.find((x) => x.url === r.url && x.model === r.model);
    let profileName: string | null;
    if (listed !== undefined) {
      profileName = listed.profile ?? null;
    } else {
      const here = config.demo.filter((d) => d.model === r.model && d.region === r.region && d.profile !== undefined);
      const pool = here.find((d) => d.version === r.version) ?? here[0];
      profileName = pool?.profile ?? config.models.find((m) => m.id === r.model)?.profile ?? null;
    }
    const profile = profileName === null ? undefined : getProfile(profileName);
    const gpu = profile?.gpu.name ?? null;
    const gpus = profile?.tp ?? 1;
    const priced = priceOf(c, listed?.usdPerGpuHour, r.region, gpu);
    return { profile: profile === undefined ? null : profileName, gpu, gpus, ...priced };
  };
}

function priceOf(c: Config['costs'], own: number | undefined, region: string, gpu: string | null): { usdPerGpuHour: number; priceFrom: PriceSource } {
  if (own !== undefined) return { usdPerGpuHour: own, priceFrom: 'replica' };
  if (gpu !== null) {
    const inRegion = Object.hasOwn(c.regions, region) ? c.regions[region] : undefined;
    if (inRegion !== undefined && Object.hasOwn(inRegion, gpu)) return { usdPerGpuHour: inRegion[gpu], priceFrom: 'region' };
    if (Object.hasOwn(c.gpuHourUsd, gpu)) return { usdPerGpuHour: c.gpuHourUsd[gpu], priceFrom: 'config' };
    if (Object.hasOwn(DEFAULT_GPU_HOUR_USD, gpu)) return { usdPerGpuHour: DEFAULT_GPU_HOUR_USD[gpu], priceFrom: 'default' };
  }
  return { usdPerGpuHour: c.fallbackGpuHourUsd, priceFrom: 'fallback' };
}
