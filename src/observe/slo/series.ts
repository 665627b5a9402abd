import { Counter, Gauge, type Registry } from 'prom-client';
import { ALERT_RULES, BURN_WINDOWS, type Objective } from './objective.js';

// The SLOs on /metrics. `switchyard_slo_events_total` counts exactly the events the tracker
// counts (good or bad, excluded ones not at all), so Prometheus rules summing it over gateways
// compute the same burn rates; the gauges show this gateway's own evaluation.

export interface SloSeries {
  /** an evaluation's values onto the gauges */
  publish(o: Objective): void;
}

export const NO_SERIES: SloSeries = { publish() {} };

/** `refresh` evaluates when the values are stale: a scrape reads them as of now. */
export function sloSeries(registry: Registry, objectives: readonly Objective[], refresh: () => void): SloSeries {
  const registers = [registry];
  const collect = (): void => refresh();
  // the hot path adds to the objective's own totals (prom-client hashes the labels on every inc);
  // a scrape moves the counter on by what was added since the last one
  const published = objectives.map(() => ({ good: 0, bad: 0 }));
  const events = new Counter({
    name: 'switchyard_slo_events_total', help: 'SLO events by result (good or bad); requests an SLO excludes (client errors, non-streamed ones for TTFT) are not counted',
    labelNames: ['slo', 'result'], registers,
    collect() {
      for (let i = 0; i < objectives.length; i++) {
        const o = objectives[i];
        const p = published[i];
        if (o.goodEvents > p.good) this.inc({ slo: o.config.name, result: 'good' }, o.goodEvents - p.good);
        if (o.badEvents > p.bad) this.inc({ slo: o.config.name, result: 'bad' }, o.badEvents - p.bad);
        p.good = o.goodEvents;
        p.bad = o.badEvents;
      }
    },
  });
  const objective = new Gauge({ name: 'switchyard_slo_objective_ratio', help: 'The share of valid events each SLO wants good', labelNames: ['slo'], registers });
  const budget = new Gauge({ name: 'switchyard_slo_error_budget_remaining_ratio', help: 'Error budget left over the SLO window: 1 untouched, 0 spent, negative overspent', labelNames: ['slo'], registers, collect });
  const burn = new Gauge({ name: 'switchyard_slo_burn_rate', help: 'Bad-event ratio over the window divided by the error budget (1 spends it exactly over the SLO window)', labelNames: ['slo', 'window'], registers, collect });
  const firing = new Gauge({ name: 'switchyard_slo_alert_firing', help: 'Multi-window burn-rate alert state (1 firing)', labelNames: ['slo', 'severity', 'rule'], registers, collect });
  for (const o of objectives) {
    objective.set({ slo: o.config.name }, o.config.objective);
    for (const result of ['good', 'bad']) events.inc({ slo: o.config.name, result }, 0);
  }
  return {
    publish(o) {
      const slo = o.config.name;
      const e = o.last;
      budget.set({ slo }, o.budgetRemaining());
      for (let k = 0; k < BURN_WINDOWS.length; k++) burn.set({ slo, window: BURN_WINDOWS[k] }, e.burn[k]);
      for (let k = 0; k < ALERT_RULES.length; k++) {
        const r = ALERT_RULES[k];
        firing.set({ slo, severity: r.severity, rule: r.rule }, e.firingSince[k] === null ? 0 : 1);
      }
    },
  };
}
