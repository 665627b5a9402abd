import { z } from 'zod';

// Faults a scenario injects on a schedule. A target is one replica (by id), every replica of a
// region (a region outage is a crash of all of them), every replica of a model version (a bad
// build in a rollout), or every replica; the targets combine (a version in one region).

/** when, for how long, and on what: one replica (by id), a region's replicas, a version's, or all */
const when = {
  atS: z.number().nonnegative(),
  /** null = until the end of the run */
  forS: z.number().positive().nullable().default(null),
  replica: z.string().nullable().default(null),
  region: z.string().nullable().default(null),
  /** every replica of this model version (a pool's `version`, default its model id) */
  version: z.string().nullable().default(null),
};

export const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('crash'), ...when }).strict(),
  /** every step takes `factor` times longer */
  z.object({ kind: z.literal('slow'), ...when, factor: z.number().min(1) }).strict(),
  z.object({ kind: z.literal('stale-telemetry'), ...when }).strict(),
  /** that share of calls is answered at once with a 500 (seeded draws) */
  z.object({ kind: z.literal('errors'), ...when, rate: z.number().min(0).max(1) }).strict(),
  /** outputs `factor` times as long as the workload asks (a version that rambles) */
  z.object({ kind: z.literal('long-outputs'), ...when, factor: z.number().positive() }).strict(),
  /** steps that compute prompt tokens take `factor` times longer (a slower prefill: TTFT up, decode-only steps unchanged) */
  z.object({ kind: z.literal('ttft'), ...when, factor: z.number().min(1) }).strict(),
]);

export type Fault = z.infer<typeof faultSchema>;

/** One line per fault, for reports. */
export function describeFault(f: Fault): string {
  const parts = [f.replica !== null ? `replica ${f.replica}` : null, (f.version ?? null) !== null ? `version ${f.version}` : null, f.region !== null ? `region ${f.region}` : null]
    .filter((p) => p !== null);
  const who = parts.length > 0 ? parts.join(' in ') : 'every replica';
  const what = f.kind === 'crash' ? (f.region !== null && f.replica === null && (f.version ?? null) === null ? 'outage of' : 'crash of')
    : f.kind === 'slow' ? `${f.factor}× slower steps on`
      : f.kind === 'errors' ? `${+(f.rate * 100).toFixed(2)} % of calls failing (500) on`
        : f.kind === 'long-outputs' ? `${f.factor}× longer outputs on`
          : f.kind === 'ttft' ? `${f.factor}× slower prefill steps on` : 'stale telemetry from';
  return `${what} ${who} at ${f.atS} s${f.forS !== null ? ` for ${f.forS} s` : ''}`;
}
