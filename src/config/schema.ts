import { z } from 'zod';
import { POLICY_NAMES } from '../routing/index.js';

// The configuration file's shape. Every field has a default, so an empty file (or none) is the
// embedded demo: two models, two regions, simulated replicas started by `switchyard up`.

export const modelSchema = z.object({
  id: z.string().min(1),
  displayName: z.string().optional(),
  /** engine profile used by demo pools of this model */
  profile: z.string().default('llama-3.1-8b-h100'),
  maxInputTokens: z.number().int().positive().default(131_072),
  maxOutputTokens: z.number().int().positive().default(8_192),
  /** output cap applied when an OpenAI client sets none */
  defaultMaxTokens: z.number().int().positive().default(1_024),
  /** USD per million tokens */
  pricing: z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() }).default({ input: 0, output: 0 }),
  created: z.string().default('2026-01-01T00:00:00Z'),
});

const region = z.object({
  name: z.string().min(1),
});

const demoPool = z.object({
  model: z.string(),
  region: z.string(),
  replicas: z.number().int().positive().default(2),
  profile: z.string().optional(),
});

const replica = z.object({
  model: z.string(),
  url: z.url(),
  region: z.string().default('local'),
  /** the name the replica serves the model under, when it differs from the public name */
  servedModel: z.string().optional(),
  apiKey: z.string().optional(),
});

export const configSchema = z.object({
  server: z.object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** bodies above this get 413 request_too_large (Anthropic's own edge limit is 32 MB) */
    bodyLimitBytes: z.number().int().positive().default(32 * 1024 * 1024),
    /** how long a shutdown waits for in-flight requests before cutting them */
    drainTimeoutMs: z.number().int().nonnegative().default(30_000),
    /** access log line per request (pino, info level) */
    accessLog: z.boolean().default(false),
  }).prefault({}),
  dataDir: z.string().default('.switchyard'),
  /** `sqlite:PATH` (default `sqlite:<dataDir>/switchyard.db`) or `postgres://…` */
  store: z.string().optional(),
  /** the region the gateway runs in; replicas here are preferred */
  region: z.string().default('us-east'),
  regions: z.array(region).default([{ name: 'us-east' }, { name: 'eu-west' }]),
  upstream: z.object({
    connectTimeoutMs: z.number().int().positive().default(2_000),
    /** until the replica's response headers arrive */
    headersTimeoutMs: z.number().int().positive().default(60_000),
    /** streamed: until the first token arrives */
    firstTokenTimeoutMs: z.number().int().positive().default(60_000),
    /** longest silence between two chunks of a response */
    idleTimeoutMs: z.number().int().positive().default(30_000),
    /** a whole request, end to end */
    requestTimeoutMs: z.number().int().positive().default(600_000),
    /** connections per replica */
    connections: z.number().int().positive().default(256),
    /** attempts on another replica when a replica fails before answering */
    maxAttempts: z.number().int().min(1).max(5).default(2),
  }).prefault({}),
  routing: z.object({
    /** how a request's replica is chosen; `switchyard sim` compares them on your traffic first */
    policy: z.enum(POLICY_NAMES).default('least-outstanding'),
  }).prefault({}),
  fleet: z.object({
    healthIntervalMs: z.number().int().positive().default(2_000),
    healthTimeoutMs: z.number().int().positive().default(1_000),
  }).prefault({}),
  models: z.array(modelSchema).default([
    { id: 'llama-3.1-8b', displayName: 'Llama 3.1 8B Instruct', profile: 'llama-3.1-8b-h100', maxInputTokens: 131_072, maxOutputTokens: 8_192, defaultMaxTokens: 1_024, pricing: { input: 0.05, output: 0.08 }, created: '2024-07-23T00:00:00Z' },
    { id: 'llama-3.3-70b', displayName: 'Llama 3.3 70B Instruct (FP8)', profile: 'llama-3.3-70b-fp8-h100-tp2', maxInputTokens: 131_072, maxOutputTokens: 8_192, defaultMaxTokens: 1_024, pricing: { input: 0.6, output: 0.8 }, created: '2024-12-06T00:00:00Z' },
  ]),
  /** simulated pools started by `switchyard up` when no external replicas are given */
  demo: z.array(demoPool).default([
    { model: 'llama-3.1-8b', region: 'us-east', replicas: 2 },
    { model: 'llama-3.1-8b', region: 'eu-west', replicas: 2 },
    { model: 'llama-3.3-70b', region: 'us-east', replicas: 2 },
    { model: 'llama-3.3-70b', region: 'eu-west', replicas: 2 },
  ]),
  /** existing OpenAI-compatible endpoints; when any are given, no demo fleet is started */
  replicas: z.array(replica).default([]),
});

export type Config = z.infer<typeof configSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type ReplicaConfig = z.infer<typeof replica>;
export type DemoPoolConfig = z.infer<typeof demoPool>;
