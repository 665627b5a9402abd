// Reading Prometheus text in tests.

/** A sample's value from Prometheus text: `name` with exactly these labels (in any order); undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const open = line.indexOf('{');
    const close = line.lastIndexOf('}');
    const got = open === -1 ? '' : line.slice(open + 1, close).split(/,(?=[a-z_]+=")/).sort().join(',');
    if (got === want) return Number(line.slice((close === -1 ? name.length : close + 1)).trim().split(' ')[0]);
  }
  return undefined;
}
