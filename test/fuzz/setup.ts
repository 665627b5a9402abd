import { loadConfig } from '../../src/config/index.js';
import { startPlatform } from '../../src/gateway/index.js';
import { createLogger } from '../../src/observe/index.js';
import { startEngineServer } from '../../src/simengine/index.js';
import { ensureDemoTenant, openStore } from '../../src/tenancy/index.js';
import { startRig, type Rig } from './rig.js';

/** The rig over this checkout's src/ (the bench passes dist/). */
export function startSourceRig(): Promise<Rig> {
  return startRig({ loadConfig, startPlatform, startEngineServer, createLogger, openStore, ensureDemoTenant });
}
