import { z } from 'zod';

// Faults a scenario injects on a schedule. A target is one replica (by id), every replica of a
// region (a region outage is a crash of all of them), or every replica.

export const faultSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('crash'),
    atS: z.number().nonnegative(),
    /** null = until the end of the run */
    forS: z.number().positive().nullable().default(null),
    replica: z.string().nullable().default(null),
    region: z.string().nullable().default(null),
  }),
  z.object({
    kind: z.literal('slow'),
    atS: z.number().nonnegative(),
    forS: z.number().positive().nullable().default(null),
    /** every step takes this many times longer */
    factor: z.number().min(1),
    replica: z.string().nullable().default(null),
    region: z.string().nullable().default(null),
  }),
  z.object({
    kind: z.literal('stale-telemetry'),
    atS: z.number().nonnegative(),
    forS: z.number().positive().nullable().default(null),
    replica: z.string().nullable().default(null),
    region: z.string().nullable().default(null),
  }),
]);

export type Fault = z.infer<typeof faultSchema>;

/** One line per fault, for reports. */
export function describeFault(f: Fault): string {
  const who = f.replica !== null ? `replica ${f.replica}` : f.region !== null ? `region ${f.region}` : 'every replica';
  const what = f.kind === 'crash' ? (f.region !== null && f.replica === null ? 'outage of' : 'crash of')
    : f.kind === 'slow' ? `${f.factor}× slower steps on` : 'stale telemetry from';
  return `${what} ${who} at ${f.atS} s${f.forS !== null ? ` for ${f.forS} s` : ''}`;
}
