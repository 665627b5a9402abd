// Traffic: the last 15 minutes in 10 s buckets (GET /admin/v1/traffic, every 5 s), as uPlot charts.
import { useMemo, useState } from 'preact/hooks';
import { call } from '../api.js';
import { int, ms, num, pct } from '../format.js';
import { Chart } from '../chart.js';
import { html, Loading, Problem, usePoll } from '../ui.js';

export function Traffic({ session }) {
  const admin = session.role === 'admin';
  const [model, setModel] = useState('');
  // the model picker lists the fleet's models; a tenant key may not filter by model
  const [fleet] = usePoll(() => (admin ? call('/fleet') : Promise.resolve(null)), 0);
  const [res] = usePoll(() => call(`/traffic?window=15m${model ? `&model=${encodeURIComponent(model)}` : ''}`), 3_000, [model]);
  const models = useMemo(() => (fleet?.ok ? [...new Set(fleet.data.data.map((r) => r.model))].sort() : []), [fleet]);
  const charts = useMemo(() => {
    if (!res?.ok) return null;
    const all = res.data.series;
    const step = res.data.bucket_s ?? 10;
    // the newest bucket is still filling: charted, it would read as a sudden drop; the totals keep it
    const s = all.length > 1 ? all.slice(0, -1) : all;
    const xs = s.map((p) => p.at / 1000);
    const nz = (v) => (v === undefined ? null : v);
    return {
      rate: [xs, s.map((p) => p.requests / step)],
      errors: [xs, s.map((p) => p.errors_5xx / step), s.map((p) => p.errors_4xx / step)],
      latency: [xs, s.map((p) => nz(p.latency_p50_ms)), s.map((p) => nz(p.latency_p95_ms))],
      ttft: [xs, s.map((p) => nz(p.ttft_p50_ms)), s.map((p) => nz(p.ttft_p95_ms))],
      totals: all.reduce((a, p) => ({ requests: a.requests + p.requests, e5: a.e5 + p.errors_5xx, e4: a.e4 + p.errors_4xx, out: a.out + p.output_tokens }), { requests: 0, e5: 0, e4: 0, out: 0 }),
      seconds: all.length * step,
    };
  }, [res]);
  return html`<section aria-labelledby="tr-title">
    <h1 id="tr-title">Traffic</h1>
    <div class="toolbar">
      <p class="sub">Last 15 minutes in 10 s buckets · refreshed every 3 s${!admin ? ' · your tenant only' : ''}</p>
      ${admin ? html`<label class="inline">Model <select value=${model} onChange=${(e) => setModel(e.currentTarget.value)}>
        <option value="">All models</option>${models.map((m) => html`<option value=${m}>${m}</option>`)}</select></label>` : null}
    </div>
    ${res === null ? html`<${Loading} />` : !res.ok ? html`<${Problem} res=${res} what="Traffic" />` : html`
      <div class="stats">
        <div class="stat"><div class="stat-label">Requests</div><div class="stat-value" data-field="traffic.requests">${int(charts.totals.requests)}</div>
          <div class="stat-hint">${num(charts.totals.requests / Math.max(1, charts.seconds), 2)} req/s</div></div>
        <div class="stat"><div class="stat-label">Errors 5xx / 4xx</div><div class="stat-value" data-field="traffic.errors">${int(charts.totals.e5)} / ${int(charts.totals.e4)}</div>
          <div class="stat-hint">${pct(charts.totals.requests ? charts.totals.e5 / charts.totals.requests : null, 2)} server errors</div></div>
        <div class="stat"><div class="stat-label">Output tokens</div><div class="stat-value" data-field="traffic.output_tokens">${int(charts.totals.out)}</div></div>
      </div>
      <div class="charts">
        <${Chart} title="Requests per second" data=${charts.rate} series=${['req/s']} unit=${(v) => num(v, 1)} />
        <${Chart} title="Errors per second" data=${charts.errors} series=${['5xx', '4xx']} unit=${(v) => num(v, 2)} />
        <${Chart} title="Latency" data=${charts.latency} series=${['p50', 'p95']} unit=${ms} />
        <${Chart} title="Time to first token" data=${charts.ttft} series=${['p50', 'p95']} unit=${ms} />
      </div>`}
  </section>`;
}
