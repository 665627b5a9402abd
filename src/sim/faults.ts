import { z } from 'zod';

// Faults a scenario injects on a schedule. A target is one replica (by id), every replica of a
// region (a region outage is a crash of all of them), or every replica.

/** when, for how long, and on what: one replica (by id), every replica of a region, or all */
const when = {
  atS: z.number().nonnegative(),
  /** null = until the end of the run */
  forS: z.number().positive().nullable().default(null),
  replica: z.string().nullable().default(null),
  region: z.string().nullable().default(null),
};

export const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('crash'), ...when }).strict(),
  /** every step takes `factor` times longer */
  z.object({ kind: z.literal('slow'), ...when, factor: z.number().min(1) }).strict(),
  z.object({ kind: z.literal('stale-telemetry'), ...when }).strict(),
]);

export type Fault = z.infer<typeof faultSchema>;

/** One line per fault, for reports. */
export function describeFault(f: Fault): string {
  const who = f.replica !== null ? `replica ${f.replica}` : f.region !== null ? `region ${f.region}` : 'every replica';
  const what = f.kind === 'crash' ? (f.region !== null && f.replica === null ? 'outage of' : 'crash of')
    : f.kind === 'slow' ? `${f.factor}× slower steps on` : 'stale telemetry from';
  return `${what} ${who} at ${f.atS} s${f.forS !== null ? ` for ${f.forS} s` : ''}`;
}
