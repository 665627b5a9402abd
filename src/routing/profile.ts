import { z } from 'zod';
import { createScorer, resolveType, unknownPlugin, type FilterType, type PickerType, type PluginKind, type ScorerType } from './registry.js';

// A profile names one routing pipeline: filters narrow the candidates, weighted scorers rank them,
// a picker chooses. Profiles are data, so an operator defines new ones in config and the simulator
// measures them beside the shipped ones before one becomes the default.

/** A plugin name in a profile: its type, or the alias without the `-<kind>` suffix; normalised to the type. */
function pluginName<T extends string>(kind: PluginKind) {
  return z.string().transform((name, ctx) => {
    const type = resolveType(kind, name);
    if (type === null) {
      ctx.addIssue({ code: 'custom', message: unknownPlugin(kind, name), input: name });
      return z.NEVER;
    }
    return type as T;
  });
}

/** `{ use: queue-depth-scorer, weight: 2 }`; the older key `scorer:` is accepted and normalised to `use`. */
const weightedScorer = z.object({
  use: pluginName<ScorerType>('scorer').optional(),
  scorer: pluginName<ScorerType>('scorer').optional(),
  weight: z.number().positive().default(1),
}).strict().transform((s, ctx) => {
  const use = s.use ?? s.scorer;
  if (use === undefined || (s.use !== undefined && s.scorer !== undefined)) {
    ctx.addIssue({ code: 'custom', message: 'a scorer is named by `use:` (or the older `scorer:`), exactly one of them', input: s });
    return z.NEVER;
  }
  return { use, weight: s.weight };
});

export const profileSchema = z.object({
  /** in order; `region-filter` keeps a request in its nearest usable region, `load-guard-filter` drops hot replicas */
  filters: z.array(pluginName<FilterType>('filter')).default(['region-filter']),
  scorers: z.array(weightedScorer).default([]),
  picker: pluginName<PickerType>('picker').default('max-score-picker'),
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

const region = ['region-filter'] as const;
const only = (use: ScorerType, picker: PickerType = 'max-score-picker'): ProfileInput => ({ filters: [...region], scorers: [{ use, weight: 1 }], picker });

/**
 * The shipped profiles. The first five are the published baselines; `default` is the one that won
 * in the simulator (docs/routing.md has the tables and the reason).
 */
export const BUILTIN_PROFILES = {
  'round-robin': { filters: [...region], scorers: [], picker: 'round-robin-picker' },
  random: { filters: [...region], scorers: [], picker: 'random-picker' },
  'least-outstanding': only('least-outstanding-scorer'),
  'power-of-two': only('least-outstanding-scorer', 'power-of-two-picker'),
  'queue-depth': only('queue-depth-scorer'),
  'kv-utilisation': only('kv-utilisation-scorer'),
  'inflight-tokens': only('inflight-tokens-scorer'),
  /** prefix affinity and nothing else: the pile-up llm-d measured */
  'prefix-only': only('prefix-affinity-scorer'),
  'prefix-precise': {
    filters: ['region-filter', 'load-guard-filter'],
    scorers: [{ use: 'prefix-precise-scorer', weight: 2 }, { use: 'queue-depth-scorer', weight: 1 }],
    picker: 'max-score-picker',
  },
  'session-affinity': {
    filters: ['region-filter', 'load-guard-filter'],
    scorers: [{ use: 'session-affinity-scorer', weight: 2 }, { use: 'least-outstanding-scorer', weight: 1 }],
    picker: 'max-score-picker',
  },
  'consistent-hash': only('consistent-hash-scorer'),
  /**
   * Switchyard's default: the replica where the request would wait behind the least prefill,
   * counting the prompt blocks it is believed to hold already, then fewest outstanding requests;
   * the load guard keeps a hot prefix from piling onto one replica.
   */
  default: {
    filters: ['region-filter', 'load-guard-filter'],
    scorers: [{ use: 'prefill-backlog-scorer', weight: 3 }, { use: 'least-outstanding-scorer', weight: 1 }],
    picker: 'max-score-picker',
  },
} as const satisfies Record<string, ProfileInput>;

export type BuiltinProfileName = keyof typeof BUILTIN_PROFILES;
export const BUILTIN_PROFILE_NAMES = Object.keys(BUILTIN_PROFILES) as BuiltinProfileName[];

/**
 * Whether a profile reads the prompt's prefix blocks (the caller then hashes prompts and feeds the
 * index): whether one of its scorers declares `reads: 'prefix'`.
 */
export function readsPrefix(p: ProfileSpec): boolean {
  return p.scorers.some((s) => createScorer(s.use, p).reads === 'prefix');
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
