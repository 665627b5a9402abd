import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsScraper, metricsUrl, parseVllmMetrics, type ScrapeTarget, type Telemetry } from '../../src/fleet/scraper.js';
import { startEngineServer, type EngineServer } from '../../src/simengine/index.js';
import { ManualTime } from '../../src/time/index.js';

// vLLM V1 as data parallel prints it (two engines), trimmed: comments, an info gauge, a histogram,
// the by-reason gauge whose name starts like num_requests_waiting, and a model name whose label
// value holds an escaped quote, a brace and spaces.
const L0 = 'model_name="ac\\"me} big model",engine="0"';
const L1 = 'model_name="ac\\"me} big model",engine="1"';
const TWO_ENGINES = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{${L0}} 3.0
vllm:num_requests_running{${L1}} 4.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{${L0}} 2.0
vllm:num_requests_waiting{${L1}} 0.0
# HELP vllm:num_requests_waiting_by_reason Number of requests waiting, by reason.
# TYPE vllm:num_requests_waiting_by_reason gauge
vllm:num_requests_waiting_by_reason{${L0},reason="capacity"} 2.0
vllm:num_requests_waiting_by_reason{${L1},reason="deferred"} 0.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{${L0}} 0.25
vllm:kv_cache_usage_perc{${L1}} 0.75
# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{${L0}} 1000.0
vllm:prefix_cache_queries_total{${L1}} 500.0
# HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{${L0}} 640.0
vllm:prefix_cache_hits_total{${L1}} 128.0
# HELP vllm:external_prefix_cache_queries_total External prefix cache queries.
# TYPE vllm:external_prefix_cache_queries_total counter
vllm:external_prefix_cache_queries_total{${L0}} 99999.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{${L0},le="0.001"} 0.0
vllm:time_to_first_token_seconds_bucket{${L0},le="+Inf"} 12.0
vllm:time_to_first_token_seconds_count{${L0}} 12.0
vllm:time_to_first_token_seconds_sum{${L0}} 1.5
# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig
# TYPE vllm:cache_config_info gauge
vllm:cache_config_info{block_size="16",enable_prefix_caching="True",engine="0"} 1.0
`;

// vLLM ≈0.8: the old KV gauge and the old prefix counters, no engine label (V0: model_name only)
const OLD = `# HELP vllm:num_requests_running Number of requests currently running on GPU.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="m"} 1.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} 6.0
# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="m"} 0.5
# TYPE vllm:gpu_prefix_cache_queries_total counter
vllm:gpu_prefix_cache_queries_total{model_name="m"} 300.0
# TYPE vllm:gpu_prefix_cache_hits_total counter
vllm:gpu_prefix_cache_hits_total{model_name="m"} 30.0
`;

describe('parseVllmMetrics', () => {
  it('sums running, waiting and the prefix counters over engines and averages KV usage', () => {
    expect(parseVllmMetrics(TWO_ENGINES)).toEqual({ running: 7, waiting: 2, kvUsage: 0.5, prefixQueries: 1500, prefixHits: 768 });
  });

  it.each([
    { why: 'older vLLM: gpu_cache_usage_perc and gpu_prefix_cache_*', text: OLD, want: { running: 1, waiting: 6, kvUsage: 0.5, prefixQueries: 300, prefixHits: 30 } },
    {
      why: 'vLLM 0.9 prints both KV names: the new one wins',
      text: 'vllm:kv_cache_usage_perc{engine="0"} 0.3\nvllm:gpu_cache_usage_perc{engine="0"} 0.9\nvllm:prefix_cache_queries_total{engine="0"} 5\nvllm:gpu_prefix_cache_queries_total{engine="0"} 7\n',
      want: { running: 0, waiting: 0, kvUsage: 0.3, prefixQueries: 5, prefixHits: 0 },
    },
    {
      why: 'a NaN sample counts as absent: the mean is over the engines that report',
      text: 'vllm:kv_cache_usage_perc{engine="0"} NaN\nvllm:kv_cache_usage_perc{engine="1"} 0.4\nvllm:num_requests_running{engine="0"} NaN\nvllm:num_requests_running{engine="1"} 2\n',
      want: { running: 2, waiting: 0, kvUsage: 0.4, prefixQueries: 0, prefixHits: 0 },
    },
    {
      why: 'no labels, CRLF line ends, timestamps, exponents, tabs',
      text: 'vllm:num_requests_running 5 1700000000000\r\nvllm:num_requests_waiting\t1e1\r\nvllm:kv_cache_usage_perc 2.5e-01\r\n',
      want: { running: 5, waiting: 10, kvUsage: 0.25, prefixQueries: 0, prefixHits: 0 },
    },
    {
      why: 'label values holding spaces, braces, escaped quotes and backslashes do not end the labels early',
      text: 'vllm:num_requests_running{a="x} 99",b="q\\"} 98",c="back\\\\"} 3\n',
      want: { running: 3, waiting: 0, kvUsage: 0, prefixQueries: 0, prefixHits: 0 },
    },
    {
      why: 'lookalike names are not ours: _by_reason, _created, other prefixes',
      text: 'vllm:num_requests_waiting_by_reason{reason="capacity"} 9\nvllm:prefix_cache_queries_created 1.7e9\nsglang:num_requests_running 8\nvllm:num_requests_running{} 1\n',
      want: { running: 1, waiting: 0, kvUsage: 0, prefixQueries: 0, prefixHits: 0 },
    },
    {
      why: 'the last line needs no newline',
      text: '# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{engine="0"} 4.0',
      want: { running: 0, waiting: 4, kvUsage: 0, prefixQueries: 0, prefixHits: 0 },
    },
  ])('$why', ({ text, want }) => {
    expect(parseVllmMetrics(text)).toEqual(want);
  });

  it.each([
    { why: 'empty text', text: '' },
    { why: 'only comments', text: '# HELP vllm:num_requests_running x\n# TYPE vllm:num_requests_running gauge\n' },
    { why: 'counters but no gauge', text: 'vllm:prefix_cache_queries_total{engine="0"} 10\n' },
    { why: 'only NaN gauges', text: 'vllm:num_requests_running{engine="0"} NaN\n' },
    { why: 'another server', text: 'process_cpu_seconds_total 1.2\npython_gc_objects_collected_total{generation="0"} 3\n' },
  ])('is null when none of the gauges is there: $why', ({ text }) => {
    expect(parseVllmMetrics(text)).toBeNull();
  });

  it('keeps up with a busy data-parallel vLLM: 200 parses of a ~120 KB exposition well under a second', () => {
    // eight engines, every histogram bucket: what a large deployment prints
    let text = '';
    for (let e = 0; e < 8; e++) {
      const l = `model_name="meta-llama/Llama-3.3-70B-Instruct",engine="${e}"`;
      text += `vllm:num_requests_running{${l}} 10.0\nvllm:num_requests_waiting{${l}} 1.0\nvllm:kv_cache_usage_perc{${l}} 0.5\n`;
      for (const h of ['time_to_first_token_seconds', 'inter_token_latency_seconds', 'e2e_request_latency_seconds', 'request_queue_time_seconds', 'request_prompt_tokens', 'request_generation_tokens']) {
        text += `# HELP vllm:${h} Histogram.\n# TYPE vllm:${h} histogram\n`;
        for (let b = 0; b < 22; b++) text += `vllm:${h}_bucket{${l},le="${b * 0.5}"} ${b * 7}.0\n`;
      }
    }
    expect(text.length).toBeGreaterThan(100_000);
    const t0 = performance.now();
    let r = null;
    for (let i = 0; i < 200; i++) r = parseVllmMetrics(text);
    expect(performance.now() - t0).toBeLessThan(1_000); // about 20 ms here; the bound leaves room for a busy CI box
    expect(r).toEqual({ running: 80, waiting: 8, kvUsage: 0.5, prefixQueries: 0, prefixHits: 0 });
  });
});

describe('metricsUrl', () => {
  it.each([
    ['http://h:8000', 'http://h:8000/metrics'],
    ['http://h:8000/', 'http://h:8000/metrics'],
    ['http://h:8000/v1', 'http://h:8000/metrics'],
    ['http://h:8000/v1/', 'http://h:8000/metrics'],
    ['http://gw/replica-a/v1', 'http://gw/replica-a/metrics'], // a path prefix stays
    ['http://gw/v1x', 'http://gw/v1x/metrics'],
  ])('%s → %s', (base, want) => {
    expect(metricsUrl(base)).toBe(want);
  });
});

describe('parseVllmMetrics on a real simengine', () => {
  let server: EngineServer;
  beforeAll(async () => {
    server = await startEngineServer({ model: 'scrape-me', profile: 'llama-3.1-8b-h100', timeScale: 20 });
  });
  afterAll(() => server.close());

  it('reads what the engine reports', async () => {
    const ask = (content: string) => fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST', body: JSON.stringify({ model: 'scrape-me', messages: [{ role: 'user', content }], max_tokens: 4 }),
    }).then((r) => r.json());
    const prompt = 'a shared system prompt, long enough to fill a few KV blocks '.repeat(8);
    await ask(prompt + 'one');
    await ask(prompt + 'two'); // the second one hits the prefix cache
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const s = server.stats();
    expect(parseVllmMetrics(text)).toEqual({
      running: s.running, waiting: s.waiting, kvUsage: s.kvUsage, prefixQueries: s.prefixCacheQueries, prefixHits: s.prefixCacheHits,
    });
    expect(s.prefixCacheHits).toBeGreaterThan(0);
  });
});

describe('MetricsScraper', () => {
  let engine: EngineServer;
  let fake: Server;
  let fakeUrl: string;
  let fakeHits = 0;
  let deadUrl: string;
  beforeAll(async () => {
    engine = await startEngineServer({ model: 'busy', profile: 'llama-3.1-8b-h100', timeScale: 1 });
    // scripted replicas behind one server, told apart by a path prefix (metricsUrl keeps it)
    fake = createServer((req, res) => {
      fakeHits++;
      if (req.url === '/hang/metrics') return; // accept and never answer
      if (req.url === '/503/metrics') return void res.writeHead(503).end('engine dead');
      if (req.url === '/html/metrics') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not vllm</html>');
      if (req.url === '/slow/metrics') return void setTimeout(() => res.writeHead(200).end('vllm:num_requests_running 1\n'), 150);
      if (req.url === '/big/metrics') return void res.writeHead(200).end('#'.repeat(64 * 1024));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    // a port that was just free: nothing listens there
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((r) => probe.close(() => r()));
  });
  afterAll(async () => {
    fake.closeAllConnections();
    await new Promise<void>((r) => fake.close(() => r()));
    await engine.close();
  });

  /** A scraper over fixed targets that records what it hears. */
  function recorder(targets: readonly ScrapeTarget[], extra: { timeoutMs?: number; maxBytes?: number; throwInSample?: boolean } = {}) {
    const samples: [string, Telemetry][] = [];
    const errors: [string, Error][] = [];
    const scraper = new MetricsScraper(() => targets, {
      intervalMs: 25, timeoutMs: extra.timeoutMs ?? 2_000, clock: new ManualTime(1_234), maxBytes: extra.maxBytes,
      onSample: (t, s) => {
        if (extra.throwInSample) throw new Error('the sample hook broke');
        samples.push([t.id, s]);
      },
      onError: (t, e) => void errors.push([t.id, e]),
    });
    return { scraper, samples, errors };
  }

  /** Fails the test if a promise is rejected with nobody listening while fn runs. */
  async function noUnhandledRejection(fn: () => Promise<void>): Promise<void> {
    const seen: unknown[] = [];
    const on = (r: unknown) => void seen.push(r);
    process.on('unhandledRejection', on);
    try {
      await fn();
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off('unhandledRejection', on);
    }
    expect(seen).toEqual([]);
  }

  it('reads a simengine with a request running (base URL ending in /v1)', async () => {
    const ac = new AbortController();
    const long = fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST', signal: ac.signal,
      body: JSON.stringify({ model: 'busy', messages: [{ role: 'user', content: 'keep going' }], max_tokens: 5_000, ignore_eos: true }),
    }).then((r) => r.text()).catch(() => '');
    try {
      for (let i = 0; i < 200 && engine.stats().running < 1; i++) await new Promise((r) => setTimeout(r, 10));
      const { scraper, samples, errors } = recorder([{ id: 'sim', url: `${engine.url}/v1` }]);
      await scraper.scrapeAll();
      expect(errors).toEqual([]);
      expect(samples).toHaveLength(1);
      const [id, t] = samples[0];
      expect(id).toBe('sim');
      expect(t.running).toBeGreaterThanOrEqual(1);
      expect(t.kvUsage).toBeGreaterThan(0);
      expect(t.kvUsage).toBeLessThanOrEqual(1);
      expect(t.atMs).toBe(1_234); // the caller's clock
    } finally {
      ac.abort();
      await long;
    }
  });

  it('reports a closed port to onError, without throwing and without an unhandled rejection', async () => {
    await noUnhandledRejection(async () => {
      const { scraper, samples, errors } = recorder([{ id: 'gone', url: deadUrl }]);
      await expect(scraper.scrapeAll()).resolves.toBeUndefined();
      expect(samples).toEqual([]);
      expect(errors).toHaveLength(1);
      expect(errors[0][0]).toBe('gone');
      expect(errors[0][1]).toBeInstanceOf(Error);
    });
  });

  it('does not need an onError hook', async () => {
    await noUnhandledRejection(async () => {
      const scraper = new MetricsScraper(() => [{ id: 'gone', url: deadUrl }], { intervalMs: 25, timeoutMs: 500, onSample: () => {} });
      await scraper.scrapeAll();
    });
  });

  it('gives up on a replica that never answers within the timeout', async () => {
    const { scraper, errors } = recorder([{ id: 'hang', url: `${fakeUrl}/hang` }], { timeoutMs: 200 });
    const t0 = performance.now();
    await scraper.scrapeAll();
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(errors.map(([id]) => id)).toEqual(['hang']);
  });

  it.each([
    { path: '/503', message: /answered 503/, why: 'a status other than 200' },
    { path: '/html', message: /none of vllm:num_requests_running/, why: 'a body with no vLLM gauge' },
    { path: '/big', message: /more than 1024 bytes/, why: 'a body larger than maxBytes' },
  ])('reports $why as an error that says what was wrong', async ({ path, message }) => {
    const { scraper, samples, errors } = recorder([{ id: 'x', url: fakeUrl + path }], { maxBytes: 1024 });
    await scraper.scrapeAll();
    expect(samples).toEqual([]);
    expect(errors[0][1].message).toMatch(message);
  });

  it('scrapes every target in one round: one bad replica does not stop the others', async () => {
    const { scraper, samples, errors } = recorder([
      { id: 'sim', url: engine.url }, { id: 'gone', url: deadUrl }, { id: 'slow', url: `${fakeUrl}/slow` },
    ]);
    await scraper.scrapeAll();
    expect(samples.map(([id]) => id).sort()).toEqual(['sim', 'slow']);
    expect(errors.map(([id]) => id)).toEqual(['gone']);
  });

  it('never overlaps rounds: a second call joins the round in progress', async () => {
    const { scraper, samples } = recorder([{ id: 'slow', url: `${fakeUrl}/slow` }]);
    const before = fakeHits;
    const a = scraper.scrapeAll();
    const b = scraper.scrapeAll();
    expect(b).toBe(a);
    await Promise.all([a, b]);
    expect(fakeHits - before).toBe(1);
    expect(samples).toHaveLength(1);
    await scraper.scrapeAll(); // the next round is a new one
    expect(fakeHits - before).toBe(2);
  });

  it('hands a throwing onSample to onError instead of an unhandled rejection', async () => {
    await noUnhandledRejection(async () => {
      const { scraper, errors } = recorder([{ id: 'sim', url: engine.url }], { throwInSample: true });
      await scraper.scrapeAll();
      expect(errors[0][1].message).toBe('the sample hook broke');
    });
  });

  it('scrapes on its interval after start() and stops after stop()', async () => {
    const { scraper, samples } = recorder([{ id: 'sim', url: engine.url }]);
    scraper.start();
    scraper.start(); // idempotent: still one timer
    for (let i = 0; i < 200 && samples.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    scraper.stop();
    await scraper.scrapeAll(); // wait out a round the timer may have begun
    const n = samples.length;
    expect(n).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 100));
    expect(samples.length).toBe(n);
  });
});
