// sim/workload — what arrives: synthetic processes (Poisson, gamma bursts, shared-prefix chat
// sessions), replays of the Azure 2023 and Mooncake traces, mixes of them and diurnal days looped
// from a trace, as pull iterators of Arrivals whose prompts are segments (so prefix reuse is
// visible to the engine's cache).
export type { Arrival, EmpiricalTrace, LengthDist, Segment, TenantMix, TraceWorkload, Workload } from './types.js';
export { EMPIRICAL_TRACES, WorkloadError } from './types.js';
export { blockHashes } from './hash.js';
export { RandomStream, deriveSeed, seededRandom } from './rng.js';
export { poisson, gamma } from './synthetic.js';
export type { GammaOptions, SyntheticOptions } from './synthetic.js';
export { sharedPrefix } from './shared-prefix.js';
export type { SessionOptions, SharedPrefixOptions } from './shared-prefix.js';
export { azureTrace } from './azure.js';
export { mooncakeTrace } from './mooncake.js';
export type { MooncakeOptions } from './mooncake.js';
export type { TraceOptions } from './replay.js';
export { diurnal, readTrace, traceLoop, warpOf, DAY_S } from './diurnal.js';
export type { DiurnalOptions, DiurnalShape, Warp } from './diurnal.js';
export { mix } from './mix.js';
export type { MixOptions } from './mix.js';
export { fromSpec, LengthSpec, WorkloadSpec } from './spec.js';
export type { SpecContext, WorkloadSpecInput } from './spec.js';
