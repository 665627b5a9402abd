// A uPlot time-series chart as a component: only the views that chart load uPlot.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from './ui.js';

const PALETTE = ['#4f8cff', '#f5a524', '#e5484d', '#30a46c', '#8e4ec6'];

/**
 * A uPlot time-series chart. `data` is uPlot's columnar [xs (epoch s), ...ys]; `series` the ys'
 * labels; `unit` formats the y axis.
 */
export function Chart({ title, data, series, unit = (v) => String(v), height = 200, bars = false }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const width = Math.max(300, box.current.clientWidth);
    const opts = {
      width, height, legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: '#9aa4b2', grid: { stroke: '#2a3140' }, ticks: { stroke: '#2a3140' } },
        { stroke: '#9aa4b2', grid: { stroke: '#2a3140' }, ticks: { stroke: '#2a3140' }, size: 64, values: (_u, vals) => vals.map(unit) },
      ],
      series: [{}, ...series.map((label, i) => ({
        label, stroke: PALETTE[i % PALETTE.length], width: 2, value: (_u, v) => (v === null ? '—' : unit(v)),
        ...(bars ? { fill: PALETTE[i % PALETTE.length] + '99', paths: uPlot.paths.bars({ size: [0.7, 40] }) } : { fill: PALETTE[i % PALETTE.length] + '1a' }),
      }))],
    };
    plot.current = new uPlot(opts, data, box.current);
    return () => { plot.current.destroy(); plot.current = null; };
  }, [series.join('|')]);
  useEffect(() => { plot.current?.setData(data); }, [data]);
  return html`<figure class="chart"><figcaption>${title}</figcaption><div ref=${box} role="img" aria-label=${title}></div></figure>`;
}
