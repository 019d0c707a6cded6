/**
 * `kernsim demo` (what `npm start` runs): one small sweep that tells a story
 * on one screen, then where to go next. The story is the first of STORIES
 * whose workload is registered, so the demo grows with the simulator:
 * MADV_DONTNEED against MADV_FREE once alloc-churn exists, TLB reach until
 * then. Each story must finish in well under a minute.
 */
import type { ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { fmtNum, fmtRatio, fmtTime, fmtValue } from '../../report/format.js';
import { metricValue } from '../../report/sweep.js';
import type { ParamValue, SweepResult } from '../../workloads/result.js';
import { findWorkload } from '../../workloads/registry.js';
import type { AnyWorkload } from '../../workloads/types.js';
import { isParam } from '../../params/schema.js';
import { out, toJson, type Ctx } from '../context.js';
import { parseGrid } from '../grid.js';
import { Progress } from '../progress.js';
import { runSweep } from '../sweep.js';

interface Story {
  workload: string;
  title: string;
  grid: string[];
  params: Record<string, ParamValue>;
  /** The table's columns after the grid axes: [`figure:NAME`, `counter:NAME` or `simulated_ns`; its heading]. */
  columns: [string, string][];
  applies(w: AnyWorkload): boolean;
  tell(s: SweepResult, c: ChalkInstance): string[];
}

function pointsWhere(s: SweepResult, key: string, value: ParamValue): SweepResult['points'] {
  return s.points.filter((p) => p.point[key] === value);
}

const STORIES: Story[] = [
  {
    workload: 'alloc-churn',
    title: 'MADV_DONTNEED versus MADV_FREE: 16 allocator threads on 1, 4 and 16 CPUs',
    grid: ['cpus=1,4,16', 'advice=MADV_DONTNEED,MADV_FREE'],
    params: { threads: 16, rounds: 20 },
    columns: [
      ['figure:cycles_per_round', 'CPU cycles/round'],
      ['figure:runqueue_wait_per_round', 'CPU wait/round'],
      ['figure:faults_per_round', 'faults/round'],
      ['figure:madvise_cycles_per_call', 'madvise cycles'],
      ['counter:nr_tlb_remote_flush', 'shootdowns'],
    ],
    applies: (w) => {
      const a = w.params['advice'];
      return a !== undefined && isParam(a) && a.kind === 'enum' && ['MADV_DONTNEED', 'MADV_FREE'].every((v) => a.values!.includes(v)) && 'threads' in w.params && 'rounds' in w.params;
    },
    tell(s, c) {
      const fig = (p: SweepResult['points'][number], name: string): number => p.result.figures[name] ?? NaN;
      const lines = [];
      for (const cpus of [1, 4, 16]) {
        const at = pointsWhere(s, 'cpus', cpus);
        const dn = at.find((p) => p.point['advice'] === 'MADV_DONTNEED');
        const fr = at.find((p) => p.point['advice'] === 'MADV_FREE');
        if (!dn || !fr) continue;
        lines.push(
          `  ${String(cpus).padStart(2)} CPU${cpus === 1 ? ' ' : 's'}: DONTNEED takes ${c.bold(fmtRatio(fig(fr, 'cycles_per_round'), fig(dn, 'cycles_per_round')))} the CPU cycles per round of FREE; ` +
            `its madvise ${fmtNum(fig(dn, 'madvise_cycles_per_call'))} cycles against ${fmtNum(fig(fr, 'madvise_cycles_per_call'))}`,
        );
      }
      const dn = s.points.find((p) => p.point['advice'] === 'MADV_DONTNEED');
      const fr = s.points.find((p) => p.point['advice'] === 'MADV_FREE');
      if (dn && fr) {
        lines.push(
          c.dim(`  DONTNEED zaps the chunk, so each round faults in and zeroes every page again (${fmtNum(fig(dn, 'faults_per_round'))} faults per round);`),
          c.dim(`  FREE only marks the pages lazily freeable, and a page written again before reclaim is simply reused (${fmtNum(fig(fr, 'faults_per_round'))} faults per round).`),
          c.dim('  Both shoot down the TLBs of the other CPUs running the process, so the call itself grows with the CPUs.'),
          c.dim('  Cycles per round are CPU time; with 16 threads on fewer CPUs the threads also wait for a CPU, shown apart.'),
        );
      }
      return lines;
    },
  },
  {
    workload: 'tlb-reach',
    title: 'TLB reach: random loads as the working set outgrows the L1 dTLB and the STLB',
    grid: ['pages=16,1024,16384'],
    params: { loads: 100_000 },
    columns: [
      ['simulated_ns', 'simulated time'],
      ['figure:cycles_per_load', 'cycles/load'],
      ['figure:stlb_miss_per_1k_loads', 'STLB misses/1k loads'],
      ['counter:pgfault', 'page faults'],
      ['counter:llc_miss', 'LLC misses'],
    ],
    applies: () => true,
    tell(s, c) {
      const lines = [];
      for (const p of s.points) {
        const pages = p.point['pages'] as number;
        const kib = pages * 4;
        const size = kib >= 1024 ? `${kib / 1024} MiB` : `${kib} KiB`;
        lines.push(
          `  ${size.padStart(7)}: ${c.bold(fmtNum(p.result.figures['cycles_per_load'] ?? NaN))} cycles per load, ` +
            `${fmtNum(p.result.figures['stlb_miss_per_1k_loads'] ?? NaN)} STLB misses per 1000 loads`,
        );
      }
      lines.push(
        c.dim('  64 KiB: every page fits the 64-entry L1 dTLB and every line the L1D. 4 MiB: the pages fit the 1536-entry STLB'),
        c.dim('  and the data the LLC once touched. 64 MiB: most loads miss the STLB and walk the page tables, and the walk\'s'),
        c.dim('  page-table reads and the data itself miss the LLC.'),
      );
      return lines;
    },
  },
];

/** The sweep as a narrow table: the grid axes, the story's columns, and whether each run's checks passed. */
function storyTable(s: SweepResult, columns: [string, string][], c: ChalkInstance): string {
  const head = [...s.grid.map((a) => a.key), ...columns.map(([, h]) => h), 'checks'];
  const t = new Table({
    head: head.map((h) => c.bold(h)),
    style: { head: [], border: [], compact: true },
    colAligns: head.map((_, i) => (i < s.grid.length || i === head.length - 1 ? 'left' : 'right')),
  });
  for (const p of s.points) {
    t.push([
      ...s.grid.map((a) => fmtValue(p.point[a.key])),
      ...columns.map(([m]) => (m === 'simulated_ns' ? fmtTime(p.result.simulated_ns) : fmtNum(metricValue(p.result, m)))),
      p.result.checks.passed ? c.green('ok') : c.red('FAILED'),
    ]);
  }
  return t.toString();
}

function next(w: string): [string, string][] {
  return [
    ['kernsim list', 'workloads and machine profiles'],
    [`kernsim run ${w} --help`, "a workload's parameters"],
    [`kernsim run ${w} --cpus 8 --out r.json`, 'one run, with the full report'],
    ['kernsim report r.json --format html --out r.html', 'charts; also markdown, perfetto (run --trace), folded'],
    [`kernsim sweep ${w} --grid cpus=1,2,4,8`, 'a grid in parallel; --shard i/n for batch systems'],
    ['kernsim compare a.json b.json', 'two results side by side'],
  ];
}

function flagsOf(params: Record<string, ParamValue>): string {
  return Object.entries(params).map(([k, v]) => `--${k.replace(/_/g, '-')} ${String(v)}`).join(' ');
}

/** The sweep a story runs, as the command that runs the same sweep. */
export function storyCommand(story: Story): string {
  return `kernsim sweep ${story.workload} ${flagsOf(story.params)} ${story.grid.map((g) => `--grid ${g}`).join(' ')}`;
}

/** The run command that gives the first point of the story's sweep (the same figures as its row). */
function storyRunCommand(story: Story, s: SweepResult): string {
  const p = s.points[0];
  if (!p) return `kernsim run ${story.workload} ${flagsOf(story.params)}`;
  return `kernsim run ${story.workload} ${flagsOf({ ...story.params, ...p.point })}`;
}

export function pickStory(): { story: Story; workload: AnyWorkload } | null {
  for (const story of STORIES) {
    const w = findWorkload(story.workload);
    if (w && story.applies(w)) return { story, workload: w };
  }
  return null;
}

export async function cmdDemo(ctx: Ctx, a: { json?: boolean; jobs?: number }): Promise<number> {
  const picked = pickStory();
  if (!picked) throw new Error('demo: no workload for any demo story is registered');
  const { story, workload } = picked;
  const { c } = ctx;
  const bar = new Progress(ctx.io, ctx.ce, `demo ${workload.name}`, { json: a.json === true });
  bar.update(0, 'starting', true);
  const s = await runSweep({
    workload,
    axes: parseGrid(workload, story.grid),
    params: story.params,
    machine: {},
    jobs: a.jobs,
    onPoint: (d, n) => bar.update(d / n, `${d}/${n} runs`, true),
  });
  bar.done();
  if (a.json) {
    out(ctx, toJson(s));
    return 0;
  }
  const lines = [
    c.bold.cyan(`kernsim demo: ${story.title}`),
    c.dim(`  = ${storyCommand(story)}`),
    c.dim(`  (each row is one run: ${storyRunCommand(story, s)})`),
    '',
    storyTable(s, story.columns, c),
    '',
    ...story.tell(s, c),
    '',
    c.bold('Next'),
    ...next(workload.name).map(([cmd, what]) => `  ${c.cyan(cmd.padEnd(52))} ${what}`),
  ];
  out(ctx, lines.join('\n'));
  return 0;
}
