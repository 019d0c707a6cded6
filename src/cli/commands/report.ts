/** `kernsim report RESULT.json --format F`: render a saved result in any format. */
import { renderReport, type Format } from '../../report/index.js';
import { figureNames, pointLabel, resolveMetric, selectPoints } from '../../report/sweep.js';
import type { AnyResult, RunResult } from '../../workloads/result.js';
import { UsageError } from '../errors.js';
import { log, out, readResult, termWidth, writeText, type Ctx } from '../context.js';
import { makeChalk } from '../io.js';

/** The one point of a sweep `selector` names, as a run result; bad input when there is none or more than one. */
function pickPoint(ctx: Ctx, r: AnyResult, file: string, selector: string): RunResult {
  if (r.kind !== 'sweep') throw new UsageError(`--point: ${file} is a single run; --point picks one point of a sweep`);
  let found;
  try {
    found = selectPoints(r, selector);
  } catch (e) {
    throw new UsageError(`--point: ${(e as Error).message}`);
  }
  const some = (ps: typeof r.points): string => ps.slice(0, 8).map((p) => `${p.index} (${pointLabel(p)})`).join('; ') + (ps.length > 8 ? '; ...' : '');
  if (found.length === 0) throw new UsageError(`--point: no point of ${file} matches "${selector}" (points: ${some(r.points)})`);
  if (found.length > 1) throw new UsageError(`--point: "${selector}" matches ${found.length} points of ${file}; name every axis or give an index (${some(found)})`);
  log(ctx, ctx.ce.dim(`point ${found[0]!.index} of ${file}: ${pointLabel(found[0]!)}`));
  return found[0]!.result;
}

export function cmdReport(ctx: Ctx, file: string, a: { format: Format; out?: string; metric?: string; point?: string }): number {
  const whole = readResult(file);
  if (a.point !== undefined && a.metric !== undefined) throw new UsageError('--metric: chooses what a sweep\'s chart plots; with --point the report is of one run');
  const r: AnyResult = a.point === undefined ? whole : pickPoint(ctx, whole, file, a.point);
  let metric = a.metric;
  if (metric !== undefined) {
    if (r.kind !== 'sweep') throw new UsageError(`--metric: ${file} is a single run; --metric chooses what a sweep's chart plots`);
    metric = resolveMetric(r, metric);
    if (metric === undefined) {
      const figures = figureNames(r).map((f) => `figure:${f}`);
      throw new UsageError(`--metric: unknown metric "${a.metric}" for ${file} (allowed: simulated_cycles, simulated_ns, ${figures.length ? `${figures.join(', ')}, ` : ''}counter:NAME for any counter the sweep recorded)`);
    }
  }
  // A file or a pipe gets no colour codes, whatever the terminal says.
  const chalk = a.out ? makeChalk(0) : ctx.c;
  const text = renderReport(r, a.format, { chalk, metric, file, width: a.out ? undefined : termWidth(ctx) });
  if (a.out) {
    writeText(a.out, text);
    log(ctx, ctx.ce.dim(`wrote ${a.out}`));
  } else out(ctx, text);
  return 0;
}
