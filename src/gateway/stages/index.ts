import type { GatewayError } from '../../api/index.js';
import type { Config } from '../../config/index.js';
import type { MonthlySpend } from '../../limits/index.js';
import type { GatewayMetrics, Tracing } from '../../observe/index.js';
import type { Authenticator } from '../../tenancy/index.js';
import type { Clock } from '../../time/index.js';
import type { BodyReader } from '../body.js';
import type { ModelCatalogue } from '../catalogue.js';
import type { Stage } from '../pipeline.js';
import type { RateLimits } from '../rate-limits.js';
import { authenticate } from './authenticate.js';
import { readBody } from './body.js';
import { rateLimit } from './limits.js';
import { resolveModel } from './model.js';
import { parse } from './parse.js';
import { priorityAndDeadline } from './priority.js';
import { spendLimit } from './spend.js';
import { traced } from './traced.js';
import { anthropicVersion } from './version.js';

export { CLIENT_LEFT } from './body.js';

export interface StageDeps {
  readonly config: Config;
  readonly authenticator: Pick<Authenticator, 'authenticate'>;
  readonly metrics: Pick<GatewayMetrics, 'authFailures' | 'spendLimited'>;
  readonly bodies: Pick<BodyReader, 'read' | 'refusal'>;
  readonly models: Pick<ModelCatalogue, 'get' | 'ids'>;
  readonly rateLimits: Pick<RateLimits, 'tierOf' | 'admit'>;
  readonly spend: Pick<MonthlySpend, 'spent'>;
  readonly clock: Clock;
  /** null or absent: tracing is off, and the stages run unwrapped */
  readonly tracing?: Tracing | null;
  /** since when the gateway drains (the clock's monotonic ms), or null; absent, never */
  readonly drainingSince?: () => number | null;
}

/** The refusal while the gateway drains (a load balancer sends the retry elsewhere). */
export const DRAINING: GatewayError = { kind: 'overloaded', message: 'The gateway is shutting down; retry on another instance.', retryAfterS: 1 };

/**
 * While the gateway drains, an inference request is refused once its key is known, before its
 * body is read: like any stage's refusal of an authenticated request, it is on the ledger.
 */
function notDraining(since: () => number | null): Stage {
  return (cx) => {
    const at = since();
    // one that arrived before the drain began was taken in: it goes on, and the drain waits for it
    return at !== null && cx.t0 >= at ? DRAINING : null;
  };
}

export interface Stages {
  readonly authenticate: Stage;
  /** an Anthropic request up to its body (count_tokens stops there) */
  readonly anthropicHead: readonly Stage[];
  /** the whole way in, per API */
  readonly anthropic: readonly Stage[];
  readonly openai: readonly Stage[];
}

/** The order of work for a request on its way in, built once: each stage passes or refuses. */
export function inferenceStages(d: StageDeps): Stages {
  const auth = authenticate(d);
  const body = readBody({ bodies: d.bodies, limitBytes: d.config.server.bodyLimitBytes });
  const parsing = [parse, resolveModel(d.models), priorityAndDeadline({ rateLimits: d.rateLimits, admission: d.config.admission })];
  const limits = [spendLimit(d), rateLimit(d)];
  // traced, each group of stages is one span of a traced request's trace (the version check, a
  // header compare, is not); untraced, the stages run unwrapped and cost nothing more
  const c = d.tracing == null ? null : d.clock;
  const group = (name: Parameters<typeof traced>[0], stages: Stage[]): Stage[] => (c === null ? stages : [traced(name, stages, c)]);
  const [tAuth] = group('auth', [auth]);
  const drain = notDraining(d.drainingSince ?? (() => null));
  const [tBody] = group('read_body', [body]);
  const rest = [...group('parse', parsing), ...group('limits', limits)];
  return {
    authenticate: auth,
    anthropicHead: [auth, anthropicVersion, body],
    anthropic: [tAuth, drain, anthropicVersion, tBody, ...rest],
    openai: [tAuth, drain, tBody, ...rest],
  };
}
