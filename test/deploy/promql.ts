// Just enough PromQL reading to list the metric names an expression selects: the deploy specs
// check every name against the contract, and promtool does the real parsing.

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan', 'atan2']);
const GROUPING = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;

/** Metric names selected by `expr`, in order of appearance, without duplicates. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings (label values, printf formats)
    .replace(/\{[^}]*\}/g, ' ') // label matchers: only label names and strings remain inside
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(GROUPING, ' ')
    .replace(/\boffset\s+-?[\dsmhdwy]+/g, ' ')
    .replace(/(?<![\w:])\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w:])/gi, ' '); // numbers, 1e-12 included
  const names: string[] = [];
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0];
    const after = bare.slice(m.index! + name.length).trimStart();
    if (after.startsWith('(')) continue; // a function or an aggregation
    if (KEYWORDS.has(name.toLowerCase())) continue;
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** The Grafana variables (`$model`, `${model}`, `[[model]]`) an expression refers to. */
export function variablesIn(expr: string): string[] {
  const out = new Set<string>();
  for (const m of expr.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g)) out.add(m[1] ?? m[2] ?? m[3]);
  return [...out];
}

/** `expr` with Grafana's variables replaced by values that keep it valid PromQL. */
export function substituteVariables(expr: string): string {
  const value = (name: string): string => {
    switch (name) {
      case '__rate_interval': case '__interval': return '5m';
      case '__range': return '1h';
      case '__range_s': case '__interval_ms': return '3600';
      default: return '.*'; // a user variable; every one of ours sits in a regex matcher
    }
  };
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (_m, a, b, c) => value(a ?? b ?? c));
}
