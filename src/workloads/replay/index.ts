/**
 * `kernsim replay`: a strace log as a workload, so its result is an
 * ordinary run result (machine flags, --json, --out, report, compare).
 * The workload is built per log: its figures are the replay's tallies.
 */
import type { Kernel } from '../../kernel/kernel.js';
import { defineWorkload, type AnyWorkload } from '../types.js';
import { parseStrace } from './strace-parse.js';
import { startReplay, type ReplayTally } from './strace-replay.js';

export { StraceParseError, parseStrace, type StraceCall } from './strace-parse.js';
export type { ReplayMismatch, ReplayTally } from './strace-replay.js';

export interface StraceWorkload {
  workload: AnyWorkload;
  /** Filled as the run goes: read it after runWorkload returns. */
  tally: ReplayTally;
}

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

/** A workload replaying the strace log `text` (read from `file`, named in errors). Throws StraceParseError on malformed input. */
export function straceWorkload(text: string, file: string, opts: { gaps: boolean }): StraceWorkload {
  const calls = parseStrace(text, file);
  const tally: ReplayTally = { replayed: {}, unmodelled: {}, mismatches: [], gapCycles: 0, processes: 0, threads: 0 };
  const workload = defineWorkload({
    name: 'replay',
    summary: `replay of the strace log ${file}`,
    description: `Replays the system calls of the strace log ${file} (strace -f -ttt -T): its processes and threads where its clone, fork and execve made them.`,
    params: {},
    setup(k: Kernel) {
      startReplay(k, calls, opts, tally);
    },
    check: () => [],
    figures() {
      const f: Record<string, number> = {
        calls_in_log: calls.length,
        calls_replayed: sum(tally.replayed),
        calls_not_modelled: sum(tally.unmodelled),
        results_differing: tally.mismatches.length,
        gap_cycles: tally.gapCycles,
        processes: tally.processes,
        threads: tally.threads,
      };
      for (const [name, n] of Object.entries(tally.unmodelled).sort()) f[`not_modelled:${name}`] = n;
      for (const m of tally.mismatches) f[`differs:${m.name}`] = (f[`differs:${m.name}`] ?? 0) + 1;
      return f;
    },
  });
  return { workload: workload as unknown as AnyWorkload, tally };
}
