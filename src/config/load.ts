import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { getProfile, profileNames } from '../engine/index.js';
import { describeIssues } from './issues.js';
import { configSchema, modelSchema, type Config, type DemoPoolConfig } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Command-line settings that override the file. */
export interface ConfigOverrides {
  host?: string;
  port?: number;
  dataDir?: string;
  store?: string;
  /** `MODEL=URL` pairs from `--replica` (`MODEL@VERSION=URL` for a version other than the stable one) */
  replicas?: string[];
  /** where the OpenTelemetry variables (`OTEL_…`) are read from; default: the process's environment */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Replicas per model and region when the demo fleet is derived from the models. */
const DERIVED_REPLICAS = 2;

/** Reads a YAML or JSON file (or nothing), applies overrides, validates, and names every bad field. */
export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Config {
  const raw = file ? readRaw(file) : {};
  const at = file ? ` in ${file}` : '';
  const fileHasReplicas = Array.isArray(raw.replicas) && raw.replicas.length > 0;
  if (overrides.host !== undefined || overrides.port !== undefined) {
    // A `server:` that is not a mapping is left for the schema to name, not silently replaced.
    if (raw.server === undefined || raw.server === null) raw.server = {};
    if (isMapping(raw.server)) {
      const server = { ...raw.server };
      if (overrides.host !== undefined) server.host = overrides.host;
      if (overrides.port !== undefined) server.port = overrides.port;
      raw.server = server;
    }
  }
  if (overrides.dataDir !== undefined) raw.dataDir = overrides.dataDir;
  if (overrides.store !== undefined) raw.store = overrides.store;
  const flagReplicas = overrides.replicas?.length ? overrides.replicas.map(parseReplicaFlag) : null;
  if (flagReplicas) raw.replicas = flagReplicas;
  applyOtelEnv(raw, overrides.env ?? process.env);

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(`invalid configuration${at}:\n  ${describeIssues(result.error.issues, configSchema).join('\n  ')}`);
  }
  // --replica flags mean "front these": they win over the file's demo pools; a file with both is contradictory.
  if (result.data.demo !== undefined && fileHasReplicas && !flagReplicas) {
    throw new ConfigError(`invalid configuration${at}:\n  demo: demo pools are started only when no replicas are given; remove \`demo\` or \`replicas\``);
  }
  return checkReferences(result.data, at);
}

function readRaw(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(resolve(file), 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${file} is not valid YAML or JSON: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isMapping(parsed)) throw new ConfigError(`${file}: the top level must be a mapping`);
  return parsed;
}

/**
 * The OpenTelemetry SDK's variables, over the file's `observability.tracing`:
 * OTEL_SDK_DISABLED=true turns tracing off and OTEL_TRACES_EXPORTER (`otlp` or `none`) on or off;
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the traces URL as is, else OTEL_EXPORTER_OTLP_ENDPOINT
 * is its base (`/v1/traces` appended); OTEL_TRACES_SAMPLER_ARG is the sample rate and
 * OTEL_SERVICE_NAME the service name. Values are checked by the schema like the file's.
 */
function applyOtelEnv(raw: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): void {
  const set = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';
  const tracesUrl = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const baseUrl = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const rate = env.OTEL_TRACES_SAMPLER_ARG;
  const service = env.OTEL_SERVICE_NAME;
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (!set(tracesUrl) && !set(baseUrl) && !set(rate) && !set(service) && !disabled && !set(exporter)) return;
  if (raw.observability === undefined || raw.observability === null) raw.observability = {};
  if (!isMapping(raw.observability)) return; // the schema names it
  const obs = raw.observability = { ...raw.observability };
  if (obs.tracing === undefined || obs.tracing === null) obs.tracing = {};
  if (!isMapping(obs.tracing)) return;
  const t = obs.tracing = { ...obs.tracing };
  if (set(tracesUrl)) t.endpoint = tracesUrl.trim();
  else if (set(baseUrl)) t.endpoint = `${baseUrl.trim().replace(/\/+$/, '')}/v1/traces`;
  if (set(rate)) {
    const n = Number(rate);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (the share of requests traced), got "${rate}"`);
    t.sampleRate = n;
  }
  if (set(service)) t.serviceName = service.trim();
  if (exporter === 'none') t.enabled = false;
  else if (exporter === 'otlp') t.enabled = true;
  else if (set(exporter)) throw new ConfigError(`OTEL_TRACES_EXPORTER must be otlp or none (traces go over OTLP/HTTP), got "${exporter}"`);
  if (disabled) t.enabled = false;
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `MODEL=URL`, or `MODEL=anthropic+URL` for an upstream that speaks the Anthropic Messages API; `MODEL@VERSION=…` names the version it serves. */
function parseReplicaFlag(flag: string): { model: string; url: string; protocol?: 'anthropic'; version?: string } {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--replica expects MODEL=URL, MODEL@VERSION=URL or MODEL=anthropic+URL, got "${flag}"`);
  const name = flag.slice(0, eq);
  const at = name.lastIndexOf('@');
  if (at === 0 || at === name.length - 1) throw new ConfigError(`--replica expects MODEL@VERSION=URL with both named, got "${flag}"`);
  const model = at < 0 ? name : name.slice(0, at);
  const version = at < 0 ? {} : { version: name.slice(at + 1) };
  const url = flag.slice(eq + 1);
  return url.startsWith('anthropic+') ? { model, url: url.slice(10), protocol: 'anthropic', ...version } : { model, url, ...version };
}

type Parsed = Omit<Config, 'demo'> & { demo?: DemoPoolConfig[] };

function checkReferences(parsed: Parsed, at: string): Config {
  const cfg = parsed as Config;
  const models = new Set(cfg.models.map((m) => m.id));
  const regions = new Set(cfg.regions.map((r) => r.name));
  const problems: string[] = [];
  const known = (s: Set<string>) => [...s].map((x) => `\`${x}\``).join(', ');
  if (models.size !== cfg.models.length) problems.push('models: two models share an id');
  if (models.size === 0 && cfg.replicas.length === 0) problems.push('models: no models and no replicas, so nothing to serve; list a model under `models:` or give a replica');
  cfg.models.forEach((m, i) => {
    if (getProfile(m.profile) === undefined) problems.push(`models.${i}.profile: unknown engine profile \`${m.profile}\`; known: ${profileNames().join(', ')}`);
  });
  if (cfg.replicas.length > 0) {
    cfg.demo = [];
  } else if (parsed.demo === undefined) {
    cfg.demo = cfg.models.flatMap((m) => cfg.regions.map((r) => ({ model: m.id, region: r.name, replicas: DERIVED_REPLICAS, version: m.stable })));
  }
  cfg.demo.forEach((p, i) => {
    if (!models.has(p.model)) problems.push(`demo.${i}.model: a demo pool for unknown model \`${p.model}\`; the models are ${known(models)} (add it under \`models:\`)`);
    if (!regions.has(p.region)) problems.push(`demo.${i}.region: a demo pool in unknown region \`${p.region}\`; the regions are ${known(regions)} (add it under \`regions:\`)`);
    if (p.profile !== undefined && getProfile(p.profile) === undefined) problems.push(`demo.${i}.profile: unknown engine profile \`${p.profile}\`; known: ${profileNames().join(', ')}`);
  });
  cfg.replicas.forEach((r, i) => {
    // An external replica may serve a model the file does not describe: give it defaults (one version, named like it).
    if (!models.has(r.model)) {
      cfg.models.push(modelSchema.parse({ id: r.model }));
      models.add(r.model);
      if (r.version !== r.model) problems.push(`replicas.${i}.version: model \`${r.model}\` is not described under \`models:\`, so its only version is \`${r.model}\`; describe it there with \`versions: [{ id: ${r.version} }]\``);
    }
    if (!regions.has(r.region)) {
      cfg.regions.push({ name: r.region, latencyMs: {} });
      regions.add(r.region);
    }
  });
  // checked after the replicas' regions joined: the gateway may sit in a region only replicas name
  if (!regions.has(cfg.region)) problems.push(`region: the gateway's region \`${cfg.region}\` is not one of the regions, ${known(regions)} (add it under \`regions:\`)`);
  if (problems.length) throw new ConfigError(`invalid configuration${at}:\n  ${problems.join('\n  ')}`);
  return cfg;
}
