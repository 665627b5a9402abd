// routing/ — which replica serves a request: filters → scorers → picker over what they are handed. Pure.
export type { CachedBlocks, Endpoint, PrefixLookup, RouteRequest, RoutingState, ScrapedLoad, SessionLookup } from './endpoint.js';
export { BUILTIN_PROFILE_NAMES, BUILTIN_PROFILES, profileSchema, readsPrefix, resolveProfile } from './profile.js';
export type { BuiltinProfileName, ProfileInput, ProfileSpec } from './profile.js';
export { lowerIsBetter, mix, STALE_DISCOUNT } from './plugin.js';
export type { Decision, Filter, Picker, Reads, Scorer } from './plugin.js';
export { pluginTypes, register, resolveType } from './registry.js';
export type { FilterType, PickerType, PluginFactory, PluginKind, ScorerType } from './registry.js';
export { nearestFirst } from './regions.js';
export { Router } from './router.js';
export type { RouterOptions } from './router.js';
export { regionOrder, statedLatencyMs, UNSTATED, UNSTATED_WIRE_MS } from './regions.js';
export type { RegionLatencies } from './regions.js';
export { Decider } from './decide.js';
export type { DecideOptions, PrefixRecorder, RouteTicket, SessionRecorder } from './decide.js';
export { promptChars, promptPrefix } from './prompt-prefix.js';
export type { PromptPrefix } from './prompt-prefix.js';
