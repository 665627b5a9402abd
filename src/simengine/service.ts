import type { IncomingMessage, ServerResponse } from 'node:http';
import { BOS_ID, hashTokens, tokenize, type ReplicaModel } from '../engine/index.js';
import { wall, type Clock, type TimePorts, type TimerHandle } from '../time/index.js';
import { planText, planTool } from './answer.js';
import { EngineDriver } from './driver.js';
import { EngineExchange, type EngineExchangeHost } from './engine-exchange.js';
import { ErrorDraw, parseFaults, resolveFaults, type Faults, type FaultSpec } from './faults.js';
import { EngineMetrics } from './metrics.js';
import { parseChat, parseCompletion, parseTokenize, type GenSpec } from './parse.js';
import type { Kind } from './render.js';
import { sendError, sendJson, sendNotFound, type HttpError } from './wire.js';

const MAX_BODY = 64 * 1024 * 1024;
const METHOD_NOT_ALLOWED = '{"detail":"Method Not Allowed"}';
const LOADING = '{"status":"loading"}';

export interface ServiceInit {
  modelName: string;
  model: ReplicaModel<EngineExchange>;
  timeScale: number;
  faults: FaultSpec;
  /** `GET /v1/models` body, serialized once */
  modelsBody: string;
  metrics: EngineMetrics;
  /** the clock and timers the engine steps on, and the draw for response ids (default: the wall's) */
  time?: TimePorts;
  /** ms of start-up (weights load, compile, warm-up) before it takes requests; default 0 */
  startupMs?: number;
}

/** The HTTP side of one simulated replica: routes, validation, fault injection. */
export class EngineService implements EngineExchangeHost {
  readonly driver: EngineDriver;
  readonly metrics: EngineMetrics;
  readonly clock: Clock;
  readonly #init: ServiceInit;
  #faults: Faults;
  #errors: ErrorDraw;
  #nextId = 1;
  readonly #idBase: string;
  /** responses parked by the hang fault; destroyed on close */
  readonly hung = new Set<ServerResponse>();
  /** monotonic ms the start-up ends; null once it is over */
  #readyAtMs: number | null;
  readonly #startup: TimerHandle | null;
  readonly #time: TimePorts;

  constructor(init: ServiceInit) {
    this.#init = init;
    this.metrics = init.metrics;
    const time = init.time ?? wall;
    this.clock = time.clock;
    this.#idBase = Math.floor(time.rng() * 0xffff_ffff).toString(16).padStart(8, '0');
    this.driver = new EngineDriver(init.model, init.timeScale, time);
    this.#faults = resolveFaults(init.faults);
    this.#errors = new ErrorDraw(this.#faults);
    this.setFaults(init.faults);
    this.#time = time;
    // Listening while it loads lets a probe tell a replica starting up from a dead one.
    const startup = init.startupMs ?? 0;
    this.#readyAtMs = startup > 0 ? this.clock.monoMs() + startup : null;
    this.#startup = startup > 0 ? time.timers.after(startup, endStartup, this) : null;
  }

  /** Still in its start-up: /health answers 503 and no request is taken. */
  get loading(): boolean {
    return this.#readyAtMs !== null;
  }

  /** Ends the start-up now (its timer, or a close). */
  ready(): void {
    this.#time.timers.cancel(this.#startup);
    this.#readyAtMs = null;
  }

  get faults(): Faults {
    return this.#faults;
  }

  /** A new setting starts its error draws afresh from its seed. */
  setFaults(f: FaultSpec): void {
    const r = (this.#faults = resolveFaults(f));
    this.#errors = new ErrorDraw(r);
    this.driver.slowFactor = r.mode === 'slow' || r.mode === 'error' ? r.slowFactor : 1;
  }

  abort(x: EngineExchange): void {
    this.driver.abort(x);
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const get = req.method === 'GET' || req.method === 'HEAD';
    const post = req.method === 'POST';
    switch (path) {
      case '/health':
        if (!get) return sendJson(res, 405, METHOD_NOT_ALLOWED);
        if (this.#readyAtMs !== null) return sendJson(res, 503, LOADING);
        res.writeHead(200, { 'content-length': '0' });
        return void res.end();
      case '/version':
        return get ? sendJson(res, 200, '{"version":"0.11.0+simengine"}') : sendJson(res, 405, METHOD_NOT_ALLOWED);
      case '/v1/models':
        if (this.#readyAtMs !== null) return this.#loading(res);
        return get ? sendJson(res, 200, this.#init.modelsBody) : sendJson(res, 405, METHOD_NOT_ALLOWED);
      case '/metrics':
        if (!get) return sendJson(res, 405, METHOD_NOT_ALLOWED);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        return void res.end(this.metrics.render(this.#init.model.stats()));
      case '/v1/chat/completions':
      case '/v1/completions':
      case '/tokenize':
      case '/sim/faults':
        if (path === '/sim/faults' && get) return sendJson(res, 200, JSON.stringify(this.#faults));
        if (path !== '/sim/faults' && this.#readyAtMs !== null) return this.#loading(res);
        if (!post) return sendJson(res, 405, METHOD_NOT_ALLOWED);
        return void this.#post(path, req, res).catch((e: unknown) => {
          sendError(res, { status: 500, message: `simengine internal error: ${(e as Error)?.message ?? String(e)}` });
        });
      default:
        return sendNotFound(res);
    }
  };

  /** vLLM's error shape, with how long is left, for a request that came before the start-up ended. */
  #loading(res: ServerResponse): void {
    const leftS = Math.max(0, ((this.#readyAtMs ?? 0) - this.clock.monoMs()) / 1000);
    if (!res.headersSent) res.setHeader('retry-after', String(Math.max(1, Math.ceil(leftS))));
    sendError(res, { status: 503, message: `The model \`${this.#init.modelName}\` is still loading (about ${leftS.toFixed(1)} s of start-up left); retry once /health answers 200.` });
  }

  async #post(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (raw === null) return sendError(res, { status: 413, message: `The request body is larger than ${MAX_BODY} bytes.` });
    if (path !== '/sim/faults') {
      const mode = this.#faults.mode;
      if (mode === 'hang') {
        this.hung.add(res);
        res.once('close', () => this.hung.delete(res));
        return;
      }
      if (mode === 'error' && this.#errors.fails()) return sendError(res, { status: 500, message: 'Simulated engine failure (simengine fault injection, mode "error").' });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      return sendError(res, { status: 400, message: `The request body is not valid JSON: ${(e as Error).message}` });
    }
    switch (path) {
      case '/sim/faults': {
        const f = parseFaults(body);
        if (!f.ok) return sendError(res, f.error);
        this.setFaults(f.value);
        return sendJson(res, 200, JSON.stringify(this.#faults));
      }
      case '/tokenize':
        return this.#tokenize(body, res);
      default:
        return this.#generate(path === '/v1/chat/completions' ? 'chat' : 'completion', body, res);
    }
  }

  #tokenize(body: unknown, res: ServerResponse): void {
    const t = parseTokenize(body);
    if (!t.ok) return sendError(res, t.error);
    const bad = this.#checkModel(t.value.model);
    if (bad) return sendError(res, bad);
    const tokens = tokenize(t.value.text);
    if (t.value.bos) tokens.unshift(BOS_ID);
    const out = { count: tokens.length, max_model_len: this.#init.model.config.maxModelLen, tokens, token_strs: null };
    sendJson(res, 200, JSON.stringify(out));
  }

  #generate(kind: Kind, body: unknown, res: ServerResponse): void {
    const arrivalS = this.clock.monoMs() / 1000;
    const parsed = kind === 'chat' ? parseChat(body) : parseCompletion(body);
    if (!parsed.ok) return sendError(res, parsed.error);
    const spec = parsed.value;
    const bad = this.#checkModel(spec.model);
    if (bad) return sendError(res, bad);
    const promptTokens = spec.promptIds ?? (kind === 'chat' ? tokenize(spec.prompt) : [BOS_ID, ...tokenize(spec.prompt)]);
    const cap = this.#checkLength(spec, promptTokens.length);
    if (typeof cap !== 'number') return sendError(res, cap);
    const input = { seed: hashTokens(promptTokens), maxTokens: cap, stop: spec.stop, ignoreEos: spec.ignoreEos, outputFactor: this.#faults.outputFactor };
    const plan = spec.tool ? planTool(spec.tool, input) : planText(input);
    // the client may have gone while its body was read: nothing to run
    if (res.socket === null || res.socket.destroyed) return;
    const id = this.#nextId++;
    const responseId = `${kind === 'chat' ? 'chatcmpl-' : 'cmpl-'}${this.#idBase}${id.toString(16).padStart(24, '0')}`;
    const x = new EngineExchange(id, this, res, {
      kind, responseId, model: this.#init.modelName, stream: spec.stream, includeUsage: spec.includeUsage,
      continuousUsage: spec.continuousUsage, promptTokens, plan, arrivalS,
    });
    const added = this.driver.submit(x);
    if (!added.ok) return sendError(res, { status: 400, message: added.error.message });
    res.once('close', x.onClose);
  }

  #checkModel(model: string | null): HttpError | null {
    if (model === null || model === this.#init.modelName) return null;
    return { status: 404, message: `The model \`${model}\` does not exist.`, param: 'model' };
  }

  /** The output cap, or vLLM's 400 when the prompt or the cap do not fit max_model_len. */
  #checkLength(spec: GenSpec, p: number): number | HttpError {
    const len = this.#init.model.config.maxModelLen;
    if (p >= len) {
      return { status: 400, param: spec.kind === 'chat' ? 'messages' : 'prompt', message: `This model's maximum context length is ${len} tokens. However, your request has ${p} input tokens. Please reduce the length of the input messages.` };
    }
    const cap = spec.maxTokens ?? len - p;
    if (p + cap > len) {
      return { status: 400, param: 'max_tokens', message: `'max_tokens' or 'max_completion_tokens' is too large: ${cap}. This model's maximum context length is ${len} tokens and your request has ${p} input tokens (${cap} > ${len} - ${p}).` };
    }
    return cap;
  }
}

function endStartup(s: EngineService): void {
  s.ready();
}

/** The whole body, or null when it passes MAX_BODY. */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.removeAllListeners('data');
        req.resume();
        return resolve(null);
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
