/**
 * What every report format shows, computed once from a RunResult: the
 * headline figures, counters grouped by subsystem, the breakdown flattened
 * into rows, and syscall latency rows. Renderers only lay these out.
 */
import type { BreakdownNode } from '../sim/attribution.js';
import type { LatencyStats, RunResult } from '../workloads/result.js';

export interface Headline {
  label: string;
  value: string | number;
  /** How to show a number: cycles, a time in ns, a share, or plain. */
  kind: 'cycles' | 'ns' | 'pct' | 'num' | 'text';
}

/** The headline: simulated time, busy cycles, utilisation, and per-operation costs when the workload reports `ops`. */
export function headline(r: RunResult): Headline[] {
  const busy = r.cpus.reduce((s, c) => s + c.busy, 0);
  const capacity = r.simulated_cycles * r.cpus.length;
  const rows: Headline[] = [
    { label: 'workload', value: r.workload, kind: 'text' },
    { label: 'machine', value: `${r.machine} (${r.cpus.length} CPUs, ${r.clock_ghz} GHz)`, kind: 'text' },
    { label: 'seed', value: r.seed, kind: 'num' },
    ...(r.overrides && Object.keys(r.overrides).length > 0
      ? [{ label: 'overrides', value: Object.entries(r.overrides).map(([k, v]) => `${k}=${String(v)}`).join(', '), kind: 'text' as const }]
      : []),
    { label: 'simulated time', value: r.simulated_ns, kind: 'ns' },
    { label: 'simulated cycles', value: r.simulated_cycles, kind: 'cycles' },
    { label: 'busy cycles (all CPUs)', value: busy, kind: 'cycles' },
    { label: 'CPU utilisation', value: capacity > 0 ? busy / capacity : 0, kind: 'pct' },
  ];
  const s = r.sampling;
  if (s) {
    const total = s.detailed_accesses + s.functional_accesses;
    rows.push({
      label: 'sampled mode (sim.sample)',
      value:
        `${s.fraction}: ${s.functional_accesses} of ${total} user accesses functional, charged ${Math.round(s.estimated_cycles)} cycles ` +
        `(95% error +-${Math.round(s.ci95_cycles)} cycles, ${busy > 0 ? ((s.ci95_cycles / busy) * 100).toFixed(2) : '0'}% of the busy cycles; ${s.units} units)`,
      kind: 'text',
    });
  }
  const ops = r.figures['ops'];
  if (ops !== undefined && ops > 0) {
    rows.push({ label: 'busy cycles per operation', value: busy / ops, kind: 'cycles' });
    rows.push({ label: 'simulated time per operation', value: r.simulated_ns / ops, kind: 'ns' });
  }
  return rows;
}

export interface CounterGroup {
  title: string;
  rows: { name: string; value: number; note?: string }[];
}

interface GroupSpec {
  title: string;
  names: string[];
  prefixes: string[];
}

/** Counters by subsystem, in the order a performance engineer reads them; names are Linux's where Linux has one. */
const GROUPS: GroupSpec[] = [
  { title: 'TLB', names: ['dtlb_l1_hit', 'dtlb_l1_miss', 'stlb_hit', 'stlb_miss', 'page_walks'], prefixes: ['dtlb_', 'stlb_', 'tlb_', 'pwc_', 'page_walk'] },
  { title: 'Caches', names: ['l1d_hit', 'l1d_miss', 'l2_hit', 'l2_miss', 'llc_hit', 'llc_miss', 'c2c_transfer'], prefixes: ['l1d_', 'l2_', 'llc_', 'c2c_', 'coherence_'] },
  { title: 'Page faults', names: ['pgfault', 'pgmajfault'], prefixes: ['pgfault', 'pgmaj', 'thp_', 'cow_', 'pgalloc', 'pgfree', 'pglazy', 'pgzero'] },
  { title: 'TLB shootdowns', names: ['nr_tlb_remote_flush', 'nr_tlb_remote_flush_received', 'nr_tlb_local_flush_one', 'nr_tlb_local_flush_all'], prefixes: ['nr_tlb_'] },
  { title: 'IPIs', names: ['ipi_sent', 'ipi_received'], prefixes: ['ipi_'] },
  { title: 'RCU', names: ['rcu_grace_periods', 'rcu_callbacks_invoked'], prefixes: ['rcu_'] },
  { title: 'Swap', names: ['pswpin', 'pswpout'], prefixes: ['pswp', 'swap_', 'pgsteal', 'pgscan'] },
  { title: 'System calls', names: [], prefixes: ['syscall_'] },
];

export function counterGroups(counters: Record<string, number>): CounterGroup[] {
  const used = new Set<string>();
  const out: CounterGroup[] = [];
  const names = Object.keys(counters).sort();
  for (const g of GROUPS) {
    const pick = [...g.names.filter((n) => n in counters), ...names.filter((n) => !g.names.includes(n) && g.prefixes.some((p) => n.startsWith(p)))];
    const rows = pick.filter((n) => !used.has(n)).map((n) => ({ name: n, value: counters[n]! }));
    for (const r of rows) used.add(r.name);
    if (rows.length === 0) continue;
    addRates(rows, counters);
    out.push({ title: g.title, rows });
  }
  const rest = names.filter((n) => !used.has(n)).map((n) => ({ name: n, value: counters[n]! }));
  if (rest.length > 0) out.push({ title: 'Other', rows: rest });
  return out;
}

/** Hit rates beside the hit/miss pairs: the first thing one asks of a TLB or cache level. */
function addRates(rows: CounterGroup['rows'], c: Record<string, number>): void {
  for (const row of rows) {
    const m = /^(.*)_(hit|miss)$/.exec(row.name);
    if (!m || m[2] !== 'miss') continue;
    const hit = c[`${m[1]}_hit`];
    if (hit === undefined) continue;
    const total = hit + row.value;
    if (total > 0) row.note = `${((row.value / total) * 100).toFixed(2)}% miss`;
  }
}

export interface BreakdownRow {
  depth: number;
  name: string;
  /** Names from the top level down to this node, joined by ' > '. */
  path: string;
  inclusive: number;
  exclusive: number;
  /** Inclusive share of all charged cycles. */
  share: number;
}

/**
 * The breakdown tree as rows in depth-first order, without the root, leaving
 * out nodes below `minShare` of all cycles or deeper than `maxDepth`.
 */
export function breakdownRows(tree: BreakdownNode, minShare = 0.005, maxDepth = 8): BreakdownRow[] {
  const total = tree.inclusive;
  const rows: BreakdownRow[] = [];
  const walk = (n: BreakdownNode, depth: number, prefix: string): void => {
    for (const c of n.children) {
      const share = total > 0 ? c.inclusive / total : 0;
      if (share < minShare || depth > maxDepth) continue;
      const path = prefix ? `${prefix} > ${c.name}` : c.name;
      rows.push({ depth, name: c.name, path, inclusive: c.inclusive, exclusive: c.exclusive, share });
      walk(c, depth + 1, path);
    }
  };
  walk(tree, 0, '');
  return rows;
}

/** Folded stacks (flamegraph.pl, speedscope, Perfetto): one line per node with exclusive cycles, root left out. */
export function foldedLines(tree: BreakdownNode): string[] {
  const lines: string[] = [];
  const walk = (n: BreakdownNode, prefix: string): void => {
    const path = prefix ? `${prefix};${n.name}` : n.name;
    const ex = Math.round(n.exclusive);
    if (ex > 0) lines.push(`${path.replace(/\s/g, '_')} ${ex}`);
    for (const c of n.children) walk(c, path);
  };
  for (const c of tree.children) walk(c, '');
  return lines;
}

export interface LatencyRow {
  name: string;
  stats: LatencyStats;
}

/** System calls by total time spent in them (count x mean), most first. */
export function latencyRows(latency: Record<string, LatencyStats>): LatencyRow[] {
  return Object.entries(latency)
    .map(([name, stats]) => ({ name, stats }))
    .sort((a, b) => b.stats.count * b.stats.mean - a.stats.count * a.stats.mean || (a.name < b.name ? -1 : 1));
}

/** Per-CPU rows; with many CPUs, reports show a min/mean/max summary instead. */
export function cpuStats(r: RunResult): { min: number; mean: number; max: number; idleMean: number } {
  const busy = r.cpus.map((c) => c.busy);
  const idle = r.cpus.map((c) => c.idle);
  const mean = (a: number[]): number => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : 0);
  return { min: Math.min(...busy), mean: mean(busy), max: Math.max(...busy), idleMean: mean(idle) };
}
