// Who is calling: an API key from the request's headers → tenant, workspace, tier, allowed regions,
// priority and spend limit.
// Tenants, workspaces and keys live in ledger/'s Store (one database for keys and usage); the store
// is re-exported here because opening it is where tenancy starts.
export { AUTH_UNAVAILABLE, createAuthenticator } from './authenticator.js';
export type { AuthContext, Authenticator, AuthenticatorOptions, AuthOutcome } from './authenticator.js';
export { bearer, extractKey } from './extract.js';
export type { HeaderBag } from './extract.js';
export { createKeyFor, ProvisionError } from './provision.js';
export type { KeyFor, KeyForInput } from './provision.js';
export { ensureDemoTenant, openStore } from '../ledger/index.js';
export type { ApiKey, DemoTenant, KeyEntitlement, Store, StoreOptions, Tenant, Workspace } from '../ledger/index.js';
// a key's priority is admission's vocabulary, defined there once
export { PRIORITIES } from '../admission/index.js';
export type { Priority } from '../admission/index.js';
