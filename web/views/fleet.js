// Fleet: regions → pools → replicas (GET /admin/v1/fleet, every 5 s), with Drain / Undrain behind a confirm step.
import { useState } from 'preact/hooks';
import { call } from '../api.js';
import { int, pct } from '../format.js';
import { html, Loading, Problem, usePoll } from '../ui.js';

function group(replicas) {
  const regions = new Map();
  for (const r of replicas) {
    if (!regions.has(r.region)) regions.set(r.region, new Map());
    const pools = regions.get(r.region);
    if (!pools.has(r.model)) pools.set(r.model, []);
    pools.get(r.model).push(r);
  }
  return [...regions].sort(([a], [b]) => a.localeCompare(b));
}

const STATE_CLASS = { serving: 'ok', joining: 'muted', draining: 'warn', drained: 'muted', ejected: 'warn', unhealthy: 'bad' };

export function Fleet() {
  const [res, reload] = usePoll(() => call('/fleet'), 5_000);
  const [asking, setAsking] = useState(null); // { id, action }
  const [outcome, setOutcome] = useState(null);
  if (res === null) return html`<${Loading} />`;
  if (!res.ok) return html`<h1>Fleet</h1><${Problem} res=${res} what="The fleet" />`;
  const act = async () => {
    const { id, action } = asking;
    setAsking(null);
    const r = await call(`/fleet/replicas/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
    setOutcome(r.ok ? { ok: true, text: `${id}: ${action === 'drain' ? 'draining — no new requests are routed to it' : 'back in rotation'}.` } : { ok: false, text: `${action} ${id} failed: ${r.message}` });
    reload();
  };
  const replicas = res.data.data;
  return html`<section aria-labelledby="fleet-title">
    <h1 id="fleet-title">Fleet</h1>
    <p class="sub">${int(replicas.length)} replicas · ${int(replicas.filter((r) => r.routable).length)} routable · refreshed every 5 s</p>
    ${outcome ? html`<p class=${outcome.ok ? 'notice' : 'error'} role=${outcome.ok ? 'status' : 'alert'}>${outcome.text}</p>` : null}
    ${asking ? html`<div class="confirm" role="dialog" aria-modal="false" aria-labelledby="confirm-text">
      <p id="confirm-text">${asking.action === 'drain'
        ? `Drain ${asking.id}? It takes no new requests; those in flight finish.`
        : `Undrain ${asking.id}? It takes requests again.`}</p>
      <button type="button" class=${asking.action === 'drain' ? 'danger' : ''} onClick=${act}>Confirm ${asking.action}</button>
      <button type="button" class="secondary" onClick=${() => setAsking(null)}>Cancel</button>
    </div>` : null}
    ${group(replicas).map(([region, pools]) => html`<section class="region" aria-label=${`Region ${region}`}>
      <h2>${region}</h2>
      ${[...pools].map(([model, rs]) => html`<h3>${model} <span class="count">${rs.length} replica${rs.length === 1 ? '' : 's'}</span></h3>
        <table class="grid" aria-label=${`${model} in ${region}`}>
          <thead><tr><th scope="col">Replica</th><th scope="col">Version</th><th scope="col">State</th><th scope="col" class="n">In flight</th>
            <th scope="col" class="n">Running</th><th scope="col" class="n">Waiting</th><th scope="col" class="n">KV use</th>
            <th scope="col" class="n">Ejections</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
          <tbody>${rs.map((r) => html`<tr data-replica=${r.id}>
            <th scope="row">${r.id}</th><td>${r.version}</td>
            <td><span class="badge ${STATE_CLASS[r.state] ?? ''}" data-field="state">${r.state}</span>${r.ejection_reason ? html` <span class="hint">${r.ejection_reason}</span>` : null}</td>
            <td class="n" data-field="inflight">${int(r.inflight)}</td>
            <td class="n">${int(r.telemetry?.running)}</td><td class="n">${int(r.telemetry?.waiting)}</td>
            <td class="n"><${Meter} value=${r.telemetry?.kv_cache_usage} /></td>
            <td class="n">${int(r.ejections)}</td>
            <td class="actions">${r.draining
              ? html`<button type="button" class="secondary" onClick=${() => setAsking({ id: r.id, action: 'undrain' })} aria-label=${`Undrain ${r.id}`}>Undrain</button>`
              : html`<button type="button" class="secondary" onClick=${() => setAsking({ id: r.id, action: 'drain' })} aria-label=${`Drain ${r.id}`}>Drain</button>`}</td>
          </tr>`)}</tbody>
        </table>`)}
    </section>`)}
  </section>`;
}

function Meter({ value }) {
  if (value === null || value === undefined) return html`<span class="muted">—</span>`;
  const v = Math.max(0, Math.min(1, value));
  return html`<span class="meter" title=${pct(value)}><span class="meter-fill ${v > 0.9 ? 'bad' : v > 0.7 ? 'warn' : ''}" style=${{ width: `${(v * 100).toFixed(0)}%` }}></span></span> ${pct(value, 0)}`;
}
