/**
 * The `replay` workload: a program's strace log and/or memory trace named by
 * parameters, so that `kernsim replay`, `kernsim run replay` and `kernsim
 * sweep replay` (over machines and settings, in worker threads) all make it
 * from the same values. It is found by name but not listed with the
 * built-in workloads (registry.ts): it has no run without the user's files.
 */
import type { MachineConfig } from '../../config/machine.js';
import { bool, choice, num, str } from '../../params/schema.js';
import { MADV } from '../script/constants.js';
import { defineWorkload } from '../types.js';
import { compactSource, DEFAULT_CPI, FIGURE_DEFS, lackeySource, readTraceCalls, replayFigures, sniff, startReplayRun, type ReplayInputs, type ReplayState } from './index.js';
import { readFileSync } from 'node:fs';

const params = {
  strace: str('', 'an strace log (strace -f -ttt -T -o FILE PROGRAM) or its converted file (kernsim trace convert)'),
  lackey: str('', 'a memory trace (valgrind --tool=lackey --trace-mem=yes --log-file=FILE PROGRAM) or its converted file'),
  gaps: bool(true, 'charge the time between a thread\'s calls as user time (--no-gaps drops it)'),
  cpi: num(DEFAULT_CPI, 'cycles per instruction record of the memory trace (0.25: a 4-wide core\'s best case; docs/replay.md)', { unit: 'cycles' }),
  advice: choice(['as-logged', 'MADV_DONTNEED', 'MADV_FREE'], 'as-logged', 'replay the log\'s MADV_DONTNEED and MADV_FREE calls with this advice'),
};

/** The state of the last replay set up in this thread (the CLI prints its mismatches after the run). */
export let lastReplay: ReplayState | null = null;

function inputs(p: { strace: string; lackey: string; gaps: boolean; cpi: number; advice: string }): ReplayInputs {
  const strace = p.strace === '' ? undefined : sniff(p.strace) === 'kst' ? { calls: readTraceCalls(p.strace), file: p.strace } : { text: readFileSync(p.strace, 'utf8'), file: p.strace };
  const memory = p.lackey === '' ? undefined : sniff(p.lackey) === 'kst' ? compactSource(p.lackey) : lackeySource(p.lackey);
  return { strace, memory, gaps: p.gaps, cpi: p.cpi, advice: p.advice === 'MADV_FREE' ? MADV.MADV_FREE : p.advice === 'MADV_DONTNEED' ? MADV.MADV_DONTNEED : undefined };
}

export const replay = defineWorkload({
  name: 'replay',
  summary: 'replay of a program\'s strace log and/or memory trace (kernsim replay --help)',
  description:
    'Replays a program\'s system calls where the log\'s processes and threads made them (strace -f -ttt -T) and its memory traffic as the first thread\'s user accesses (valgrind lackey --trace-mem=yes), interleaved by its memory calls when both are given (docs/replay.md).',
  params,
  unfit(_cfg: MachineConfig, p) {
    if (p.strace === '' && p.lackey === '') return { param: 'strace', expected: 'a file: --strace FILE and/or --lackey FILE' };
    if (!(p.cpi >= 0)) return { param: 'cpi', expected: 'a number >= 0 (cycles per instruction record)' };
    return undefined;
  },
  setup(k, p) {
    const st = startReplayRun(k, inputs(p));
    lastReplay = st;
    return st;
  },
  check: () => [],
  figureDefs: FIGURE_DEFS,
  headline: 'calls_replayed',
  figures(_k, _p, st) {
    return replayFigures(st);
  },
});
