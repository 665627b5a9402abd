import type { HardwareProfile } from '../../engine/index.js';

// What a GPU-hour costs when nothing says otherwise: list-price ballparks for on-demand cloud GPUs,
// USD per GPU-hour, by the profile's GPU type. A pool's, replica's or plan's own price overrides.
// Each figure says where it comes from in docs/capacity.md.

export const DEFAULT_GPU_HOUR_USD: Readonly<Record<string, number>> = Object.freeze({
  'H100-SXM-80GB': 2.99,
  'A100-SXM-80GB': 1.79,
  // one-GPU instances' on-demand list price (AWS g6e.xlarge, g6.xlarge; us-east-1), whole instance ÷ 1 GPU
  'L40S-48GB': 1.86,
  'L4-24GB': 0.8,
});

/** the price of a GPU type nobody priced */
export const FALLBACK_GPU_HOUR_USD = 2.5;

export function gpuHourUsd(profile: HardwareProfile, override?: number): number {
  return override ?? DEFAULT_GPU_HOUR_USD[profile.gpu.name] ?? FALLBACK_GPU_HOUR_USD;
}
