/** `kernsim report RESULT.json --format F`: render a saved result in any format. */
import { renderReport, type Format } from '../../report/index.js';
import { log, out, readResult, writeText, type Ctx } from '../context.js';
import { makeChalk } from '../io.js';

export function cmdReport(ctx: Ctx, file: string, a: { format: Format; out?: string; metric?: string }): number {
  const r = readResult(file);
  // A file or a pipe gets no colour codes, whatever the terminal says.
  const chalk = a.out ? makeChalk(0) : ctx.c;
  const text = renderReport(r, a.format, { chalk, metric: a.metric, file });
  if (a.out) {
    writeText(a.out, text);
    log(ctx, ctx.ce.dim(`wrote ${a.out}`));
  } else out(ctx, text);
  return 0;
}
