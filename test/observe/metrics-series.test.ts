import { describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry } from 'prom-client';
import { createMetrics } from '../../src/observe/metrics.js';

// The request counter and the latency histograms keep each label set's entry, so /metrics must
// read exactly as prom-client's own metrics would after the same calls.
const sources = { replicas: () => [], ledger: () => ({ buffered: 0, written: 0, dropped: 0, failedFlushes: 0 }) };
const own = (text: string) => text.split('\n').filter((l) => /^(# (HELP|TYPE) )?switchyard_(requests_total|request_duration_seconds)[ {_]/.test(l)).join('\n');

/** The same two metrics as plain prom-client ones (help and buckets read off the gateway's). */
function plain() {
  const registry = new Registry();
  const m = createMetrics(sources);
  const of = (x: unknown) => x as { help: string; upperBounds: number[] };
  return {
    registry,
    requests: new Counter({ name: 'switchyard_requests_total', help: of(m.requests).help, labelNames: ['api', 'model', 'status', 'outcome'], registers: [registry] }),
    latency: new Histogram({ name: 'switchyard_request_duration_seconds', help: of(m.latency).help, labelNames: ['api', 'model'], buckets: of(m.latency).upperBounds, registers: [registry] }),
  };
}

describe('the metrics every request touches', () => {
  it('print what prom-client prints for the same increments and observations, through resets and removals', async () => {
    const m = createMetrics(sources);
    const p = plain();
    for (const x of [m, p]) {
      const ok = x.requests.labels('openai', 'm', '200', 'ok');
      const lat = x.latency.labels('openai', 'm');
      for (let i = 0; i < 50; i++) {
        ok.inc();
        lat.observe(i * 0.37);
      }
      lat.observe(1e9); // above every bound: counted in +Inf only
      ok.inc(3);
      x.requests.labels('anthropic', 'm', '529', 'overloaded').inc();
      x.latency.reset();
      lat.observe(0.5);
      x.requests.remove('openai', 'm', '200', 'ok');
      ok.inc();
      x.latency.observe({ api: 'anthropic', model: 'm' }, 2);
    }
    expect(own(await m.registry.metrics())).toBe(own(await p.registry.metrics()));
  });

  it('give the same child for the same label values, and still refuse a value that is not a number', () => {
    const m = createMetrics(sources);
    expect(m.latency.labels('openai', 'm')).toBe(m.latency.labels('openai', 'm'));
    const lat = m.latency.labels('openai', 'm');
    lat.observe(1);
    expect(() => lat.observe(Number.NaN)).toThrow(TypeError);
  });
});
