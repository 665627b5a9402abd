import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { newRequestId, type AdminApi, type GatewayError, type Wire } from '../api/index.js';
import type { Config } from '../config/index.js';
import type { FleetRegistry, FleetWatch, ModelVersions, Replica } from '../fleet/index.js';
import type { MonthlySpend } from '../limits/index.js';
import type { LedgerWriter, Store } from '../ledger/index.js';
import type { GatewayMetrics, Logger, RequestObserver, Tracing } from '../observe/index.js';
import type { Authenticator } from '../tenancy/index.js';
import { sleep, wall, type TimePorts } from '../time/index.js';
import { RetryBudget, type CallReportSink } from '../upstream/index.js';
import type { Admission } from './admission.js';
import { ADMIN_BODY_LIMIT, adminHttp, type AdminHttpDeps } from './admin-http.js';
import type { DemandSink } from './autoscaler.js';
import { createBackend, type Backend } from './backends.js';
import { BodyReader } from './body.js';
import { ModelCatalogue } from './catalogue.js';
import { answerClientError } from './client-error.js';
import { CountTokens } from './count-tokens.js';
import { upstreamDispatch, type ExchangeDeps } from './exchange.js';
import { Inference } from './inference.js';
import { ModelsApi } from './models.js';
import type { RateLimits } from './rate-limits.js';
import { Replies } from './replies.js';
import { healthz, metricsText, type OpsDeps } from './ops.js';
import { sha256, wireOf } from './request-head.js';
import { GatewayRouter } from './routing.js';
import { Settlement } from './settle.js';
import { DRAINING, inferenceStages } from './stages/index.js';
import { Upstreams } from './upstreams.js';

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
  /** the wall's by default */
  time?: TimePorts;
  /** where upstream calls are measured for a rollout's analysis (the rollout service); absent: none are */
  calls?: CallReportSink<Backend> | null;
  /** told of every request that reaches admission (the autoscaler); absent: none */
  demand?: DemandSink | null;
  /** each model's versions, for the fleet admin API (replicas of a version, registering one); absent: the versions routes answer 404 */
  versions?: ModelVersions;
  /** told of every settled request (GenAI metrics, SLOs, live traffic) */
  observers?: readonly RequestObserver[];
  /** null or absent: tracing is off, and costs nothing */
  tracing?: Tracing | null;
  /** more Prometheus text for /metrics after the gateway's own (the replicas' re-exported metrics) */
  exposition?: () => string;
  /** the dashboard under /ui (gateway/ui.ts); absent: /ui is not served */
  ui?: UiHandler | null;
}

/** Serves GET/HEAD under /ui: `path` is the request's path, `/ui` included. */
export type UiHandler = (req: IncomingMessage, res: ServerResponse, path: string) => void;

/** How long a drain waits, after cutting what was left, for the cut requests to settle. */
const CUT_SETTLE_MS = 1_000;

/** The data plane's server: the path table, /healthz and /metrics, a clean drain, and the wiring of the request pipeline. */
export class Gateway {
  readonly server: Server;
  readonly metrics: GatewayMetrics;
  readonly routing: GatewayRouter;
  readonly admission: Admission;
  readonly rateLimits: RateLimits;
  readonly upstreams: Upstreams;
  readonly models: ModelCatalogue;
  readonly replies: Replies;
  readonly #time: TimePorts;
  readonly #bodyLimit: number;
  readonly #bodies: BodyReader;
  readonly #inference: Inference;
  readonly #countTokens: CountTokens;
  readonly #modelsApi: ModelsApi;
  readonly #admin: AdminHttpDeps;
  readonly #ops: OpsDeps;
  readonly #ui: UiHandler | null;
  #inflight = 0;
  #draining = false;
  #drainingSince: number | null = null;
  #ready = false;

  constructor(deps: GatewayDeps) {
    const { config, metrics, log } = deps;
    const time = this.#time = deps.time ?? wall;
    const clock = time.clock;
    const s = config.server;
    const up = config.upstream;
    this.metrics = metrics;
    this.admission = deps.admission;
    this.rateLimits = deps.rateLimits;
    this.routing = new GatewayRouter(config, deps.fleet, time);
    this.models = new ModelCatalogue(config, deps.fleet);
    this.upstreams = new Upstreams({ routing: this.routing, backends: deps.backends, fleet: deps.fleet, watch: deps.watch, metrics, log, clock });
    const replies = this.replies = new Replies(metrics, log);
    const settlement = new Settlement({ ledger: deps.ledger, spend: deps.spend, metrics, log, accessLog: s.accessLog, served: (m) => this.models.has(m), clock, observers: deps.observers ?? [] });
    const bodies = this.#bodies = new BodyReader({ timeoutMs: s.bodyTimeoutMs, minBytesPerSecond: s.bodyMinBytesPerSecond }, time);
    this.#bodyLimit = s.bodyLimitBytes;
    this.#ui = deps.ui ?? null;
    this.#ops = { registry: metrics.registry, token: s.metricsToken === null ? null : sha256(s.metricsToken), bodies, replies, ...(deps.exposition === undefined ? {} : { more: deps.exposition }) };
    const policy = {
      upstreams: this.upstreams, replies, settlement, admission: deps.admission, rateLimits: deps.rateLimits, metrics, time,
      retries: new RetryBudget(up.retryBudget.percent / 100, up.retryBudget.minConcurrency),
      retryRule: { maxAttempts: up.maxAttempts, backoff: up.backoff },
      hedge: up.hedge.enabled ? { delayMs: up.hedge.delayMs } : null,
      streamHeadAfterMs: config.server.streamHeadAfterMs,
      calls: deps.calls ?? null,
      tracing: deps.tracing ?? null,
    };
    const exchange: ExchangeDeps = { ...policy, upstream: upstreamDispatch(policy) };
    const stages = inferenceStages({ ...deps, bodies, models: this.models, clock, tracing: deps.tracing ?? null, drainingSince: () => this.#drainingSince });
    this.#inference = new Inference({
      stages, exchange, routing: this.routing, admission: deps.admission, rateLimits: deps.rateLimits, replies, settlement, bodies, clock,
      sessionHeader: config.routing.sessionHeader.toLowerCase(), demand: deps.demand ?? null, tracing: deps.tracing ?? null,
    });
    this.#countTokens = new CountTokens({ stages: stages.anthropicHead, catalogue: this.models, upstreams: this.upstreams, replies, bodies, clock });
    this.#modelsApi = new ModelsApi({ authenticate: stages.authenticate, catalogue: this.models, replies, bodies, clock });
    this.#admin = {
      admin: deps.admin, store: deps.store, log, bodies, replies,
      fleet: () => ({
        fleet: deps.fleet, watch: deps.watch, prefixes: this.routing.prefixes, backends: deps.backends,
        models: new Set(config.models.map((m) => m.id)), regions: config.regions.map((r) => r.name),
        createBackend: (r, apiKey) => createBackend(config, r, apiKey), clock, timers: time.timers,
        ...(deps.versions === undefined ? {} : { versions: deps.versions }),
      }),
      replicaAdded: () => this.models.serveNew(),
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

  /** Bodies being read, or dropped after an early answer, now. */
  get openBodies(): number {
    return this.#bodies.open;
  }

  get modelIds(): string[] {
    return this.models.ids;
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
    this.#drainingSince = this.#time.clock.monoMs();
    this.#ready = false;
    this.server.closeIdleConnections();
    const { clock, timers } = this.#time;
    const deadline = clock.monoMs() + timeoutMs;
    while (this.#inflight > 0 && clock.monoMs() < deadline) await sleep(20, timers);
    const cut = this.#inflight;
    this.server.close();
    this.server.closeAllConnections();
    this.#bodies.close();
    // the cut requests settle (499, their records to the ledger) when their sockets' close events
    // run, a turn of the event loop later: the ledger must not close before they have
    const settled = clock.monoMs() + CUT_SETTLE_MS;
    while (this.#inflight > 0 && clock.monoMs() < settled) await sleep(5, timers);
    return { cut };
  }

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.#inflight++;
    res.once('close', this.#onResponseClose);
    try {
      this.#route(req, res);
    } catch (err) {
      // the handlers catch their own; this is the path routing itself
      const requestId = newRequestId();
      this.replies.noteInternalError('route', err, requestId);
      this.replies.failInternal(res, wireOf(req, req.url ?? '/'), requestId);
    }
  };

  #route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (path === '/healthz') return healthz(res, this.#ready, this.#draining);
    if (this.#draining && path !== '/metrics') {
      res.setHeader('connection', 'close');
      // inference is refused by its stages once the key is known, so that it is on the ledger
      const inference = method === 'POST' && (path === '/v1/messages' || path === '/v1/chat/completions');
      if (!inference) return this.#refuse(req, res, wireOf(req, path), DRAINING);
    }
    switch (path) {
      case '/v1/messages':
        if (method !== 'POST') return this.#methodNotAllowed(req, res, 'anthropic', method, path);
        return this.#inference.handle(req, res, 'anthropic');
      case '/v1/chat/completions':
        if (method !== 'POST') return this.#methodNotAllowed(req, res, 'openai', method, path);
        return this.#inference.handle(req, res, 'openai');
      case '/v1/messages/count_tokens':
        if (method !== 'POST') return this.#methodNotAllowed(req, res, 'anthropic', method, path);
        return void this.#countTokens.handle(req, res);
      case '/v1/models':
        if (method !== 'GET') return this.#methodNotAllowed(req, res, wireOf(req, path), method, path);
        return void this.#modelsApi.list(req, res, q === -1 ? '' : url.slice(q + 1));
      case '/metrics':
        return void metricsText(this.#ops, req, res);
    }
    if (path.startsWith('/v1/models/') && method === 'GET') return void this.#modelsApi.get(req, res, path.slice(11));
    if (this.#ui !== null && (path === '/ui' || path.startsWith('/ui/'))) {
      this.#bodies.discard(req);
      return this.#ui(req, res, path);
    }
    if (path.startsWith('/admin/v1/')) return void adminHttp(this.#admin, req, res, method, path, q === -1 ? '' : url.slice(q + 1));
    this.#refuse(req, res, wireOf(req, path), { kind: 'not_found', message: `There is no ${method} ${path} here. Inference is at POST /v1/messages (Anthropic) and POST /v1/chat/completions (OpenAI).` });
  }

  /** An answer before anything is read: the body is dropped. */
  #refuse(req: IncomingMessage, res: ServerResponse, wire: Wire, err: GatewayError): void {
    this.#bodies.discard(req);
    this.replies.sendError(res, wire, err, newRequestId());
  }

  /**
   * `Expect: 100-continue` (curl sends it for bodies over 1 MiB): a body declared over its limit is
   * refused before the client sends it, on a connection that ends with the answer; any other gets
   * its 100 and is handled as usual.
   */
  readonly #onCheckContinue = (req: IncomingMessage, res: ServerResponse): void => {
    const limit = req.url?.startsWith('/admin/') ? ADMIN_BODY_LIMIT : this.#bodyLimit;
    if (Number(req.headers['content-length']) > limit) res.setHeader('connection', 'close');
    else res.writeContinue();
    this.#onRequest(req, res);
  };

  readonly #onResponseClose = (): void => {
    this.#inflight--;
  };

  #methodNotAllowed(req: IncomingMessage, res: ServerResponse, wire: Wire, method: string, path: string): void {
    res.setHeader('allow', path === '/v1/models' ? 'GET' : 'POST');
    this.#refuse(req, res, wire, { kind: 'method_not_allowed', message: `${method} is not allowed on ${path}.` });
  }
}
