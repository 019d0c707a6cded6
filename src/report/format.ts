/** Number formatting shared by every report format: one place decides how a cycle count or a time looks. */

/** 1234567 -> "1,234,567"; non-integers keep up to `digits` decimals. */
export function fmtNum(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  const neg = n < 0;
  const a = Math.abs(n);
  let s = Number.isInteger(a) ? String(a) : a.toFixed(digits).replace(/\.?0+$/, '');
  const [int, frac] = s.split('.') as [string, string | undefined];
  s = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (frac ? `.${frac}` : '');
  return neg ? `-${s}` : s;
}

/** Whole cycles with separators. */
export function fmtCycles(c: number): string {
  return fmtNum(Math.round(c));
}

/** Nanoseconds as a readable time: "812 ns", "3.41 µs", "12.7 ms", "1.52 s". */
export function fmtTime(ns: number): string {
  const a = Math.abs(ns);
  if (a < 1000) return `${sig(ns)} ns`;
  if (a < 1e6) return `${sig(ns / 1e3)} µs`;
  if (a < 1e9) return `${sig(ns / 1e6)} ms`;
  return `${sig(ns / 1e9)} s`;
}

/** Cycles at `ghz` as a time. */
export function fmtCyclesTime(cycles: number, ghz: number): string {
  return fmtTime(cycles / ghz);
}

/** Three significant digits, without trailing zeros. */
export function sig(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const d = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return x.toFixed(d).replace(/\.0+$/, '').replace(/(\.\d*?)0+$/, '$1');
}

/** A share as a percentage: 0.1234 -> "12.3%". */
export function fmtPct(share: number): string {
  if (!Number.isFinite(share)) return '-';
  return `${(share * 100).toFixed(1)}%`;
}

/** A ratio b/a: "1.23x"; "-" when a is zero. */
export function fmtRatio(a: number, b: number): string {
  if (a === 0) return b === 0 ? '1.00x' : '-';
  return `${(b / a).toFixed(2)}x`;
}

/** A signed delta: "+1,234" / "-56" / "0". */
export function fmtDelta(d: number): string {
  if (d === 0) return '0';
  return (d > 0 ? '+' : '') + fmtNum(Number.isInteger(d) ? d : Math.round(d * 100) / 100);
}

/** Compact large numbers for chart axes: 1.2k, 3.4M, 5.6G. */
export function fmtShort(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e12) return `${sig(n / 1e12)}T`;
  if (a >= 1e9) return `${sig(n / 1e9)}G`;
  if (a >= 1e6) return `${sig(n / 1e6)}M`;
  if (a >= 1e3) return `${sig(n / 1e3)}k`;
  return sig(n);
}

/** A parameter value as shown in tables and labels. */
export function fmtValue(v: unknown): string {
  if (typeof v === 'number') return fmtNum(v);
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
