import { describe, expect, it } from 'vitest';
import { buildReport, renderHtml, renderText, reportJson } from '../../../src/sim/report/index.js';
import { axis } from '../../../src/sim/report/svg.js';
import { bigRun, info, req, run, slo } from './fixtures.js';

const two = () => buildReport(info, [run([req(), req({ tenant: 'b' })], { policy: 'least-outstanding' }), run([req()], { policy: 'round-robin', wallS: 7 })], slo);

describe('the JSON report', () => {
  it('is the same bytes for the same records, and differs when a record does', () => {
    expect(reportJson(two())).toBe(reportJson(two()));
    const other = buildReport(info, [run([req({ finishS: 0.71 })])], slo);
    expect(reportJson(other)).not.toBe(reportJson(buildReport(info, [run([req()])], slo)));
  });

  it('leaves wall time out unless asked, since it differs run to run', () => {
    const a = buildReport(info, [run([req()], { wallS: 1 })], slo);
    const b = buildReport(info, [run([req()], { wallS: 2 })], slo);
    expect(reportJson(a)).toBe(reportJson(b));
    expect(reportJson(a)).not.toMatch(/wallS/);
    expect(JSON.parse(reportJson(b, { includeWall: true })).policies[0].wallS).toBe(2);
  });

  it('rounds to 6 significant digits and writes NaN as null', () => {
    const r = JSON.parse(reportJson(buildReport(info, [run([req({ promptLen: 1 }), req({ promptLen: 1 }), req({ promptLen: 0 })], { durationS: 3 })], slo)));
    expect(r.policies[0].throughput.inputTokPerS).toBe(0.666667); // 2 tokens / 3 s
    expect(buildReport(info, [run([])], slo).policies[0].ttft.p50).toBeNaN();
    expect(JSON.parse(reportJson(buildReport(info, [run([])], slo))).policies[0].ttft.p50).toBeNull();
  });

  it('keeps the scenario, the policies in run order and the notes', () => {
    const r = JSON.parse(reportJson(two()));
    expect(Object.keys(r)).toEqual(['scenario', 'policies', 'notes']);
    expect(r.policies.map((p: { policy: string }) => p.policy)).toEqual(['least-outstanding', 'round-robin']);
    expect(r.notes.join(' ')).toMatch(/TPOT/);
    expect(r.notes.join(' ')).toMatch(/Jain's index .* over tenants/);
  });
});

describe('the text report', () => {
  it('has one block per policy and puts them side by side, one column each', () => {
    const t = renderText(two());
    expect(t.match(/^== policy /gm)).toHaveLength(2);
    const lines = t.split('\n');
    const header = lines.find((l) => /least-outstanding\s+round-robin/.test(l));
    expect(header).toBeDefined();
    const row = lines.slice(lines.indexOf(header!)).find((l) => l.startsWith('TTFT mean / p50 / p90 / p99 (ms)'))!;
    // the label, then one cell per policy
    expect(row.split(/\s{2,}/)).toHaveLength(3);
  });

  it('has no side-by-side table for a single policy', () => {
    const t = renderText(buildReport(info, [run([req()])], slo));
    expect(t).not.toMatch(/side by side/);
    expect(t).toMatch(/TTFT mean \/ p50 \/ p90 \/ p99 \(ms\)\s+200 \/ 200 \/ 200 \/ 200/);
  });

  it('aligns each table: every row of a table as wide as its rule', () => {
    const t = renderText(two());
    const lines = t.split('\n');
    const rule = lines.findIndex((l) => /^-+(\s+-+)+$/.test(l));
    const width = lines[rule].length;
    expect(lines[rule - 1].length).toBe(width);
    expect(lines[rule + 1].length).toBe(width);
  });

  it('lists at most 16 replicas per policy and says how many more', () => {
    const t = renderText(buildReport(info, [bigRun('x', 100, 10, 20)], slo));
    expect(t).toMatch(/and 4 more replicas/);
  });
});

describe('the HTML page', () => {
  it('has a plot per figure, one column per policy, and escapes what users named', () => {
    const r = buildReport({ ...info, name: 'x' }, [run([req({ tenant: '<script>alert(1)</script>' })], { policy: 'a&b' })], slo);
    const html = renderHtml(r);
    expect(html.match(/<svg /g)).toHaveLength(8);
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('a&amp;b');
    expect(renderHtml(two()).match(/<th>(least-outstanding|round-robin)<\/th>/g)).toHaveLength(2);
  });

  it('draws one line per policy in each plot over time, with a legend entry each', () => {
    const html = renderHtml(two());
    const svgs = html.match(/<svg [\s\S]*?<\/svg>/g)!;
    for (const svg of svgs.slice(0, 6)) {
      expect(svg.match(/<path /g)).toHaveLength(2);
      expect(svg).toContain('>least-outstanding<');
      expect(svg).toContain('>round-robin<');
    }
  });

  it('is the same bytes every time and never shows wall time', () => {
    expect(renderHtml(two())).toBe(renderHtml(two()));
    const a = renderHtml(buildReport(info, [run([req()], { wallS: 1 })], slo));
    expect(renderHtml(buildReport(info, [run([req()], { wallS: 99 })], slo))).toBe(a);
  });

  it('works offline: no script, no stylesheet or image from elsewhere', () => {
    const html = renderHtml(two());
    expect(html).not.toMatch(/<script|<link|<img|src=|@import/);
    expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/https?:/);
  });

  it('stays well under a megabyte for three policies of 30,000 requests each', () => {
    const r = buildReport(info, ['a', 'b', 'c'].map((p) => bigRun(p, 30_000, 3600, 24)), slo);
    expect(renderHtml(r).length).toBeLessThan(300_000);
    expect(reportJson(r).length).toBeLessThan(1_000_000);
  });
});

describe('chart axes', () => {
  it.each([
    [610, 700, 'steps of 100'],
    [11_600, 12_000, 'steps of 2,000'],
    [1, 1, 'a CDF ends at 1 exactly'],
    [7.6, 8, 'steps of 1'],
    [0, 1, 'nothing to show still gets an axis'],
  ])('a maximum of %d tops the axis at %d (%s)', (max, top) => {
    expect(axis(max).top).toBe(top);
    expect(axis(max).ticks.length).toBeLessThanOrEqual(9);
  });
});
