// routing/ — which replica serves a request: filters → scorers → picker over what they are handed. Pure.
export type { CachedBlocks, Endpoint, PrefixLookup, RouteRequest, RoutingState, ScrapedLoad, SessionLookup } from './endpoint.js';
export {
  BUILTIN_PROFILE_NAMES, BUILTIN_PROFILES, FILTER_NAMES, PICKER_NAMES, SCORER_NAMES, profileSchema, readsPrefix, resolveProfile,
} from './profile.js';
export type { BuiltinProfileName, FilterName, PickerName, ProfileInput, ProfileSpec, ScorerName } from './profile.js';
export { nearestFirst } from './regions.js';
export { Router } from './router.js';
export type { RouterOptions } from './router.js';
