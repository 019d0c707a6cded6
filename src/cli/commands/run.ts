/** `kernsim run WORKLOAD`: one run, rendered for the terminal or as JSON, optionally written to a file. */
import { renderReport } from '../../report/index.js';
import { checkFits, resolveParams, runWorkload } from '../../workloads/run.js';
import type { AnyWorkload } from '../../workloads/types.js';
import { fmtCycles } from '../../report/format.js';
import { log, out, toJson, writeText, type Ctx } from '../context.js';
import { CheckFailed } from '../errors.js';
import { buildConfig, CLI, machineOverrides, readMachineFlags, readWorkloadFlags } from '../options.js';
import { Progress } from '../progress.js';

export interface RunArgs {
  json?: boolean;
  out?: string;
  trace?: boolean;
  format?: string;
  [flag: string]: unknown;
}

export function cmdRun(ctx: Ctx, w: AnyWorkload, a: RunArgs): number {
  const params = readWorkloadFlags(w, a);
  const choice = readMachineFlags(a);
  const cfg = buildConfig(choice);
  checkFits(w, resolveParams(w, params, CLI), cfg, CLI);
  const bar = new Progress(ctx.io, ctx.ce, w.name, { json: a.json === true });
  const result = runWorkload(w, params, cfg, {
    hostClock: () => performance.now(),
    trace: a.trace === true,
    onProgress: bar.enabled ? (f, cyc, final) => bar.update(f, `${fmtCycles(cyc)} cycles`, final) : undefined,
  });
  bar.done();
  const overrides = machineOverrides(choice);
  if (Object.keys(overrides).length > 0) result.overrides = overrides;
  if (a.out) {
    writeText(a.out, toJson(result));
    log(ctx, ctx.ce.dim(`wrote ${a.out}`));
  }
  if (a.json) out(ctx, toJson(result));
  else out(ctx, renderReport(result, 'terminal', { chalk: ctx.c }));
  if (!result.checks.passed) {
    throw new CheckFailed(`${w.name}: ${result.checks.failures.length} check(s) failed: ${result.checks.failures[0]}`, result.checks.failures);
  }
  return 0;
}
