/** `kernsim compare A.json B.json`: two runs or two sweeps side by side. */
import { compareResults, renderCompareMarkdown, renderCompareTerminal } from '../../report/compare.js';
import { out, readResult, toJson, type Ctx } from '../context.js';
import { UsageError } from '../errors.js';

export function cmdCompare(ctx: Ctx, fileA: string, fileB: string, a: { json?: boolean; format?: string }): number {
  const ra = readResult(fileA);
  const rb = readResult(fileB);
  if (ra.kind !== rb.kind) throw new UsageError(`compare: ${fileA} is a ${ra.kind} and ${fileB} a ${rb.kind}; compare two runs or two sweeps`);
  const cmp = compareResults(ra, rb, [fileA, fileB]);
  const format = a.json ? 'json' : (a.format ?? 'terminal');
  if (format === 'json') out(ctx, toJson(cmp));
  else if (format === 'markdown') out(ctx, renderCompareMarkdown(cmp));
  else out(ctx, renderCompareTerminal(cmp, ctx.c));
  return 0;
}
