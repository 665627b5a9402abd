// Overview: the first view, from ONE request (GET /admin/v1/overview), refreshed every 10 s.
import { useLayoutEffect, useState } from 'preact/hooks';
import { call } from '../api.js';
import { int, ms, num, pct, usd } from '../format.js';
import { html, Loading, Problem, Stat, usePoll } from '../ui.js';

export function Overview({ session }) {
  // the sign-in's answer is this view's first data: no second request on the way in, and no wait
  const [first] = useState(() => { const f = session.first; session.first = null; return f ?? null; });
  const [res] = usePoll(() => call('/overview'), 10_000, [], first);
  // as soon as the data is in the DOM (an effect would wait for the next paint)
  useLayoutEffect(() => {
    if (res?.ok && document.body.dataset.ready !== 'overview') {
      document.body.dataset.ready = 'overview';
      performance.mark('switchyard:ready');
    }
    return () => { delete document.body.dataset.ready; };
  }, [res]);
  if (res === null) return html`<${Loading} />`;
  if (!res.ok) return html`<h1>Overview</h1><${Problem} res=${res} what="The overview" />`;
  const o = res.data;
  const t = o.traffic ?? {};
  return html`<section aria-labelledby="ov-title">
    <h1 id="ov-title">Overview</h1>
    <p class="sub">Last ${Math.round((t.window_s ?? 300) / 60)} minutes of traffic${o.generated_at ? ` · as of ${new Date(o.generated_at).toLocaleTimeString()}` : ''}</p>
    <div class="stats">
      <${Stat} label="Requests" field="traffic.requests" value=${int(t.requests)} hint=${`${num(t.rps, 2)} req/s`} />
      <${Stat} label="Error ratio (5xx)" field="traffic.error_ratio" value=${pct(t.error_ratio, 2)} />
      <${Stat} label="Latency p50 / p95" field="traffic.latency" value=${`${ms(t.p50_ms)} / ${ms(t.p95_ms)}`} />
      <${Stat} label="TTFT p50 / p95" field="traffic.ttft" value=${`${ms(t.ttft_p50_ms)} / ${ms(t.ttft_p95_ms)}`} />
      <${Stat} label="SLOs burning" field="slo.burning" value=${`${int(o.slo?.burning)} of ${int(o.slo?.total)}`} hint=${`${int(o.slo?.alerts_firing)} alerts firing`} />
      <${Stat} label="Spend, month to date" field="spend.month_to_date_usd" value=${usd(o.spend?.month_to_date_usd)} hint=${`${int(o.spend?.tenants_over_budget)} over budget`} />
    </div>
    ${o.fleet ? html`<${FleetSummary} fleet=${o.fleet} />` : null}
    ${o.rollouts?.length ? html`<${ActiveRollouts} rollouts=${o.rollouts} />` : null}
    ${o.autoscaler?.enabled ? html`<${Autoscaled} pools=${o.autoscaler.pools ?? []} />` : null}
  </section>`;
}

function FleetSummary({ fleet }) {
  return html`<h2>Fleet</h2>
  <table class="grid" aria-label="Fleet by region and pool">
    <thead><tr><th scope="col">Region</th><th scope="col">Model</th><th scope="col" class="n">Replicas</th><th scope="col" class="n">Routable</th>
      <th scope="col" class="n">Unhealthy</th><th scope="col" class="n">Ejected</th><th scope="col" class="n">Draining</th><th scope="col" class="n">In flight</th><th scope="col" class="n">KV use</th></tr></thead>
    <tbody>${fleet.regions.flatMap((r) => r.pools.map((p) => html`<tr data-pool=${`${r.name}/${p.model}`}>
      <th scope="row">${r.name}</th><td>${p.model}</td><td class="n" data-field="replicas">${int(p.replicas)}</td>
      <td class="n" data-field="routable">${int(p.routable)}</td>
      <td class="n ${p.unhealthy > 0 ? 'bad' : ''}" data-field="unhealthy">${int(p.unhealthy)}</td>
      <td class="n ${p.ejected > 0 ? 'warn' : ''}" data-field="ejected">${int(p.ejected)}</td>
      <td class="n" data-field="draining">${int(p.draining)}</td><td class="n" data-field="inflight">${int(p.inflight)}</td>
      <td class="n" data-field="kv_usage">${pct(p.kv_usage, 0)}</td></tr>`))}</tbody>
  </table>`;
}

function ActiveRollouts({ rollouts }) {
  return html`<h2>Rollouts in progress</h2>
  <table class="grid" aria-label="Active rollouts">
    <thead><tr><th scope="col">Rollout</th><th scope="col">Model</th><th scope="col">Stable → candidate</th><th scope="col">Phase</th><th scope="col">Step</th></tr></thead>
    <tbody>${rollouts.map((r) => html`<tr><th scope="row">${r.id}</th><td>${r.model}</td><td>${r.stable ?? '—'} → ${r.candidate ?? '—'}</td>
      <td><span class="badge">${r.phase}</span></td><td>${r.step ? `${r.step.index + 1} of ${r.step.of}` : '—'}</td></tr>`)}</tbody>
  </table>`;
}

function Autoscaled({ pools }) {
  return html`<h2>Autoscaled pools</h2>
  <table class="grid" aria-label="Autoscaled pools">
    <thead><tr><th scope="col">Pool</th><th scope="col">Model</th><th scope="col">Region</th><th scope="col" class="n">Ready</th><th scope="col" class="n">Starting</th><th scope="col" class="n">Desired</th><th scope="col" class="n">Min–max</th></tr></thead>
    <tbody>${pools.map((p) => html`<tr><th scope="row">${p.pool}</th><td>${p.model}</td><td>${p.region}</td><td class="n">${int(p.ready)}</td>
      <td class="n">${int(p.starting)}</td><td class="n">${int(p.desired)}</td><td class="n">${p.min}–${p.max}</td></tr>`)}</tbody>
  </table>`;
}
