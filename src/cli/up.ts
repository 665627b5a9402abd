import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { ConfigError, loadConfig, type Config, type ConfigOverrides, type DemoFaults } from '../config/index.js';
import { ProcessSupervisor, freePorts } from '../control/index.js';
import type { ReplicaSpec } from '../fleet/index.js';
import { startPlatform, type AutoscaledPool, type Platform } from '../gateway/index.js';
import { createLogger, guardProcess, type Logger } from '../observe/index.js';
import { ensureDemoTenant, openStore } from '../tenancy/index.js';

export interface UpOptions extends ConfigOverrides {
  config?: string;
  /** `--autoscale`: turns `autoscaler.enabled` on */
  autoscale?: boolean;
}

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** `switchyard up`: the demo fleet (or the given replicas), the gateway, until SIGINT/SIGTERM. */
export async function up(opts: UpOptions): Promise<void> {
  const log = createLogger();
  const config = withAutoscale(loadConfig(opts.config, opts), opts.autoscale === true);
  // a secret is better kept out of a config file
  if (process.env.SWITCHYARD_METRICS_TOKEN) config.server.metricsToken = process.env.SWITCHYARD_METRICS_TOKEN;
  await assertCanListen(config.server.host, config.server.port);
  const dataDir = resolve(config.dataDir);
  // the store file, and records spilled from it, are the owner's only
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const storeUrl = config.store ?? `sqlite:${join(dataDir, 'switchyard.db')}`;

  // The demo tenant and its key exist before the first request can arrive.
  const demo = await (async () => {
    const store = await openStore(storeUrl, { timeoutMs: config.ledger.timeoutMs });
    try {
      return await ensureDemoTenant(store, process.env.SWITCHYARD_DEMO_KEY || undefined);
    } finally {
      await store.close();
    }
  })();

  let supervisor: ProcessSupervisor | null = null;
  let replicas: Array<ReplicaSpec & { apiKey?: string }>;
  if (config.replicas.length > 0) {
    replicas = config.replicas.map((r, i) => ({
      id: `${r.region}/${r.model}/${i}`, model: r.model, servedModel: r.servedModel ?? r.model, region: r.region, url: r.url, protocol: r.protocol, apiKey: r.apiKey,
      ...versionOf(config, r.model, r.version),
    }));
  } else {
    // the initial replicas are restarted when they die; the autoscaler's are not (it asks for new ones)
    const initial = new Set<string>();
    supervisor = new ProcessSupervisor({
      restart: true,
      onExit: (id, code, signal) => log.warn({ replica: id, code, signal }, initial.has(id) ? 'demo replica exited; restarting' : 'autoscaled replica exited'),
      onStderr: (id, line) => log.warn({ replica: id }, line),
    });
    replicas = await startDemoFleet(config, supervisor);
    for (const r of replicas) initial.add(r.id);
  }

  // the demo fleet's processes are the autoscaler's to add to and drain (Kubernetes pools need none)
  const processes = supervisor === null ? null : { supervisor, engineArgs: (pool: AutoscaledPool, port: number) => scaledEngineArgs(config, pool, port) };
  let platform;
  try {
    platform = await startPlatform({ config, replicas, storeUrl, dataDir, adminToken: process.env.SWITCHYARD_ADMIN_TOKEN || null, log, autoscaler: { processes } });
  } catch (err) {
    await supervisor?.stop();
    throw err;
  }
  printBanner(platform.url, config, replicas, demo.secret, demo.key.hint, platform.autoscaler?.pools ?? null);

  const running = platform;
  // From here no request can end the process: what escapes every handler is logged and counted.
  guardProcess(log, () => running.gateway.metrics.internalErrors.inc({ stage: 'process' }));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, inflight: running.gateway.inflight }, 'draining');
    const code = await shutDown(running, supervisor, log);
    process.exit(code);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * Ctrl-C's work: the platform closes first (the autoscaler's loop stops before the gateway drains,
 * so nothing is started or removed meanwhile), then every replica stops, the autoscaler's included
 * (they are all the supervisor's children) — even when the close failed, or the engines would
 * outlive the gateway. 0 when all went well, 1 when the close failed.
 */
export async function shutDown(
  platform: Pick<Platform, 'close' | 'ledger'>, supervisor: Pick<ProcessSupervisor, 'stop'> | null, log: Pick<Logger, 'info' | 'error'>,
): Promise<number> {
  let code = 0;
  try {
    const { cut } = await platform.close();
    log.info({ cut, ledgerWritten: platform.ledger.stats().written }, 'stopped');
  } catch (err) {
    log.error({ err }, 'closing the gateway failed; stopping the replicas anyway');
    code = 1;
  }
  await supervisor?.stop();
  return code;
}

/**
 * `--autoscale` as a config override. The embedded autoscaler starts and stops `switchyard engine`
 * processes; external replicas are not this process's to start, so only Kubernetes pools can scale
 * them: with neither, the loop would do nothing, and saying so beats a silent no-op.
 */
export function withAutoscale(config: Config, autoscale: boolean): Config {
  const out = autoscale ? { ...config, autoscaler: { ...config.autoscaler, enabled: true } } : config;
  if (out.autoscaler.enabled && out.replicas.length > 0 && !out.autoscaler.pools.some((p) => p.kubernetes !== undefined)) {
    const [what, off] = autoscale ? ['--autoscale', 'run without --autoscale'] : ['autoscaler.enabled', 'set `autoscaler.enabled: false`'];
    throw new ConfigError(`${what}: the replicas are external (\`replicas:\` or --replica), and the autoscaler can only start and stop the demo fleet's replicas or scale a Kubernetes Deployment; `
      + `drop --replica/\`replicas:\` to autoscale the demo fleet, add a pool with \`kubernetes: { namespace, deployment }\` under \`autoscaler.pools\`, or ${off}`);
  }
  return out;
}

/** Fails fast, before any replica starts, when the gateway's address is taken. */
async function assertCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(new ConfigError(
      err.code === 'EADDRINUSE' ? `${host}:${port} is already in use; stop what is there or choose another port with --port`
        : `cannot listen on ${host}:${port}: ${err.message}`)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

async function startDemoFleet(config: Config, supervisor: ProcessSupervisor): Promise<ReplicaSpec[]> {
  const total = config.demo.reduce((n, p) => n + p.replicas, 0);
  const ports = await freePorts(total);
  const specs: ReplicaSpec[] = [];
  let k = 0;
  // numbered per region and model across pools: two pools of one model in one region (two versions) must not share ids
  const numbered = new Map<string, number>();
  for (const pool of config.demo) {
    const model = config.models.find((m) => m.id === pool.model)!;
    const profile = pool.profile ?? model.profile;
    for (let i = 0; i < pool.replicas; i++) {
      const port = ports[k++];
      const key = `${pool.region}/${pool.model}/`;
      const n = numbered.get(key) ?? 0;
      numbered.set(key, n + 1);
      const id = key + n;
      supervisor.start({ id, port, args: engineArgs(port, pool.model, profile, pool.faults) });
      specs.push({ id, model: pool.model, servedModel: pool.model, region: pool.region, url: `http://127.0.0.1:${port}`, ...versionOf(config, pool.model, pool.version) });
    }
  }
  await Promise.all(specs.map((s) => waitHealthy(s.url, 30_000)));
  return specs;
}

/**
 * argv after node for a `switchyard engine` the autoscaler starts in a demo pool: the pool's
 * profile and start-up (which the engine really waits before its /health answers 200), and the
 * faults of the pool's stable-version demo replicas, whose version it joins at.
 */
export function scaledEngineArgs(config: Config, pool: AutoscaledPool, port: number): string[] {
  const { model, region } = pool.spec;
  const stable = config.models.find((m) => m.id === model)?.stable;
  const demos = config.demo.filter((d) => d.model === model && d.region === region);
  const demo = demos.find((d) => d.version === stable) ?? demos[0];
  return [...engineArgs(port, model, pool.profile, demo?.faults), '--startup', String(pool.startup)];
}

/** argv after node for one demo `switchyard engine` on this machine. */
function engineArgs(port: number, model: string, profile: string, faults: DemoFaults | undefined): string[] {
  return [MAIN, 'engine', '--host', '127.0.0.1', '--port', String(port), '--model', model, '--profile', profile, ...faultFlags(faults)];
}

/**
 * What a replica spec says of its version: the version, a weight (only the stable version's
 * replicas take traffic until a rollout says otherwise), and whether a warm-up is still owed.
 */
export function versionOf(config: Pick<Config, 'models'>, model: string, version: string): Pick<ReplicaSpec, 'version' | 'versionWeight' | 'warm'> {
  const m = config.models.find((x) => x.id === model);
  const v = m?.versions.find((x) => x.id === version);
  return { version, versionWeight: m === undefined || m.stable === version ? 1 : 0, warm: v?.warmup === undefined };
}

/** A demo pool's faults as `switchyard engine` flags. */
export function faultFlags(f: DemoFaults | undefined): string[] {
  if (f === undefined) return [];
  const out: string[] = [];
  if (f.errorRate !== undefined) out.push('--fault-error-rate', String(f.errorRate));
  if (f.slowFactor !== undefined) out.push('--fault-slow', String(f.slowFactor));
  if (f.outputFactor !== undefined) out.push('--fault-output-factor', String(f.outputFactor));
  return out;
}

async function waitHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`demo replica at ${url} did not become healthy within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function printBanner(url: string, config: Config, replicas: ReplicaSpec[], secret: string | null, hint: string, scaled: readonly AutoscaledPool[] | null): void {
  const regions = [...new Set(replicas.map((r) => r.region))];
  const models = [...new Set(replicas.map((r) => r.model))];
  const lines = [
    `Switchyard is up at ${url}`,
    `  models:    ${models.join(', ')}`,
    `  replicas:  ${replicas.length} in ${regions.join(', ')}`,
    secret
      ? `  demo key:  ${secret}   (shown once; set SWITCHYARD_DEMO_KEY to choose your own)`
      : `  demo key:  ${hint} (from SWITCHYARD_DEMO_KEY or an earlier run)`,
    `  Anthropic: new Anthropic({ baseURL: '${url}', apiKey })`,
    `  OpenAI:    new OpenAI({ baseURL: '${url}/v1', apiKey })`,
    `  admin API: ${url}/admin/v1/ ${process.env.SWITCHYARD_ADMIN_TOKEN ? '(Bearer $SWITCHYARD_ADMIN_TOKEN)' : '(set SWITCHYARD_ADMIN_TOKEN to enable admin writes)'}`,
    `  dashboard: ${url}/ui ${process.env.SWITCHYARD_ADMIN_TOKEN ? '(sign in with $SWITCHYARD_ADMIN_TOKEN, or a tenant\'s API key for its own view)' : '(sign in with a tenant\'s API key, such as the demo key; set SWITCHYARD_ADMIN_TOKEN for the whole platform)'}`,
    `  metrics:   ${url}/metrics${config.server.metricsToken ? ' (Bearer token)' : ''}    data: ${resolve(config.dataDir)}`,
    ...(config.observability.tracing.enabled ? [`  traces:    OTLP to ${config.observability.tracing.endpoint.replace(/\/\/[^@/]*@/, "//***@")}, ${Math.round(config.observability.tracing.sampleRate * 1000) / 10} % of requests sampled`] : []),
    ...(scaled === null ? [] : [
      `  autoscaler: on, ${scaled.map((p) => `${p.spec.name} ${p.spec.min}–${p.spec.max}`).join(', ')}`,
      `             decisions: ${url}/admin/v1/autoscaler ${process.env.SWITCHYARD_ADMIN_TOKEN ? '(Bearer $SWITCHYARD_ADMIN_TOKEN)' : '(set SWITCHYARD_ADMIN_TOKEN to read them)'}`,
    ]),
    `Ctrl-C ${scaled === null ? '' : 'stops the autoscaler, '}drains in-flight requests, flushes the ledger and exits.`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
