/** Why a call to a replica did not complete; the gateway decides what the client sees. */
export type UpstreamFailure =
  /**
   * nothing came back: safe to try another replica. `refused`: nothing took the connection
   * (refused, no route, no such host), so the replica is not there; otherwise a connection closed
   * before any answer (a reset, a reused connection the replica had just closed, an empty stream),
   * which says little about the replica on its own
   */
  | { kind: 'connect'; message: string; refused: boolean }
  /**
   * the replica answered with an error status. `retryAfterS`: its valid `retry-after` (seconds or
   * an HTTP date), in whole seconds, at most a minute; absent when it sent none that was valid
   */
  | { kind: 'status'; status: number; body: string; retryAfterS?: number }
  | { kind: 'timeout'; phase: TimeoutPhase }
  /** the response began and was then cut */
  | { kind: 'broken'; message: string };

export type TimeoutPhase = 'connect' | 'headers' | 'first_token' | 'idle' | 'total';

/** Receives one call's outcome. Exactly one of onBody / onDone / onFailure ends a call. */
export interface UpstreamSink {
  /** streamed: one SSE `data:` payload, `[DONE]` excluded */
  onEvent(data: string): void;
  /** streamed: the replica finished the stream */
  onDone(): void;
  /** not streamed: the whole 2xx body */
  onBody(body: string): void;
  onFailure(f: UpstreamFailure): void;
}

export interface UpstreamTimeouts {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  firstTokenTimeoutMs: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
}
