// Small inline-SVG charts: line charts (one line per series) and grouped bars. No scripts, no
// external assets: the page works offline and renders the same every time.

export interface Line {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

const W = 560;
const H = 260;
/** margins; bar charts take a deeper bottom for their slanted category labels */
const M = { l: 56, r: 12, t: 24, b: 40 };
const BAR_B = 78;
/** room left of a bar chart for the first slanted label */
const BAR_PAD = 44;
export const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

interface Axis { readonly top: number; readonly ticks: readonly number[] }

/** Round ticks (1, 2 or 5 × 10^k) from 0, the fewest-step that keeps at most `n` of them above 0. */
export function axis(max: number, n = 8): Axis {
  if (!(max > 0)) return { top: 1, ticks: [0, 0.5, 1] };
  const mag = 10 ** Math.floor(Math.log10(max / n));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((st) => Math.ceil(max / st - 1e-9) <= n) ?? 10 * mag;
  const k = Math.ceil(max / step - 1e-9);
  const ticks: number[] = [];
  for (let i = 0; i <= k; i++) ticks.push(Number((i * step).toPrecision(6)));
  return { top: ticks[k], ticks };
}

const label = (v: number): string => (Math.abs(v) >= 1000 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(Number(v.toPrecision(4))));
const f1 = (v: number): string => v.toFixed(1);

/** Axes, gridlines, titles and legend around a plotted body; x ticks only for numeric x. */
function frame(title: string, xLabel: string, yLabel: string, x: Axis | null, y: Axis, bottom: number, pad: number, body: string, legend: readonly string[], legendLow = false): string {
  const h = H - M.b + bottom;
  const base = h - bottom;
  const px = (v: number) => M.l + (v / (x?.top ?? 1)) * (W - M.l - M.r);
  const py = (v: number) => base - (v / y.top) * (base - M.t);
  let s = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${-pad} 0 ${W + pad} ${h}" width="${W + pad}" height="${h}" role="img" aria-label="${escapeHtml(title)}">`;
  s += `<text x="${W / 2}" y="15" text-anchor="middle" font-size="13" font-weight="bold">${escapeHtml(title)}</text>`;
  if (x !== null) for (const v of x.ticks) s += `<line x1="${f1(px(v))}" x2="${f1(px(v))}" y1="${base}" y2="${base + 4}" stroke="#333"/><text x="${f1(px(v))}" y="${base + 15}" font-size="10" text-anchor="middle">${label(v)}</text>`;
  for (const v of y.ticks) s += `<line x1="${M.l}" x2="${W - M.r}" y1="${f1(py(v))}" y2="${f1(py(v))}" stroke="#eee"/><text x="${M.l - 4}" y="${f1(py(v) + 3)}" font-size="10" text-anchor="end">${label(v)}</text>`;
  s += body;
  s += `<line x1="${M.l}" x2="${W - M.r}" y1="${base}" y2="${base}" stroke="#333"/><line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${base}" stroke="#333"/>`;
  if (xLabel) s += `<text x="${(M.l + W - M.r) / 2}" y="${h - 6}" font-size="11" text-anchor="middle">${escapeHtml(xLabel)}</text>`;
  s += `<text x="12" y="${base / 2 + M.t / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${base / 2 + M.t / 2})">${escapeHtml(yLabel)}</text>`;
  // a translucent card, so the legend stays legible over whatever it covers
  const top = legendLow ? base - legend.length * 14 - 10 : M.t + 1;
  if (legend.length > 0) s += `<rect x="${W - M.r - 156}" y="${top}" width="152" height="${legend.length * 14 + 6}" fill="#fff" fill-opacity="0.85" stroke="#ddd"/>`;
  legend.forEach((name, i) => {
    const ly = top + 4 + i * 14;
    s += `<rect x="${W - M.r - 150}" y="${ly}" width="10" height="10" fill="${COLOURS[i % COLOURS.length]}"/><text x="${W - M.r - 136}" y="${ly + 9}" font-size="10">${escapeHtml(clip(name, 26))}</text>`;
  });
  return s + '</svg>';
}

/** Long names keep their start and end, which is where ids differ (region…/index). */
function clip(s: string, n: number): string {
  if (s.length <= n) return s;
  const head = Math.ceil((n - 1) / 2);
  return s.slice(0, head) + '…' + s.slice(s.length - (n - 1 - head));
}

export interface LineOptions {
  /** cut x here (a latency CDF past its p99); default: the largest x */
  readonly xMax?: number;
  readonly yMax?: number;
  /** the legend bottom right, where a CDF leaves room */
  readonly legendLow?: boolean;
}

/** Lines over shared axes. */
export function lineChart(title: string, xLabel: string, yLabel: string, lines: readonly Line[], opts: LineOptions = {}): string {
  const { xMax, yMax } = opts;
  let mx = xMax ?? 0;
  let my = yMax ?? 0;
  for (const l of lines) for (const [vx, vy] of l.points) {
    if (xMax === undefined && vx > mx) mx = vx;
    if (yMax === undefined && vy > my) my = vy;
  }
  const ax = axis(mx);
  const ay = axis(my);
  const x = (v: number) => M.l + (Math.min(v, ax.top) / ax.top) * (W - M.l - M.r);
  const y = (v: number) => H - M.b - (Math.min(v, ay.top) / ay.top) * (H - M.t - M.b);
  let body = '';
  lines.forEach((l, i) => {
    if (l.points.length === 0) return;
    const d = l.points.map(([vx, vy], k) => `${k === 0 ? 'M' : 'L'}${f1(x(vx))},${f1(y(vy))}`).join('');
    body += `<path d="${d}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.5"/>`;
  });
  return frame(title, xLabel, yLabel, ax, ay, M.b, 0, body, lines.map((l) => l.name), opts.legendLow === true);
}

/** Groups of bars (one group per category, one bar per series); each bar's value in its tooltip. */
export function barChart(title: string, yLabel: string, categories: readonly string[], series: readonly { name: string; values: readonly number[] }[], yMax?: number): string {
  let my = yMax ?? 0;
  if (yMax === undefined) for (const s of series) for (const v of s.values) if (v > my) my = v;
  const ay = axis(my);
  const n = Math.max(1, categories.length);
  const gw = (W - M.l - M.r) / n;
  const bw = Math.max(0.5, (gw * 0.8) / Math.max(1, series.length));
  const base = H - M.b;
  const y = (v: number) => base - (Math.min(Math.max(v, 0), ay.top) / ay.top) * (base - M.t);
  let body = '';
  categories.forEach((c, ci) => {
    series.forEach((s, si) => {
      const v = s.values[ci] ?? 0;
      const bx = M.l + ci * gw + gw * 0.1 + si * bw;
      body += `<rect x="${f1(bx)}" y="${f1(y(v))}" width="${f1(bw)}" height="${f1(base - y(v))}" fill="${COLOURS[si % COLOURS.length]}"><title>${escapeHtml(`${c} · ${s.name}: ${label(v)}`)}</title></rect>`;
    });
    // slanted labels while they fit; past that the tooltips name the replicas
    if (n <= 32) {
      const cx = f1(M.l + ci * gw + gw / 2);
      body += `<text x="${cx}" y="${base + 10}" font-size="9" text-anchor="end" transform="rotate(-35 ${cx} ${base + 10})">${escapeHtml(clip(c, 24))}</text>`;
    }
  });
  return frame(title, '', yLabel, null, ay, BAR_B, BAR_PAD, body, series.map((s) => s.name));
}
