// Plain-text tables for the store commands: a header, a rule, and columns padded to their widest
// cell; numbers are right-aligned so digits line up.

export type Cell = string | number;

export function table(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => isNumber(r[c])));
  const text = rows.map((r) => r.map(String));
  const width = header.map((h, c) => Math.max(h.length, ...text.map((r) => r[c].length)));
  const line = (cells: readonly string[]) => cells.map((s, c) => (numeric[c] ? s.padStart(width[c]) : s.padEnd(width[c]))).join('  ').trimEnd();
  return [line(header), line(width.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n') + '\n';
}

const isNumber = (v: Cell): boolean => typeof v === 'number' || /^-?[\d,]*\.?\d+$/.test(v);

/** An ms-epoch time as RFC 3339 to the second, or '-' for none. */
export const time = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
