import { z } from 'zod';

// How a model's admission queue admits work it cannot start at once. Priorities order the
// classes; inside a class a weighted fair queue shares its capacity among tenants; a request is
// shed (529) when its predicted time to first token would break its deadline, and lower classes
// begin shedding earlier, on a ramp, so load is shed gradually as saturation rises rather than at
// a cliff. `fcfs` and `cliff` are the baselines the simulator compares against: one queue in
// arrival order, never shed or shed beyond a fixed length.

export const PRIORITIES = ['interactive', 'standard', 'batch'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const DISCIPLINES = ['fair', 'fcfs', 'cliff'] as const;
export type Discipline = (typeof DISCIPLINES)[number];

/** A ramp of predicted queue wait: shedding starts at `fromMs` and is certain at `toMs`. */
const rampSchema = z.object({ fromMs: z.number().nonnegative(), toMs: z.number().positive() }).strict()
  .refine((r) => r.toMs > r.fromMs, { message: 'shed.toMs must be above shed.fromMs' });

const classSchema = (deadlineMs: number, shed: { fromMs: number; toMs: number } | null) => z.object({
  /** the first token is due this long after arrival unless the request asks for less */
  deadlineMs: z.number().positive().default(deadlineMs),
  /** early shedding on predicted queue wait, before the deadline is at risk; null: only a sure miss */
  shed: rampSchema.nullable().default(shed),
}).strict().prefault({});

type Ramp = { fromMs: number; toMs: number } | null;
const fromOf = (r: Ramp) => (r === null ? Infinity : r.fromMs);
const toOf = (r: Ramp) => (r === null ? Infinity : r.toMs);

export const admissionSchema = z.object({
  discipline: z.enum(DISCIPLINES).default('fair'),
  /**
   * requests in flight per routable replica; beyond it the gateway holds requests in its queue. Too
   * low leaves replicas idle, too high leaves the order to the engines (docs/admission.md: 64–96 was
   * the knee for an 8B model on an H100 with chat-length requests)
   */
  maxInflightPerReplica: z.number().int().positive().default(96),
  /** requests held per admission queue at most: `cliff` sheds beyond it; a memory bound for the others */
  maxQueue: z.number().int().positive().default(10_000),
  classes: z.object({
    interactive: classSchema(10_000, null),
    standard: classSchema(30_000, { fromMs: 5_000, toMs: 20_000 }),
    batch: classSchema(120_000, { fromMs: 1_000, toMs: 10_000 }),
  }).strict().prefault({})
    // a lower class never sheds later than a higher one at the same wait (it also waits longer)
    .refine((c) => fromOf(c.batch.shed) <= fromOf(c.standard.shed) && fromOf(c.standard.shed) <= fromOf(c.interactive.shed)
      && toOf(c.batch.shed) <= toOf(c.standard.shed) && toOf(c.standard.shed) <= toOf(c.interactive.shed), {
      message: 'shed ramps must be ordered: batch starts and ends no later than standard, standard no later than interactive',
    }),
  /** what the queue assumes before it has seen requests finish (then it learns) */
  prior: z.object({
    /** from dispatch to the last token */
    serviceMs: z.number().positive().default(8_000),
    /** from dispatch to the first token */
    firstTokenMs: z.number().positive().default(500),
  }).strict().prefault({}),
  /** weight of the newest observation in the moving averages of service and first-token time */
  learningRate: z.number().gt(0).max(1).default(0.05),
}).strict();

export type AdmissionPolicy = z.infer<typeof admissionSchema>;
export type AdmissionPolicyInput = z.input<typeof admissionSchema>;

/** The shipped disciplines as complete policies: the simulator's `admission:` names them. */
export function admissionPolicy(input: AdmissionPolicyInput = {}): AdmissionPolicy {
  return admissionSchema.parse(input);
}

export function isPriority(s: unknown): s is Priority {
  return s === 'interactive' || s === 'standard' || s === 'batch';
}
