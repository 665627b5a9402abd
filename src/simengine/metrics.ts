import type { ReplicaStats } from '../engine/index.js';

// A small hand-written Prometheus exposition with vLLM V1's names, labels and buckets
// (vLLM's v1/metrics/loggers.py and buckets.py), laid out as Python's prometheus_client prints them. Label text and bucket
// line prefixes are built once; a scrape is string concatenation over a few arrays.

const TTFT = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const ITL = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const REQUEST_LATENCY = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

export type SuccessReason = 'stop' | 'length' | 'abort';

/** Python prints floats: 1 → "1.0". */
const pyFloat = (v: number): string => (Number.isInteger(v) ? v.toFixed(1) : String(v));
const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class Histogram {
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;
  readonly #prefixes: string[];
  readonly #tail: string;

  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[], labels: string) {
    this.#counts = new Float64Array(buckets.length);
    this.#prefixes = buckets.map((b) => `${name}_bucket{${labels},le="${pyFloat(b)}"} `);
    this.#prefixes.push(`${name}_bucket{${labels},le="+Inf"} `);
    this.#tail = `{${labels}} `;
  }

  observe(v: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    if (i < b.length) this.#counts[i]++;
    this.#sum += v;
    this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    let cum = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      cum += this.#counts[i];
      out += this.#prefixes[i] + pyFloat(cum) + '\n';
    }
    out += this.#prefixes[this.#counts.length] + pyFloat(this.#count) + '\n';
    out += `${this.name}_count${this.#tail}${pyFloat(this.#count)}\n${this.name}_sum${this.#tail}${pyFloat(this.#sum)}\n`;
    return out;
  }
}

export class EngineMetrics {
  readonly ttft: Histogram;
  readonly itl: Histogram;
  readonly e2e: Histogram;
  readonly queue: Histogram;
  readonly #success: Record<SuccessReason, number> = { stop: 0, length: 0, abort: 0 };
  readonly #labels: string;
  readonly #cacheInfo: string;

  constructor(modelName: string, cacheConfig: Record<string, string | number | boolean | null>) {
    const labels = `model_name="${escapeLabel(modelName)}",engine="0"`;
    this.#labels = labels;
    this.ttft = new Histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT, labels);
    this.itl = new Histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', ITL, labels);
    this.e2e = new Histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', REQUEST_LATENCY, labels);
    this.queue = new Histogram('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', REQUEST_LATENCY, labels);
    const info = Object.entries(cacheConfig).map(([k, v]) => `${k}="${escapeLabel(pyValue(v))}"`).join(',');
    this.#cacheInfo = `# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig\n# TYPE vllm:cache_config_info gauge\nvllm:cache_config_info{${info},engine="0"} 1.0\n`;
  }

  success(reason: SuccessReason): void {
    this.#success[reason]++;
  }

  render(s: ReplicaStats): string {
    const l = `{${this.#labels}} `;
    const gauge = (name: string, help: string, v: number) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name}${l}${pyFloat(v)}\n`;
    const counter = (name: string, help: string, v: number) => `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name}${l}${pyFloat(v)}\n`;
    let success = '# HELP vllm:request_success_total Count of successfully processed requests.\n# TYPE vllm:request_success_total counter\n';
    for (const r of ['stop', 'length', 'abort'] as const) {
      success += `vllm:request_success_total{${this.#labels},finished_reason="${r}"} ${pyFloat(this.#success[r])}\n`;
    }
    return gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', s.running)
      + gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', s.waiting)
      + gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', s.kvUsage)
      + counter('vllm:prefix_cache_queries_total', 'Prefix cache queries, in terms of number of queried tokens.', s.prefixCacheQueries)
      + counter('vllm:prefix_cache_hits_total', 'Prefix cache hits, in terms of number of cached tokens.', s.prefixCacheHits)
      + counter('vllm:num_preemptions_total', 'Cumulative number of preemption from the engine.', s.preemptions)
      + counter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.', s.promptTokens)
      + counter('vllm:generation_tokens_total', 'Number of generation tokens processed.', s.generationTokens)
      + success
      + this.ttft.render() + this.itl.render() + this.e2e.render() + this.queue.render()
      + this.#cacheInfo;
  }
}

/** Labels hold `str()` of Python values: True, None, 0.9. */
function pyValue(v: string | number | boolean | null): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return String(v);
}
