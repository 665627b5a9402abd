// planner/report — a PlanReport as a terminal report, deterministic JSON and a self-contained HTML page.
export { renderPlanText } from './text.js';
export { planJson } from './json.js';
export { renderPlanHtml } from './html.js';
