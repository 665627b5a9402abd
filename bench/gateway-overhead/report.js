// Turns phase results into the derived figures (added latency, ratios, goals) and the printed table.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TARGET_NAMES = {
  direct: 'direct (baseline)',
  nginx: 'nginx reverse proxy',
  'switchyard-openai': 'switchyard, OpenAI wire',
  'switchyard-anthropic': 'switchyard, Anthropic wire',
  'bare-node-proxy': 'ref: bare node:http+undici',
  'floor-node-proxy': 'ref: bare + JSON round trips',
  'compare-openai': 'compared checkout, OpenAI',
  'compare-anthropic': 'compared checkout, Anthropic',
};

export const GOALS = { cpuUsPerReq: 60, addedP50Us: 150 };
/** The issue's goals relative to the bare proxy measured in the same run (they travel between machines). */
export const RATIO_GOALS = { cpuVsBare: 1.3, addedP50VsBare: 1.3 };
export const REFERENCE = 'for scale on a 2-core machine: nginx adds ~17 µs; a bare undici proxy ~86 µs; the Portkey gateway ~500 µs added and ~600 µs CPU';

const median = (xs) => {
  const v = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

/** Several rounds of one target in one phase → one figure per metric (the median). */
export function combineRounds(rounds) {
  if (rounds.length === 1) return { ...rounds[0], rounds: 1 };
  const pick = (f) => median(rounds.map(f));
  const cpu = {};
  for (const k of Object.keys(rounds[0].cpu)) {
    cpu[k] = {
      usPerReq: pick((r) => r.cpu[k].usPerReq),
      schedUsPerReq: pick((r) => r.cpu[k].schedUsPerReq),
      sysUsPerReq: pick((r) => r.cpu[k].sysUsPerReq),
      coreShare: pick((r) => r.cpu[k].coreShare),
    };
  }
  return {
    rounds: rounds.length,
    requests: rounds.reduce((n, r) => n + r.requests, 0),
    rps: pick((r) => r.rps),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    firstError: rounds.find((r) => r.firstError)?.firstError ?? null,
    latencyUs: { p50: pick((r) => r.latencyUs.p50), p90: pick((r) => r.latencyUs.p90), p99: pick((r) => r.latencyUs.p99), max: pick((r) => r.latencyUs.max), mean: pick((r) => r.latencyUs.mean) },
    cpu,
    perRound: rounds.map((r) => ({ rps: r.rps, p50: r.latencyUs.p50, p99: r.latencyUs.p99, cpuUsPerReq: r.cpu.target.usPerReq, schedUsPerReq: r.cpu.target.schedUsPerReq })),
  };
}

/** Added latency vs direct and throughput ratios vs direct and nginx, per target of a phase. */
export function derive(phase) {
  const d = phase.results.direct;
  const n = phase.results.nginx;
  for (const [name, r] of Object.entries(phase.results)) {
    if (name === 'direct' || !r || r.requests === 0) continue;
    r.addedUs = d ? { p50: r.latencyUs.p50 - d.latencyUs.p50, p99: r.latencyUs.p99 - d.latencyUs.p99 } : null;
    r.rpsVsDirect = d ? r.rps / d.rps : null;
    r.rpsVsNginx = n && name !== 'nginx' ? r.rps / n.rps : null;
    r.cpuVsNginx = n && name !== 'nginx' && n.cpu.target.usPerReq ? r.cpu.target.usPerReq / n.cpu.target.usPerReq : null;
  }
  // Ratios to the bare proxy. With several rounds, the median of each round's own ratio (the
  // targets of a round run seconds apart): other load on the machine moves both sides of a ratio.
  const b = phase.results['bare-node-proxy'];
  for (const [name, r] of Object.entries(phase.results)) {
    if (name === 'direct' || !r || r.requests === 0 || !b) continue;
    const paired = (f) => (r.perRound && b.perRound?.length === r.perRound.length ? median(r.perRound.map((x, i) => f(x, b.perRound[i], d?.perRound?.[i]))) : null);
    r.cpuVsBare = paired((x, y) => (x.schedUsPerReq ?? x.cpuUsPerReq) / (y.schedUsPerReq ?? y.cpuUsPerReq))
      ?? (b.cpu.target.usPerReq ? r.cpu.target.usPerReq / b.cpu.target.usPerReq : null);
    r.addedP50VsBare = d ? (paired((x, y, z) => (z ? (x.p50 - z.p50) / (y.p50 - z.p50) : null))
      ?? (b.addedUs && r.addedUs && b.addedUs.p50 > 0 ? r.addedUs.p50 / b.addedUs.p50 : null)) : null;
  }
  return phase;
}

/** The brief's two targets, judged for each Switchyard wire on the non-streamed phases. */
export function judge(phases) {
  const find = (stream, c) => phases.find((p) => p.stream === stream && p.concurrency === c);
  const maxC = Math.max(...phases.map((p) => p.concurrency));
  const goals = [];
  for (const t of ['switchyard-openai', 'switchyard-anthropic']) {
    const hi = find(false, maxC)?.results[t];
    const lo = find(false, 1)?.results[t];
    if (hi?.requests) goals.push({ target: t, what: `gateway CPU per non-streamed request at c=${maxC}`, limitUs: GOALS.cpuUsPerReq, valueUs: hi.cpu.target.usPerReq, met: hi.cpu.target.usPerReq <= GOALS.cpuUsPerReq });
    if (lo?.addedUs) goals.push({ target: t, what: 'added p50 latency, non-streamed, c=1', limitUs: GOALS.addedP50Us, valueUs: lo.addedUs.p50, met: lo.addedUs.p50 <= GOALS.addedP50Us });
    if (hi?.cpuVsBare) goals.push({ target: t, what: `gateway CPU per non-streamed request at c=${maxC} ÷ the bare proxy's`, limitRatio: RATIO_GOALS.cpuVsBare, ratio: hi.cpuVsBare, met: hi.cpuVsBare <= RATIO_GOALS.cpuVsBare });
    if (lo?.addedP50VsBare) goals.push({ target: t, what: 'added p50 latency, non-streamed, c=1 ÷ the bare proxy\'s', limitRatio: RATIO_GOALS.addedP50VsBare, ratio: lo.addedP50VsBare, met: lo.addedP50VsBare <= RATIO_GOALS.addedP50VsBare });
  }
  return goals;
}

const f0 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const f1 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(1));
const f2 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2));
const sign = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : (x >= 0 ? '+' : '') + Math.round(x));

const COLS = [
  ['target', 28, (n) => TARGET_NAMES[n] ?? n],
  ['p50 µs', 8, (_, r) => f0(r.latencyUs.p50)],
  ['p99 µs', 8, (_, r) => f0(r.latencyUs.p99)],
  ['req/s', 8, (_, r) => f0(r.rps)],
  ['+p50 µs', 8, (_, r) => sign(r.addedUs?.p50)],
  ['+p99 µs', 8, (_, r) => sign(r.addedUs?.p99)],
  ['gw CPU µs/req', 13, (n, r) => (n === 'direct' ? '—' : f1(r.cpu.target.usPerReq))],
  ['of it sys', 9, (n, r) => (n === 'direct' ? '—' : f1(r.cpu.target.sysUsPerReq))],
  ['CPU÷bare', 8, (_, r) => f2(r.cpuVsBare)],
  ['+p50÷bare', 9, (_, r) => f2(r.addedP50VsBare)],
  ['up CPU µs', 9, (_, r) => f1(r.cpu.upstream.usPerReq)],
  ['rps÷direct', 10, (_, r) => f2(r.rpsVsDirect)],
  ['rps÷nginx', 9, (_, r) => f2(r.rpsVsNginx)],
  ['errors', 6, (_, r) => String(r.errors)],
];

export function renderTable(run) {
  const m = run.machine;
  const lines = [
    `Switchyard gateway overhead — ${run.startedAt}`,
    `machine: ${m.cpuModel} × ${m.cores} cores, node ${m.node}, ${m.kernel}, CLK_TCK ${m.clkTck}${m.nginx ? `, ${m.nginx}` : ''}; load average ${m.loadavgAtStart?.[0]?.toFixed(2)} at start, ${m.loadavgAtEnd?.[0]?.toFixed(2)} at end`,
    `method: closed loop, ${run.settings.warmupSeconds}s warm-up + ${run.settings.seconds}s measured per phase, ${run.settings.rounds} round(s) (median), load generator in its own process`,
    'gw CPU = utime+stime of the gateway process (nginx: its worker) over the window ÷ requests; "of it sys" = the stime part (kernel: sockets, loopback TCP)',
  ];
  for (const [t, info] of Object.entries(run.targets)) if (!info.present) lines.push(`absent: ${TARGET_NAMES[t]} — ${info.reason}`);
  for (const p of run.phases) {
    lines.push('', `${p.stream ? 'streamed' : 'non-streamed'}, concurrency ${p.concurrency}`);
    lines.push(COLS.map(([h, w], i) => (i === 0 ? h.padEnd(w) : h.padStart(w))).join(' '));
    for (const [name, r] of Object.entries(p.results)) {
      if (!r) continue;
      lines.push(COLS.map(([, w, get], i) => (i === 0 ? String(get(name, r)).padEnd(w) : String(get(name, r)).padStart(w))).join(' '));
      if (r.firstError) lines.push(`    first error: ${r.firstError.slice(0, 200)}`);
    }
  }
  lines.push('', `targets (${REFERENCE}):`);
  for (const g of run.goals) lines.push(`  ${g.met ? 'MET ' : 'MISS'}  ${TARGET_NAMES[g.target]}: ${g.what} = ${goalValue(g)} (target ≤ ${goalLimit(g)})`);
  return lines.join('\n');
}

const goalValue = (g) => (g.ratio !== undefined ? `${f2(g.ratio)}×` : `${f1(g.valueUs)} µs`);
const goalLimit = (g) => (g.limitRatio !== undefined ? `${g.limitRatio}×` : `${g.limitUs} µs`);

/** results-<date>.json (gitignored) and, for a full default run, latest.json (committed). */
export function writeResults(dir, run, { latest }) {
  const stamp = run.startedAt.replace(/[:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const text = JSON.stringify(run, null, 2) + '\n';
  const dated = join(dir, `results-${stamp}.json`);
  writeFileSync(dated, text);
  if (latest) writeFileSync(join(dir, 'latest.json'), text);
  return dated;
}

/** The same figures as a Markdown table (for bench/README.md and release notes). */
export function renderMarkdown(run) {
  const m = run.machine;
  const out = [
    `Run of ${run.startedAt} on ${m.cpuModel} × ${m.cores} cores, node ${m.node}, ${m.kernel}${m.nginx ? `, ${m.nginx}` : ''}; ` +
      `${run.settings.warmupSeconds} s warm-up + ${run.settings.seconds} s measured per phase, ${run.settings.rounds} round(s), median shown.`,
    '',
    '| phase | target | p50 µs | p99 µs | req/s | added p50 µs | added p99 µs | gateway CPU µs/req (sys) | CPU ÷ bare | added p50 ÷ bare | req/s ÷ direct | req/s ÷ nginx |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const p of run.phases) {
    const phase = `${p.stream ? 'streamed' : 'non-streamed'}, c=${p.concurrency}`;
    for (const [name, r] of Object.entries(p.results)) {
      if (!r) continue;
      const cpu = name === 'direct' ? '—' : `${f1(r.cpu.target.usPerReq)} (${f1(r.cpu.target.sysUsPerReq)})`;
      out.push(`| ${phase} | ${TARGET_NAMES[name] ?? name} | ${f0(r.latencyUs.p50)} | ${f0(r.latencyUs.p99)} | ${f0(r.rps)} | ${sign(r.addedUs?.p50)} | ${sign(r.addedUs?.p99)} | ${cpu} | ${f2(r.cpuVsBare)} | ${f2(r.addedP50VsBare)} | ${f2(r.rpsVsDirect)} | ${f2(r.rpsVsNginx)} |`);
    }
  }
  out.push('', '| target | what | value | goal | |', '| --- | --- | ---: | ---: | --- |');
  for (const g of run.goals) out.push(`| ${TARGET_NAMES[g.target]} | ${g.what} | ${goalValue(g)} | ≤ ${goalLimit(g)} | ${g.met ? 'met' : '**missed**'} |`);
  return out.join('\n');
}
