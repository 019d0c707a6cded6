/**
 * The terminal report: cli-table3 tables, coloured through the chalk
 * instance the CLI hands in (its level already decided by NO_COLOR,
 * FORCE_COLOR, --no-color and whether stdout is a terminal).
 */
import type { ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { findWorkload } from '../workloads/registry.js';
import type { RunResult, SweepResult } from '../workloads/result.js';
import { fmtCycles, fmtCyclesTime, fmtNum, fmtPct, fmtTime } from './format.js';
import { breakdownRows, counterGroups, cpuStats, headline, latencyRows, type Headline } from './summary.js';
import { defaultMetric, sweepColumns, sweepRows, type SweepColumn } from './sweep.js';

/** Per-CPU rows are listed up to this many CPUs; above it, a min/mean/max line. */
const MAX_CPU_ROWS = 16;

function table(head: string[], c: ChalkInstance, aligns?: ('left' | 'right')[]): Table.Table {
  return new Table({
    head: head.every((h) => h === '') ? [] : head.map((h) => c.bold(h)),
    style: { head: [], border: [], compact: true },
    colAligns: aligns ?? head.map((_, i) => (i === 0 ? 'left' : 'right')),
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
}

export function headlineValue(h: Headline, ghz: number): string {
  switch (h.kind) {
    case 'cycles':
      return `${fmtCycles(h.value as number)} (${fmtCyclesTime(h.value as number, ghz)})`;
    case 'ns':
      return fmtTime(h.value as number);
    case 'pct':
      return fmtPct(h.value as number);
    case 'num':
      return fmtNum(h.value as number);
    case 'text':
      return String(h.value);
  }
}

export function renderRunTerminal(r: RunResult, c: ChalkInstance): string {
  const out: string[] = [];
  out.push(c.bold.cyan(`kernsim run ${r.workload}`) + c.dim(`  ${paramLine(r.params)}`));
  out.push('');

  const head = table(['', ''], c, ['left', 'left']);
  for (const h of headline(r)) head.push([h.label, headlineValue(h, r.clock_ghz)]);
  for (const [k, v] of Object.entries(r.figures)) head.push([k, c.yellow(fmtNum(v))]);
  head.push(['checks', r.checks.passed ? c.green('passed') : c.red(`FAILED (${r.checks.failures.length})`)]);
  out.push(head.toString());

  out.push('', c.bold('Per CPU'));
  if (r.cpus.length <= MAX_CPU_ROWS) {
    const t = table(['cpu', 'busy cycles', 'idle cycles', 'busy'], c);
    for (const cpu of r.cpus) {
      const share = cpu.busy + cpu.idle > 0 ? cpu.busy / (cpu.busy + cpu.idle) : 0;
      t.push([String(cpu.cpu), fmtCycles(cpu.busy), fmtCycles(cpu.idle), fmtPct(share)]);
    }
    out.push(t.toString());
  } else {
    const s = cpuStats(r);
    const t = table(['cpus', 'busy min', 'busy mean', 'busy max', 'idle mean'], c);
    t.push([String(r.cpus.length), fmtCycles(s.min), fmtCycles(s.mean), fmtCycles(s.max), fmtCycles(s.idleMean)]);
    out.push(t.toString());
  }

  out.push('', c.bold('Where the cycles went') + c.dim('  (inclusive includes callees; exclusive is the node alone)'));
  const bt = table(['category', 'inclusive', 'exclusive', 'share'], c);
  for (const row of breakdownRows(r.breakdown)) {
    const name = '  '.repeat(row.depth) + (row.depth === 0 ? c.bold(row.name) : row.name);
    bt.push([name, fmtCycles(row.inclusive), fmtCycles(row.exclusive), shareBar(row.share, c)]);
  }
  out.push(bt.toString());

  const lat = latencyRows(r.latency);
  if (lat.length > 0) {
    out.push('', c.bold('System call latency') + c.dim(`  (cycles; time at ${r.clock_ghz} GHz)`));
    const lt = table(['syscall', 'count', 'p50', 'p90', 'p99', 'max', 'p99 time'], c);
    for (const { name, stats: s } of lat) {
      lt.push([name, fmtNum(s.count), fmtCycles(s.p50), fmtCycles(s.p90), fmtCycles(s.p99), fmtCycles(s.max), fmtCyclesTime(s.p99, r.clock_ghz)]);
    }
    out.push(lt.toString());
  }
  const other = Object.entries(r.samples);
  if (other.length > 0) {
    out.push('', c.bold('Other latencies') + c.dim('  (cycles)'));
    const st = table(['samples', 'count', 'p50', 'p90', 'p99', 'max'], c);
    for (const [name, s] of other) st.push([name, fmtNum(s.count), fmtCycles(s.p50), fmtCycles(s.p90), fmtCycles(s.p99), fmtCycles(s.max)]);
    out.push(st.toString());
  }

  out.push('', c.bold('Counters'));
  const ct = table(['counter', 'value', ''], c, ['left', 'right', 'left']);
  for (const g of counterGroups(r.counters)) {
    ct.push([c.underline(g.title), '', '']);
    for (const row of g.rows) ct.push([`  ${row.name}`, row.value === 0 ? c.dim('0') : fmtNum(row.value), c.dim(row.note ?? '')]);
  }
  out.push(ct.toString());

  if (!r.checks.passed) {
    out.push('', c.red.bold('Check failures'));
    for (const f of r.checks.failures) out.push(c.red(`  - ${f}`));
  }
  return out.join('\n') + '\n';
}

function shareBar(share: number, c: ChalkInstance): string {
  const width = 10;
  const n = Math.round(share * width);
  return `${c.cyan('█'.repeat(n))}${c.dim('·'.repeat(width - n))} ${fmtPct(share).padStart(6)}`;
}

export function paramLine(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([k, v]) => `--${k.replace(/_/g, '-')} ${String(v)}`)
    .join(' ');
}

/**
 * The columns of a sweep table that fit `width` terminal columns: the axes,
 * the headline metric and the checks always; then the other columns in their
 * order while they fit. Every column without a width.
 */
export function fitSweepColumns(s: SweepResult, width?: number): { shown: SweepColumn[]; hidden: number } {
  const cols = sweepColumns(s);
  if (width === undefined) return { shown: cols, hidden: 0 };
  const rows = sweepRows(s, cols);
  // cli-table3: one border column plus a space either side of each cell.
  const w = cols.map((col, i) => Math.max(col.title.length, ...rows.map((r) => r.cells[i]!.length)) + 3);
  const head = defaultMetric(s);
  const must = cols.map((col) => col.key.startsWith('axis:') || col.key === 'checks' || col.key === head);
  let used = 1 + w.reduce((sum, x, i) => sum + (must[i] ? x : 0), 0);
  const keep = must.slice();
  // What is offered first: the workload's figures in the order it defines them, then simulated time, then the counters.
  const defined = Object.keys(findWorkload(s.workload)?.figureDefs ?? {});
  const rank = (key: string): number => {
    const f = key.startsWith('figure:') ? defined.indexOf(key.slice(7)) : -1;
    if (f >= 0) return f;
    if (key.startsWith('figure:')) return 1000;
    if (key === 'simulated_ns') return 2000;
    if (key.startsWith('counter:')) return 3000;
    return 4000;
  };
  const order = cols.map((_, i) => i).sort((a, b) => rank(cols[a]!.key) - rank(cols[b]!.key) || a - b);
  for (const i of order) {
    if (!keep[i] && used + w[i]! <= width) {
      keep[i] = true;
      used += w[i]!;
    }
  }
  // The headline right after the axes, then the rest in their order.
  const shown = cols.filter((_, i) => keep[i]);
  const at = shown.findIndex((col) => col.key === head);
  if (at >= 0) {
    const [h] = shown.splice(at, 1);
    shown.splice(s.grid.length, 0, h!);
  }
  return { shown, hidden: cols.length - shown.length };
}

export function renderSweepTerminal(s: SweepResult, c: ChalkInstance, width?: number): string {
  const out: string[] = [];
  const shard = s.shard ? c.dim(` (shard ${s.shard.index}/${s.shard.count}: ${s.points.length} of ${s.total_points} points)`) : '';
  out.push(c.bold.cyan(`kernsim sweep ${s.workload}`) + c.dim(`  on ${s.machine}, seed ${s.seed}`) + shard);
  const base = paramLine(s.base);
  if (base) out.push(c.dim(`fixed: ${base}`));
  out.push('');
  const { shown: cols, hidden } = fitSweepColumns(s, width);
  const t = table(cols.map((col) => col.title), c, cols.map((col) => (col.numeric ? 'right' : 'left')));
  for (const row of sweepRows(s, cols)) {
    t.push(row.cells.map((cell, i) => (cols[i]!.key === 'checks' && cell !== 'ok' ? c.red(cell) : cell)));
  }
  out.push(t.toString());
  if (hidden > 0) out.push(c.dim(`+${hidden} column${hidden === 1 ? '' : 's'} not shown: report --format html or markdown`));
  return out.join('\n') + '\n';
}
