/** `kernsim report RESULT.json --format F`: render a saved result in any format. */
import { renderReport, type Format } from '../../report/index.js';
import { figureNames, resolveMetric } from '../../report/sweep.js';
import { UsageError } from '../errors.js';
import { log, out, readResult, writeText, type Ctx } from '../context.js';
import { makeChalk } from '../io.js';

export function cmdReport(ctx: Ctx, file: string, a: { format: Format; out?: string; metric?: string }): number {
  const r = readResult(file);
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
  const text = renderReport(r, a.format, { chalk, metric, file });
  if (a.out) {
    writeText(a.out, text);
    log(ctx, ctx.ce.dim(`wrote ${a.out}`));
  } else out(ctx, text);
  return 0;
}
