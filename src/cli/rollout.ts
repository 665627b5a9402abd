import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { table, type Cell } from './table.js';

// `switchyard rollout start|status|pause|resume|promote|abort`: a running gateway's rollouts, through
// its admin API (/admin/v1/rollouts) with the admin token. Each command returns its exit code: 0 done,
// 1 the gateway refused (its message is printed as is), 2 a usage mistake or a gateway that cannot be
// reached. The token goes in a header and is never printed.

export interface GatewayFlags {
  /** default SWITCHYARD_URL, else http://127.0.0.1:8080 */
  gateway?: string;
  /** default SWITCHYARD_ADMIN_TOKEN */
  adminToken?: string;
  /** who the audit trail names (`admin:<actor>`); default just `admin` */
  actor?: string;
  json?: boolean;
}

/** Where a command writes and what it reads: the process's by default, a spec's in tests. */
export interface Io {
  out(s: string): void;
  err(s: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** how long one request may take, ms */
  readonly timeoutMs?: number;
}

export const processIo: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  env: process.env,
};

export interface StartOptions extends GatewayFlags {
  model?: string;
  candidate?: string;
  stable?: string;
  /** the spec as YAML or JSON; the flags above fill or override its fields */
  file?: string;
  reason?: string;
}

export interface StatusOptions extends GatewayFlags {
  /** absent: the active rollouts */
  id?: string;
  model?: string;
}

export interface CommandOptions extends GatewayFlags {
  id: string;
  reason?: string;
  /** promote only: every region to 100 % at once */
  full?: boolean;
}

export type RolloutCommandName = 'pause' | 'resume' | 'promote' | 'abort';

/** A failure that ends the command with its exit code and message. */
class Exit extends Error {
  constructor(readonly code: 1 | 2, message: string) {
    super(message);
  }
}

/** `switchyard rollout start`: POST /admin/v1/rollouts with the spec. */
export function rolloutStart(o: StartOptions, io: Io = processIo): Promise<number> {
  return run(io, async () => {
    const spec: Record<string, unknown> = o.file === undefined ? {} : specFile(o.file);
    if (o.model !== undefined) spec.model = o.model;
    if (o.candidate !== undefined) spec.candidate = o.candidate;
    if (o.stable !== undefined) spec.stable = o.stable;
    if (o.reason !== undefined) spec.reason = o.reason;
    for (const f of ['model', 'candidate'] as const) {
      if (spec[f] === undefined) throw new Exit(2, `--${f} is required (or a \`${f}\` field in --file)`);
    }
    const v = await call(o, io, 'POST', '/admin/v1/rollouts', spec) as View;
    if (o.json) return io.out(json(v));
    io.out(`rollout ${v.id} started: ${v.model} ${v.stable} → ${v.candidate}, ${v.phase}\n`);
    io.err(`follow it with \`switchyard rollout status ${v.id}\`\n`);
  });
}

/** `switchyard rollout status [id]`: one rollout with its evidence, or a table of the active ones. */
export function rolloutStatus(o: StatusOptions, io: Io = processIo): Promise<number> {
  return run(io, async () => {
    if (o.id !== undefined) {
      const v = await call(o, io, 'GET', `/admin/v1/rollouts/${encodeURIComponent(o.id)}`) as View;
      return io.out(o.json ? json(v) : detail(v));
    }
    const q = new URLSearchParams({ active: 'true' });
    if (o.model !== undefined) q.set('model', o.model);
    const page = await call(o, io, 'GET', `/admin/v1/rollouts?${q}`) as { data: View[]; has_more?: boolean };
    if (o.json) return io.out(json(page));
    if (page.data.length === 0) return io.err(o.model === undefined ? 'no active rollouts\n' : `no active rollout of ${o.model}\n`);
    io.out(table(
      ['id', 'model', 'stable', 'candidate', 'phase', 'wave', 'step', 'weights', 'updated'],
      page.data.map((v): Cell[] => [v.id, v.model, v.stable, v.candidate, phase(v), `${v.wave.index + 1}/${v.wave.of}`, `${v.step.index + 1}/${v.step.of}`, weights(v.weights), v.updated_at]),
    ));
  });
}

/** `switchyard rollout pause|resume|promote|abort <id>`. */
export function rolloutCommand(name: RolloutCommandName, o: CommandOptions, io: Io = processIo): Promise<number> {
  return run(io, async () => {
    const body: Record<string, unknown> = {};
    if (o.reason !== undefined) body.reason = o.reason;
    if (name === 'promote' && o.full) body.full = true;
    const v = await call(o, io, 'POST', `/admin/v1/rollouts/${encodeURIComponent(o.id)}/${name}`, body) as View;
    io.out(o.json ? json(v) : `rollout ${v.id}: ${phase(v)}; weights ${weights(v.weights)}\n`);
  });
}

async function run(io: Io, fn: () => Promise<void>): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    io.err(`switchyard: ${e.message}\n`);
    return e.code;
  }
}

function specFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Exit(2, `cannot read --file ${path}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = parseYaml(text); // YAML is a superset of JSON: one parser for both
  } catch (e) {
    throw new Exit(2, `--file ${path} is not YAML or JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Exit(2, `--file ${path} must hold one rollout spec (a mapping such as { model, candidate, steps })`);
  return v as Record<string, unknown>;
}

/** The gateway's base URL, checked, and the form of it messages print. */
function gatewayOf(o: GatewayFlags, io: Io): { url: URL; shown: string } {
  const raw = o.gateway ?? io.env.SWITCHYARD_URL ?? 'http://127.0.0.1:8080';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Exit(2, `--gateway must be a URL such as http://127.0.0.1:8080, got '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Exit(2, `--gateway must be an http:// or https:// URL, got '${url.protocol}'`);
  // a credential in the URL would be printed in every message that names the gateway
  if (url.username !== '' || url.password !== '') throw new Exit(2, '--gateway must not carry credentials (user:password@); the admin token goes in --admin-token or SWITCHYARD_ADMIN_TOKEN');
  return { url, shown: url.origin + url.pathname.replace(/\/$/, '') };
}

async function call(o: GatewayFlags, io: Io, method: string, path: string, body?: unknown): Promise<unknown> {
  const { url, shown } = gatewayOf(o, io);
  const token = o.adminToken ?? io.env.SWITCHYARD_ADMIN_TOKEN;
  if (token === undefined || token === '') throw new Exit(2, 'no admin token: pass --admin-token or set SWITCHYARD_ADMIN_TOKEN');
  // fetch's message for a bad header value quotes the value: refuse it here, without it
  if (!/^[\x21-\x7e]+$/.test(token)) throw new Exit(2, 'the admin token must be printable ASCII without spaces (check for a stray newline or quote)');
  // x-admin-token, not a Bearer: the gateway then checks it as the admin token only, and says so when it is wrong
  const headers: Record<string, string> = { 'x-admin-token': token, accept: 'application/json' };
  if (o.actor !== undefined) headers['x-switchyard-actor'] = o.actor;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const target = new URL(url.pathname.replace(/\/$/, '') + path, url);
  let res: Response;
  let text: string;
  try {
    res = await fetch(target, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(io.timeoutMs ?? 30_000) });
    text = await res.text();
  } catch (e) {
    throw new Exit(2, `cannot reach the gateway at ${shown}: ${why(e)}; is it running? (--gateway or SWITCHYARD_URL)`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Exit(1, `${shown} answered HTTP ${res.status} with a body that is not JSON; is it a Switchyard gateway?`);
  }
  if (res.ok) return v;
  const err = (v as { error?: { message?: unknown }; request_id?: unknown } | null);
  const message = typeof err?.error?.message === 'string' ? err.error.message : `HTTP ${res.status}`;
  const id = typeof err?.request_id === 'string' ? ` (request ${err.request_id})` : '';
  const hint = res.status === 401 ? '; check --admin-token or SWITCHYARD_ADMIN_TOKEN' : '';
  throw new Exit(1, message + id + hint);
}

function why(e: unknown): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) return 'no answer in time';
  const cause = e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}

// ── what a person reads ─────────────────────────────────────────────────────────

/** The parts of the admin API's rollout view the text output reads. */
interface View {
  id: string; model: string; stable: string; candidate: string; phase: string;
  pause: { kind: string; message: string; until: string | null } | null;
  wave: { index: number; of: number; regions: string[] };
  step: { index: number; of: number; step: Record<string, Record<string, unknown> | number> | null; started_at: string };
  weights: Record<string, number>;
  failure: { metric: string; reason: string; at: string } | null;
  evidence: {
    method: string; candidate: { calls: number; failures: number }; stable: { calls: number; failures: number };
    metrics: { metric: string; comparisons: number; statistic: number | null; threshold: number | null; ratio: number | null }[];
  } | null;
  created_by: string; created_at: string; updated_at: string;
  /** holder: null when the gateway asked follows (it does not know which gateway leads) */
  leader: { holder: string | null; this_gateway: boolean; since: string | null };
}

const json = (v: unknown): string => JSON.stringify(v, null, 2) + '\n';

function phase(v: View): string {
  if (v.pause === null) return v.phase;
  return `${v.phase} (${v.pause.kind}: ${v.pause.message}${v.pause.until ? `, until ${v.pause.until}` : ''})`;
}

const weights = (w: Record<string, number>): string => Object.entries(w).map(([r, n]) => `${r}=${n}`).join(' ') || '-';

/** 90000 → 1m30s */
function dur(ms: unknown): string {
  if (typeof ms !== 'number') return '?';
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let s = Math.round(ms / 1000);
  for (const [unit, size] of [['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.join('');
}

function stepText(step: View['step']['step']): string {
  if (step === null) return 'after the last step';
  if ('setWeight' in step) return `setWeight ${String(step.setWeight)}`;
  const p = step.pause as { duration?: number } | undefined;
  if (p !== undefined) return p.duration === undefined ? 'pause until promoted' : `pause ${dur(p.duration)}`;
  const a = step.analysis as { minDuration?: number; maxDuration?: number } | undefined;
  if (a !== undefined) return `analysis (at least ${dur(a.minDuration)}, at most ${dur(a.maxDuration)})`;
  return JSON.stringify(step);
}

const num = (n: number | null, digits: number): string => (n === null ? '-' : Number.isInteger(n) ? String(n) : n.toFixed(digits));

function detail(v: View): string {
  const lines: [string, string][] = [
    ['rollout', `${v.id}  ${v.model}: ${v.stable} → ${v.candidate}`],
    ['phase', phase(v)],
    ['wave', `${v.wave.index + 1} of ${v.wave.of}: ${v.wave.regions.join(', ') || '-'}`],
    ['step', `${v.step.index + 1} of ${v.step.of}: ${stepText(v.step.step)} (since ${v.step.started_at})`],
    ['weights', weights(v.weights)],
  ];
  if (v.failure !== null) lines.push(['failure', `${v.failure.metric}: ${v.failure.reason} (at ${v.failure.at})`]);
  const since = v.leader.since ? ` since ${v.leader.since}` : '';
  lines.push(['leader', v.leader.this_gateway || v.leader.holder !== null
    ? `${v.leader.holder ?? '?'}${v.leader.this_gateway ? ' (the gateway asked)' : ''}${since}`
    : `another gateway (the gateway asked follows${since})`]);
  lines.push(['created', `${v.created_at} by ${v.created_by}; updated ${v.updated_at}`]);
  const width = Math.max(...lines.map(([k]) => k.length));
  let out = lines.map(([k, s]) => `${k.padEnd(width)}  ${s}`).join('\n') + '\n';
  const e = v.evidence;
  if (e === null) return out + '\nno evidence yet\n';
  out += `\nevidence (${e.method}): candidate ${e.candidate.calls} calls, ${e.candidate.failures} failed; stable ${e.stable.calls} calls, ${e.stable.failures} failed\n`;
  if (e.metrics.length === 0) return out;
  return out + table(
    ['metric', 'comparisons', 'statistic', 'threshold', 'ratio'],
    e.metrics.map((m) => [m.metric, m.comparisons, num(m.statistic, 3), num(m.threshold, 3), num(m.ratio, 3)]),
  );
}
