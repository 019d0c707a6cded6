/** `kernsim compare A.json B.json`: two runs or two sweeps side by side; with --fail-above PCT, a gate. */
import { compareResults, figuresAbove, renderCompareMarkdown, renderCompareTerminal, renderFiguresAbove } from '../../report/compare.js';
import { renderCompareHtml } from '../../report/compare-html.js';
import { out, readResult, toJson, type Ctx } from '../context.js';
import { UsageError } from '../errors.js';

export function cmdCompare(ctx: Ctx, fileA: string, fileB: string, a: { json?: boolean; format?: string; failAbove?: unknown }): number {
  let failAbove: number | undefined;
  if (a.failAbove !== undefined) {
    failAbove = Number(a.failAbove);
    if (a.failAbove === '' || !Number.isFinite(failAbove) || failAbove < 0) throw new UsageError(`compare: --fail-above: expected a percentage >= 0, got "${String(a.failAbove)}"`);
  }
  const ra = readResult(fileA);
  const rb = readResult(fileB);
  if (ra.kind !== rb.kind) throw new UsageError(`compare: ${fileA} is a ${ra.kind} and ${fileB} a ${rb.kind}; compare two runs or two sweeps`);
  const cmp = compareResults(ra, rb, [fileA, fileB]);
  const format = a.json ? 'json' : (a.format ?? 'terminal');
  if (format === 'json') out(ctx, toJson(cmp));
  else if (format === 'markdown') out(ctx, renderCompareMarkdown(cmp));
  else if (format === 'html') out(ctx, renderCompareHtml(cmp, ra, rb));
  else out(ctx, renderCompareTerminal(cmp, ctx.c));
  if (failAbove !== undefined) {
    const moved = figuresAbove(cmp, failAbove);
    if (moved.length > 0) {
      ctx.io.stderr.write(renderFiguresAbove(moved, failAbove));
      return 1;
    }
  }
  return 0;
}
