/** `kernsim replay --strace FILE --lackey FILE`: a program's strace log and/or memory trace replayed on the simulated machine, reported as a run (the `replay` workload, which `kernsim sweep replay` runs too). */
import { closeSync, openSync } from 'node:fs';
import { cannotRead } from '../../workloads/read-error.js';
import { LackeyParseError, StraceParseError, TraceFormatError } from '../../workloads/replay/index.js';
import { lastReplay, replay } from '../../workloads/replay/workload.js';
import type { AnyWorkload } from '../../workloads/types.js';
import { log, type Ctx } from '../context.js';
import { UsageError } from '../errors.js';
import { cmdRun, type RunArgs } from './run.js';

export interface ReplayArgs extends RunArgs {
  strace?: string;
  lackey?: string;
  gaps?: boolean;
  cpi?: number;
  advice?: string;
}

/** Fails with one line when `file` cannot be opened (before the run starts). */
function mustOpen(file: string): void {
  try {
    closeSync(openSync(file, 'r'));
  } catch (e) {
    throw new UsageError(`${file}: ${cannotRead(e)}`);
  }
}

export function cmdReplay(ctx: Ctx, a: ReplayArgs): number {
  if (!a.strace && !a.lackey) throw new UsageError('replay: --strace FILE or --lackey FILE is required (a log of strace -f -ttt -T -o FILE PROGRAM; a trace of valgrind --tool=lackey --trace-mem=yes --log-file=FILE PROGRAM)');
  if (a.cpi !== undefined && !(a.cpi >= 0)) throw new UsageError(`replay: --cpi must be a number >= 0 (cycles per instruction record), got ${String(a.cpi)}`);
  if (a.strace) mustOpen(a.strace);
  if (a.lackey) mustOpen(a.lackey);
  let status: number;
  try {
    status = cmdRun(ctx, replay as unknown as AnyWorkload, a);
  } catch (e) {
    if (e instanceof StraceParseError || e instanceof LackeyParseError || e instanceof TraceFormatError) throw new UsageError(e.message);
    throw e;
  }
  const st = lastReplay;
  if (!st) return status;
  const t = st.tally;
  const unmodelled = Object.entries(t.unmodelled).sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
  if (unmodelled.length > 0) log(ctx, `not modelled (each charged cost.syscall): ${unmodelled.map(([n, c]) => `${n} ${c}`).join(', ')}`);
  for (const m of t.mismatches) log(ctx, `${a.strace}:${m.line}: ${m.name} returned ${m.log} in the log, ${m.sim} simulated`);
  const mem = st.mem;
  if (mem) {
    log(ctx, `memory trace: ${mem.instructions} instructions (${a.cpi ?? 0.25} cycles each), ${mem.loads} loads, ${mem.stores} stores, ${mem.modifies} modifies, ${mem.splits} line-crossing splits; ${mem.firstTouchMaps} first-touch mappings (${mem.firstTouchPages} pages) for addresses the replay had not mapped`);
    const refused = Object.entries(mem.refused);
    if (refused.length > 0) log(ctx, `accesses refused (faulted with a signal, passed over): ${refused.map(([n, c]) => `${n} ${c}`).join(', ')}`);
    if (a.strace) log(ctx, `markers: ${mem.markersMatched} of ${mem.markers} of the trace's memory calls matched a call of the log`);
  }
  return status;
}
