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
  /** the call's end: `error` names its failure (an upstream failure kind), absent when it answered */
  end(endMono: number, error?: string): void;
}

/** What a request's trace hears beyond its stages, at its end. */
export interface TraceEnding {
  readonly record: UsageRecord;
  /** the replica's finish reasons (`stop`, `length`, `tool_calls`…), in the API's own words */
  readonly finishReasons: readonly string[];
  /** monotonic ms of the first byte to the client, or null */
  readonly firstByteMono: number | null;
  /** the model name the replica answered with, when it said */
  readonly responseModel: string | null;
  readonly responseId: string | null;
}

/** One request's trace: its root span, opened at arrival. */
export interface RequestTrace {
  /** a stage that ran from `startMono` to `endMono` (monotonic ms); `error` is its refusal's kind */
  stage(name: TraceStage, startMono: number, endMono: number, error?: string): void;
  /** a call to a replica starts now */
  attempt(replica: { readonly id: string; readonly region: string; readonly url: string; readonly servedModel: string }, attempt: number, startMono: number): AttemptTrace;
  /** the request settled: the root span ends with its usage and outcome */
  end(e: TraceEnding, endMono: number): void;
}

/** The gateway's tracer. Absent (null) when tracing is off. */
export interface Tracing {
  /**
   * A trace for a request arriving now, a child of the client's `traceparent` when it sent one;
   * null when the request is not sampled (no span is made, nothing is recorded).
   */
  start(headers: IncomingHttpHeaders, startMono: number, startEpochMs: number): RequestTrace | null;
  /** sends what is queued and stops */
  close(): Promise<void>;
}
