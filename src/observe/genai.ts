import type { Registry } from 'prom-client';
import { SLO_LATENCY_BOUNDS_MS, type MetricsOptions } from '../config/index.js';
import type { UsageOutcome, UsageRecord } from '../ledger/index.js';
import { SeriesHistogram } from './metrics.js';
import type { RequestObserver } from './types.js';

// The OpenTelemetry GenAI semantic-convention metrics (gen_ai.server.*, gen_ai.client.*) in their
// Prometheus form, beside the switchyard_* ones, by provider (the wire the client spoke), model,
// tenant and region. docs/metrics.md lists every series and its cardinality rules.

export interface GenAiMetricsOptions {
  readonly options: MetricsOptions;
  /** whether the gateway serves a model (others are labelled `unknown`) */
  served(model: string): boolean;
  /**
   * tenants get label values of their own (up to `maxTenantSeries`); otherwise every request is
   * `tenant="all"`. On only when /metrics needs a token: an open /metrics is anyone's to read.
   */
  readonly perTenant?: boolean;
}

/** The most distinct regions labelled; more (a misconfiguration) share `other`. */
const MAX_REGIONS = 64;

/** Sorted, without duplicates: the semconv advice, its extension, and every SLO bound. */
function bounds(...lists: ReadonlyArray<readonly number[]>): number[] {
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}
const SLO_BOUNDS_S = SLO_LATENCY_BOUNDS_MS.map((ms) => ms / 1000);

/** TTFT: the semconv advice (0.001–10 s), then on to 10 minutes for long prompts in a queue. */
export const GENAI_TTFT_BUCKETS: readonly number[] = bounds(
  [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
  [20, 30, 60, 120, 300, 600],
  SLO_BOUNDS_S,
);
/** Request and operation duration: the semconv advice (0.01–81.92 s, doubling), doubling on past 20 minutes. */
export const GENAI_DURATION_BUCKETS: readonly number[] = bounds(
  [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  [163.84, 327.68, 655.36, 1310.72],
  SLO_BOUNDS_S,
);
/** Time per output token: the semconv advice. */
export const GENAI_TPOT_BUCKETS: readonly number[] = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
/** Tokens: the semconv advice, powers of 4 from 1 to 4^13. */
export const GENAI_TOKEN_BUCKETS: readonly number[] = Array.from({ length: 14 }, (_, i) => 4 ** i);

/** Prometheus label → OTel attribute, for the OTLP push. */
export const GENAI_ATTRIBUTES: Readonly<Record<string, string>> = {
  gen_ai_operation_name: 'gen_ai.operation.name',
  gen_ai_provider_name: 'gen_ai.provider.name',
  gen_ai_request_model: 'gen_ai.request.model',
  gen_ai_token_type: 'gen_ai.token.type',
  error_type: 'error.type',
};

/** Prometheus name → the semconv instrument it stands for, for the OTLP push. */
export const GENAI_INSTRUMENTS: Readonly<Record<string, { readonly name: string; readonly unit: string }>> = {
  gen_ai_server_time_to_first_token_seconds: { name: 'gen_ai.server.time_to_first_token', unit: 's' },
  gen_ai_server_time_per_output_token_seconds: { name: 'gen_ai.server.time_per_output_token', unit: 's' },
  gen_ai_server_request_duration_seconds: { name: 'gen_ai.server.request.duration', unit: 's' },
  gen_ai_client_operation_duration_seconds: { name: 'gen_ai.client.operation.duration', unit: 's' },
  gen_ai_client_token_usage: { name: 'gen_ai.client.token.usage', unit: '{token}' },
};

const BASE = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'tenant', 'region'] as const;
type Base = (typeof BASE)[number];

/** `input_size` by prompt tokens (cached included): where TTFT is comparable. */
const INPUT_SIZES = ['1k', '8k', '32k', 'more'] as const;
function inputSize(tokens: number): number {
  return tokens <= 1_024 ? 0 : tokens <= 8_192 ? 1 : tokens <= 32_768 ? 2 : 3;
}

type Child = { observe(v: number): void };

/** The children of one (provider, model, tenant, region), made as each is first needed. */
class Series {
  readonly #values: readonly string[];
  readonly #m: Instruments;
  readonly #ttft: Array<Child | undefined> = [undefined, undefined, undefined, undefined];
  #tpot: Child | null = null;
  #input: Child | null = null;
  #output: Child | null = null;
  /** by outcome: the server's and the client-side name's */
  readonly #duration = new Map<UsageOutcome, readonly [Child, Child]>();

  constructor(m: Instruments, values: readonly string[]) {
    this.#m = m;
    this.#values = values;
  }

  observe(r: UsageRecord): void {
    const m = this.#m;
    const v = this.#values;
    let d = this.#duration.get(r.outcome);
    if (d === undefined) {
      const error = r.outcome === 'ok' ? 'none' : r.outcome;
      d = [m.server.labels(...v, error), m.client.labels(...v, error)];
      this.#duration.set(r.outcome, d);
    }
    const s = r.latencyMs / 1000;
    d[0].observe(s);
    d[1].observe(s);
    if (r.inputTokens > 0) (this.#input ??= m.tokens.labels(...v, 'input')).observe(r.inputTokens);
    if (r.outputTokens > 0) (this.#output ??= m.tokens.labels(...v, 'output')).observe(r.outputTokens);
    if (!r.stream || r.ttftMs === null) return;
    const k = inputSize(r.inputTokens);
    (this.#ttft[k] ??= m.ttft.labels(...v, INPUT_SIZES[k])).observe(r.ttftMs / 1000);
    if (r.outputTokens > 1 && r.latencyMs >= r.ttftMs) {
      (this.#tpot ??= m.tpot.labels(...v)).observe((r.latencyMs - r.ttftMs) / 1000 / (r.outputTokens - 1));
    }
  }
}

interface Instruments {
  readonly ttft: SeriesHistogram<Base | 'input_size'>;
  readonly tpot: SeriesHistogram<Base>;
  readonly server: SeriesHistogram<Base | 'error_type'>;
  readonly client: SeriesHistogram<Base | 'error_type'>;
  readonly tokens: SeriesHistogram<Base | 'gen_ai_token_type'>;
}

/**
 * A bounded set of label values: the first `max` distinct ones seen keep theirs, the rest share
 * `overflow`. The ones past the bound are not remembered, so a flood of them costs no memory.
 */
class Bounded {
  readonly #seen = new Map<string, string>();
  constructor(private readonly max: number, private readonly overflow: string) {}

  of(value: string): string {
    const v = this.#seen.get(value);
    if (v !== undefined) return v;
    if (this.#seen.size >= this.max) return this.overflow;
    this.#seen.set(value, value);
    return value;
  }
}

/** The OpenTelemetry GenAI semantic-convention metrics, registered on `registry`, fed by settled requests. */
export function createGenAiMetrics(registry: Registry, o: GenAiMetricsOptions): RequestObserver {
  const histogram = <L extends string>(name: string, help: string, labels: readonly L[], buckets: readonly number[]) =>
    new SeriesHistogram<L>({ name, help, labelNames: labels, buckets: [...buckets], registers: [registry] });
  const m: Instruments = {
    ttft: histogram('gen_ai_server_time_to_first_token_seconds', 'Time to generate the first token, streamed requests (gen_ai.server.time_to_first_token)', [...BASE, 'input_size'], GENAI_TTFT_BUCKETS),
    tpot: histogram('gen_ai_server_time_per_output_token_seconds', 'Time per output token after the first, streamed requests (gen_ai.server.time_per_output_token)', BASE, GENAI_TPOT_BUCKETS),
    server: histogram('gen_ai_server_request_duration_seconds', 'Time from the request\'s arrival to its last byte (gen_ai.server.request.duration)', [...BASE, 'error_type'], GENAI_DURATION_BUCKETS),
    client: histogram('gen_ai_client_operation_duration_seconds', 'The operation\'s duration as its client saw it, measured at the gateway (gen_ai.client.operation.duration)', [...BASE, 'error_type'], GENAI_DURATION_BUCKETS),
    tokens: histogram('gen_ai_client_token_usage', 'Tokens per request by type, input (cached included) and output (gen_ai.client.token.usage)', [...BASE, 'gen_ai_token_type'], GENAI_TOKEN_BUCKETS),
  };
  const perTenant = o.perTenant === true;
  const tenants = new Bounded(o.options.maxTenantSeries, 'other');
  const regions = new Bounded(MAX_REGIONS, 'other');
  // provider → model → tenant → region → its series: a request walks four map lookups, no key is built
  type Tree = Map<string, Map<string, Map<string, Series>>>;
  const byProvider: Record<UsageRecord['wire'], Tree> = { anthropic: new Map(), openai: new Map() };
  return {
    settled(r: UsageRecord): void {
      const model = r.model !== '' && o.served(r.model) ? r.model : 'unknown';
      const tenant = perTenant ? tenants.of(r.tenantId) : 'all';
      const region = r.region === null ? 'none' : regions.of(r.region);
      const tree = byProvider[r.wire];
      let byTenant = tree.get(model);
      if (byTenant === undefined) tree.set(model, (byTenant = new Map()));
      let byRegion = byTenant.get(tenant);
      if (byRegion === undefined) byTenant.set(tenant, (byRegion = new Map()));
      let s = byRegion.get(region);
      if (s === undefined) byRegion.set(region, (s = new Series(m, ['chat', r.wire, model, tenant, region])));
      s.observe(r);
    },
  };
}
