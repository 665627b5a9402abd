import type { GatewayError } from '../api/index.js';
import type { UpstreamFailure } from './types.js';

/** What a replica's failure means to the client, as the error the client's wire renders. */
export function classify(f: UpstreamFailure, model: string): GatewayError {
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
      // the replica's own retry-after when it asked for longer: SDK backoff then spares it
      if (f.status === 429 || f.status === 503) return { kind: 'overloaded', message: `The replicas of ${model} are overloaded; try again shortly.`, retryAfterS: Math.max(1, f.retryAfterS ?? 1) };
      return { kind: 'upstream', message: `The replica of ${model} failed with status ${f.status}: ${detail}` };
    }
  }
}

/** The human message inside a replica's error body (vLLM's nested or flat shape), or the body. */
export function upstreamMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { message?: string } | string; message?: string };
    if (typeof j.error === 'object' && j.error?.message) return j.error.message;
    if (typeof j.error === 'string') return j.error;
    if (typeof j.message === 'string') return j.message;
  } catch { /* not JSON */ }
  return body.slice(0, 500) || 'no detail';
}

/** A failure outlier detection counts against the replica: anything but a request it rightly refused (4xx). */
export function blamesReplica(f: UpstreamFailure): boolean {
  return f.kind !== 'status' || f.status >= 500;
}

/**
 * A failure that says the replica cannot be reached at all: passive health takes it out of
 * rotation. A connection dropped before an answer is not one: a single reset (a kept-alive
 * connection closed under a request is the common one) would otherwise take the last replica of a
 * pool out until its next probe, and fail every request meanwhile; outlier detection counts it.
 */
export function unreachable(f: UpstreamFailure): boolean {
  return (f.kind === 'connect' && f.refused) || (f.kind === 'timeout' && f.phase === 'connect');
}
