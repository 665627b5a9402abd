import type { GatewayError } from '../../api/index.js';
import type { TraceStage } from '../../observe/index.js';
import type { Clock } from '../../time/index.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../pipeline.js';

/**
 * Stages run as one span of the request's trace, named `name`, with the first refusal as its
 * `error.type`. A request that is not traced runs them as they are. Composed only when tracing is
 * on, so an untraced gateway never calls this.
 */
export function traced(name: TraceStage, stages: readonly Stage[], clock: Clock): Stage {
  // one stage runs as itself: no second promise around one that waits
  const one = stages.length === 1 ? stages[0] : null;
  return (cx) => {
    const t = cx.trace;
    if (t === null) return one !== null ? one(cx) : run(stages, cx, 0);
    const start = clock.monoMs();
    const r = one !== null ? one(cx) : run(stages, cx, 0);
    if (r instanceof Promise) {
      return r.then((e) => {
        t.stage(name, start, clock.monoMs(), e?.kind);
        return e;
      });
    }
    t.stage(name, start, clock.monoMs(), r?.kind);
    return r;
  };
}

/** `stages` from `i` on, synchronous while they are: the first refusal, or null. */
function run(stages: readonly Stage[], cx: RequestContext, i: number): GatewayError | null | Promise<GatewayError | null> {
  for (; i < stages.length; i++) {
    const r = stages[i](cx);
    if (r instanceof Promise) {
      const next = i + 1;
      return r.then((e) => (e === null ? run(stages, cx, next) : e));
    }
    if (r !== null) return r;
  }
  return null;
}
