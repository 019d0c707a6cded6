/**
 * `kernsim demo` (what `npm start` runs): one small sweep that tells a story
 * on one screen, then where to go next. The story is the first of STORIES
 * whose workload is registered, so the demo grows with the simulator:
 * MADV_DONTNEED against MADV_FREE once alloc-churn exists, TLB reach until
 * then. Each story must finish in well under a minute.
 */
import type { ChalkInstance } from 'chalk';
import { fmtNum, fmtRatio } from '../../report/format.js';
import { renderSweepTerminal } from '../../report/terminal.js';
import { defaultMetric, metricValue } from '../../report/sweep.js';
import type { ParamValue, SweepResult } from '../../workloads/result.js';
import { findWorkload } from '../../workloads/registry.js';
import type { AnyWorkload } from '../../workloads/types.js';
import { isParam } from '../../hw/params.js';
import { out, toJson, type Ctx } from '../context.js';
import { parseGrid } from '../grid.js';
import { Progress } from '../progress.js';
import { runSweep } from '../sweep.js';

interface Story {
  workload: string;
  title: string;
  grid: string[];
  params: Record<string, ParamValue>;
  applies(w: AnyWorkload): boolean;
  tell(s: SweepResult, c: ChalkInstance): string[];
}

function pointsWhere(s: SweepResult, key: string, value: ParamValue): SweepResult['points'] {
  return s.points.filter((p) => p.point[key] === value);
}

const STORIES: Story[] = [
  {
    workload: 'alloc-churn',
    title: 'MADV_DONTNEED versus MADV_FREE as CPUs are added',
    grid: ['cpus=1,4,16', 'advice=MADV_DONTNEED,MADV_FREE'],
    params: {},
    applies: (w) => {
      const a = w.params['advice'];
      return a !== undefined && isParam(a) && a.kind === 'enum' && ['MADV_DONTNEED', 'MADV_FREE'].every((v) => a.values!.includes(v));
    },
    tell(s, c) {
      const metric = defaultMetric(s);
      const name = metric.replace(/^\w+:/, '');
      const lines = [];
      for (const cpus of [1, 4, 16]) {
        const at = pointsWhere(s, 'cpus', cpus);
        const dn = at.find((p) => p.point['advice'] === 'MADV_DONTNEED');
        const fr = at.find((p) => p.point['advice'] === 'MADV_FREE');
        if (!dn || !fr) continue;
        const a = metricValue(dn.result, metric);
        const b = metricValue(fr.result, metric);
        const sd = (p: typeof dn): string => fmtNum(p.result.counters['nr_tlb_remote_flush'] ?? 0);
        lines.push(
          `  ${String(cpus).padStart(2)} CPUs: ${name} ${fmtNum(a)} with DONTNEED, ${fmtNum(b)} with FREE (${c.bold(fmtRatio(a, b))}); ` +
            `remote TLB flushes ${sd(dn)} vs ${sd(fr)}`,
        );
      }
      lines.push(
        c.dim('  DONTNEED zaps the pages at once (a TLB shootdown IPI to every CPU running the mm, and a fresh zeroed page on the next touch);'),
        c.dim('  FREE only marks them lazily freeable, so reuse before reclaim costs neither.'),
      );
      return lines;
    },
  },
  {
    workload: 'tlb-reach',
    title: 'TLB reach: random loads as the working set outgrows the L1 dTLB and the STLB',
    grid: ['pages=16,1024,16384'],
    params: { loads: 100_000 },
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
    '',
    renderSweepTerminal(s, c).trimEnd(),
    '',
    ...story.tell(s, c),
    '',
    c.bold('Next'),
    ...next(workload.name).map(([cmd, what]) => `  ${c.cyan(cmd.padEnd(52))} ${what}`),
  ];
  out(ctx, lines.join('\n'));
  return 0;
}
