/**
 * `kernsim replay`: a strace log as a workload, so its result is an
 * ordinary run result (machine flags, --json, --out, report, compare).
 * The workload is built per log: its figures are the replay's tallies.
 */
import type { Kernel } from '../../kernel/kernel.js';
import { defineWorkload, type AnyWorkload } from '../types.js';
import { parseStrace } from './strace-parse.js';
import { startReplay, type ReplayTally } from './strace-replay.js';
import { LackeyReader, type MemSource } from './lackey-parse.js';
import type { StraceCall } from './strace-parse.js';
import { CompactReader } from './trace-format.js';
import { MemFeed, newMemTally, type MemTally } from './lackey-replay.js';
import { current } from '../../kernel/sched/task_struct.js';

export { StraceParseError, parseStrace, type StraceCall } from './strace-parse.js';
export { LackeyParseError, LackeyReader, MemBatch, type MemSource } from './lackey-parse.js';
export { DEFAULT_CPI, type MemTally } from './lackey-replay.js';
export { CompactReader, readHeader, readTraceCalls, sniff, TraceFormatError, writeLackeyTrace, writeStraceTrace, type TraceHeader } from './trace-format.js';
export type { ReplayMismatch, ReplayTally } from './strace-replay.js';

export interface StraceWorkload {
  workload: AnyWorkload;
  /** Filled as the run goes: read it after runWorkload returns. */
  tally: ReplayTally;
}

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

export interface ReplayInputs {
  /** The strace log: its text (or its calls, read from the compact format) and file name. */
  strace?: { text?: string; calls?: StraceCall[]; file: string };
  /** Opens the memory trace (lackey or compact format); called once per run. */
  memory?: (lineBytes: number) => MemSource;
  gaps: boolean;
  /** Cycles per instruction record of the memory trace. */
  cpi: number;
}

export interface ReplayWorkload {
  workload: AnyWorkload;
  /** Filled as the run goes: read them after runWorkload returns. */
  tally: ReplayTally;
  mem: MemTally | null;
}

/** The memory trace's figures. */
function memFigures(m: MemTally, withStrace: boolean): Record<string, number> {
  const f: Record<string, number> = {
    trace_instructions: m.instructions,
    trace_loads: m.loads,
    trace_stores: m.stores,
    trace_modifies: m.modifies,
    trace_split_accesses: m.splits,
    trace_accesses: m.accesses,
    trace_faults: m.faults,
    first_touch_maps: m.firstTouchMaps,
    first_touch_pages: m.firstTouchPages,
    instruction_cycles: m.instructionCycles,
    accesses_refused: Object.values(m.refused).reduce((a, b) => a + b, 0),
  };
  for (const [sig, n] of Object.entries(m.refused).sort()) f[`refused:${sig}`] = n;
  if (withStrace) {
    f['markers'] = m.markers;
    f['markers_matched'] = m.markersMatched;
  }
  return f;
}

/**
 * A workload replaying an strace log, a memory trace, or both interleaved
 * (the trace being the log's first thread's traffic). Throws
 * StraceParseError on a malformed log; a malformed trace throws
 * LackeyParseError from the run.
 */
export function replayWorkload(inp: ReplayInputs): ReplayWorkload {
  const calls = inp.strace ? (inp.strace.calls ?? parseStrace(inp.strace.text ?? '', inp.strace.file)) : [];
  const tally: ReplayTally = { replayed: {}, unmodelled: {}, mismatches: [], gapCycles: 0, processes: 0, threads: 0 };
  const mem = inp.memory ? newMemTally() : null;
  const what = [inp.strace ? `the strace log ${inp.strace.file}` : null, inp.memory ? 'a memory trace' : null].filter((x) => x !== null).join(' and ');
  const workload = defineWorkload({
    name: 'replay',
    summary: `replay of ${what}`,
    description: `Replays ${what}: system calls where the log's processes and threads made them (strace -f -ttt -T), memory traffic as the first thread's user accesses (valgrind lackey --trace-mem=yes).`,
    params: {},
    setup(k: Kernel) {
      const feed = inp.memory && mem ? new MemFeed(inp.memory(k.cfg.cache.line_bytes), mem, inp.cpi, k.machine.mmu) : undefined;
      if (inp.strace) {
        startReplay(k, calls, { gaps: inp.gaps, memory: feed }, tally);
        return;
      }
      k.spawnProcess(
        'replay',
        function* (t) {
          tally.processes++;
          if (feed) yield* feed.run(t, true);
          yield* k.exit(t, current(t));
        },
        { cpu: 0 },
      );
    },
    check: () => [],
    figures() {
      const f: Record<string, number> = {};
      if (inp.strace) {
        Object.assign(f, {
          calls_in_log: calls.length,
          calls_replayed: sum(tally.replayed),
          calls_not_modelled: sum(tally.unmodelled),
          results_differing: tally.mismatches.length,
          gap_cycles: tally.gapCycles,
          processes: tally.processes,
          threads: tally.threads,
        });
        for (const [name, n] of Object.entries(tally.unmodelled).sort()) f[`not_modelled:${name}`] = n;
        for (const m of tally.mismatches) f[`differs:${m.name}`] = (f[`differs:${m.name}`] ?? 0) + 1;
      }
      if (mem) Object.assign(f, memFigures(mem, inp.strace !== undefined));
      return f;
    },
  });
  return { workload: workload as unknown as AnyWorkload, tally, mem };
}

/** A workload replaying the strace log `text` (read from `file`, named in errors). Throws StraceParseError on malformed input. */
export function straceWorkload(text: string, file: string, opts: { gaps: boolean }): StraceWorkload {
  const r = replayWorkload({ strace: { text, file }, gaps: opts.gaps, cpi: 0 });
  return { workload: r.workload, tally: r.tally };
}

/** Opens a lackey trace as a memory source (line size from the machine's caches). */
export function lackeySource(file: string): (lineBytes: number) => MemSource {
  return (lineBytes) => new LackeyReader(file, lineBytes);
}

/** Opens a converted trace (kernsim trace convert) as a memory source. */
export function compactSource(file: string): (lineBytes: number) => MemSource {
  return (lineBytes) => new CompactReader(file, lineBytes);
}
