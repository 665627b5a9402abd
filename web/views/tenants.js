// Tenants: month-to-date spend, budget and burn (GET /admin/v1/spend, one page per request, cursor
// paging), and one tenant's daily usage (GET /admin/v1/tenants/{id}/daily). A tenant key sees its own row only.
import { useMemo, useState } from 'preact/hooks';
import { call } from '../api.js';
import { int, pct, usd } from '../format.js';
import { Chart } from '../chart.js';
import { html, Loading, Problem, usePoll } from '../ui.js';

const PAGE = 20;

export function Tenants({ session }) {
  const admin = session.role === 'admin';
  // cursors[i] is the after_id that fetched page i ('' for the first)
  const [cursors, setCursors] = useState(['']);
  const [picked, setPicked] = useState(null);
  const after = cursors[cursors.length - 1];
  const [res] = usePoll(() => call(`/spend?limit=${PAGE}${after ? `&after_id=${encodeURIComponent(after)}` : ''}`), 30_000, [after]);
  if (res === null) return html`<${Loading} />`;
  if (!res.ok) return html`<h1>${admin ? 'Tenants' : 'My tenant'}</h1><${Problem} res=${res} what="Spend" />`;
  const rows = res.data.data;
  const chosen = picked ?? (!admin && rows.length > 0 ? rows[0].tenant_id : null);
  return html`<section aria-labelledby="tn-title">
    <h1 id="tn-title">${admin ? 'Tenants' : 'My tenant'}</h1>
    <p class="sub">${admin ? "Month-to-date spend against each tenant's budget." : 'Your month-to-date spend against your budget.'} Burn is the share of its limit used by the workspace closest to its limit.</p>
    <table class="grid" aria-label="Spend per tenant">
      <thead><tr><th scope="col">Tenant</th><th scope="col">Tier</th><th scope="col" class="n">Month to date</th><th scope="col" class="n">Budget</th>
        <th scope="col">Burn</th><th scope="col" class="n">Projected month</th><th scope="col" class="n">Workspaces</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
      <tbody>${rows.length === 0 ? html`<tr><td colspan="8" class="muted">No tenants.</td></tr>` : rows.map((t) => html`<tr data-tenant=${t.tenant_id} class=${chosen === t.tenant_id ? 'selected' : ''}>
        <th scope="row">${t.name}<div class="hint">${t.tenant_id}</div></th><td>${t.tier}</td>
        <td class="n" data-field="month_to_date_usd">${usd(t.month_to_date_usd)}</td>
        <td class="n" data-field="budget_usd">${t.budget_usd === null ? 'no limit' : usd(t.budget_usd)}</td>
        <td data-field="burn_ratio"><${Burn} ratio=${t.burn_ratio} over=${t.over_budget} /></td>
        <td class="n ${t.budget_usd !== null && t.projected_month_usd > t.budget_usd ? 'warn' : ''}" data-field="projected_month_usd"
          title=${t.budget_usd !== null && t.projected_month_usd > t.budget_usd ? 'on course to pass its budget this month' : undefined}>${usd(t.projected_month_usd)}</td>
        <td class="n">${int(t.workspaces)}</td>
        <td class="actions"><button type="button" class="secondary" aria-label=${`Daily usage of ${t.name}`} onClick=${() => setPicked(t.tenant_id)}>Daily usage</button></td>
      </tr>`)}</tbody>
    </table>
    ${admin ? html`<div class="pager">
      <button type="button" class="secondary" disabled=${cursors.length === 1} onClick=${() => setCursors(cursors.slice(0, -1))}>← Previous</button>
      <span class="muted">Page ${cursors.length}</span>
      <button type="button" class="secondary" disabled=${!res.data.has_more} onClick=${() => setCursors([...cursors, res.data.next_after_id])}>Next →</button>
    </div>` : null}
    ${chosen ? html`<${Daily} id=${chosen} name=${rows.find((t) => t.tenant_id === chosen)?.name ?? chosen} key=${chosen} />` : null}
  </section>`;
}

function Burn({ ratio, over }) {
  if (ratio === null || ratio === undefined) return html`<span class="muted">—</span>`;
  const v = Math.max(0, Math.min(1, ratio));
  const cls = over || ratio >= 1 ? 'bad' : ratio >= 0.8 ? 'warn' : '';
  return html`<span class="meter wide"><span class="meter-fill ${cls}" style=${{ width: `${(v * 100).toFixed(0)}%` }}></span></span> <span class=${cls}>${pct(ratio, 0)}</span>${over ? html` <span class="badge bad">over budget</span>` : null}`;
}

function Daily({ id, name }) {
  const [res] = usePoll(() => call(`/tenants/${encodeURIComponent(id)}/daily?days=30`), 60_000, [id]);
  const chart = useMemo(() => {
    if (!res?.ok) return null;
    const d = res.data.data;
    return [d.map((r) => Date.parse(`${r.day}T00:00:00Z`) / 1000), d.map((r) => r.cost_usd)];
  }, [res]);
  if (res === null) return html`<${Loading} />`;
  if (!res.ok) return html`<h2>Daily usage of ${name}</h2><${Problem} res=${res} what="Daily usage" />`;
  const days = res.data.data;
  const sum = (k) => days.reduce((a, r) => a + r[k], 0);
  return html`<section class="daily" aria-labelledby="daily-title" data-daily=${id}>
    <h2 id="daily-title">Daily usage of ${name} <span class="count">last ${days.length} days</span></h2>
    <div class="stats small">
      <div class="stat"><div class="stat-label">Requests</div><div class="stat-value" data-field="daily.requests">${int(sum('requests'))}</div></div>
      <div class="stat"><div class="stat-label">Tokens in / out</div><div class="stat-value" data-field="daily.tokens">${int(sum('input_tokens'))} / ${int(sum('output_tokens'))}</div></div>
      <div class="stat"><div class="stat-label">Errors 5xx / 4xx</div><div class="stat-value" data-field="daily.errors">${int(sum('server_errors'))} / ${int(sum('client_errors'))}</div></div>
      <div class="stat"><div class="stat-label">Cost</div><div class="stat-value" data-field="daily.cost_usd">${usd(sum('cost_usd'))}</div></div>
    </div>
    <${Chart} title="Cost per day (USD)" data=${chart} series=${['cost']} unit=${(v) => usd(v)} height=${160} bars=${true} />
    <details><summary>Per day</summary>
      <table class="grid" aria-label=${`Daily usage of ${name}`}>
        <thead><tr><th scope="col">Day (UTC)</th><th scope="col" class="n">Requests</th><th scope="col" class="n">5xx</th><th scope="col" class="n">4xx</th>
          <th scope="col" class="n">Input tokens</th><th scope="col" class="n">Output tokens</th><th scope="col" class="n">Cost</th></tr></thead>
        <tbody>${[...days].reverse().map((r) => html`<tr><th scope="row">${r.day}</th><td class="n">${int(r.requests)}</td><td class="n">${int(r.server_errors)}</td>
          <td class="n">${int(r.client_errors)}</td><td class="n">${int(r.input_tokens)}</td><td class="n">${int(r.output_tokens)}</td><td class="n">${usd(r.cost_usd)}</td></tr>`)}</tbody>
      </table>
    </details>
  </section>`;
}
