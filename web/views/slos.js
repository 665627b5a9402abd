// SLOs: each objective's error budget left, burn rate per window, and its alerts (GET /admin/v1/slo, every 10 s).
import { call } from '../api.js';
import { int, ms, num, pct, time } from '../format.js';
import { html, Loading, Problem, usePoll } from '../ui.js';

const WINDOWS = ['5m', '30m', '1h', '6h', '3d'];

export function Slos() {
  const [res] = usePoll(() => call('/slo'), 10_000);
  if (res === null) return html`<${Loading} />`;
  if (!res.ok) return html`<h1>SLOs</h1><${Problem} res=${res} what="SLOs" />`;
  const slos = res.data.data;
  const firing = slos.flatMap((s) => s.alerts.filter((a) => a.firing).map((a) => ({ slo: s.name, ...a })));
  return html`<section aria-labelledby="slo-title">
    <h1 id="slo-title">SLOs</h1>
    <p class="sub">${int(slos.length)} objectives · ${firing.length === 0 ? 'no alert firing' : `${firing.length} alert${firing.length === 1 ? '' : 's'} firing`}${res.data.evaluated_at ? ` · evaluated ${time(res.data.evaluated_at)}` : ''}</p>
    ${firing.length > 0 ? html`<ul class="alerts" aria-label="Alerts firing">${firing.map((a) => html`<li class=${a.severity === 'page' ? 'bad' : 'warn'} data-alert=${`${a.slo}/${a.rule}`}>
      <span class="badge ${a.severity === 'page' ? 'bad' : 'warn'}">${a.severity}</span> <strong>${a.slo}</strong>: burn rule ${a.rule} since ${time(a.since)}</li>`)}</ul>` : null}
    ${slos.length === 0 ? html`<p class="notice" role="status">No SLO is configured on this gateway (see <code>slos:</code> in the config).</p>` : html`
    <table class="grid" aria-label="Service level objectives">
      <thead><tr><th scope="col">SLO</th><th scope="col">Objective</th><th scope="col">Budget remaining</th>
        ${WINDOWS.map((w) => html`<th scope="col" class="n">Burn ${w}</th>`)}<th scope="col">Alerts</th></tr></thead>
      <tbody>${slos.map((s) => html`<tr data-slo=${s.name}>
        <th scope="row">${s.name}<div class="hint">${describe(s)}</div></th>
        <td data-field="objective">${pct(s.objective, s.objective >= 0.999 ? 2 : 1)} <span class="hint">${s.window_days} d</span></td>
        <td data-field="error_budget_remaining"><${Budget} left=${s.error_budget_remaining} /></td>
        ${WINDOWS.map((w) => { const b = s.burn_rates?.[w]; return html`<td class="n ${b > 14.4 ? 'bad' : b > 1 ? 'warn' : ''}" data-field=${`burn.${w}`}>${num(b, 2)}×</td>`; })}
        <td>${s.alerts.filter((a) => a.firing).length === 0 ? html`<span class="badge ok">ok</span>` : s.alerts.filter((a) => a.firing).map((a) => html`<span class="badge ${a.severity === 'page' ? 'bad' : 'warn'}">${a.severity} ${a.rule}</span> `)}</td>
      </tr>`)}</tbody>
    </table>`}
  </section>`;
}

function describe(s) {
  const what = s.kind === 'latency' ? `${s.signal === 'ttft' ? 'TTFT' : 'latency'} ≤ ${ms(s.threshold_ms)}` : 'availability';
  return `${what} · model ${s.model} · tier ${s.tier}`;
}

function Budget({ left }) {
  if (left === null || left === undefined) return html`<span class="muted">—</span>`;
  const v = Math.max(0, Math.min(1, left));
  const cls = left <= 0 ? 'bad' : left < 0.25 ? 'warn' : 'ok';
  return html`<span class="meter wide"><span class="meter-fill ${cls}" style=${{ width: `${(v * 100).toFixed(0)}%` }}></span></span> <span class=${left <= 0 ? 'bad' : ''}>${pct(left, 1)}</span>`;
}
