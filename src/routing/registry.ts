import { LoadGuardFilter } from './filters/load-guard.js';
import { RegionFilter } from './filters/region.js';
import { MaxScorePicker } from './pickers/max-score.js';
import { PowerOfTwoPicker } from './pickers/power-of-two.js';
import { RandomPicker } from './pickers/random.js';
import { RoundRobinPicker } from './pickers/round-robin.js';
import type { Filter, Picker, Scorer } from './plugin.js';
import type { ProfileSpec } from './profile.js';
import { ConsistentHashScorer } from './scorers/consistent-hash.js';
import { InflightTokensScorer } from './scorers/inflight-tokens.js';
import { KvUtilisationScorer } from './scorers/kv-utilisation.js';
import { LeastOutstandingScorer } from './scorers/least-outstanding.js';
import { PrefillBacklogScorer } from './scorers/prefill-backlog.js';
import { PrefixAffinityScorer } from './scorers/prefix-affinity.js';
import { PrefixPreciseScorer } from './scorers/prefix-precise.js';
import { QueueDepthScorer } from './scorers/queue-depth.js';
import { SessionAffinityScorer } from './scorers/session-affinity.js';

// Plugin type → factory. Profiles name plugins by type and resolve them here at load, so adding a
// plugin is one file plus one `register` line below; an unknown name fails at load, listing the
// known ones. A name without its `-<kind>` suffix (`queue-depth` for `queue-depth-scorer`) is
// accepted as an alias: those were the names before plugins had types.

export type PluginKind = 'filter' | 'scorer' | 'picker';
export type FilterType = `${string}-filter`;
export type ScorerType = `${string}-scorer`;
export type PickerType = `${string}-picker`;

/** Builds one plugin instance for one Router; its parameters are read from the routing profile here, once. */
export type PluginFactory<P> = (profile: ProfileSpec) => P;

interface Plugins {
  filter: Filter;
  scorer: Scorer;
  picker: Picker;
}

const factories: { [K in PluginKind]: Map<string, PluginFactory<Plugins[K]>> } = {
  filter: new Map(),
  scorer: new Map(),
  picker: new Map(),
};

const TYPE = /^[a-z0-9]+(?:-[a-z0-9]+)*-(filter|scorer|picker)$/;

export function register(type: FilterType, factory: PluginFactory<Filter>): void;
export function register(type: ScorerType, factory: PluginFactory<Scorer>): void;
export function register(type: PickerType, factory: PluginFactory<Picker>): void;
export function register(type: string, factory: PluginFactory<Filter | Scorer | Picker>): void {
  const kind = TYPE.exec(type)?.[1] as PluginKind | undefined;
  if (kind === undefined) throw new TypeError(`a routing plugin type is <what>-<kind>, kind one of filter, scorer, picker; got "${type}"`);
  const map = factories[kind] as Map<string, PluginFactory<Filter | Scorer | Picker>>;
  if (map.has(type)) throw new TypeError(`routing plugin "${type}" is registered already`);
  map.set(type, factory);
}

/** The registered types of one kind, in registration order. */
export function pluginTypes(kind: PluginKind): string[] {
  return [...factories[kind].keys()];
}

/** The type a profile's name means (itself, or the alias without the suffix); null when unknown. */
export function resolveType(kind: PluginKind, name: string): string | null {
  const map = factories[kind];
  if (map.has(name)) return name;
  const typed = `${name}-${kind}`;
  return map.has(typed) ? typed : null;
}

/** Why a name is not a plugin of this kind, listing the known ones. */
export function unknownPlugin(kind: PluginKind, name: string): string {
  return `unknown ${kind} "${name}"; known: ${pluginTypes(kind).join(', ')} (or each without "-${kind}")`;
}

function create<K extends PluginKind>(kind: K, name: string, profile: ProfileSpec): Plugins[K] {
  const type = resolveType(kind, name);
  if (type === null) throw new RangeError(unknownPlugin(kind, name));
  return factories[kind].get(type)!(profile);
}

export const createFilter = (name: string, p: ProfileSpec): Filter => create('filter', name, p);
export const createScorer = (name: string, p: ProfileSpec): Scorer => create('scorer', name, p);
export const createPicker = (name: string, p: ProfileSpec): Picker => create('picker', name, p);

// ── the shipped plugins (one line each; the formula is in each file's header) ──

register('region-filter', (p) => new RegionFilter(p));
register('load-guard-filter', (p) => new LoadGuardFilter(p));

register('least-outstanding-scorer', () => new LeastOutstandingScorer());
register('queue-depth-scorer', () => new QueueDepthScorer());
register('kv-utilisation-scorer', () => new KvUtilisationScorer());
register('inflight-tokens-scorer', () => new InflightTokensScorer());
register('prefix-affinity-scorer', () => new PrefixAffinityScorer());
register('prefix-precise-scorer', () => new PrefixPreciseScorer());
register('session-affinity-scorer', () => new SessionAffinityScorer());
register('consistent-hash-scorer', (p) => new ConsistentHashScorer(p));
register('prefill-backlog-scorer', () => new PrefillBacklogScorer());

register('max-score-picker', () => new MaxScorePicker());
register('random-picker', () => new RandomPicker());
register('round-robin-picker', () => new RoundRobinPicker());
register('power-of-two-picker', () => new PowerOfTwoPicker());
