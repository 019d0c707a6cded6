/** A sweep as a table (one row per grid point) and as curves (a metric against one numeric axis), for every format. */
import { findWorkload } from '../workloads/registry.js';
import type { RunResult, SweepPoint, SweepResult } from '../workloads/result.js';
import { fmtCycles, fmtNum, fmtTime, fmtValue } from './format.js';

/** Counters worth a column in a sweep table when any point counted them. */
const SWEEP_COUNTERS = ['pgfault', 'pgmajfault', 'nr_tlb_remote_flush', 'ipi_sent', 'stlb_miss', 'llc_miss', 'pswpout', 'rcu_grace_periods'];

export interface SweepColumn {
  key: string;
  title: string;
  numeric: boolean;
  get(p: { point: Record<string, unknown>; result: RunResult }): number | string;
}

export function sweepColumns(s: SweepResult): SweepColumn[] {
  const cols: SweepColumn[] = s.grid.map((a) => ({
    key: `axis:${a.key}`,
    title: a.key,
    numeric: a.values.every((v) => typeof v === 'number'),
    get: (p) => p.point[a.key] as number | string,
  }));
  cols.push({ key: 'simulated_cycles', title: 'simulated cycles', numeric: true, get: (p) => p.result.simulated_cycles });
  cols.push({ key: 'simulated_ns', title: 'simulated time', numeric: true, get: (p) => p.result.simulated_ns });
  for (const f of figureNames(s)) cols.push({ key: `figure:${f}`, title: f, numeric: true, get: (p) => p.result.figures[f] ?? NaN });
  for (const n of SWEEP_COUNTERS) {
    if (s.points.some((p) => (p.result.counters[n] ?? 0) > 0)) {
      cols.push({ key: `counter:${n}`, title: n, numeric: true, get: (p) => p.result.counters[n] ?? 0 });
    }
  }
  cols.push({ key: 'checks', title: 'checks', numeric: false, get: (p) => (p.result.checks.passed ? 'ok' : `${p.result.checks.failures.length} failed`) });
  return cols;
}

export function figureNames(s: SweepResult): string[] {
  const names = new Set<string>();
  for (const p of s.points) for (const k of Object.keys(p.result.figures)) names.add(k);
  return [...names].sort();
}

export function sweepRows(s: SweepResult, cols = sweepColumns(s)): { index: number; cells: string[] }[] {
  return s.points.map((p) => ({
    index: p.index,
    cells: cols.map((col) => {
      const v = col.get(p);
      if (typeof v !== 'number') return fmtValue(v);
      if (col.key === 'simulated_cycles') return fmtCycles(v);
      if (col.key === 'simulated_ns') return fmtTime(v);
      return Number.isNaN(v) ? '-' : fmtNum(v);
    }),
  }));
}

/** Every metric a sweep can be charted by: the simulated totals, each figure and each counter any point recorded. */
export function metricNames(s: SweepResult): string[] {
  const counters = new Set<string>();
  for (const p of s.points) for (const k of Object.keys(p.result.counters)) counters.add(k);
  return ['simulated_cycles', 'simulated_ns', ...figureNames(s).map((f) => `figure:${f}`), ...[...counters].sort().map((c) => `counter:${c}`)];
}

/** `metric` in its full form (figure:NAME / counter:NAME), or undefined when the sweep has no such metric (a bare NAME is a figure, else a counter). */
export function resolveMetric(s: SweepResult, metric: string): string | undefined {
  const known = metricNames(s);
  if (known.includes(metric)) return metric;
  return known.find((m) => m === `figure:${metric}`) ?? known.find((m) => m === `counter:${metric}`);
}

/** What a sweep chart plots: `figure:NAME`, `counter:NAME`, `simulated_cycles` or `simulated_ns`. */
export function metricValue(r: RunResult, metric: string): number {
  if (metric === 'simulated_cycles') return r.simulated_cycles;
  if (metric === 'simulated_ns') return r.simulated_ns;
  if (metric.startsWith('figure:')) return r.figures[metric.slice(7)] ?? NaN;
  if (metric.startsWith('counter:')) return r.counters[metric.slice(8)] ?? NaN;
  return r.figures[metric] ?? r.counters[metric] ?? NaN;
}

/** The default metric of a sweep chart: the workload's declared headline figure, else its first figure, else simulated cycles. */
export function defaultMetric(s: SweepResult): string {
  const f = figureNames(s);
  const headline = findWorkload(s.workload)?.headline;
  if (headline !== undefined && f.includes(headline)) return `figure:${headline}`;
  return f.length > 0 ? `figure:${f[0]}` : 'simulated_cycles';
}

export interface Curve {
  label: string;
  points: { x: number; y: number }[];
}

/**
 * Curves of `metric` against numeric axis `xKey` (default: the first numeric
 * axis), one per combination of the other axes' values (in grid order). Null
 * when there is no such axis.
 */
export function sweepCurves(s: SweepResult, metric: string, xKey?: string): { xKey: string; curves: Curve[] } | null {
  const xAxis = xKey === undefined ? s.grid.find((a) => a.values.every((v) => typeof v === 'number')) : s.grid.find((a) => a.key === xKey && a.values.every((v) => typeof v === 'number'));
  if (!xAxis) return null;
  const others = s.grid.filter((a) => a !== xAxis);
  const byLabel = new Map<string, Curve>();
  for (const p of [...s.points].sort((a, b) => a.index - b.index)) {
    const label = others.map((a) => `${a.key}=${fmtValue(p.point[a.key])}`).join(', ') || metric.replace(/^\w+:/, '');
    let c = byLabel.get(label);
    if (!c) {
      c = { label, points: [] };
      byLabel.set(label, c);
    }
    const y = metricValue(p.result, metric);
    if (Number.isFinite(y)) c.points.push({ x: p.point[xAxis.key] as number, y });
  }
  for (const c of byLabel.values()) c.points.sort((a, b) => a.x - b.x);
  return { xKey: xAxis.key, curves: [...byLabel.values()] };
}

/** A point's coordinates as `key=value, ...` (grid order). */
export function pointLabel(p: { point: Record<string, unknown> }): string {
  return Object.entries(p.point).map(([k, v]) => `${k}=${fmtValue(v as never)}`).join(', ');
}

/**
 * The points of a sweep that `selector` names: `K` is the point with index K;
 * `key=value,key=value` are the points whose grid coordinates have those
 * values (strings compared case-insensitively, and `MADV_` may be left off
 * as on the command line). Throws Error with the reason when a key is not an
 * axis or a selector is malformed; returns [] when nothing matches.
 */
export function selectPoints(s: SweepResult, selector: string): SweepPoint[] {
  const text = selector.trim();
  if (/^\d+$/.test(text)) return s.points.filter((p) => p.index === Number(text));
  const want: [string, string][] = [];
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`a point index or KEY=VALUE[,KEY=VALUE...], got "${selector}"`);
    const key = part.slice(0, eq).trim().replace(/-/g, '_');
    if (!s.grid.some((a) => a.key === key)) throw new Error(`"${key}" is not an axis of this sweep (axes: ${s.grid.map((a) => a.key).join(', ')})`);
    want.push([key, part.slice(eq + 1).trim()]);
  }
  const norm = (v: unknown): string => String(v).toUpperCase().replace(/^MADV_/, '');
  return s.points.filter((p) => want.every(([k, v]) => norm(p.point[k]) === norm(v) || (typeof p.point[k] === 'number' && Number(v) === p.point[k])));
}

export interface BarGroup {
  /** The category axis's value. */
  label: string;
  /** One bar per combination of the other axes' values (the same series in every group). */
  bars: { series: string; value: number }[];
}

/** `metric` by the values of axis `key` (numeric or not): groups in the axis's order, a bar per combination of the other axes. */
export function sweepGroups(s: SweepResult, metric: string, key: string): { series: string[]; groups: BarGroup[] } {
  const axis = s.grid.find((a) => a.key === key);
  if (!axis) return { series: [], groups: [] };
  const others = s.grid.filter((a) => a !== axis);
  const series: string[] = [];
  const groups = axis.values.map((v) => ({ label: fmtValue(v), bars: [] as { series: string; value: number }[] }));
  for (const p of [...s.points].sort((a, b) => a.index - b.index)) {
    const label = others.map((a) => `${a.key}=${fmtValue(p.point[a.key])}`).join(', ') || metric.replace(/^\w+:/, '');
    if (!series.includes(label)) series.push(label);
    const g = groups[axis.values.findIndex((v) => v === p.point[key])];
    g?.bars.push({ series: label, value: metricValue(p.result, metric) });
  }
  return { series, groups };
}

/**
 * The kernel functions (breakdown nodes, by name, summed wherever they
 * appear) with the most exclusive cycles over all points, at most `n`; the
 * rest of each point's cycles is `other`. For a stacked bar per point.
 */
export function topFunctions(s: SweepResult, n = 8): { names: string[]; perPoint: { index: number; label: string; total: number; cycles: number[] }[] } {
  const byPoint = s.points.map((p) => {
    const m = new Map<string, number>();
    const stack = [p.result.breakdown];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.exclusive > 0) m.set(node.name, (m.get(node.name) ?? 0) + node.exclusive);
      stack.push(...node.children);
    }
    return { p, m };
  });
  const sum = new Map<string, number>();
  for (const { m } of byPoint) for (const [k, v] of m) sum.set(k, (sum.get(k) ?? 0) + v);
  const names = [...sum.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n).map(([k]) => k);
  return {
    names: [...names, 'other'],
    perPoint: byPoint.map(({ p, m }) => {
      const total = p.result.breakdown.inclusive;
      const cycles = names.map((k) => m.get(k) ?? 0);
      cycles.push(Math.max(0, total - cycles.reduce((a, b) => a + b, 0)));
      return { index: p.index, label: pointLabel(p), total, cycles };
    }),
  };
}
