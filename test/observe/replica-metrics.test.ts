import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startPlatform, type Platform } from '../../src/gateway/index.js';
import { createLogger } from '../../src/observe/index.js';
import { ReplicaMetrics } from '../../src/observe/replica-metrics.js';
import { startEngineServer, type EngineServer } from '../../src/simengine/index.js';
import { FleetRegistry, FleetWatch } from '../../src/fleet/index.js';
import { ManualTime, wallClock } from '../../src/time/index.js';
import { demoStore } from '../gateway/support.js';

// The replicas' own /metrics re-exported on the gateway's: each family once, every replica's
// samples together under it with replica, model and region labels; what does not parse, what
// collides with the gateway's own names and what has gone stale left out.

const A = { id: 'a', model: 'llama', region: 'us-east' };
const B = { id: 'b', model: 'llama', region: 'eu-west' };
const at = (r: typeof A) => `replica="${r.id}",model="${r.model}",region="${r.region}"`;

const VLLM = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="m",engine="0"} 3.0
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{model_name="m",engine="0"} 1200.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{model_name="m",engine="0",le="0.1"} 1.0
vllm:time_to_first_token_seconds_bucket{model_name="m",engine="0",le="+Inf"} 2.0
vllm:time_to_first_token_seconds_count{model_name="m",engine="0"} 2.0
vllm:time_to_first_token_seconds_sum{model_name="m",engine="0"} 0.6
`;

describe('re-exported replica metrics', () => {
  it('print each family once, HELP and TYPE first, with all replicas\' samples under it, labelled by replica, model and region', () => {
    const m = new ReplicaMetrics({ maxAgeMs: 3_000 });
    m.keep(A, VLLM, 0);
    m.keep(B, VLLM.replace('3.0', '5.0'), 0);
    const text = m.render([A, B], 1_000);
    const lines = text.trimEnd().split('\n');
    expect(lines.filter((l) => l === '# TYPE vllm:num_requests_running gauge')).toHaveLength(1);
    const i = lines.indexOf('# TYPE vllm:num_requests_running gauge');
    expect(lines.slice(i - 1, i + 3)).toEqual([
      '# HELP vllm:num_requests_running Number of requests in model execution batches.',
      '# TYPE vllm:num_requests_running gauge',
      `vllm:num_requests_running{${at(A)},model_name="m",engine="0"} 3.0`,
      `vllm:num_requests_running{${at(B)},model_name="m",engine="0"} 5.0`,
    ]);
    expect(lines).toContain(`vllm:time_to_first_token_seconds_bucket{${at(B)},model_name="m",engine="0",le="+Inf"} 2.0`);
    // 2 × (3 families × 2 metadata lines) + 2 × 6 samples
    expect(lines).toHaveLength(6 + 12);
  });

  it('escape the labels they add, and keep a replica\'s own replica/model/region labels as exported_*', () => {
    const m = new ReplicaMetrics({ maxAgeMs: 3_000 });
    const odd = { id: 'r"1\\x', model: 'a\nb', region: 'r' };
    m.keep(odd, 'up{replica="inner",model="x",engine="0"} 1\nbare 2 1700000000000\n', 0);
    expect(m.render([odd], 0)).toBe(
      'up{replica="r\\"1\\\\x",model="a\\nb",region="r",exported_replica="inner",exported_model="x",engine="0"} 1\n'
      + 'bare{replica="r\\"1\\\\x",model="a\\nb",region="r"} 2 1700000000000\n',
    );
  });

  it('skip malformed lines one by one and keep the rest', () => {
    const m = new ReplicaMetrics({ maxAgeMs: 3_000 });
    const bad = [
      'good_one 1',
      'no_value',
      'bad{unterminated="x} 1',
      'bad{x="bad escape \\q"} 1',
      'bad{=""} 1',
      '9starts_with_digit 1',
      'bad_value{a="b"} one',
      'bad_timestamp 1 12:00',
      '# TYPE h histogram',
      'h_bucket{a="b"} 1', // a bucket without le
      'h 3', // a histogram has no bare sample
      'h_count 1',
      '# TYPE t nonsense',
      'good_two{a="}, \\"quoted\\""} +Inf',
      '   ',
    ].join('\n');
    m.keep(A, bad, 0);
    expect(m.render([A], 0)).toBe(
      `good_one{${at(A)}} 1\n# TYPE h histogram\nh_count{${at(A)}} 1\ngood_two{${at(A)},a="}, \\"quoted\\""} +Inf\n`,
    );
  });

  it('leave out a value Go\'s ParseFloat refuses and a label name given twice: either would fail the parse of the whole /metrics', () => {
    const m = new ReplicaMetrics({ maxAgeMs: 3_000 });
    const lines = [
      'x 1e', 'x 1-2', 'x --1', 'x 1.2.3', 'x 1_0', 'x e5', 'x +', 'x .', // refused
      'x{a="1",a="2"} 1', 'x{replica="r",exported_replica="s"} 1', 'x{b="1",le="2",le="3"} 1', // a name twice
      'y .5', 'y 5.', 'y +5', 'y -1.5e-3', 'y 1E+06', 'y{a="1",b="2"} 7', // kept
    ];
    m.keep(A, lines.join('\n'), 0);
    const text = m.render([A], 0);
    expect(text).toBe(['.5', '5.', '+5', '-1.5e-3', '1E+06'].map((v) => `y{${at(A)}} ${v}\n`).join('') + `y{${at(A)},a="1",b="2"} 7\n`);
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stderr + check.stdout).not.toMatch(/parsing error/);
  });

  it('leave out a histogram\'s bucket whose `le` is no float, a summary\'s quantile likewise, and labels named `__*`', () => {
    const m = new ReplicaMetrics({ maxAgeMs: 3_000 });
    m.keep(A, [
      '# TYPE h histogram', 'h_bucket{le="abc"} 1', 'h_bucket{le=""} 1', 'h_bucket{le=" 1"} 1', 'h_bucket{le="0.5"} 1', 'h_bucket{le="+Inf"} 2',
      '# TYPE s summary', 's{quantile="x"} 1', 's{quantile="0.9"} 2',
      'u{le="not a float, untyped"} 1', 'u{__name__="v"} 1', 'u{__x="v"} 1',
    ].join('\n'), 0);
    const text = m.render([A], 0);
    expect(text).toBe(`# TYPE h histogram\nh_bucket{${at(A)},le="0.5"} 1\nh_bucket{${at(A)},le="+Inf"} 2\n`
      + `# TYPE s summary\ns{${at(A)},quantile="0.9"} 2\nu{${at(A)},le="not a float, untyped"} 1\n`);
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stderr + check.stdout).not.toMatch(/parsing error/);
  });

  it('keep a counter\'s `_total` and `_created` samples out of a family `TYPE`d without them, as the text format does', () => {
    const m = new ReplicaMetrics({ maxAgeMs: 3_000 });
    // one engine declares `c` and prints `c_total`; the other declares `c_total` itself
    m.keep(A, '# TYPE c counter\nc_total 1\nc_created 1700000000\n', 0);
    m.keep(B, '# TYPE c_total counter\nc_total 2\n', 0);
    const text = m.render([A, B], 0);
    expect(text).toBe(`# TYPE c_total counter\nc_total{${at(A)}} 1\nc_total{${at(B)}} 2\nc_created{${at(A)}} 1700000000\n`);
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stderr + check.stdout).not.toMatch(/parsing error/);
  });

  it('print a histogram split by another family within one replica\'s text as one family', () => {
    const m = new ReplicaMetrics({ maxAgeMs: 3_000 });
    m.keep(A, '# TYPE h histogram\nh_bucket{le="1"} 1\n# TYPE g gauge\ng 1\nh_bucket{le="+Inf"} 2\nh_count 2\n', 0);
    expect(m.render([A], 0)).toBe(`# TYPE h histogram\nh_bucket{${at(A)},le="1"} 1\nh_bucket{${at(A)},le="+Inf"} 2\nh_count{${at(A)}} 2\n# TYPE g gauge\ng{${at(A)}} 1\n`);
  });

  it('do not print one replica\'s untyped samples under another\'s histogram TYPE (a bare name is no histogram sample)', () => {
    const m = new ReplicaMetrics({ maxAgeMs: 3_000 });
    m.keep(A, 'h 3\n', 0);
    m.keep(B, '# TYPE h histogram\nh_count 1\n', 0);
    expect(m.render([A, B], 0)).toBe(`h{${at(A)}} 3\n`);
    // an untyped family and a gauge of the same name: the bare name is good for both
    m.keep(A, 'g 3\n', 0);
    m.keep(B, '# TYPE g gauge\ng 1\n', 0);
    expect(m.render([A, B], 0)).toBe(`# TYPE g gauge\ng{${at(A)}} 3\ng{${at(B)}} 1\n`);
  });

  it('leave out families named like the gateway\'s own (switchyard_*, gen_ai_*)', () => {
    const m = new ReplicaMetrics({ maxAgeMs: 3_000 });
    m.keep(A, '# TYPE switchyard_requests_total counter\nswitchyard_requests_total 5\ngen_ai_client_token_usage_sum 3\nvllm:x 1\n', 0);
    expect(m.render([A], 0)).toBe(`vllm:x{${at(A)}} 1\n`);
  });

  it('leave out a replica whose last good scrape is too old, and forget one no longer in the fleet', () => {
    const m = new ReplicaMetrics({ maxAgeMs: 3_000 });
    m.keep(A, 'x 1\n', 0);
    m.keep(B, 'x 2\n', 2_000);
    expect(m.render([A, B], 3_500)).toBe(`x{${at(B)}} 2\n`);
    m.keep(A, 'x 3\n', 4_000);
    expect(m.render([A, B], 4_000)).toBe(`x{${at(A)}} 3\nx{${at(B)}} 2\n`);
    expect(m.render([B], 4_000)).toBe(`x{${at(B)}} 2\n`);
    expect(m.render([A, B], 4_000)).toBe(`x{${at(B)}} 2\n`); // A's text was dropped with it
  });

  it('keep the first type when two replicas disagree on a family\'s', () => {
    const m = new ReplicaMetrics({ maxAgeMs: 3_000 });
    m.keep(A, '# TYPE x gauge\nx 1\n', 0);
    m.keep(B, '# TYPE x counter\nx 2\n', 0);
    expect(m.render([A, B], 0)).toBe(`# TYPE x gauge\nx{${at(A)}} 1\n`);
  });

  it('print text promtool parses whatever the replicas sent: random mixes of good and broken lines', () => {
    const pieces = [
      '# HELP a_total Counts.', '# TYPE a_total counter', 'a_total{x="1"} 3', 'a_total 4 1700000000000', '# TYPE a_total gauge',
      '# TYPE h histogram', 'h_bucket{le="1"} 1', 'h_bucket{le="+Inf"} 2', 'h_sum 3', 'h_count 2', 'h 9', 'h_bucket{x="y"} 1',
      '# TYPE s summary', 's{quantile="0.5"} 1', 's_sum 2', 's_count 3', 's 4', '# HELP s bad \\q escape',
      'g{replica="x",model="y"} 1', 'g{a="\\"q\\" } {"} NaN', 'g{a="b",} -Inf', 'g{a="unterminated} 1', 'g{a=b} 1', 'g{a="b"}1',
      '1bad 1', 'bad name 1', 'bad{} nope', '# random comment', '', '   ', 'switchyard_requests_total 1', '# TYPE gen_ai_x gauge', 'gen_ai_x 1',
      'vllm:x{engine="0"} 1.5e-3', 'vllm:x{engine="0"} 0x1p3', '# EOF', 'h_bucket{le="2"} 5',
      'g 1e', 'g 1-2', 'g 1.2.3', 'g{a="1",a="2"} 1', 'g{replica="1",exported_replica="2"} 1', 'h_bucket{le="1",le="2"} 1',
      'h_bucket{le="x"} 1', 's{quantile=""} 1', 'g{__name__="x"} 1', '# TYPE a counter', 'a_total 1', 'a_created 1', '# TYPE a_created gauge', 'h_created 1', '# TYPE h_created gauge',
    ];
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n;
    for (let round = 0; round < 24; round++) {
      const m = new ReplicaMetrics({ maxAgeMs: 1_000 });
      const fleet = [A, B, { id: 'c', model: 'llama', region: 'ap' }];
      for (const r of fleet) m.keep(r, Array.from({ length: 60 }, () => pieces[rnd(pieces.length)]).join(rnd(2) ? '\n' : '\r\n'), 0);
      const text = m.render(fleet, 0);
      const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(check.stderr + check.stdout, text).not.toMatch(/parsing error/);
      expect(check.status).not.toBe(1);
    }
  });

  it('render 50 replicas × 30 KB of fresh vLLM text within a dozen plain passes over it (≈ 10 ms)', () => {
    const big = VLLM.repeat(1); // grown below to ~30 KB of distinct families
    let text = '';
    for (let f = 0; text.length < 30_000; f++) text += big.replaceAll('vllm:', `vllm:f${f}_`);
    const fleet = Array.from({ length: 50 }, (_, i) => ({ id: `r${i}`, model: 'llama', region: i % 2 ? 'us-east' : 'eu-west' }));
    const m = new ReplicaMetrics({ maxAgeMs: 3_000 });
    // every render follows a fresh scrape (a new text per replica): the worst case, parsing all.
    // Timed against one plain pass over the same characters, so a loaded machine slows both.
    const runs: number[] = [];
    const scans: number[] = [];
    let out = '';
    for (let k = 0; k < 24; k++) {
      for (const r of fleet) m.keep(r, text + `vllm:round ${k}\n`, k);
      const t0 = wallClock.monoMs();
      out = m.render(fleet, k);
      out.charCodeAt(out.length >> 1); // flatten it, as writing the response does
      if (k < 8) continue; // the first rounds run before the JIT has compiled the parser
      runs.push(wallClock.monoMs() - t0);
      const s0 = wallClock.monoMs();
      let sum = 0;
      for (let r = 0; r < fleet.length; r++) for (let i = 0; i < text.length; i++) sum += text.charCodeAt(i);
      scans.push(wallClock.monoMs() - s0 + (sum < 0 ? 1 : 0));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const [render, scan] = [median(runs), median(scans)];
    console.log(`replica re-export: 50 × ${(text.length / 1024).toFixed(0)} KiB → ${(out.length / 1024 / 1024).toFixed(2)} MiB in ${render.toFixed(1)} ms (median of ${runs.length}; one plain pass over the input: ${scan.toFixed(1)} ms)`);
    expect(out.split('\n').filter((l) => l.startsWith('vllm:f0_num_requests_running{'))).toHaveLength(50);
    expect(render).toBeLessThan(Math.max(12 * scan, 15));
  });
});

describe('a gateway in front of simulated vLLM replicas', () => {
  const KEY = 'sk-sy-replica-metrics-test-key-00000000000000';
  let engines: EngineServer[] = [];
  let p: Platform;
  beforeAll(async () => {
    engines = await Promise.all([startEngineServer({ model: 'm', timeScale: 50 }), startEngineServer({ model: 'm', timeScale: 50 })]);
    const config = loadConfig(undefined, { port: 0 });
    config.fleet.scrapeIntervalMs = 200;
    p = await startPlatform({
      config, storeUrl: await demoStore(KEY), adminToken: null, log: createLogger('silent'),
      replicas: engines.map((e, i) => ({ id: `e${i}`, model: 'llama-3.1-8b', servedModel: 'm', region: i === 0 ? 'us-east' : 'eu-west', url: e.url })),
    });
  });
  afterAll(async () => {
    await p?.close();
    await Promise.all(engines.map((e) => e.close()));
  });

  it('shows both engines\' vLLM families on its /metrics, after its own, in text promtool parses', async () => {
    // a request first, so the GenAI series have samples in the text promtool reads
    const r = await fetch(p.url + '/v1/chat/completions', {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama-3.1-8b', stream: true, max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.status).toBe(200);
    await r.text();
    const text = await (await fetch(p.url + '/metrics')).text();
    expect(text).toMatch(/^gen_ai_server_time_to_first_token_seconds_count\{/m);
    const running = text.split('\n').filter((l) => l.startsWith('vllm:num_requests_running{'));
    expect(running.map((l) => l.replace(/ [^ ]+$/, ''))).toEqual([
      'vllm:num_requests_running{replica="e0",model="llama-3.1-8b",region="us-east",model_name="m",engine="0"}',
      'vllm:num_requests_running{replica="e1",model="llama-3.1-8b",region="eu-west",model_name="m",engine="0"}',
    ]);
    expect(text.match(/^# TYPE vllm:time_to_first_token_seconds histogram$/gm)).toHaveLength(1);
    expect(text.indexOf('switchyard_requests_total')).toBeLessThan(text.indexOf('vllm:'));
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    // lint findings about names we did not choose (vLLM's `:`) are allowed; a parse error is not
    const findings = (check.stdout + check.stderr).split('\n').filter((l) => l.trim() !== '');
    expect(check.status).not.toBe(1); // 1: a parse error; 3: lint findings only
    expect(findings.filter((l) => /error|parse|unexpected|invalid/i.test(l) && !/^vllm:/.test(l))).toEqual([]);
    console.log(`promtool check metrics: exit ${check.status}\n${findings.join('\n')}`);
  });
});

describe('the fleet watch\'s replica exposition', () => {
  it('holds what the last scrape read, and drops a replica 3 scrape intervals after its last good scrape', async () => {
    const engine = await startEngineServer({ model: 'm', timeScale: 50 });
    const time = new ManualTime(1_000_000);
    const fleet = new FleetRegistry();
    fleet.add({ id: 'e0', model: 'llama-3.1-8b', servedModel: 'm', region: 'us-east', url: engine.url });
    const watch = new FleetWatch(fleet, { healthIntervalMs: 1_000, healthTimeoutMs: 1_000, scrapeIntervalMs: 1_000, outlier: null, ports: time.ports(() => 0.5) });
    try {
      expect(watch.replicaExposition()).toBe('');
      await watch.start(); // one round of probes and scrapes
      watch.stop();
      expect(watch.replicaExposition()).toMatch(/^vllm:num_requests_running\{replica="e0",model="llama-3\.1-8b",region="us-east",model_name="m",engine="0"\} /m);
      time.advance(3_000);
      expect(watch.replicaExposition()).toContain('replica="e0"');
      time.advance(1);
      expect(watch.replicaExposition()).toBe('');
    } finally {
      watch.stop();
      await engine.close();
    }
  });

  it('is empty with replicaMetrics off, and when nothing is scraped', async () => {
    const fleet = new FleetRegistry();
    const off = new FleetWatch(fleet, { healthIntervalMs: 1_000, healthTimeoutMs: 1_000, scrapeIntervalMs: 1_000, outlier: null, replicaMetrics: false });
    const none = new FleetWatch(fleet, { healthIntervalMs: 1_000, healthTimeoutMs: 1_000, scrapeIntervalMs: 0, outlier: null });
    expect(off.replicaExposition()).toBe('');
    expect(none.replicaExposition()).toBe('');
  });
});
