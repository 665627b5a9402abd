import type { IncomingHttpHeaders } from 'node:http';
import type { UsageRecord } from '../ledger/index.js';

// The shapes through which the request path reports to observe/: a settled request for the
// metrics, SLOs and live traffic, and a request's trace. Both are built to cost nothing when off:
// the gateway holds `null` and every report is `x?.…`.

/** What a settled request adds to a view of the traffic; `tier` is its tenant's tier name. */
export interface RequestObserver {
  settled(r: UsageRecord, tier: string): void;
}

/** The stages of a request on its way in, each a child span of its trace. */
export type TraceStage = 'auth' | 'read_body' | 'parse' | 'limits' | 'routing' | 'admission';

/** W3C trace context headers for one call to a replica. */
export interface TraceHeaders {
  readonly traceparent: string;
  readonly tracestate?: string;
}

/** One call to a replica, a child span of its request's trace. */
export interface AttemptTrace {
  /** the context the call carries to the replica */
  readonly headers: TraceHeaders;
  /**
   * The call's end: `error` names its failure (an upstream failure kind, or an HTTP status), absent
   * when it answered. An attempt never ended (cancelled, a hedge's loser) ends with its request.
   */
  end(endMono: number, error?: string, status?: number): void;
}

/** A replica as a trace names it. */
export interface TracedReplica {
  readonly id: string;
  readonly region: string;
  readonly url: string;
  readonly protocol: string;
  /** the model name the replica serves (the call's `gen_ai.request.model`) */
  readonly servedModel: string;
}

/** How a request ended, as its root span hears it. */
export interface TraceEnding {
  /** the gateway's request id (the `request-id` response header), for finding a request's trace from its logs */
  readonly requestId: string;
  readonly status: number;
  readonly outcome: string;
  /** its usage record; null for a request refused before its key was known (it has none) */
  readonly record: UsageRecord | null;
  /** the output cap the client set, or null */
  readonly maxTokens: number | null;
  readonly priority: string | null;
}

/** One request's trace: its root span, opened at arrival. */
export interface RequestTrace {
  /** a stage that ran from `startMono` to `endMono` (monotonic ms); `error` is its refusal's kind */
  stage(name: TraceStage, startMono: number, endMono: number, error?: string): void;
  /** a call to a replica starts now (`attempt` counts from 1, retries and hedges included) */
  attempt(replica: TracedReplica, attempt: number, startMono: number): AttemptTrace;
  /** the answer's first byte reached the client: the relay span runs from here to the end */
  firstByte(mono: number): void;
  /** what the replica said of its answer: its model name and id, and a finish reason when one came */
  answered(model: string | undefined, id: string | undefined, finishReason: string | null | undefined): void;
  /** the request settled: the root span ends with its usage and outcome */
  end(e: TraceEnding, endMono: number): void;
}

/** The gateway's tracer. Absent (null) when tracing is off. */
export interface Tracing {
  /**
   * A trace for a request arriving now on `wire`, a child of the client's `traceparent` when it
   * sent one; null when the request is not sampled (nothing is recorded).
   */
  start(headers: IncomingHttpHeaders, wire: string, startMono: number, startEpochMs: number): RequestTrace | null;
  /** sends what is queued and stops, within a bound */
  close(): Promise<void>;
}
