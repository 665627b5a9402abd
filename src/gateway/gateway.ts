import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  newRequestId, parseAnthropicMessages, parseOpenAIChat, renderError, renderModel, renderModels,
  type GatewayError, type InferenceRequest, type ModelInfo, type Wire,
} from '../api/index.js';
import type { AdminApi } from '../api/index.js';
import type { Config, ModelConfig } from '../config/index.js';
import { isPriority, PRIORITIES, type Priority } from '../admission/index.js';
import type { FleetRegistry, FleetWatch, Replica } from '../fleet/index.js';
import { nextMonthUtc, type MonthlySpend } from '../limits/index.js';
import type { LedgerWriter, Store, UsageOutcome, UsageRecord } from '../ledger/index.js';
import type { GatewayMetrics, Logger } from '../observe/index.js';
import { extractKey, type AuthContext, type Authenticator } from '../tenancy/index.js';
import type { UpstreamFailure } from '../upstream/index.js';
import type { Admission } from './admission.js';
import { createBackend, type Backend } from './backends.js';
import { readBody } from './body.js';
import { countTokens } from './count-tokens.js';
import { fleetAdmin } from './fleet-admin.js';
import { Exchange, outcomeOf } from './exchange.js';
import type { RateLimits } from './rate-limits.js';
import { GatewayRouter, type RouteTicket } from './routing.js';

export interface GatewayDeps {
  config: Config;
  fleet: FleetRegistry;
  /** probes, scrapes and outlier detection; null in tests that drive the fleet by hand */
  watch: FleetWatch | null;
  rateLimits: RateLimits;
  admission: Admission;
  spend: MonthlySpend;
  /** the admin audit trail, for fleet changes (the admin API writes its own) */
  store: Pick<Store, 'appendAudit'>;
  backends: Map<Replica, Backend>;
  authenticator: Authenticator;
  ledger: LedgerWriter;
  admin: AdminApi;
  metrics: GatewayMetrics;
  log: Logger;
}

/** A served model: its settings and the replicas behind it (a live list: replicas come and go). */
export interface ModelEntry {
  readonly config: ModelConfig;
  readonly info: ModelInfo;
  readonly replicas: readonly Replica[];
}

interface Series {
  requests: { inc(): void };
  latency: { observe(v: number): void };
  ttft: { observe(v: number): void };
}

const VERSION_RE = /^\d{4}-\d{2}-\d{2}$/;
const DEADLINE_RE = /^[1-9]\d{0,8}$/;

/** The data plane: one HTTP server, the request pipeline, and a clean drain. */
export class Gateway {
  readonly server: Server;
  readonly metrics: GatewayMetrics;
  readonly maxAttempts: number;
  readonly #deps: GatewayDeps;
  readonly #sessionHeader: string;
  readonly #models = new Map<string, ModelEntry>();
  readonly #modelInfos: ModelInfo[] = [];
  readonly #seriesCache = new Map<string, Series>();
  readonly routing: GatewayRouter;
  readonly retries: RetryBudget;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  /** null when hedging is off (the default) */
  readonly hedge: { readonly delayMs: number } | null;
  #inflight = 0;
  #draining = false;
  #ready = false;

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
    this.#sessionHeader = deps.config.routing.sessionHeader.toLowerCase();
    this.metrics = deps.metrics;
    this.maxAttempts = deps.config.upstream.maxAttempts;
    this.routing = new GatewayRouter(deps.config, deps.fleet);
    this.backoff = deps.config.upstream.backoff;
    this.hedge = deps.config.upstream.hedge.enabled ? { delayMs: deps.config.upstream.hedge.delayMs } : null;
    this.retries = new RetryBudget(deps.config.upstream.retryBudget.percent / 100, deps.config.upstream.retryBudget.minConcurrency);
    for (const m of deps.config.models) if (deps.fleet.replicasOf(m.id).length > 0) this.#serve(m);
    this.server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, this.#onRequest);
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** /healthz answers 200 from here on. */
  markReady(): void {
    this.#ready = true;
  }

  listen(port: number, host: string): Promise<{ port: number; host: string }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve({ port: typeof a === 'object' && a ? a.port : port, host });
      });
    });
  }

  /** Stops taking requests, lets in-flight ones finish (up to `timeoutMs`), then closes sockets. */
  async drain(timeoutMs: number): Promise<{ cut: number }> {
    this.#draining = true;
    this.#ready = false;
    this.server.close();
    this.server.closeIdleConnections();
    const deadline = Date.now() + timeoutMs;
    while (this.#inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const cut = this.#inflight;
    this.server.closeAllConnections();
    return { cut };
  }

  // ── routing of paths ─────────────────────────────────────────────────────────

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.#inflight++;
    res.once('close', this.#onResponseClose);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (this.#draining) {
      res.setHeader('connection', 'close');
      this.sendError(res, wireOf(req, path), { kind: 'overloaded', message: 'The gateway is shutting down; retry on another instance.', retryAfterS: 1 }, newRequestId());
      return;
    }
    switch (path) {
      case '/v1/messages':
        if (method !== 'POST') return this.#methodNotAllowed(res, 'anthropic', method, path);
        return void this.#inference(req, res, 'anthropic');
      case '/v1/chat/completions':
        if (method !== 'POST') return this.#methodNotAllowed(res, 'openai', method, path);
        return void this.#inference(req, res, 'openai');
      case '/v1/messages/count_tokens':
        if (method !== 'POST') return this.#methodNotAllowed(res, 'anthropic', method, path);
        return void this.#countTokens(req, res);
      case '/v1/models':
        if (method !== 'GET') return this.#methodNotAllowed(res, wireOf(req, path), method, path);
        return void this.#listModels(req, res, q === -1 ? '' : url.slice(q + 1));
      case '/healthz':
        res.writeHead(this.#ready ? 200 : 503, { 'content-type': 'application/json' });
        res.end(this.#ready ? '{"status":"ok"}' : '{"status":"starting"}');
        return;
      case '/metrics':
        return void this.#metricsText(res);
    }
    if (path.startsWith('/v1/models/') && method === 'GET') return void this.#getModel(req, res, decodeURIComponent(path.slice(11)));
    if (path.startsWith('/admin/v1/')) return void this.#admin(req, res, method, path, q === -1 ? '' : url.slice(q + 1));
    this.sendError(res, wireOf(req, path), { kind: 'not_found', message: `There is no ${method} ${path} here. Inference is at POST /v1/messages (Anthropic) and POST /v1/chat/completions (OpenAI).` }, newRequestId());
  };

  readonly #onResponseClose = (): void => {
    this.#inflight--;
  };

  #methodNotAllowed(res: ServerResponse, wire: Wire, method: string, path: string): void {
    res.setHeader('allow', path === '/v1/models' ? 'GET' : 'POST');
    this.sendError(res, wire, { kind: 'method_not_allowed', message: `${method} is not allowed on ${path}.` }, newRequestId());
  }

  // ── inference ──────────────────────────────────────────────────────────────

  async #inference(req: IncomingMessage, res: ServerResponse, wire: Wire): Promise<void> {
    const requestId = newRequestId();
    const t0 = performance.now();
    const startedAt = Date.now();
    const auth = await this.#authenticate(req, res, wire, requestId);
    if (auth === null) return;
    if (wire === 'anthropic' && !this.#checkVersion(req, res, requestId)) return;
    const read = await readBody(req, this.#deps.config.server.bodyLimitBytes);
    if (!read.ok) {
      if (read.tooLarge) {
        res.setHeader('connection', 'close');
        const limit = this.#deps.config.server.bodyLimitBytes;
        this.#reject(res, wire, requestId, auth, '', false, t0, startedAt, { kind: 'request_too_large', message: `Request body is larger than the limit of ${limit} bytes.` });
      }
      return;
    }
    const parsed = wire === 'anthropic' ? parseAnthropicMessages(read.body) : parseOpenAIChat(read.body);
    if (!parsed.ok) return this.#reject(res, wire, requestId, auth, '', false, t0, startedAt, parsed.error);
    const ireq = parsed.value;
    const entry = this.#models.get(ireq.model);
    if (entry === undefined) {
      return this.#reject(res, wire, requestId, auth, ireq.model, ireq.stream, t0, startedAt, {
        kind: 'not_found', param: 'model',
        message: `model: ${ireq.model} is not served here. Available models: ${[...this.#models.keys()].join(', ')}.`,
      });
    }
    const tooLong = this.#checkMaxTokens(ireq, entry.config);
    if (tooLong !== null) return this.#reject(res, wire, requestId, auth, ireq.model, ireq.stream, t0, startedAt, tooLong);
    const tier = this.#deps.rateLimits.tierOf(auth);
    const asked = this.#askedFor(req, auth, tier);
    if ('kind' in asked) return this.#reject(res, wire, requestId, auth, ireq.model, ireq.stream, t0, startedAt, asked);
    const overSpend = this.#checkSpend(auth, tier.monthlySpendUsd);
    if (overSpend !== null) {
      this.metrics.spendLimited.inc();
      return this.#reject(res, wire, requestId, auth, ireq.model, ireq.stream, t0, startedAt, overSpend);
    }
    const charging = this.#deps.rateLimits.admit(res, wire, auth, tier, ireq, entry.config, read.body.length);
    const charge = charging instanceof Promise ? await charging : charging;
    if (!charge.ok) return this.#reject(res, wire, requestId, auth, ireq.model, ireq.stream, t0, startedAt, charge.error);
    const session = req.headers[this.#sessionHeader];
    const ticket = this.routing.ticket(ireq, auth.allowedRegions, typeof session === 'string' && session !== '' ? session : undefined);
    res.setHeader('x-switchyard-priority', asked.priority);
    const exchange = new Exchange(this, res, requestId, startedAt, t0, auth, ireq, entry.config, ticket, charge.ticket, entry);
    this.#deps.admission.admit(exchange, { model: ireq.model, tenant: auth.tenantId, weight: tier.weight, priority: asked.priority, deadlineMs: asked.deadlineMs });
  }

  /**
   * The request's priority and deadline. Its key's priority (or its tier's) unless the request asks
   * for a lower one in `x-switchyard-priority` (a request cannot raise itself: the answer's header
   * says what it got); its class's deadline unless `x-switchyard-deadline-ms` asks for less.
   */
  #askedFor(req: IncomingMessage, auth: AuthContext, tier: Config['tiers'][string]): { priority: Priority; deadlineMs: number } | GatewayError {
    const own = auth.priority ?? tier.priority;
    let priority = own;
    const p = req.headers['x-switchyard-priority'];
    if (p !== undefined) {
      if (!isPriority(p)) return { kind: 'invalid_request', message: `x-switchyard-priority: "${String(p)}" is not a priority; use one of ${PRIORITIES.join(', ')}` };
      if (PRIORITIES.indexOf(p) > PRIORITIES.indexOf(own)) priority = p;
    }
    let deadlineMs = this.#deps.config.admission.classes[priority].deadlineMs;
    const d = req.headers['x-switchyard-deadline-ms'];
    if (d !== undefined) {
      if (typeof d !== 'string' || !DEADLINE_RE.test(d)) return { kind: 'invalid_request', message: `x-switchyard-deadline-ms: "${String(d)}" must be a whole number of milliseconds, at least 1` };
      deadlineMs = Math.min(deadlineMs, Number(d));
    }
    return { priority, deadlineMs };
  }

  /** The workspace's monthly spend limit (its own, else its tier's), if reached. */
  #checkSpend(auth: AuthContext, tierLimit: number | null): GatewayError | null {
    const limit = auth.spendLimitUsd ?? tierLimit;
    if (limit === null) return null;
    const now = Date.now();
    const spent = this.#deps.spend.spent(auth.workspaceId, now);
    if (spent < limit) return null;
    const back = new Date(nextMonthUtc(now)).toISOString().slice(0, 10);
    return {
      kind: 'spend_limited',
      message: `You have reached your workspace's monthly spend limit of $${limit.toFixed(2)} ($${spent.toFixed(2)} spent this month). You will regain access on ${back} at 00:00 UTC, or an admin can raise the limit.`,
    };
  }

  #checkMaxTokens(ireq: InferenceRequest, m: ModelConfig): GatewayError | null {
    if (ireq.maxTokens !== null && ireq.maxTokens > m.maxOutputTokens) {
      return { kind: 'invalid_request', param: ireq.wire === 'anthropic' ? 'max_tokens' : 'max_completion_tokens', message: `max_tokens: ${ireq.maxTokens} > ${m.maxOutputTokens}, which is the maximum allowed number of output tokens for ${m.id}` };
    }
    return null;
  }

  async #authenticate(req: IncomingMessage, res: ServerResponse, wire: Wire, requestId: string): Promise<AuthContext | null> {
    const secret = extractKey(req.headers);
    let auth: AuthContext | null = null;
    if (secret !== null) {
      const a = this.#deps.authenticator.authenticate(secret);
      auth = a instanceof Promise ? await a : a;
    }
    if (auth === null) {
      this.metrics.authFailures.inc();
      req.resume();
      this.sendError(res, wire, {
        kind: 'authentication',
        message: secret === null ? 'No API key: send it in the x-api-key header or as Authorization: Bearer <key>.' : 'Invalid API key: it is unknown or has been revoked.',
      }, requestId);
    }
    return auth;
  }

  #checkVersion(req: IncomingMessage, res: ServerResponse, requestId: string): boolean {
    const v = req.headers['anthropic-version'];
    if (typeof v === 'string' && VERSION_RE.test(v)) return true;
    req.resume();
    this.sendError(res, 'anthropic', {
      kind: 'invalid_request',
      message: v === undefined ? 'anthropic-version: header is required' : `anthropic-version: "${String(v)}" is not a valid version`,
    }, requestId);
    return false;
  }

  /** A request refused before it reached a replica: answered, and written to the ledger. */
  #reject(res: ServerResponse, wire: Wire, requestId: string, auth: AuthContext, model: string, stream: boolean, t0: number, startedAt: number, err: GatewayError): void {
    const status = this.sendError(res, wire, err, requestId);
    this.settle({
      requestId, startedAt, tenantId: auth.tenantId, workspaceId: auth.workspaceId, keyId: auth.keyId,
      model, replica: null, region: null, wire, stream, status, outcome: outcomeOf(err),
      inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, ttftMs: null,
      latencyMs: Math.round((performance.now() - t0) * 1000) / 1000, costUsd: 0,
    });
  }

  // ── used by Exchange ────────────────────────────────────────────────────────

  /** The replica for one attempt of a request, or null when none is usable (the ticket records it as tried). */
  pick(entry: ModelEntry, ticket: RouteTicket): Backend | null {
    const i = this.routing.pick(entry.replicas, ticket);
    return i < 0 ? null : this.backendOf(entry.replicas[i]);
  }

  /** Any usable replica of the entry (for work that is not inference: counting tokens). */
  pickAny(entry: ModelEntry, allowedRegions: readonly string[] | null): Backend | null {
    return this.pick(entry, this.routing.bareTicket(allowedRegions));
  }

  backendOf(r: Replica): Backend {
    return this.#deps.backends.get(r)!;
  }

  /** What a replica failure means to the client. */
  classify(f: UpstreamFailure, model: string): GatewayError {
    switch (f.kind) {
      case 'connect':
        return { kind: 'upstream', message: `Could not reach a replica of ${model} (${f.message}); try again shortly.` };
      case 'timeout':
        return { kind: 'timeout', message: `The replica of ${model} did not answer in time (${f.phase.replace('_', ' ')} timeout).` };
      case 'broken':
        return { kind: 'upstream', message: `The response from the replica of ${model} broke off: ${f.message}.` };
      case 'status': {
        const detail = upstreamMessage(f.body);
        if (f.status === 400 || f.status === 422) return { kind: 'invalid_request', message: detail };
        if (f.status === 429 || f.status === 503) return { kind: 'overloaded', message: `The replicas of ${model} are overloaded; try again shortly.`, retryAfterS: 1 };
        return { kind: 'upstream', message: `The replica of ${model} failed with status ${f.status}: ${detail}` };
      }
    }
  }

  noteUpstreamFailure(b: Backend, f: UpstreamFailure): void {
    this.metrics.upstreamFailures.inc({ replica: b.replica.id, kind: f.kind === 'timeout' ? `timeout_${f.phase}` : f.kind });
    // Passive health: a replica that refuses connections leaves rotation until a probe passes.
    if (f.kind === 'connect' || (f.kind === 'timeout' && f.phase === 'connect')) {
      if (b.replica.healthy) this.#deps.log.warn({ replica: b.replica.id, reason: f.kind === 'connect' ? f.message : 'connect timeout' }, 'replica out of rotation');
      this.#deps.fleet.markFailed(b.replica, Date.now());
    }
    // Outlier detection counts what is the replica's fault: not a request it rightly refused (4xx)
    if (f.kind !== 'status' || f.status >= 500) this.#deps.watch?.failure(b.replica);
  }

  get rateLimits(): RateLimits {
    return this.#deps.rateLimits;
  }

  get admission(): Admission {
    return this.#deps.admission;
  }

  /** The replica answered (its first byte): a success for outlier detection, with its latency. */
  noteUpstreamSuccess(b: Backend, latencyMs: number): void {
    this.#deps.watch?.success(b.replica, latencyMs);
  }

  headersFor(wire: Wire, requestId: string, base: Record<string, string> | null): Record<string, string> {
    const h: Record<string, string> = base === null ? {} : { ...base };
    h['request-id'] = requestId;
    if (wire === 'openai') h['x-request-id'] = requestId;
    return h;
  }

  /** Writes an error in the wire format; returns the status sent. */
  sendError(res: ServerResponse, wire: Wire, err: GatewayError, requestId: string): number {
    const w = renderError(wire, err, requestId);
    if (res.headersSent) res.end();
    else this.sendJson(res, wire, requestId, w.status, w.body, w.headers);
    return w.status;
  }

  /** The one place a finished request is counted and written to the ledger. */
  settle(r: UsageRecord): void {
    this.#deps.ledger.record(r);
    if (r.costUsd > 0) this.#deps.spend.add(r.workspaceId, r.costUsd, r.startedAt);
    const s = this.#series(r);
    s.requests.inc();
    s.latency.observe(r.latencyMs / 1000);
    if (r.stream && r.ttftMs !== null) s.ttft.observe(r.ttftMs / 1000);
    if (this.#deps.config.server.accessLog) {
      this.#deps.log.info({ requestId: r.requestId, tenant: r.tenantId, model: r.model, replica: r.replica, status: r.status, outcome: r.outcome, latencyMs: r.latencyMs }, 'request');
    }
  }

  /**
   * The metric children for a request's labels, made once per combination: prom-client sorts and
   * hashes a label object on every call otherwise. A model name the gateway does not serve is
   * labelled `unknown`, so a client cannot mint new series.
   */
  #series(r: UsageRecord): Series {
    const model = this.#models.has(r.model) ? r.model : 'unknown';
    const key = `${r.wire}|${model}|${r.status}|${r.outcome}`;
    let s = this.#seriesCache.get(key);
    if (s === undefined) {
      const m = this.metrics;
      s = {
        requests: m.requests.labels(r.wire, model, String(r.status), r.outcome),
        latency: m.latency.labels(r.wire, model),
        ttft: m.ttft.labels(r.wire, model),
      };
      this.#seriesCache.set(key, s);
    }
    return s;
  }

  // ── the rest of the API ─────────────────────────────────────────────────────

  async #countTokens(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    const auth = await this.#authenticate(req, res, 'anthropic', requestId);
    if (auth === null || !this.#checkVersion(req, res, requestId)) return;
    const read = await readBody(req, this.#deps.config.server.bodyLimitBytes);
    if (!read.ok) {
      if (read.tooLarge) this.sendError(res, 'anthropic', { kind: 'request_too_large', message: 'Request body is too large.' }, requestId);
      return;
    }
    await countTokens(this, res, requestId, auth, read.body);
  }

  modelEntry(id: string): ModelEntry | undefined {
    return this.#models.get(id);
  }

  get modelIds(): string[] {
    return [...this.#models.keys()];
  }

  async #listModels(req: IncomingMessage, res: ServerResponse, query: string): Promise<void> {
    const wire = wireOf(req, '/v1/models');
    const requestId = newRequestId();
    if ((await this.#authenticate(req, res, wire, requestId)) === null) return;
    const out = renderModels(wire, this.#modelInfos, new URLSearchParams(query));
    if (!out.ok) return void this.sendError(res, wire, out.error, requestId);
    this.sendJson(res, wire, requestId, 200, out.value);
  }

  async #getModel(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const wire = wireOf(req, '/v1/models');
    const requestId = newRequestId();
    if ((await this.#authenticate(req, res, wire, requestId)) === null) return;
    const entry = this.#models.get(id);
    if (!entry) return void this.sendError(res, wire, { kind: 'not_found', param: 'model', message: `model: ${id} is not served here.` }, requestId);
    this.sendJson(res, wire, requestId, 200, renderModel(wire, entry.info));
  }

  async #admin(req: IncomingMessage, res: ServerResponse, method: string, path: string, query: string): Promise<void> {
    const read = await readBody(req, 1024 * 1024);
    if (!read.ok) {
      if (read.tooLarge) this.sendError(res, 'anthropic', { kind: 'request_too_large', message: 'Admin request bodies are limited to 1 MiB.' }, newRequestId());
      return;
    }
    if (path === '/admin/v1/fleet' || path.startsWith('/admin/v1/fleet/')) return this.#fleetAdmin(req, res, method, path, read.body);
    try {
      const out = await this.#deps.admin.handle(method, path, new URLSearchParams(query), req.headers, read.body);
      this.sendJson(res, 'anthropic', newRequestId(), out.status, out.body, out.headers);
    } catch (err) {
      this.#deps.log.error({ err }, 'admin request failed');
      this.sendError(res, 'anthropic', { kind: 'internal', message: 'The admin request failed inside the gateway; see its log.' }, newRequestId());
    }
  }

  /** The fleet under /admin/v1/fleet: the admin token only (tenant keys must not see the fleet). */
  async #fleetAdmin(req: IncomingMessage, res: ServerResponse, method: string, path: string, body: Buffer): Promise<void> {
    const requestId = newRequestId();
    const who = await this.#deps.admin.authorize(req.headers);
    if ('status' in who) return this.sendJson(res, 'anthropic', requestId, who.status, who.body, who.headers);
    if (!who.admin) {
      return void this.sendError(res, 'anthropic', { kind: 'permission', message: 'The fleet API needs the admin token; tenant keys cannot use it.' }, requestId);
    }
    const actor = method === 'GET' ? 'admin' : this.#deps.admin.actor(req.headers);
    if (typeof actor !== 'string') return this.sendJson(res, 'anthropic', requestId, actor.status, actor.body, actor.headers);
    const d = this.#deps;
    const out = fleetAdmin({
      fleet: d.fleet, watch: d.watch, prefixes: this.routing.prefixes, backends: d.backends,
      models: new Set(d.config.models.map((m) => m.id)), regions: d.config.regions.map((r) => r.name),
      createBackend: (r, apiKey) => createBackend(d.config, r, apiKey),
    }, method, path, body);
    if (out.status === 201) this.#serveNewModels();
    if (out.change !== undefined) {
      const c = out.change;
      // the change is made (in memory) before it is recorded; a lost record is logged, not undone
      try {
        const r = await d.store.appendAudit({ actor, action: c.action, target: c.target, tenantId: null, requestId, before: c.before, after: c.after });
        if (!r.ok) d.log.error({ change: c.action, target: c.target, error: r.error }, 'audit record refused');
      } catch (err) {
        d.log.error({ err, change: c.action, target: c.target }, 'audit record not written');
      }
    }
    this.sendJson(res, 'anthropic', requestId, out.status, out.body, out.headers);
  }

  /** A replica was added: a configured model that had none is served from now on. */
  #serveNewModels(): void {
    for (const m of this.#deps.config.models) {
      if (!this.#models.has(m.id) && this.#deps.fleet.replicasOf(m.id).length > 0) this.#serve(m);
    }
  }

  #serve(m: ModelConfig): void {
    const info: ModelInfo = {
      id: m.id, displayName: m.displayName ?? m.id, created: Math.floor(Date.parse(m.created) / 1000),
      maxInputTokens: m.maxInputTokens, maxOutputTokens: m.maxOutputTokens,
    };
    this.#models.set(m.id, { config: m, info, replicas: this.#deps.fleet.replicasOf(m.id) });
    this.#modelInfos.push(info);
  }

  async #metricsText(res: ServerResponse): Promise<void> {
    const text = await this.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
    res.end(text);
  }

  /** A JSON response with its length and request id (and any extra headers). */
  sendJson(res: ServerResponse, wire: Wire, requestId: string, status: number, body: string, extra?: Record<string, string>): void {
    const h = this.headersFor(wire, requestId, extra ?? null);
    h['content-type'] = 'application/json';
    h['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(status, h);
    res.end(body);
  }
}

/** Which API a request speaks, for its errors: Anthropic's paths or header, else OpenAI's. */
function wireOf(req: IncomingMessage, path: string): Wire {
  return path.startsWith('/v1/messages') || req.headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai';
}

/** The human message inside a replica's error body (vLLM's nested or flat shape), or the body. */
function upstreamMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { message?: string } | string; message?: string };
    if (typeof j.error === 'object' && j.error?.message) return j.error.message;
    if (typeof j.error === 'string') return j.error;
    if (typeof j.message === 'string') return j.message;
  } catch { /* not JSON */ }
  return body.slice(0, 500) || 'no detail';
}

/**
 * Envoy's retry budget: retries in flight may reach a share of the requests in flight (but always
 * `minConcurrency`), so a failing fleet is not hit by a retry storm on top of its load.
 */
export class RetryBudget {
  #active = 0;
  #retrying = 0;

  constructor(private readonly share: number, private readonly minConcurrency: number) {}

  /** A request began or ended at the gateway (its retries are part of it). */
  started(): void {
    this.#active++;
  }

  ended(): void {
    this.#active--;
  }

  /** May one more retry go out now? If so it is counted until `release`. */
  acquire(): boolean {
    if (this.#retrying >= Math.max(this.minConcurrency, this.share * this.#active)) return false;
    this.#retrying++;
    return true;
  }

  release(): void {
    this.#retrying--;
  }
}

export type { UsageOutcome };
