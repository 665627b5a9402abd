import type { CallReport, CallReportSink, Target } from '../../upstream/index.js';

// The call report has one sink; the rollouts and the autoscaler both want the calls. A tee asks
// each whether it watches the model and hands each call only to those that do.

export function teeCalls<T extends Target & { readonly replica: { readonly model: string } }>(a: CallReportSink<T>, b: CallReportSink<T>): CallReportSink<T> {
  return {
    watching: (model) => a.watching(model) || b.watching(model),
    call(target: T, r: CallReport) {
      const model = target.replica.model;
      if (a.watching(model)) a.call(target, r);
      if (b.watching(model)) b.call(target, r);
    },
  };
}
