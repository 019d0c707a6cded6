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
  /** Replay the log's MADV_DONTNEED and MADV_FREE calls with this advice instead. */
  advice?: number;
}

export interface ReplayWorkload {
  workload: AnyWorkload;
  /** Filled as the run goes: read them after runWorkload returns. */
  tally: ReplayTally;
  mem: MemTally | null;
}

/** A run's state: the log's calls and the tallies, filled as the run goes. */
export interface ReplayState {
  calls: StraceCall[];
  hasStrace: boolean;
  tally: ReplayTally;
  mem: MemTally | null;
}

export const FIGURE_DEFS: Record<string, { unit: string; definition: string }> = {
  calls_in_log: { unit: 'calls', definition: 'system calls in the strace log (0 without one)' },
  calls_replayed: { unit: 'calls', definition: 'calls of the log run on the simulated kernel (exit and execve included)' },
  calls_not_modelled: { unit: 'calls', definition: 'calls the simulated kernel does not have, each charged cost.syscall (not_modelled:NAME by name)' },
  results_differing: { unit: 'calls', definition: 'calls whose simulated result differs from the log\'s (differs:NAME by name; listed on stderr)' },
  gap_cycles: { unit: 'cycles', definition: 'user time charged for the gaps between a thread\'s calls (the log\'s timestamps)' },
  processes: { unit: 'processes', definition: 'simulated processes the replay made' },
  threads: { unit: 'threads', definition: 'simulated threads beyond each process\'s first' },
  trace_instructions: { unit: 'records', definition: 'instruction records of the memory trace' },
  trace_loads: { unit: 'records', definition: 'load records of the memory trace' },
  trace_stores: { unit: 'records', definition: 'store records of the memory trace' },
  trace_modifies: { unit: 'records', definition: 'modify records of the memory trace (one write access each)' },
  trace_split_accesses: { unit: 'accesses', definition: 'accesses added for records crossing a cache line' },
  trace_accesses: { unit: 'accesses', definition: 'data accesses the MMU completed (loads + stores + modifies + splits - refused)' },
  trace_faults: { unit: 'faults', definition: 'page faults the memory trace took (first-touch probes included)' },
  first_touch_maps: { unit: 'mappings', definition: 'anonymous mappings the replay made for trace addresses nothing had mapped' },
  first_touch_pages: { unit: 'pages', definition: 'pages of those mappings' },
  instruction_cycles: { unit: 'cycles', definition: 'user time charged for instruction records (--cpi each)' },
  accesses_refused: { unit: 'accesses', definition: 'accesses that faulted with a signal and were passed over (refused:SIGNAL by signal)' },
  markers: { unit: 'calls', definition: 'memory calls valgrind traced in the trace (--trace-syscalls=yes)' },
  markers_matched: { unit: 'calls', definition: 'markers matched with a call of the strace log' },
};

/** Starts a replay on k from its inputs; the state fills as the run goes. */
export function startReplayRun(k: Kernel, inp: ReplayInputs, tallies?: { tally: ReplayTally; mem: MemTally | null }): ReplayState {
  const calls = inp.strace ? (inp.strace.calls ?? parseStrace(inp.strace.text ?? '', inp.strace.file)) : [];
  const st: ReplayState = {
    calls, hasStrace: inp.strace !== undefined, mem: tallies ? tallies.mem : inp.memory ? newMemTally() : null,
    tally: tallies ? tallies.tally : { replayed: {}, unmodelled: {}, mismatches: [], gapCycles: 0, processes: 0, threads: 0 },
  };
  const feed = inp.memory && st.mem ? new MemFeed(inp.memory(k.cfg.cache.line_bytes), st.mem, inp.cpi, k.machine.mmu) : undefined;
  if (inp.strace) {
    startReplay(k, calls, { gaps: inp.gaps, memory: feed, advice: inp.advice }, st.tally);
    return st;
  }
  k.spawnProcess(
    'replay',
    function* (t) {
      st.tally.processes++;
      if (feed) yield* feed.run(t, true);
      yield* k.exit(t, current(t));
    },
    { cpu: 0 },
  );
  return st;
}

/** A replay's figures. */
export function replayFigures(st: ReplayState): Record<string, number> {
  const { calls, tally } = st;
  const m = st.mem ?? newMemTally();
  const f: Record<string, number> = {
    calls_in_log: calls.length,
    calls_replayed: sum(tally.replayed),
    calls_not_modelled: sum(tally.unmodelled),
    results_differing: tally.mismatches.length,
    gap_cycles: tally.gapCycles,
    processes: tally.processes,
    threads: tally.threads,
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
    markers: m.markers,
    markers_matched: m.markersMatched,
  };
  for (const [name, n] of Object.entries(tally.unmodelled).sort()) f[`not_modelled:${name}`] = n;
  for (const x of tally.mismatches) f[`differs:${x.name}`] = (f[`differs:${x.name}`] ?? 0) + 1;
  for (const [sig, n] of Object.entries(m.refused).sort()) f[`refused:${sig}`] = n;
  return f;
}

/**
 * A workload replaying an strace log, a memory trace, or both interleaved
 * (the trace being the log's first thread's traffic), from inputs in
 * memory (tests). Throws StraceParseError on a malformed log; a malformed
 * trace throws LackeyParseError from the run.
 */
export function replayWorkload(inp: ReplayInputs): ReplayWorkload {
  const calls = inp.strace ? (inp.strace.calls ?? parseStrace(inp.strace.text ?? '', inp.strace.file)) : [];
  const fixed: ReplayInputs = inp.strace ? { ...inp, strace: { calls, file: inp.strace.file } } : inp;
  const tally: ReplayTally = { replayed: {}, unmodelled: {}, mismatches: [], gapCycles: 0, processes: 0, threads: 0 };
  const mem = inp.memory ? newMemTally() : null;
  const workload = defineWorkload({
    name: 'replay',
    summary: 'replay of a program\'s strace log and/or memory trace',
    description: 'Replays system calls where the log\'s processes and threads made them (strace -f -ttt -T), memory traffic as the first thread\'s user accesses (valgrind lackey --trace-mem=yes).',
    params: {},
    setup(k: Kernel) {
      return startReplayRun(k, fixed, { tally, mem });
    },
    check: () => [],
    figureDefs: FIGURE_DEFS,
    headline: 'calls_replayed',
    figures(_k, _p, st) {
      return replayFigures(st);
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
