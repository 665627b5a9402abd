import { describe, expect, it } from 'vitest';
import { buildReport, maxMinShares, renderHtml, renderText, reportJson, summarize, type RequestRecord, type RunAdmission } from '../../../src/sim/report/index.js';
import { info, rejected, req, run, slo } from './fixtures.js';

// The admission figures of a report, from hand-built records: per class, per tenant, and Jain's
// index normalised by the max-min fair share.

const shed = (over: Partial<RequestRecord> = {}): RequestRecord => rejected({ outcome: 'shed', ...over });
const late = (over: Partial<RequestRecord> = {}): RequestRecord => req({ firstTokenS: 3, finishS: 3.5, ...over }); // TTFT 3 s > 0.5 s

const classes = (t: Record<string, [RunAdmission['tenants'][string]['priority'], number]>): RunAdmission => ({
  label: 'fair', discipline: 'fair', tenants: Object.fromEntries(Object.entries(t).map(([k, [priority, weight]]) => [k, { priority, weight }])),
});

describe('max-min fair shares (water-filling)', () => {
  it.each([
    ['equal demands split equally', [10, 10, 10], [1, 1, 1], 15, [5, 5, 5]],
    ['a small demand is met in full, the rest split what is left', [2, 10, 10], [1, 1, 1], 12, [2, 5, 5]],
    ['weights split in proportion among the unmet', [100, 100], [2, 1], 30, [20, 10]],
    ['enough for everyone: every demand met, nothing more', [3, 4], [1, 1], 100, [3, 4]],
    ['nothing served: nothing owed', [5, 5], [1, 1], 0, [0, 0]],
  ])('%s', (_why, demand, weight, total, want) => {
    const got = maxMinShares(demand, weight, total);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 9));
  });
});

describe('a run with admission', () => {
  const admission = classes({ chat: ['interactive', 1], api: ['standard', 1], bulk: ['batch', 1] });
  const records = [
    req({ tenant: 'chat' }), req({ tenant: 'chat' }),
    req({ tenant: 'api' }), shed({ tenant: 'api' }), late({ tenant: 'api' }),
    shed({ tenant: 'bulk' }), shed({ tenant: 'bulk', finishS: 4 }), req({ tenant: 'bulk' }),
  ];
  const p = summarize(run(records, { admission }), slo);

  it('reports each class that sent anything: requests, ok, shed (on arrival or after waiting), TTFT of the ok ones, goodput', () => {
    expect(p.admission!.classes.map((c) => [c.priority, c.requests, c.ok, c.shed, c.shedWaited, c.served])).toEqual([
      ['interactive', 2, 2, 0, 0, 2], ['standard', 3, 2, 1, 0, 1], ['batch', 3, 1, 2, 1, 1],
    ]);
    expect(p.admission!.classes[1].ttft.p99).toBeCloseTo(0.2 + 0.99 * 2.8, 9);
    expect(p.admission!.classes[1].goodputFraction).toBeCloseTo(1 / 3, 9);
    expect(p.admission!.shed).toBe(3);
  });

  it('holds each class to its own TTFT bound when the SLO sets one', () => {
    const loose = summarize(run(records, { admission }), { ...slo, ttftSByPriority: { standard: 5 } });
    expect(loose.admission!.classes[1].served).toBe(2);
    // the overall goodput and the tenants' too: one SLO per request, its class's
    expect(loose.goodput.fraction).toBeCloseTo(5 / 8, 9);
    expect(loose.tenants.find((t) => t.tenant === 'api')!.goodputFraction).toBeCloseTo(2 / 3, 9);
  });

  it('has no admission figures, and no shed in the notes, when the run had no admission', () => {
    const plain = summarize(run([req()]), slo);
    expect(plain.admission).toBeUndefined();
    expect(JSON.parse(reportJson(buildReport(info, [run([req()])], slo))).notes.join(' ')).not.toMatch(/shed/i);
  });
});

describe('Jain\'s index normalised by the max-min fair share', () => {
  // five tenants; "abuser" offers 10× what each of the others does
  const demand = { a: 10, b: 10, c: 10, d: 10, abuser: 100 };
  const admission = classes(Object.fromEntries(Object.keys(demand).map((t) => [t, ['standard', 1]])));
  const records = (served: Record<string, number>) => Object.entries(demand).flatMap(([t, n]) =>
    Array.from({ length: n }, (_, i) => (i < served[t] ? req({ tenant: t }) : shed({ tenant: t }))));
  const jains = (served: Record<string, number>) => {
    const a = summarize(run(records(served), { admission }), slo).admission!;
    return { all: a.jain, others: a.jainOthers, heavy: a.tenants.filter((t) => t.heavy).map((t) => t.tenant) };
  };

  it('is 1 when the small tenants get all they ask and the heavy one the rest (not an equal split)', () => {
    expect(jains({ a: 10, b: 10, c: 10, d: 10, abuser: 20 })).toEqual({ all: 1, others: 1, heavy: ['abuser'] });
  });

  it('falls when the heavy tenant takes the small ones\' share', () => {
    const j = jains({ a: 3, b: 3, c: 3, d: 3, abuser: 48 });
    expect(j.all).toBeLessThan(0.6);
    // the others are starved alike: among themselves, even
    expect(j.others).toBeCloseTo(1, 9);
  });

  it('sees unevenness among the others', () => {
    expect(jains({ a: 10, b: 10, c: 1, d: 1, abuser: 38 }).others).toBeLessThan(0.8);
  });

  it('counts a request served only if it met its SLO: late answers serve nobody', () => {
    const allLate = Object.entries(demand).flatMap(([t, n]) => Array.from({ length: n }, () => late({ tenant: t })));
    const a = summarize(run(allLate, { admission }), slo).admission!;
    expect(a.jain).toBeNaN();
    expect(a.tenants.every((t) => t.served === 0 && t.fairShare === 0)).toBe(true);
  });
});

describe('the renderings of a run with admission', () => {
  const admission = classes({ chat: ['interactive', 1], bulk: ['batch', 2] });
  const report = buildReport(info, [run([req({ tenant: 'chat' }), shed({ tenant: 'bulk' })], { policy: 'fair', admission }), run([req()], { policy: 'none' })], slo);

  it('add the admission rows to the side-by-side table, a dash for the run without admission', () => {
    const t = renderText(report);
    expect(t).toMatch(/shed, interactive \/ standard \/ batch\s+0 \/ — \/ 1\s+—/);
    expect(t).toMatch(/Jain's index, max-min fair: all \/ others/);
    expect(t).toMatch(/bulk\s+batch\s+2\.0\s+1\s+0\s+1/);
  });

  it('give the page an admission section per run that had admission', () => {
    const h = renderHtml(report);
    expect(h.match(/<h3>Admission: /g)).toHaveLength(1);
    expect(h).toMatch(/Waiting in the gateway&#39;s admission queue/);
  });

  it('leave a report without admission as it was', () => {
    const plain = buildReport(info, [run([req()])], slo);
    expect(renderText(plain)).not.toMatch(/admission|shed/);
    expect(renderHtml(plain)).not.toMatch(/Admission|admission queue/);
  });
});
