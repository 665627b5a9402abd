export { Gateway } from './server.js';
export type { GatewayDeps } from './server.js';
export type { ModelEntry, RequestContext } from './context.js';
export { createBackends } from './backends.js';
export type { Backend } from './backends.js';
export { startPlatform } from './platform.js';
export type { Platform, PlatformOptions } from './platform.js';
export { RolloutService } from './rollouts.js';
export type { RolloutControl, RolloutServiceOptions, Who } from './rollouts.js';
