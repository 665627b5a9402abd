import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InferenceRequest, ModelInfo, Wire } from '../api/index.js';
import type { Priority } from '../admission/index.js';
import type { ModelConfig } from '../config/index.js';
import type { Replica } from '../fleet/index.js';
import type { RequestTrace } from '../observe/index.js';
import type { AuthContext } from '../tenancy/index.js';
import type { Phase } from './boundary.js';
import type { Exchange } from './exchange.js';
import type { Reservation, Tier } from './rate-limits.js';
import type { RouteTicket } from './routing.js';

/** A served model: its settings and the replicas behind it (a live list: replicas come and go). */
export interface ModelEntry {
  readonly config: ModelConfig;
  readonly info: ModelInfo;
  readonly replicas: readonly Replica[];
}

/**
 * One inference request as the pipeline knows it. The stages fill it in order; the fields a stage
 * has not reached yet are null (a request refused early is recorded with what was known by then).
 */
export interface RequestContext {
  readonly requestId: string;
  /** monotonic ms at arrival: latency and time to first token are measured from here */
  readonly t0: number;
  /** epoch ms at arrival: the usage record's start */
  readonly startedAt: number;
  readonly wire: Wire;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /**
   * The response head's per-request pairs, flat `[name, value, …]` (its rate-limit headers, its
   * priority), written with the rest of the head in one `writeHead` (`Replies.headersFor`). Each
   * name is pushed once; a rare header goes on the response with `setHeader`, which `writeHead`
   * merges.
   */
  readonly heads: string[];
  /** where the request is, for the error boundary's count and log line */
  phase: Phase;
  auth: AuthContext | null;
  tier: Tier | null;
  body: Buffer | null;
  ireq: InferenceRequest | null;
  entry: ModelEntry | null;
  priority: Priority | null;
  /** how long it may wait for admission, ms from now */
  deadlineMs: number;
  /** what it holds of its rate limits, once reserved (given back if it fails before an exchange owns it) */
  reservation: Reservation | null;
  ticket: RouteTicket | null;
  /** once it exists, the exchange owns the request's ending */
  exchange: Exchange | null;
  /** its trace, when tracing is on and it is sampled; null otherwise (nothing is recorded) */
  trace: RequestTrace | null;
}

/** A request every stage has passed: what the exchange is built from. */
export type AdmittedContext = RequestContext & {
  readonly auth: AuthContext;
  readonly tier: Tier;
  readonly body: Buffer;
  readonly ireq: InferenceRequest;
  readonly entry: ModelEntry;
  readonly priority: Priority;
  readonly reservation: Reservation;
  readonly ticket: RouteTicket;
};

export function requestContext(req: IncomingMessage, res: ServerResponse, wire: Wire, requestId: string, t0: number, startedAt: number): RequestContext {
  return {
    requestId, t0, startedAt, wire, req, res, heads: [], phase: 'auth',
    auth: null, tier: null, body: null, ireq: null, entry: null, priority: null, deadlineMs: 0,
    reservation: null, ticket: null, exchange: null, trace: null,
  };
}
