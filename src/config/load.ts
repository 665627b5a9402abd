import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, modelSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Command-line settings that override the file. */
export interface ConfigOverrides {
  host?: string;
  port?: number;
  dataDir?: string;
  store?: string;
  /** `MODEL=URL` pairs from `--replica` */
  replicas?: string[];
}

/** Reads a YAML or JSON file (or nothing), applies overrides, validates, and names every bad field. */
export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Config {
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(resolve(file), 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    const parsed: unknown = parseYaml(text);
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${file}: the top level must be a mapping`);
      raw = parsed as Record<string, unknown>;
    }
  }
  const server = { ...(raw.server as object | undefined) } as Record<string, unknown>;
  if (overrides.host !== undefined) server.host = overrides.host;
  if (overrides.port !== undefined) server.port = overrides.port;
  raw.server = server;
  if (overrides.dataDir !== undefined) raw.dataDir = overrides.dataDir;
  if (overrides.store !== undefined) raw.store = overrides.store;
  if (overrides.replicas?.length) raw.replicas = overrides.replicas.map(parseReplicaFlag);

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration${file ? ` in ${file}` : ''}:\n${lines.join('\n')}`);
  }
  return checkReferences(result.data);
}

function parseReplicaFlag(flag: string): { model: string; url: string } {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--replica expects MODEL=URL, got "${flag}"`);
  return { model: flag.slice(0, eq), url: flag.slice(eq + 1) };
}

function checkReferences(cfg: Config): Config {
  const models = new Set(cfg.models.map((m) => m.id));
  const regions = new Set(cfg.regions.map((r) => r.name));
  const problems: string[] = [];
  if (models.size !== cfg.models.length) problems.push('models: two models share an id');
  for (const p of cfg.demo) {
    if (!models.has(p.model)) problems.push(`demo: pool for unknown model "${p.model}" (known: ${[...models].join(', ')})`);
    if (!regions.has(p.region)) problems.push(`demo: pool in unknown region "${p.region}" (known: ${[...regions].join(', ')})`);
  }
  for (const r of cfg.replicas) {
    // An external replica may serve a model the file does not describe: give it defaults.
    if (!models.has(r.model)) {
      cfg.models.push(modelSchema.parse({ id: r.model }));
      models.add(r.model);
    }
    if (!regions.has(r.region)) {
      cfg.regions.push({ name: r.region, latencyMs: {} });
      regions.add(r.region);
    }
  }
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return cfg;
}
