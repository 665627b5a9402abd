// How numbers read in a verdict's reason: "48 %", "1.1 %", "1.52×", "1.2e4".

/** A share as a percentage, two significant digits ("48 %", "1.1 %", "0.052 %"). */
export function share(p: number): string {
  if (!Number.isFinite(p)) return '?';
  const pct = p * 100;
  if (pct === 0) return '0 %';
  return `${pct >= 10 ? Math.round(pct) : Number(pct.toPrecision(2))} %`;
}

/** A ratio ("1.52×"). */
export function times(r: number): string {
  return Number.isFinite(r) ? `${Number(r.toPrecision(3))}×` : '?';
}

/** An e-value or threshold: plain below 1,000, else "1.2e4". */
export function evalue(e: number): string {
  if (!Number.isFinite(e)) return e > 0 ? 'inf' : '?';
  if (e < 1000) return String(Number(e.toPrecision(3)));
  return e.toExponential(1).replace('e+', 'e');
}
