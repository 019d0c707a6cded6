/**
 * Two results side by side: the same figures from each, with the delta
 * (b - a) and the ratio (b / a). Works on two runs or on two sweeps (points
 * matched by their grid values). Rendered for the terminal (coloured:
 * green where b is better, red where worse), Markdown or JSON.
 */
import type { ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import type { BreakdownNode } from '../sim/attribution.js';
import type { ParamValue, RunResult, SweepResult } from '../workloads/result.js';
import { fmtDelta, fmtNum, fmtRatio, fmtValue } from './format.js';

export type Better = 'lower' | 'higher' | 'none';

export interface CompareRow {
  section: string;
  name: string;
  a: number;
  b: number;
  delta: number;
  /** b / a; null when a is 0 and b is not. */
  ratio: number | null;
  better: Better;
}

export interface Side {
  label: string;
  workload: string;
  machine: string;
  seed: number;
}

export interface RunComparison {
  kind: 'run';
  a: Side;
  b: Side;
  /** Parameters and settings that differ: [name, a's value, b's value]. */
  differences: [string, string, string][];
  rows: CompareRow[];
}

export interface SweepComparison {
  kind: 'sweep';
  a: Side;
  b: Side;
  differences: [string, string, string][];
  points: { point: Record<string, ParamValue>; rows: CompareRow[] }[];
  /** Grid points present on one side only. */
  onlyA: Record<string, ParamValue>[];
  onlyB: Record<string, ParamValue>[];
}

export type Comparison = RunComparison | SweepComparison;

/** Whether a figure reads lower-is-better: names about time or cost; anything else (rates, counts of work done) higher-is-better. */
export function figureDirection(name: string): Better {
  return /cycles|latency|_ns\b|_us\b|_ms\b|time/.test(name) ? 'lower' : 'higher';
}

function row(section: string, name: string, a: number, b: number, better: Better): CompareRow {
  return { section, name, a, b, delta: b - a, ratio: a === 0 ? (b === 0 ? 1 : null) : b / a, better };
}

function side(label: string, r: RunResult | SweepResult): Side {
  return { label, workload: r.workload, machine: r.machine, seed: r.seed };
}

function diffRecords(prefix: string, a: Record<string, unknown>, b: Record<string, unknown>, out: [string, string, string][]): void {
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const va = a[k];
    const vb = b[k];
    if (typeof va === 'object' && va !== null && typeof vb === 'object' && vb !== null) {
      diffRecords(`${prefix}${k}.`, va as Record<string, unknown>, vb as Record<string, unknown>, out);
    } else if (JSON.stringify(va) !== JSON.stringify(vb)) {
      out.push([`${prefix}${k}`, va === undefined ? '-' : fmtValue(va), vb === undefined ? '-' : fmtValue(vb)]);
    }
  }
}

/** The rows of two runs: headline, figures, latency, the breakdown to depth 2, and every counter either side counted. */
export function compareRunRows(a: RunResult, b: RunResult): CompareRow[] {
  const rows: CompareRow[] = [];
  const busy = (r: RunResult): number => r.cpus.reduce((s, c) => s + c.busy, 0);
  rows.push(row('headline', 'simulated cycles', a.simulated_cycles, b.simulated_cycles, 'lower'));
  rows.push(row('headline', 'simulated ns', a.simulated_ns, b.simulated_ns, 'lower'));
  rows.push(row('headline', 'busy cycles', busy(a), busy(b), 'lower'));
  for (const f of union(a.figures, b.figures)) rows.push(row('figures', f, a.figures[f] ?? 0, b.figures[f] ?? 0, figureDirection(f)));
  for (const s of union(a.latency, b.latency)) {
    const la = a.latency[s];
    const lb = b.latency[s];
    rows.push(row('latency', `${s} count`, la?.count ?? 0, lb?.count ?? 0, 'none'));
    rows.push(row('latency', `${s} p50`, la?.p50 ?? 0, lb?.p50 ?? 0, 'lower'));
    rows.push(row('latency', `${s} p99`, la?.p99 ?? 0, lb?.p99 ?? 0, 'lower'));
  }
  const ba = flatBreakdown(a.breakdown);
  const bb = flatBreakdown(b.breakdown);
  for (const p of [...new Set([...ba.keys(), ...bb.keys()])].sort((x, y) => Math.max(bb.get(y) ?? 0, ba.get(y) ?? 0) - Math.max(bb.get(x) ?? 0, ba.get(x) ?? 0) || (x < y ? -1 : 1))) {
    rows.push(row('breakdown', p, ba.get(p) ?? 0, bb.get(p) ?? 0, 'lower'));
  }
  for (const c of union(a.counters, b.counters)) {
    const va = a.counters[c] ?? 0;
    const vb = b.counters[c] ?? 0;
    if (va === 0 && vb === 0) continue;
    rows.push(row('counters', c, va, vb, /_hit$/.test(c) ? 'higher' : 'none'));
  }
  return rows;
}

function union(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

/** Inclusive cycles of the breakdown's nodes to depth 2, keyed by path. */
function flatBreakdown(tree: BreakdownNode): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of tree.children) {
    out.set(c.name, c.inclusive);
    for (const g of c.children) out.set(`${c.name} > ${g.name}`, g.inclusive);
  }
  return out;
}

export function compareResults(a: RunResult | SweepResult, b: RunResult | SweepResult, labels: [string, string] = ['a', 'b']): Comparison {
  const differences: [string, string, string][] = [];
  if (a.workload !== b.workload) differences.push(['workload', a.workload, b.workload]);
  if (a.kind === 'run' && b.kind === 'run') {
    diffRecords('', a.params, b.params, differences);
    diffRecords('machine.', a.config as unknown as Record<string, unknown>, b.config as unknown as Record<string, unknown>, differences);
    return { kind: 'run', a: side(labels[0], a), b: side(labels[1], b), differences, rows: compareRunRows(a, b) };
  }
  if (a.kind === 'sweep' && b.kind === 'sweep') {
    diffRecords('', a.base, b.base, differences);
    if (a.machine !== b.machine) differences.push(['machine', a.machine, b.machine]);
    if (a.seed !== b.seed) differences.push(['seed', String(a.seed), String(b.seed)]);
    const key = (p: Record<string, ParamValue>): string => JSON.stringify(Object.entries(p).sort(([x], [y]) => (x < y ? -1 : 1)));
    const bByKey = new Map(b.points.map((p) => [key(p.point), p]));
    const aKeys = new Set(a.points.map((p) => key(p.point)));
    const points: SweepComparison['points'] = [];
    const onlyA: Record<string, ParamValue>[] = [];
    for (const pa of [...a.points].sort((x, y) => x.index - y.index)) {
      const pb = bByKey.get(key(pa.point));
      if (!pb) {
        onlyA.push(pa.point);
        continue;
      }
      const rows = [row('headline', 'simulated cycles', pa.result.simulated_cycles, pb.result.simulated_cycles, 'lower')];
      for (const f of union(pa.result.figures, pb.result.figures)) rows.push(row('figures', f, pa.result.figures[f] ?? 0, pb.result.figures[f] ?? 0, figureDirection(f)));
      points.push({ point: pa.point, rows });
    }
    const onlyB = b.points.filter((p) => !aKeys.has(key(p.point))).map((p) => p.point);
    return { kind: 'sweep', a: side(labels[0], a), b: side(labels[1], b), differences, points, onlyA, onlyB };
  }
  throw new TypeError(`cannot compare a ${a.kind} result with a ${b.kind} result`);
}

/** Colour a ratio: green when b is better by 1% or more, red when worse, dim when about equal or direction-free. */
function colourRatio(r: CompareRow, c: ChalkInstance): string {
  const text = fmtRatio(r.a, r.b);
  if (r.ratio === null) return c.yellow(text);
  if (Math.abs(r.ratio - 1) < 0.01) return c.dim(text);
  if (r.better === 'none') return text;
  const improved = r.better === 'lower' ? r.ratio < 1 : r.ratio > 1;
  return improved ? c.green(text) : c.red(text);
}

function newTable(head: string[], c: ChalkInstance): Table.Table {
  return new Table({
    head: head.map((h) => c.bold(h)),
    style: { head: [], border: [], compact: true },
    colAligns: head.map((_, i) => (i === 0 ? 'left' : 'right')),
  });
}

export function renderCompareTerminal(cmp: Comparison, c: ChalkInstance): string {
  const out: string[] = [];
  out.push(c.bold.cyan(`kernsim compare`) + `  ${c.bold('a')} = ${cmp.a.label}  ${c.bold('b')} = ${cmp.b.label}`);
  if (cmp.differences.length > 0) {
    out.push('', c.bold('Differences in setup'));
    const t = newTable(['setting', 'a', 'b'], c);
    for (const d of cmp.differences) t.push(d);
    out.push(t.toString());
  }
  const section = (title: string, rows: CompareRow[]): void => {
    if (rows.length === 0) return;
    out.push('', c.bold(title));
    const t = newTable(['', 'a', 'b', 'delta', 'b/a'], c);
    for (const r of rows) t.push([r.name, fmtNum(r.a), fmtNum(r.b), fmtDelta(r.delta), colourRatio(r, c)]);
    out.push(t.toString());
  };
  if (cmp.kind === 'run') {
    const titles: Record<string, string> = { headline: 'Headline', figures: 'Workload figures', latency: 'System call latency (cycles)', breakdown: 'Breakdown (inclusive cycles)', counters: 'Counters' };
    for (const s of Object.keys(titles)) section(titles[s]!, cmp.rows.filter((r) => r.section === s));
  } else {
    for (const p of cmp.points) {
      section(Object.entries(p.point).map(([k, v]) => `${k}=${fmtValue(v)}`).join(', '), p.rows);
    }
    if (cmp.onlyA.length) out.push('', c.yellow(`only in a: ${cmp.onlyA.map((p) => JSON.stringify(p)).join(' ')}`));
    if (cmp.onlyB.length) out.push('', c.yellow(`only in b: ${cmp.onlyB.map((p) => JSON.stringify(p)).join(' ')}`));
  }
  return out.join('\n') + '\n';
}

export function renderCompareMarkdown(cmp: Comparison): string {
  const out: string[] = [`# kernsim compare`, '', `a = \`${cmp.a.label}\`, b = \`${cmp.b.label}\``, ''];
  const table = (rows: CompareRow[]): void => {
    out.push('| | a | b | delta | b/a |', '| --- | ---: | ---: | ---: | ---: |');
    for (const r of rows) out.push(`| ${r.name.replace(/\|/g, '\\|')} | ${fmtNum(r.a)} | ${fmtNum(r.b)} | ${fmtDelta(r.delta)} | ${fmtRatio(r.a, r.b)} |`);
    out.push('');
  };
  if (cmp.differences.length) {
    out.push('## Differences in setup', '', '| setting | a | b |', '| --- | --- | --- |');
    for (const d of cmp.differences) out.push(`| ${d.join(' | ')} |`);
    out.push('');
  }
  if (cmp.kind === 'run') {
    for (const s of ['headline', 'figures', 'latency', 'breakdown', 'counters']) {
      const rows = cmp.rows.filter((r) => r.section === s);
      if (rows.length === 0) continue;
      out.push(`## ${s}`, '');
      table(rows);
    }
  } else {
    for (const p of cmp.points) {
      out.push(`## ${Object.entries(p.point).map(([k, v]) => `${k}=${fmtValue(v)}`).join(', ')}`, '');
      table(p.rows);
    }
  }
  return out.join('\n');
}

export interface MovedFigure {
  /** '' for a run; the grid point ("cpus=4, pages=16") for a sweep. */
  point: string;
  row: CompareRow;
  /** |b - a| / |a| in percent; Infinity when a is 0 and b is not. */
  changePct: number;
}

/** Every compared figure (any section, any sweep point) that moved by more than `pct` percent either way. */
export function figuresAbove(cmp: Comparison, pct: number): MovedFigure[] {
  const out: MovedFigure[] = [];
  const scan = (point: string, rows: CompareRow[]): void => {
    for (const r of rows) {
      if (r.a === r.b) continue;
      const changePct = r.a === 0 ? Infinity : (Math.abs(r.b - r.a) / Math.abs(r.a)) * 100;
      if (changePct > pct) out.push({ point, row: r, changePct });
    }
  };
  if (cmp.kind === 'run') scan('', cmp.rows);
  else for (const p of cmp.points) scan(Object.entries(p.point).map(([k, v]) => `${k}=${fmtValue(v)}`).join(', '), p.rows);
  return out;
}

/** One line per figure that moved past the threshold, for stderr. */
export function renderFiguresAbove(moved: MovedFigure[], pct: number): string {
  const lines = moved.map((m) => {
    const change = Number.isFinite(m.changePct) ? `${m.row.b > m.row.a ? '+' : '-'}${m.changePct.toFixed(2)}%` : 'from 0';
    return `  ${m.point ? `[${m.point}] ` : ''}${m.row.section}: ${m.row.name}: ${fmtNum(m.row.a)} -> ${fmtNum(m.row.b)} (${change})`;
  });
  return `compare: ${moved.length} figure${moved.length === 1 ? '' : 's'} moved by more than ${pct}%:\n${lines.join('\n')}\n`;
}
