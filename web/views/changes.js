// Changes: what altered the fleet — rollouts (GET /admin/v1/rollouts) and the autoscaler's scaling
// decisions (GET /admin/v1/autoscaler, /autoscaler/decisions). Each source is one panel, so more fit.
import { call } from '../api.js';
import { int, time } from '../format.js';
import { html, Loading, Problem, usePoll } from '../ui.js';

export function Changes() {
  return html`<section aria-labelledby="ch-title">
    <h1 id="ch-title">Changes</h1>
    <p class="sub">Rollouts and scaling decisions, newest first · refreshed every 10 s</p>
    <${Rollouts} />
    <${Scaling} />
  </section>`;
}

function Rollouts() {
  const [res] = usePoll(() => call('/rollouts'), 10_000);
  if (res === null) return html`<h2>Rollouts</h2><${Loading} />`;
  if (!res.ok) return html`<h2>Rollouts</h2><${Problem} res=${res} what="Rollouts" />`;
  const rows = res.data.data ?? [];
  return html`<h2>Rollouts</h2>
    ${rows.length === 0 ? html`<p class="muted" data-empty="rollouts">No rollout has run on this fleet.</p>` : html`
    <table class="grid" aria-label="Rollouts">
      <thead><tr><th scope="col">Rollout</th><th scope="col">Model</th><th scope="col">Stable → candidate</th><th scope="col">Phase</th>
        <th scope="col">Step</th><th scope="col">Wave</th><th scope="col">Note</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr data-rollout=${r.id}><th scope="row">${r.id}</th><td>${r.model}</td><td>${r.stable} → ${r.candidate}</td>
        <td><span class="badge ${r.phase === 'failed' || r.phase === 'aborted' ? 'bad' : r.phase === 'completed' ? 'ok' : 'warn'}">${r.phase}</span></td>
        <td>${r.step ? `${Math.min(r.step.index + 1, r.step.of)} of ${r.step.of}` : '—'}</td>
        <td>${r.wave ? `${Math.min(r.wave.index + 1, r.wave.of)} of ${r.wave.of}` : '—'}</td>
        <td class="hint">${r.failure ? `${r.failure.metric}: ${r.failure.reason}` : r.pause?.message ?? ''}</td></tr>`)}</tbody>
    </table>`}`;
}

function Scaling() {
  const [status] = usePoll(() => call('/autoscaler'), 10_000);
  const [decisions] = usePoll(() => call('/autoscaler/decisions?limit=50'), 10_000);
  if (status === null) return html`<h2>Autoscaler</h2><${Loading} />`;
  if (!status.ok) return html`<h2>Autoscaler</h2><${Problem} res=${status} what="The autoscaler" />`;
  if (!status.data.enabled) return html`<h2>Autoscaler</h2><p class="muted" data-empty="autoscaler">The autoscaler is off on this gateway (<code>autoscaler.enabled</code>).</p>`;
  const list = decisions?.ok ? decisions.data.data : [];
  return html`<h2>Autoscaler</h2>
    <table class="grid" aria-label="Autoscaled pools">
      <thead><tr><th scope="col">Pool</th><th scope="col">Model</th><th scope="col">Region</th><th scope="col" class="n">Ready</th><th scope="col" class="n">Starting</th>
        <th scope="col" class="n">Draining</th><th scope="col" class="n">Desired</th><th scope="col" class="n">Min–max</th></tr></thead>
      <tbody>${status.data.pools.map((p) => html`<tr><th scope="row">${p.pool}</th><td>${p.model}</td><td>${p.region}</td><td class="n">${int(p.replicas.ready)}</td>
        <td class="n">${int(p.replicas.starting)}</td><td class="n">${int(p.replicas.draining)}</td><td class="n">${int(p.desired)}</td><td class="n">${p.min}–${p.max}</td></tr>`)}</tbody>
    </table>
    <h3>Scaling decisions</h3>
    ${decisions && !decisions.ok ? html`<${Problem} res=${decisions} what="Scaling decisions" />` : list.length === 0 ? html`<p class="muted">No scaling decision yet.</p>` : html`
    <table class="grid" aria-label="Scaling decisions">
      <thead><tr><th scope="col">At</th><th scope="col">Pool</th><th scope="col">Policy</th><th scope="col" class="n">From → to</th><th scope="col">Reason</th></tr></thead>
      <tbody>${list.map((d) => html`<tr><th scope="row">${time(d.at)}</th><td>${d.pool}</td><td>${d.policy}</td><td class="n">${d.from} → ${d.to}</td><td>${d.reason}${d.detail ? html` <span class="hint">${d.detail}</span>` : null}</td></tr>`)}</tbody>
    </table>`}`;
}
