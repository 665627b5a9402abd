// Numbers as people read them. Every formatter takes null/undefined and answers "—".

const none = (v) => v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v));
const usdFmt = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

const usdSmall = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 4, maximumFractionDigits: 4 });
// cents hide what a light tenant spends: below $1, four decimals
export const usd = (v) => (none(v) ? '—' : v !== 0 && Math.abs(v) < 1 ? usdSmall.format(v) : usdFmt.format(v));
export const int = (v) => (none(v) ? '—' : intFmt.format(v));
export const num = (v, digits = 2) => (none(v) ? '—' : v.toFixed(digits));
export const pct = (v, digits = 1) => (none(v) ? '—' : `${(v * 100).toFixed(digits)} %`);
export function ms(v) {
  if (none(v)) return '—';
  if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  return `${Math.round(v)} ms`;
}
export function time(iso) {
  if (none(iso)) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}
