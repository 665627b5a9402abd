export { Gateway } from './gateway.js';
export type { GatewayDeps, ModelEntry } from './gateway.js';
export { createBackends } from './backends.js';
export type { Backend } from './backends.js';
export { startPlatform } from './platform.js';
export type { Platform, PlatformOptions } from './platform.js';
