// Small inline-SVG charts: line charts (one line per series) and grouped bars. No scripts, no
// external assets: the page works offline and renders the same every time.

export interface Line {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

const W = 560;
const H = 260;
const M = { l: 56, r: 12, t: 24, b: 40 };
export const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Round numbers for ticks: 1, 2 or 5 × 10^k, about `n` of them. */
function ticks(max: number, n = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max * 1.0001; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

const label = (v: number): string => (Math.abs(v) >= 1000 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(Number(v.toPrecision(4))));

function frame(title: string, xLabel: string, yLabel: string, xMax: number | null, yMax: number, body: string, legend: readonly string[]): string {
  const x = (v: number) => M.l + (v / (xMax ?? 1)) * (W - M.l - M.r);
  const y = (v: number) => H - M.b - (v / yMax) * (H - M.t - M.b);
  let s = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}">`;
  s += `<text x="${W / 2}" y="15" text-anchor="middle" font-size="13" font-weight="bold">${escapeHtml(title)}</text>`;
  // bar charts (xMax null) label their categories instead
  if (xMax !== null) for (const v of ticks(xMax)) s += `<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${H - M.b}" y2="${H - M.b + 4}" stroke="#333"/><text x="${x(v).toFixed(1)}" y="${H - M.b + 15}" font-size="10" text-anchor="middle">${label(v)}</text>`;
  for (const v of ticks(yMax)) s += `<line x1="${M.l}" x2="${W - M.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/><text x="${M.l - 4}" y="${(y(v) + 3).toFixed(1)}" font-size="10" text-anchor="end">${label(v)}</text>`;
  s += `<line x1="${M.l}" x2="${W - M.r}" y1="${H - M.b}" y2="${H - M.b}" stroke="#333"/><line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${H - M.b}" stroke="#333"/>`;
  s += `<text x="${(M.l + W - M.r) / 2}" y="${H - 6}" font-size="11" text-anchor="middle">${escapeHtml(xLabel)}</text>`;
  s += `<text x="12" y="${H / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">${escapeHtml(yLabel)}</text>`;
  s += body;
  legend.forEach((name, i) => {
    const ly = M.t + 4 + i * 14;
    s += `<rect x="${W - M.r - 150}" y="${ly}" width="10" height="10" fill="${COLOURS[i % COLOURS.length]}"/><text x="${W - M.r - 136}" y="${ly + 9}" font-size="10">${escapeHtml(name)}</text>`;
  });
  return s + '</svg>';
}

/** Lines over shared axes; x is clipped at xMax (e.g. a latency CDF cut at its p99). */
export function lineChart(title: string, xLabel: string, yLabel: string, lines: readonly Line[], xMax?: number, yMax?: number): string {
  let mx = xMax ?? 0;
  let my = yMax ?? 0;
  for (const l of lines) for (const [px, py] of l.points) {
    if (xMax === undefined && px > mx) mx = px;
    if (yMax === undefined && py > my) my = py;
  }
  if (!(mx > 0)) mx = 1;
  if (!(my > 0)) my = 1;
  const x = (v: number) => M.l + (Math.min(v, mx) / mx) * (W - M.l - M.r);
  const y = (v: number) => H - M.b - (Math.min(v, my) / my) * (H - M.t - M.b);
  let body = '';
  lines.forEach((l, i) => {
    if (l.points.length === 0) return;
    const d = l.points.map(([px, py], k) => `${k === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join('');
    body += `<path d="${d}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.5"/>`;
  });
  return frame(title, xLabel, yLabel, mx, my, body, lines.map((l) => l.name));
}

/** Groups of bars (one group per category, one bar per series). */
export function barChart(title: string, yLabel: string, categories: readonly string[], series: readonly { name: string; values: readonly number[] }[], yMax?: number): string {
  let my = yMax ?? 0;
  if (yMax === undefined) for (const s of series) for (const v of s.values) if (v > my) my = v;
  if (!(my > 0)) my = 1;
  const n = Math.max(1, categories.length);
  const gw = (W - M.l - M.r) / n;
  const bw = Math.max(1, (gw * 0.8) / Math.max(1, series.length));
  const y = (v: number) => H - M.b - (Math.min(v, my) / my) * (H - M.t - M.b);
  let body = '';
  categories.forEach((c, ci) => {
    series.forEach((s, si) => {
      const v = s.values[ci] ?? 0;
      const bx = M.l + ci * gw + gw * 0.1 + si * bw;
      body += `<rect x="${bx.toFixed(1)}" y="${y(v).toFixed(1)}" width="${bw.toFixed(1)}" height="${(H - M.b - y(v)).toFixed(1)}" fill="${COLOURS[si % COLOURS.length]}"><title>${escapeHtml(`${c} · ${s.name}: ${label(v)}`)}</title></rect>`;
    });
    if (n <= 24) body += `<text x="${(M.l + ci * gw + gw / 2).toFixed(1)}" y="${H - M.b + 26}" font-size="8" text-anchor="middle">${escapeHtml(c.length > 14 ? '…' + c.slice(-13) : c)}</text>`;
  });
  return frame(title, '', yLabel, null, my, body, series.map((s) => s.name));
}
