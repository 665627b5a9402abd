import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createReplicaModel, getProfile, profileNames, type HardwareProfile, type EngineConfig, type ReplicaOptions, type ReplicaStats,
} from '../engine/index.js';
import { wall, type TimePorts } from '../time/index.js';
import type { EngineExchange } from './engine-exchange.js';
import type { FaultSpec } from './faults.js';
import { EngineMetrics } from './metrics.js';
import { EngineService } from './service.js';

export interface EngineServerOptions {
  /** the served model name clients must ask for */
  model: string;
  /** a shipped hardware profile's name or a hardware profile; default llama-3.1-8b-h100 */
  profile?: string | HardwareProfile;
  /** default 0 (any free port) */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** divide every step time by this (tests run the model faster than the hardware); default 1 */
  timeScale?: number;
  /** vLLM knobs: max_num_seqs, max_num_batched_tokens, num_gpu_blocks_override, max_model_len, … */
  engine?: ReplicaOptions;
  /** start with a fault injected (see POST /sim/faults) */
  faults?: FaultSpec;
  /** the clock and timers the engine steps on, and the draw for response ids; default the wall's */
  time?: TimePorts;
  /** ms it listens but answers 503 (loading) before it takes requests, as a starting vLLM does; default 0 */
  startupMs?: number;
}

export interface EngineServer {
  readonly url: string;
  readonly port: number;
  readonly model: string;
  readonly profile: HardwareProfile;
  readonly config: EngineConfig;
  /** true until its start-up is over */
  readonly loading: boolean;
  stats(): ReplicaStats;
  setFaults(f: FaultSpec): void;
  close(): Promise<void>;
}

/** Serve one simulated vLLM-like replica over HTTP, in real time. */
export async function startEngineServer(opts: EngineServerOptions): Promise<EngineServer> {
  const profile = resolveProfile(opts.profile ?? 'llama-3.1-8b-h100');
  const model = createReplicaModel<EngineExchange>(profile, opts.engine);
  const cfg = model.config;
  const time = opts.time ?? wall;
  const created = Math.floor(time.clock.nowMs() / 1000);
  const metrics = new EngineMetrics(opts.model, {
    block_size: cfg.blockSize, cache_dtype: 'auto', enable_prefix_caching: cfg.enablePrefixCaching,
    gpu_memory_utilization: profile.memory.gpuMemoryUtilization, is_attention_free: false, num_cpu_blocks: null,
    num_gpu_blocks: cfg.numGpuBlocks, num_gpu_blocks_override: opts.engine?.numGpuBlocks ?? null,
    prefix_caching_hash_algo: 'sha256', sliding_window: null,
  });
  const service = new EngineService({
    modelName: opts.model, model, timeScale: opts.timeScale ?? 1, faults: opts.faults ?? { mode: 'none' }, metrics,
    modelsBody: modelsBody(opts.model, profile.model.name, cfg.maxModelLen, created), time, startupMs: opts.startupMs,
  });
  const server = createServer(service.handle);
  const host = opts.host ?? '127.0.0.1';
  await listen(server, opts.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port, model: opts.model, profile, config: cfg,
    get loading() {
      return service.loading;
    },
    stats: () => model.stats(),
    setFaults: (f) => service.setFaults(f),
    close() {
      closing ??= new Promise<void>((resolve) => {
        service.driver.stop();
        service.ready();
        server.close(() => resolve());
        // dropping the sockets aborts every in-flight request (their 'close' handlers run)
        server.closeAllConnections();
        for (const res of service.hung) res.destroy();
      });
      return closing;
    },
  };
}

function resolveProfile(p: string | HardwareProfile): HardwareProfile {
  if (typeof p !== 'string') return p;
  const found = getProfile(p);
  if (!found) throw new Error(`unknown engine profile "${p}"; known profiles: ${profileNames().join(', ')}`);
  return found;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** vLLM's `/v1/models` shape: one model, `owned_by: "vllm"`, its `max_model_len` and a permission entry. */
function modelsBody(id: string, root: string, maxModelLen: number, created: number): string {
  return JSON.stringify({
    object: 'list',
    data: [{
      id, object: 'model', created, owned_by: 'vllm', root, parent: null, max_model_len: maxModelLen,
      permission: [{
        id: `modelperm-${created.toString(16)}${id.length.toString(16)}`, object: 'model_permission', created,
        allow_create_engine: false, allow_sampling: true, allow_logprobs: true, allow_search_indices: false,
        allow_view: true, allow_fine_tuning: false, organization: '*', group: null, is_blocking: false,
      }],
    }],
  });
}
