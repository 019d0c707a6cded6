/** `kernsim replay --strace FILE`: a program's strace log replayed on the simulated machine, reported as a run. */
import { StraceParseError, straceWorkload } from '../../workloads/replay/index.js';
import { log, readText, type Ctx } from '../context.js';
import { UsageError } from '../errors.js';
import { cmdRun, type RunArgs } from './run.js';

export interface ReplayArgs extends RunArgs {
  strace?: string;
  gaps?: boolean;
}

export function cmdReplay(ctx: Ctx, a: ReplayArgs): number {
  if (!a.strace) throw new UsageError('replay: --strace FILE is required (a log of strace -f -ttt -T -o FILE PROGRAM)');
  const file = a.strace;
  let built;
  try {
    built = straceWorkload(readText(file), file, { gaps: a.gaps !== false });
  } catch (e) {
    if (e instanceof StraceParseError) throw new UsageError(e.message);
    throw e;
  }
  const { strace: _strace, gaps: _gaps, ...runArgs } = a;
  const status = cmdRun(ctx, built.workload, runArgs);
  const t = built.tally;
  const unmodelled = Object.entries(t.unmodelled).sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
  if (unmodelled.length > 0) log(ctx, `not modelled (each charged cost.syscall): ${unmodelled.map(([n, c]) => `${n} ${c}`).join(', ')}`);
  for (const m of t.mismatches) log(ctx, `${file}:${m.line}: ${m.name} returned ${m.log} in the log, ${m.sim} simulated`);
  return status;
}
