// Traces are replayed in time order. Both published traces are sorted already; a file that is not
// is put in order once, at load, keeping equal times in file order.

/** null when `t` is non-decreasing; otherwise the row order that sorts it (stable) */
export function inTimeOrder(t: Float64Array): Uint32Array | null {
  let sorted = true;
  for (let i = 1; i < t.length && sorted; i++) sorted = t[i] >= t[i - 1];
  if (sorted) return null;
  const order = Uint32Array.from({ length: t.length }, (_, i) => i);
  return order.sort((a, b) => t[a] - t[b] || a - b);
}

type Column = Float64Array | Int32Array | Uint32Array;

export function permute<T extends Column>(col: T, order: Uint32Array): T {
  const out = col.slice() as T;
  for (let i = 0; i < order.length; i++) out[i] = col[order[i]];
  return out;
}
