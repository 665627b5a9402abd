import type { GatewayError } from '../api/index.js';
import type { RequestContext } from './context.js';

// A request's way in, as a list of stages over one RequestContext. A stage either passes (null) or
// answers (the error its client should hear); it waits only when it must (a key store, Redis, a
// body still arriving), and the run stays synchronous for as long as the stages do.

/** One step of the pipeline. Named apart from boundary.ts's `Phase`, the label of where a failure happened. */
export type Stage = (cx: RequestContext) => GatewayError | null | Promise<GatewayError | null>;

/** How a run ends: every stage passed, or the first refusal. */
export interface Ending {
  pass(cx: RequestContext): void | Promise<void>;
  /** the one place a refused request is answered (and, once its key is known, settled) */
  refuse(cx: RequestContext, err: GatewayError): void;
}

export type Run = (cx: RequestContext) => void | Promise<void>;

/** The stages in order, then `end`. A throw or rejection is the caller's (its error boundary). */
export function compose(stages: readonly Stage[], end: Ending): Run {
  const n = stages.length;
  function from(cx: RequestContext, i: number): void | Promise<void> {
    for (; i < n; i++) {
      const r = stages[i](cx);
      // only a stage that waits costs a promise; the rest of the run continues after it
      if (r instanceof Promise) return r.then((e) => (e === null ? from(cx, i + 1) : end.refuse(cx, e)));
      if (r !== null) return end.refuse(cx, r);
    }
    return end.pass(cx);
  }
  return (cx) => from(cx, 0);
}

/** The stages in order, each awaited: the first refusal, or null. For the routes off the hot path. */
export async function firstRefusal(stages: readonly Stage[], cx: RequestContext): Promise<GatewayError | null> {
  for (const stage of stages) {
    const e = await stage(cx);
    if (e !== null) return e;
  }
  return null;
}
