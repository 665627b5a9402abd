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
import { AUTH_UNAVAILABLE, extractKey, type AuthContext, type AuthOutcome, type Authenticator } from '../tenancy/index.js';
import { classify, RetryBudget, type RetryRule, type UpstreamFailure } from '../upstream/index.js';
import type { Admission } from './admission.js';
import { ADMIN_BODY_LIMIT, adminHttp, type AdminHttpDeps } from './admin-http.js';
import { createBackend, type Backend } from './backends.js';
import { BodyReader } from './body.js';
import { endInternal, type Stage } from './boundary.js';
import { answerClientError } from './client-error.js';
import { countTokens } from './count-tokens.js';
import { Exchange, outcomeOf } from './exchange.js';
import type { LimitTicket, RateLimits } from './rate-limits.js';
import { bearerMatches, decodePathSegment, jsonMediaError, sha256, wireOf } from './request-head.js';
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

/** What the error boundary needs to know of an inference request in progress. */
interface InFlight {
  stage: Stage;
  readonly wire: Wire;
  readonly requestId: string;
  readonly t0: number;
  readonly startedAt: number;
  auth: AuthContext | null;
  /** from the parsed body; '' and false until then (what the ledger records of a request refused earlier) */
  model: string;
  stream: boolean;
  /** its rate-limit charge, once made (given back if the request fails before an exchange owns it) */
  limit: LimitTicket | null;
  /** once it exists, the exchange owns the request's ending */
  exchange: Exchange | null;
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
  readonly retryRule: RetryRule;
  /** null when hedging is off (the default) */
  readonly hedge: { readonly delayMs: number } | null;
  readonly #bodies: BodyReader;
  readonly #admin: AdminHttpDeps;
  /** sha256 of the /metrics bearer token, or null when /metrics is open */
  readonly #metricsToken: Buffer | null;
  #inflight = 0;
  #draining = false;
  #ready = false;

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
    this.#sessionHeader = deps.config.routing.sessionHeader.toLowerCase();
    this.metrics = deps.metrics;
    this.maxAttempts = deps.config.upstream.maxAttempts;
    this.routing = new GatewayRouter(deps.config, deps.fleet);
    this.retryRule = { maxAttempts: deps.config.upstream.maxAttempts, backoff: deps.config.upstream.backoff };
    this.hedge = deps.config.upstream.hedge.enabled ? { delayMs: deps.config.upstream.hedge.delayMs } : null;
    this.retries = new RetryBudget(deps.config.upstream.retryBudget.percent / 100, deps.config.upstream.retryBudget.minConcurrency);
    for (const m of deps.config.models) if (deps.fleet.replicasOf(m.id).length > 0) this.#serve(m);
    const s = deps.config.server;
    this.#bodies = new BodyReader({ timeoutMs: s.bodyTimeoutMs, minBytesPerSecond: s.bodyMinBytesPerSecond });
    this.#metricsToken = s.metricsToken === null ? null : sha256(s.metricsToken);
    this.#admin = {
      admin: deps.admin, store: deps.store, log: deps.log, bodies: this.#bodies,
      fleet: () => ({
        fleet: deps.fleet, watch: deps.watch, prefixes: this.routing.prefixes, backends: deps.backends,
        models: new Set(deps.config.models.map((m) => m.id)), regions: deps.config.regions.map((r) => r.name),
        createBackend: (r, apiKey) => createBackend(deps.config, r, apiKey),
      }),
      replicaAdded: () => this.#serveNewModels(),
    };
    // Node's own request timeout would cut nothing we care about (bodies have their own deadline);
    // its headers timeout is checked on an interval, so the interval follows the setting.
    this.server = createServer({
      keepAliveTimeout: s.keepAliveTimeoutMs, headersTimeout: s.headersTimeoutMs, requestTimeout: 0,
      connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(s.headersTimeoutMs / 4))),
    }, this.#onRequest);
    this.server.on('checkContinue', this.#onCheckContinue);
    this.server.on('clientError', answerClientError);
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

  /**
   * Lets in-flight requests finish (up to `timeoutMs`), then closes the listener and every socket.
   * Until then the listener stays open: /healthz says 503 draining (a load balancer sees the
   * instance leave, rather than a refused connection), and new requests get `overloaded` with
   * `connection: close`.
   */
  async drain(timeoutMs: number): Promise<{ cut: number }> {
    this.#draining = true;
    this.#ready = false;
    this.server.closeIdleConnections();
    const deadline = Date.now() + timeoutMs;
    while (this.#inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const cut = this.#inflight;
    this.server.close();
    this.server.closeAllConnections();
    this.#bodies.close();
    return { cut };
  }

  /** Bodies being read, or dropped after an early answer, now. */
  get openBodies(): number {
    return this.#bodies.open;
  }

  // ── routing of paths ─────────────────────────────────────────────────────────

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.#inflight++;
    res.once('close', this.#onResponseClose);
    try {
      this.#route(req, res);
    } catch (err) {
      // the handlers catch their own; this is the path routing itself
      const requestId = newRequestId();
      this.noteInternalError('route', err, requestId);
      this.failInternal(res, wireOf(req, req.url ?? '/'), requestId);
    }
  };

  #route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (path === '/healthz') return this.#healthz(res);
    if (this.#draining && path !== '/metrics') {
      res.setHeader('connection', 'close');
      this.#bodies.discard(req);
      this.sendError(res, wireOf(req, path), { kind: 'overloaded', message: 'The gateway is shutting down; retry on another instance.', retryAfterS: 1 }, newRequestId());
      return;
    }
    switch (path) {
      case '/v1/messages':
        if (method !== 'POST') return this.#methodNotAllowed(req, res, 'anthropic', method, path);
        return void this.#inference(req, res, 'anthropic');
      case '/v1/chat/completions':
        if (method !== 'POST') return this.#methodNotAllowed(req, res, 'openai', method, path);
        return void this.#inference(req, res, 'openai');
      case '/v1/messages/count_tokens':
        if (method !== 'POST') return this.#methodNotAllowed(req, res, 'anthropic', method, path);
        return void this.#countTokens(req, res);
      case '/v1/models':
        if (method !== 'GET') return this.#methodNotAllowed(req, res, wireOf(req, path), method, path);
        return void this.#listModels(req, res, q === -1 ? '' : url.slice(q + 1));
      case '/metrics':
        return void this.#metricsText(req, res);
    }
    if (path.startsWith('/v1/models/') && method === 'GET') return void this.#getModel(req, res, path.slice(11));
    if (path.startsWith('/admin/v1/')) return void adminHttp(this, this.#admin, req, res, method, path, q === -1 ? '' : url.slice(q + 1));
    this.#bodies.discard(req);
    this.sendError(res, wireOf(req, path), { kind: 'not_found', message: `There is no ${method} ${path} here. Inference is at POST /v1/messages (Anthropic) and POST /v1/chat/completions (OpenAI).` }, newRequestId());
  }

  #healthz(res: ServerResponse): void {
    const status = this.#ready ? 200 : 503;
    const body = this.#ready ? '{"status":"ok"}' : this.#draining ? '{"status":"draining"}' : '{"status":"starting"}';
    const h: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(body.length) };
    if (this.#draining) h.connection = 'close';
    res.writeHead(status, h);
    res.end(body);
  }

  /**
   * `Expect: 100-continue` (curl sends it for bodies over 1 MiB): a body declared over its limit is
   * refused before the client sends it, on a connection that ends with the answer; any other gets
   * its 100 and is handled as usual.
   */
  readonly #onCheckContinue = (req: IncomingMessage, res: ServerResponse): void => {
    const limit = req.url?.startsWith('/admin/') ? ADMIN_BODY_LIMIT : this.#deps.config.server.bodyLimitBytes;
    if (Number(req.headers['content-length']) > limit) res.setHeader('connection', 'close');
    else res.writeContinue();
    this.#onRequest(req, res);
  };

  readonly #onResponseClose = (): void => {
    this.#inflight--;
  };

  #methodNotAllowed(req: IncomingMessage, res: ServerResponse, wire: Wire, method: string, path: string): void {
    this.#bodies.discard(req);
    res.setHeader('allow', path === '/v1/models' ? 'GET' : 'POST');
    this.sendError(res, wire, { kind: 'method_not_allowed', message: `${method} is not allowed on ${path}.` }, newRequestId());
  }

  // ── inference ──────────────────────────────────────────────────────────────

  /** The error boundary of an inference request: whatever throws below ends as a 500, settled once. */
  async #inference(req: IncomingMessage, res: ServerResponse, wire: Wire): Promise<void> {
    const f: InFlight = { stage: 'auth', wire, requestId: newRequestId(), t0: performance.now(), startedAt: Date.now(), auth: null, model: '', stream: false, limit: null, exchange: null };
    try {
      await this.#runInference(req, res, f);
    } catch (err) {
      if (f.exchange !== null) return f.exchange.crash(err, f.stage);
      this.noteInternalError(f.stage, err, f.requestId);
      if (f.limit !== null) {
        try {
          this.#deps.rateLimits.settle(f.limit, 0, 0, false);
        } catch (e) {
          this.noteInternalError('settle', e, f.requestId);
        }
      }
      const status = this.failInternal(res, wire, f.requestId);
      if (f.auth === null) return;
      try {
        this.settle(unservedRecord(f, f.auth, status, 'internal_error'));
      } catch (e) {
        this.noteInternalError('settle', e, f.requestId);
      }
    }
  }

  async #runInference(req: IncomingMessage, res: ServerResponse, f: InFlight): Promise<void> {
    const { wire, requestId, t0, startedAt } = f;
    const auth = await this.#authenticate(req, res, wire, requestId);
    if (auth === null) return;
    f.auth = auth;
    if (wire === 'anthropic' && !this.#checkVersion(req, res, requestId)) return;
    const media = jsonMediaError(req);
    if (media !== null) {
      this.#bodies.discard(req);
      return this.#reject(res, f, media);
    }
    f.stage = 'body';
    const read = await this.#bodies.read(req, this.#deps.config.server.bodyLimitBytes);
    if (!read.ok) {
      const err = this.#bodies.refusal(res, read, this.#deps.config.server.bodyLimitBytes);
      if (err !== null) this.#reject(res, f, err);
      return;
    }
    f.stage = 'parse';
    const parsed = wire === 'anthropic' ? parseAnthropicMessages(read.body) : parseOpenAIChat(read.body);
    if (!parsed.ok) return this.#reject(res, f, parsed.error);
    let ireq = parsed.value;
    f.model = ireq.model;
    f.stream = ireq.stream;
    const entry = this.#models.get(ireq.model);
    if (entry === undefined) {
      return this.#reject(res, f, {
        kind: 'not_found', param: 'model',
        message: `model: ${ireq.model} is not served here. Available models: ${[...this.#models.keys()].join(', ')}.`,
      });
    }
    const sized = this.#checkMaxTokens(res, ireq, entry.config);
    if ('kind' in sized) return this.#reject(res, f, sized);
    ireq = sized;
    f.stage = 'limits';
    const tier = this.#deps.rateLimits.tierOf(auth);
    const asked = this.#askedFor(req, auth, tier);
    if ('kind' in asked) return this.#reject(res, f, asked);
    const overSpend = this.#checkSpend(auth, tier.monthlySpendUsd);
    if (overSpend !== null) {
      this.metrics.spendLimited.inc();
      return this.#reject(res, f, overSpend);
    }
    const charging = this.#deps.rateLimits.admit(res, wire, auth, tier, ireq, entry.config, read.body.length);
    const charge = charging instanceof Promise ? await charging : charging;
    if (!charge.ok) return this.#reject(res, f, charge.error);
    f.limit = charge.ticket;
    f.stage = 'routing';
    const session = req.headers[this.#sessionHeader];
    const ticket = this.routing.ticket(ireq, auth.allowedRegions, typeof session === 'string' && session !== '' ? session : undefined, auth.tenantId);
    res.setHeader('x-switchyard-priority', asked.priority);
    const exchange = new Exchange(this, res, requestId, startedAt, t0, auth, ireq, entry.config, ticket, charge.ticket, entry);
    f.exchange = exchange;
    f.stage = 'admission';
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

  /**
   * More output asked for than the model allows. By the model's maxTokensPolicy: refused, or
   * capped (the default, since agents ask 32k of models they do not know) before the rate limits
   * reserve it, in the body the replica gets, and said in `x-switchyard-max-tokens`.
   */
  #checkMaxTokens(res: ServerResponse, ireq: InferenceRequest, m: ModelConfig): InferenceRequest | GatewayError {
    const asked = ireq.maxTokens;
    const cap = m.maxOutputTokens;
    if (asked === null || asked <= cap) return ireq;
    if (m.maxTokensPolicy === 'refuse') {
      return { kind: 'invalid_request', param: ireq.wire === 'anthropic' ? 'max_tokens' : 'max_completion_tokens', message: `max_tokens: ${asked} > ${cap}, which is the maximum allowed number of output tokens for ${m.id}` };
    }
    const up = ireq.upstream;
    if (typeof up.max_tokens === 'number' && up.max_tokens > cap) up.max_tokens = cap;
    if (typeof up.max_completion_tokens === 'number' && up.max_completion_tokens > cap) up.max_completion_tokens = cap;
    res.setHeader('x-switchyard-max-tokens', `${cap}; requested=${asked}`);
    return { ...ireq, maxTokens: cap };
  }

  async #authenticate(req: IncomingMessage, res: ServerResponse, wire: Wire, requestId: string): Promise<AuthContext | null> {
    const secret = extractKey(req.headers);
    let auth: AuthOutcome = null;
    if (secret !== null) {
      const a = this.#deps.authenticator.authenticate(secret);
      auth = a instanceof Promise ? await a : a;
    }
    if (auth === AUTH_UNAVAILABLE) {
      // the key store did not answer: the key may be fine, so "try again shortly", not 401
      this.#bodies.discard(req);
      this.sendError(res, wire, { kind: 'overloaded', message: 'API keys cannot be checked right now (the key store is not answering); try again shortly.', retryAfterS: 5 }, requestId);
      return null;
    }
    if (auth === null) {
      this.metrics.authFailures.inc();
      this.#bodies.discard(req);
      this.sendError(res, wire, {
        kind: 'authentication',
        message: secret === null ? 'No API key: send it in the x-api-key header or as Authorization: Bearer <key>.' : 'Invalid API key: it is unknown or has been revoked.',
      }, requestId);
    }
    return auth as AuthContext | null;
  }

  #checkVersion(req: IncomingMessage, res: ServerResponse, requestId: string): boolean {
    const v = req.headers['anthropic-version'];
    if (typeof v === 'string' && VERSION_RE.test(v)) return true;
    this.#bodies.discard(req);
    this.sendError(res, 'anthropic', {
      kind: 'invalid_request',
      message: v === undefined ? 'anthropic-version: header is required' : `anthropic-version: "${String(v)}" is not a valid version`,
    }, requestId);
    return false;
  }

  /** A request refused before it reached a replica (so after its key was checked): answered, and written to the ledger. */
  #reject(res: ServerResponse, f: InFlight, err: GatewayError): void {
    const status = this.sendError(res, f.wire, err, f.requestId);
    this.settle(unservedRecord(f, f.auth!, status, outcomeOf(err)));
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
    return classify(f, model);
  }

  /** `sentAt`: when the failed call was sent (performance.now()), so a replica is not blamed for calls older than its recovery. */
  noteUpstreamFailure(b: Backend, f: UpstreamFailure, sentAt?: number): void {
    this.metrics.upstreamFailures.inc({ replica: b.replica.id, kind: f.kind === 'timeout' ? `timeout_${f.phase}` : f.kind });
    // Passive health: a replica that refuses connections leaves rotation until a probe passes.
    if (f.kind === 'connect' || (f.kind === 'timeout' && f.phase === 'connect')) {
      if (b.replica.healthy) this.#deps.log.warn({ replica: b.replica.id, reason: f.kind === 'connect' ? f.message : 'connect timeout' }, 'replica out of rotation');
      this.#deps.fleet.markFailed(b.replica, Date.now());
    }
    // Outlier detection counts what is the replica's fault: not a request it rightly refused (4xx)
    if (f.kind !== 'status' || f.status >= 500) this.#deps.watch?.failure(b.replica, sentAt === undefined ? undefined : Date.now() - (performance.now() - sentAt));
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

  /** A throw or rejection the boundary caught: one log line with its stack, and a count. */
  noteInternalError(stage: Stage, err: unknown, requestId: string): void {
    try {
      this.metrics.internalErrors.inc({ stage });
      this.#deps.log.error({ err, requestId, stage }, 'request failed inside the gateway');
    } catch { /* the boundary itself must not throw */ }
  }

  /** Ends a response the gateway failed on: 500 in the wire format, or the stream's error event. */
  failInternal(res: ServerResponse, wire: Wire, requestId: string): number {
    return endInternal(res, wire, requestId, (e) => this.sendError(res, wire, e, requestId));
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
    try {
      const auth = await this.#authenticate(req, res, 'anthropic', requestId);
      if (auth === null || !this.#checkVersion(req, res, requestId)) return;
      const media = jsonMediaError(req);
      if (media !== null) {
        this.#bodies.discard(req);
        return void this.sendError(res, 'anthropic', media, requestId);
      }
      const limit = this.#deps.config.server.bodyLimitBytes;
      const read = await this.#bodies.read(req, limit);
      if (!read.ok) {
        const err = this.#bodies.refusal(res, read, limit);
        if (err !== null) this.sendError(res, 'anthropic', err, requestId);
        return;
      }
      await countTokens(this, res, requestId, auth, read.body);
    } catch (err) {
      this.noteInternalError('count_tokens', err, requestId);
      this.failInternal(res, 'anthropic', requestId);
    }
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
    try {
      if ((await this.#authenticate(req, res, wire, requestId)) === null) return;
      this.#bodies.discard(req);
      const out = renderModels(wire, this.#modelInfos, new URLSearchParams(query));
      if (!out.ok) return void this.sendError(res, wire, out.error, requestId);
      this.sendJson(res, wire, requestId, 200, out.value);
    } catch (err) {
      this.noteInternalError('models', err, requestId);
      this.failInternal(res, wire, requestId);
    }
  }

  /** `GET /v1/models/{id}`; `raw` is the id as it is in the path (percent-encoded). */
  async #getModel(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const wire = wireOf(req, '/v1/models');
    const requestId = newRequestId();
    try {
      if ((await this.#authenticate(req, res, wire, requestId)) === null) return;
      this.#bodies.discard(req);
      const id = decodePathSegment(raw);
      if (id === null) {
        return void this.sendError(res, wire, { kind: 'invalid_request', param: 'model', message: `The model id in the path is not valid percent-encoding: ${JSON.stringify(raw.slice(0, 200))}.` }, requestId);
      }
      const entry = this.#models.get(id);
      if (!entry) return void this.sendError(res, wire, { kind: 'not_found', param: 'model', message: `model: ${id} is not served here.` }, requestId);
      this.sendJson(res, wire, requestId, 200, renderModel(wire, entry.info));
    } catch (err) {
      this.noteInternalError('models', err, requestId);
      this.failInternal(res, wire, requestId);
    }
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

  async #metricsText(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      this.#bodies.discard(req);
      if (this.#metricsToken !== null && !bearerMatches(req.headers.authorization, this.#metricsToken)) {
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' });
        res.end('/metrics needs Authorization: Bearer <server.metricsToken>\n');
        return;
      }
      const text = await this.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      res.end(text);
    } catch (err) {
      const requestId = newRequestId();
      this.noteInternalError('metrics', err, requestId);
      this.failInternal(res, 'openai', requestId);
    }
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

/** The ledger row of a request that reached no replica: refused, or failed inside the gateway. */
function unservedRecord(f: InFlight, auth: AuthContext, status: number, outcome: UsageOutcome): UsageRecord {
  return {
    requestId: f.requestId, startedAt: f.startedAt, tenantId: auth.tenantId, workspaceId: auth.workspaceId, keyId: auth.keyId,
    model: f.model, replica: null, region: null, wire: f.wire, stream: f.stream, status, outcome,
    inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, ttftMs: null,
    latencyMs: Math.round((performance.now() - f.t0) * 1000) / 1000, costUsd: 0,
  };
}

export type { UsageOutcome };
