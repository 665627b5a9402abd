import type { GatewayError } from '../api/index.js';
import type { Replica } from '../fleet/index.js';
import type { MonthlySpend } from '../limits/index.js';
import type { LedgerWriter, UsageOutcome, UsageRecord } from '../ledger/index.js';
import type { GatewayMetrics, Logger, RequestObserver } from '../observe/index.js';
import { wallClock, type Clock } from '../time/index.js';
import type { RequestContext } from './context.js';

// Settling a request: its one usage record, built here and nowhere else (cost included), written
// to the ledger, the workspace's month-to-date spend and the request metrics.

/** What a request used of a replica; `NOTHING_SERVED` for one that reached none. */
export interface Served {
  readonly replica: Replica | null;
  /** ms from arrival to the first token, or null */
  readonly ttftMs: number | null;
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
}

export const NOTHING_SERVED: Served = { replica: null, ttftMs: null, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 };

/** The ledger outcome of a request that ended in this error. */
export function outcomeOf(e: GatewayError): UsageOutcome {
  switch (e.kind) {
    case 'rate_limited': return 'rate_limited';
    case 'overloaded': return 'overloaded';
    case 'timeout': return 'timeout';
    case 'upstream': return 'upstream_error';
    case 'internal': return 'internal_error';
    default: return 'client_error';
  }
}

const ms3 = (v: number): number => Math.round(v * 1000) / 1000;

/**
 * The usage record of an authenticated request. A request refused before its body was parsed has
 * no model yet ('') and counts as not streamed.
 */
export function usageRecord(cx: RequestContext, status: number, outcome: UsageOutcome, s: Served, nowMono: number): UsageRecord {
  const auth = cx.auth!;
  const pricing = cx.entry?.config.pricing;
  return {
    requestId: cx.requestId, startedAt: cx.startedAt, tenantId: auth.tenantId, workspaceId: auth.workspaceId, keyId: auth.keyId, tier: auth.tier,
    model: cx.ireq?.model ?? '', replica: s.replica?.id ?? null, region: s.replica?.region ?? null,
    wire: cx.wire, stream: cx.ireq?.stream ?? false, status, outcome,
    inputTokens: s.inputTokens, cachedInputTokens: s.cachedInputTokens, outputTokens: s.outputTokens,
    ttftMs: s.ttftMs === null ? null : ms3(s.ttftMs),
    latencyMs: ms3(nowMono - cx.t0),
    // prices are per million tokens; rounded to a billionth of a dollar, so no float noise is stored
    costUsd: pricing === undefined ? 0 : Math.round((s.inputTokens * pricing.input + s.outputTokens * pricing.output) * 1e3) / 1e9,
  };
}

/**
 * The request's root span ends with its record. A trace that fails is the trace's loss: the
 * request keeps its record whatever the tracer does.
 */
function endTrace(cx: RequestContext, r: UsageRecord, nowMono: number): void {
  try {
    cx.trace!.end({ requestId: r.requestId, status: r.status, outcome: r.outcome, record: r, maxTokens: cx.ireq?.maxTokens ?? null, priority: cx.priority }, nowMono);
  } catch { /* the trace is dropped */ }
}

interface RequestSeries {
  requests: { inc(): void };
  latency: { observe(v: number): void };
  ttft: { observe(v: number): void };
}

export interface SettlementDeps {
  readonly ledger: LedgerWriter;
  readonly spend: Pick<MonthlySpend, 'add'>;
  readonly metrics: Pick<GatewayMetrics, 'requests' | 'latency' | 'ttft'>;
  readonly log: Logger;
  /** one log line per request */
  readonly accessLog: boolean;
  /** whether the gateway serves a model (others are labelled `unknown` in metrics) */
  served(model: string): boolean;
  readonly clock?: Clock;
  /** told of every settled request (GenAI metrics, SLOs, live traffic); absent: none */
  readonly observers?: readonly RequestObserver[];
}

export class Settlement {
  readonly #d: SettlementDeps;
  readonly #clock: Clock;
  readonly #seriesCache = new Map<string, RequestSeries>();
  readonly #observers: readonly RequestObserver[];

  constructor(d: SettlementDeps) {
    this.#d = d;
    this.#observers = d.observers ?? [];
    this.#clock = d.clock ?? wallClock;
  }

  /** Ends an authenticated request: builds its record and writes it. Call once per request. */
  settle(cx: RequestContext, status: number, outcome: UsageOutcome, served: Served = NOTHING_SERVED): void {
    const now = this.#clock.monoMs();
    const r = usageRecord(cx, status, outcome, served, now);
    if (cx.trace !== null) endTrace(cx, r, now);
    this.#write(r, cx.auth!.tier);
  }

  /** The one place a finished request is counted and written to the ledger. */
  #write(r: UsageRecord, tier: string): void {
    const d = this.#d;
    // the record first: whatever an observer or a metric throws below, the request is on the ledger
    d.ledger.record(r);
    if (r.costUsd > 0) d.spend.add(r.workspaceId, r.costUsd, r.startedAt);
    const observers = this.#observers;
    for (let i = 0; i < observers.length; i++) observers[i].settled(r, tier);
    const s = this.#series(r);
    s.requests.inc();
    s.latency.observe(r.latencyMs / 1000);
    if (r.stream && r.ttftMs !== null) s.ttft.observe(r.ttftMs / 1000);
    if (d.accessLog) {
      d.log.info({ requestId: r.requestId, tenant: r.tenantId, model: r.model, replica: r.replica, status: r.status, outcome: r.outcome, latencyMs: r.latencyMs }, 'request');
    }
  }

  /**
   * The metric children for a request's labels, made once per combination: prom-client sorts and
   * hashes a label object on every call otherwise. A model name the gateway does not serve is
   * labelled `unknown`, so a client cannot mint new series.
   */
  #series(r: UsageRecord): RequestSeries {
    const model = this.#d.served(r.model) ? r.model : 'unknown';
    const key = `${r.wire}|${model}|${r.status}|${r.outcome}`;
    let s = this.#seriesCache.get(key);
    if (s === undefined) {
      const m = this.#d.metrics;
      s = {
        requests: m.requests.labels(r.wire, model, String(r.status), r.outcome),
        latency: m.latency.labels(r.wire, model),
        ttft: m.ttft.labels(r.wire, model),
      };
      this.#seriesCache.set(key, s);
    }
    return s;
  }
}
