/** `kernsim sweep WORKLOAD --grid k=a,b ...` and `kernsim merge SHARD.json ...`. */
import { renderReport } from '../../report/index.js';
import type { SweepResult } from '../../workloads/result.js';
import type { AnyWorkload } from '../../workloads/types.js';
import { log, out, readResult, termWidth, toJson, writeText, type Ctx } from '../context.js';
import { CheckFailed, UsageError } from '../errors.js';
import { parseGrid, parseShard } from '../grid.js';
import { readMachineFlags, readWorkloadFlags } from '../options.js';
import { Progress } from '../progress.js';
import { mergeSweeps, runSweep } from '../sweep.js';

export interface SweepArgs {
  grid?: unknown;
  shard?: unknown;
  jobs?: unknown;
  json?: boolean;
  out?: string;
  [flag: string]: unknown;
}

function failedPoints(s: SweepResult): string[] {
  return s.points.filter((p) => !p.result.checks.passed).map((p) => `point ${p.index} (${JSON.stringify(p.point)}): ${p.result.checks.failures[0]}`);
}

function finish(ctx: Ctx, s: SweepResult, a: { json?: boolean; out?: string }): number {
  if (a.out) {
    writeText(a.out, toJson(s));
    log(ctx, ctx.ce.dim(`wrote ${a.out}`));
  }
  if (a.json) out(ctx, toJson(s));
  else out(ctx, renderReport(s, 'terminal', { chalk: ctx.c, width: termWidth(ctx) }));
  const bad = failedPoints(s);
  if (bad.length > 0) throw new CheckFailed(`${bad.length} sweep point(s) failed their checks: ${bad[0]}`, bad);
  return 0;
}

export async function cmdSweep(ctx: Ctx, w: AnyWorkload, a: SweepArgs): Promise<number> {
  const grids = a.grid === undefined ? [] : Array.isArray(a.grid) ? a.grid : [a.grid];
  if (grids.length === 0) throw new UsageError('sweep: give at least one --grid KEY=V1,V2,... (e.g. --grid cpus=1,4,16)');
  const axes = parseGrid(w, grids);
  const params = readWorkloadFlags(w, a);
  for (const ax of axes) {
    if (ax.kind === 'param' && ax.key in params) throw new UsageError(`sweep: --${ax.key.replace(/_/g, '-')} is both a flag and a --grid axis`);
  }
  const machine = readMachineFlags(a);
  if (machine.cpus !== undefined && axes.some((x) => x.key === 'cpus')) throw new UsageError('sweep: --cpus is both a flag and a --grid axis');
  if (machine.seed !== undefined && axes.some((x) => x.key === 'seed')) throw new UsageError('sweep: --seed is both a flag and a --grid axis');
  if (machine.machine !== undefined && axes.some((x) => x.key === 'machine')) throw new UsageError('sweep: --machine is both a flag and a --grid axis');
  const shard = a.shard === undefined ? undefined : parseShard(a.shard);
  let jobs: number | undefined;
  if (a.jobs !== undefined) {
    jobs = Number(a.jobs);
    if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs: expected an integer >= 1, got ${JSON.stringify(a.jobs)}`);
  }
  const bar = new Progress(ctx.io, ctx.ce, `sweep ${w.name}`, { json: a.json === true });
  bar.update(0, 'starting', true);
  const s = await runSweep({ workload: w, axes, params, machine, shard, jobs, onPoint: (d, n) => bar.update(d / n, `${d}/${n} points`, true) });
  bar.done();
  return finish(ctx, s, a);
}

export function cmdMerge(ctx: Ctx, files: string[], a: { json?: boolean; out?: string }): number {
  const parts = files.map((file) => {
    const r = readResult(file);
    if (r.kind !== 'sweep') throw new UsageError(`merge: ${file} is a single run, not a sweep shard`);
    return { file, result: r };
  });
  return finish(ctx, mergeSweeps(parts), a);
}
