import { z } from 'zod';

// A profile names one routing pipeline: filters narrow the candidates, weighted scorers rank them,
// a picker chooses. Profiles are data, so an operator defines new ones in config and the simulator
// measures them beside the shipped ones before one becomes the default.

export const FILTER_NAMES = ['region', 'load-guard'] as const;
export const SCORER_NAMES = [
  'least-outstanding', 'queue-depth', 'kv-utilisation', 'inflight-tokens',
  'prefix-affinity', 'prefix-precise', 'session-affinity', 'consistent-hash', 'prefill-backlog',
] as const;
export const PICKER_NAMES = ['max-score', 'random', 'round-robin', 'power-of-two'] as const;

export type FilterName = (typeof FILTER_NAMES)[number];
export type ScorerName = (typeof SCORER_NAMES)[number];
export type PickerName = (typeof PICKER_NAMES)[number];

export const profileSchema = z.object({
  /** in order; `region` keeps a request in its nearest usable region, `load-guard` drops hot replicas */
  filters: z.array(z.enum(FILTER_NAMES)).default(['region']),
  scorers: z.array(z.object({ scorer: z.enum(SCORER_NAMES), weight: z.number().positive().default(1) }).strict()).default([]),
  picker: z.enum(PICKER_NAMES).default('max-score'),
  /** a scrape older than this is stale: its replica is scored on this router's own counts, at a discount */
  staleAfterS: z.number().positive().default(3),
  /** a region is saturated when every usable replica in it reports this many waiting requests or this KV usage */
  spill: z.object({
    waiting: z.number().int().positive().default(8),
    kvUsage: z.number().min(0).max(1).default(0.97),
  }).strict().prefault({}),
  /** keeps replicas whose estimated load ≤ factor × the mean + slack (affinity must not pile onto one) */
  loadGuard: z.object({
    factor: z.number().min(1).default(1.5),
    slack: z.number().nonnegative().default(4),
  }).strict().prefault({}),
  /** bounded-load consistent hashing: no replica takes more than this × the mean load (Mirrokni et al.) */
  consistentHash: z.object({ loadFactor: z.number().min(1).default(1.25) }).strict().prefault({}),
}).strict();

export type ProfileSpec = z.infer<typeof profileSchema>;
export type ProfileInput = z.input<typeof profileSchema>;

const region = ['region'] as const;
const only = (scorer: ScorerName, picker: PickerName = 'max-score'): ProfileInput => ({ filters: [...region], scorers: [{ scorer, weight: 1 }], picker });

/**
 * The shipped profiles. The first five are the published baselines; `default` is the one that won
 * in the simulator (docs/routing.md has the tables and the reason).
 */
export const BUILTIN_PROFILES = {
  'round-robin': { filters: [...region], scorers: [], picker: 'round-robin' },
  random: { filters: [...region], scorers: [], picker: 'random' },
  'least-outstanding': only('least-outstanding'),
  'power-of-two': only('least-outstanding', 'power-of-two'),
  'queue-depth': only('queue-depth'),
  'kv-utilisation': only('kv-utilisation'),
  'inflight-tokens': only('inflight-tokens'),
  /** prefix affinity and nothing else: the pile-up llm-d measured */
  'prefix-only': only('prefix-affinity'),
  'prefix-precise': { filters: ['region', 'load-guard'], scorers: [{ scorer: 'prefix-precise', weight: 2 }, { scorer: 'queue-depth', weight: 1 }], picker: 'max-score' },
  'session-affinity': { filters: ['region', 'load-guard'], scorers: [{ scorer: 'session-affinity', weight: 2 }, { scorer: 'least-outstanding', weight: 1 }], picker: 'max-score' },
  'consistent-hash': only('consistent-hash'),
  /**
   * Switchyard's default: the replica where the request would wait behind the least prefill,
   * counting the prompt blocks it is believed to hold already, then fewest outstanding requests;
   * the load guard keeps a hot prefix from piling onto one replica.
   */
  default: {
    filters: ['region', 'load-guard'],
    scorers: [{ scorer: 'prefill-backlog', weight: 3 }, { scorer: 'least-outstanding', weight: 1 }],
    picker: 'max-score',
  },
} as const satisfies Record<string, ProfileInput>;

export type BuiltinProfileName = keyof typeof BUILTIN_PROFILES;
export const BUILTIN_PROFILE_NAMES = Object.keys(BUILTIN_PROFILES) as BuiltinProfileName[];

/** Whether a profile reads the prompt's prefix blocks (the caller then hashes prompts and feeds the index). */
export function readsPrefix(p: ProfileSpec): boolean {
  return p.scorers.some((s) => s.scorer === 'prefix-affinity' || s.scorer === 'prefix-precise' || s.scorer === 'prefill-backlog' || s.scorer === 'consistent-hash');
}

/** A named profile: a config's own first, then the shipped ones. */
export function resolveProfile(name: string, custom: Readonly<Record<string, ProfileInput>> = {}): ProfileSpec {
  const spec = Object.hasOwn(custom, name) ? custom[name] : Object.hasOwn(BUILTIN_PROFILES, name) ? BUILTIN_PROFILES[name as BuiltinProfileName] : undefined;
  if (spec === undefined) {
    const known = [...Object.keys(custom), ...BUILTIN_PROFILE_NAMES];
    throw new RangeError(`unknown routing profile "${name}"; known: ${known.join(', ')}`);
  }
  return profileSchema.parse(spec);
}
