/**
 * kernsim replay --strace: the parser on strace's line forms, the replay of
 * a stored log of test/workloads/replay/samples/malloc-trim.c (glibc malloc,
 * free and malloc_trim, captured with strace -f -ttt -T), and a live
 * capture of the same program where strace and cc exist.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/machine.js';
import { runWorkload } from '../../../src/workloads/run.js';
import { parseStrace, StraceParseError, straceWorkload, type StraceCall } from '../../../src/workloads/replay/index.js';
import { cli, expectUsageError } from '../../cli/helpers.js';

const SAMPLES = join(import.meta.dirname, 'samples');
const SAMPLE = join(SAMPLES, 'malloc-trim.strace');

describe('strace parser', () => {
  it('reads a plain line, a failed call, an exit without return, -yy fds and -X verbose flags', () => {
    const text = [
      '100 1.000000 openat(AT_FDCWD</tmp>, "/a b,c", O_RDONLY|O_CLOEXEC) = 3</a b,c> <0.000010>',
      '100 1.000020 access("/x", R_OK) = -1 ENOENT (No such file or directory) <0.000002>',
      '100 1.000030 mmap(NULL, 8192, 0x3 /* PROT_READ|PROT_WRITE */, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0) = 0x7f0000000000 <0.000004>',
      '100 1.000040 --- SIGCHLD {si_signo=SIGCHLD} ---',
      '100 1.000050 exit_group(0) = ?',
      '100 1.000060 +++ exited with 0 +++',
    ].join('\n');
    const calls = parseStrace(text, 'x.strace');
    expect(calls.map((c) => [c.pid, c.name, c.ret, c.errno, c.line])).toEqual([
      [100, 'openat', 3, null, 1],
      [100, 'access', -1, 'ENOENT', 2],
      [100, 'mmap', 0x7f0000000000, null, 3],
      [100, 'exit_group', null, null, 5],
    ]);
    expect(calls[0]!.args).toEqual(['AT_FDCWD', '"/a b,c"', 'O_RDONLY|O_CLOEXEC']);
    expect(calls[0]!.duration).toBe(0.00001);
    expect(calls[2]!.args[2]).toBe('0x3 /* PROT_READ|PROT_WRITE */');
  });

  it('joins <unfinished ...> with its resumed line per pid, keeping the call\'s start', () => {
    const text = [
      '7 5.000000 read(3,  <unfinished ...>',
      '8 5.000001 close(4) = 0 <0.000001>',
      '7 5.000100 <... read resumed>"ab", 2) = 2 <0.000100>',
    ].join('\n');
    const calls = parseStrace(text, 'j.strace');
    expect(calls.map((c: StraceCall) => [c.pid, c.name, c.args, c.ret, c.start, c.line])).toEqual([
      [8, 'close', ['4'], 0, 5.000001, 2],
      [7, 'read', ['3', '"ab"', '2'], 2, 5, 3],
    ]);
  });

  it('names the file and line of malformed input', () => {
    expect(() => parseStrace('1 1.0 brk(NULL) = 0x1000 <0.1>\ngarbage here\n', 'm.strace')).toThrow(StraceParseError);
    expect(() => parseStrace('1 1.0 brk(NULL) = 0x1000 <0.1>\ngarbage here\n', 'm.strace')).toThrow(/^m\.strace:2: expected/);
    expect(() => parseStrace('1 1.0 <... read resumed>) = 1 <0.1>', 'r.strace')).toThrow('r.strace:1: expected an earlier "read(... <unfinished ...>" line of pid 1');
  });
});

function replaySample(text: string, gaps = true) {
  const cfg = defaultConfig();
  const built = straceWorkload(text, 'sample', { gaps });
  const result = runWorkload(built.workload, {}, cfg);
  return { cfg, tally: built.tally, result };
}

describe('replay of the stored glibc malloc/malloc_trim log', () => {
  const text = readFileSync(SAMPLE, 'utf8');
  const calls = parseStrace(text, SAMPLE);

  it('replays the heap and mmap calls of malloc, free and malloc_trim with the log\'s results', () => {
    const { tally } = replaySample(text);
    const differing = new Set(tally.mismatches.map((m) => m.line));
    // The program's own allocations: brk growth, the 1 MiB block's mmap/munmap, malloc_trim's brk shrink.
    const heap = calls.filter((c) => (c.name === 'brk' || c.name === 'munmap' || (c.name === 'mmap' && c.args[4] === '-1')));
    expect(heap.length).toBe(11);
    for (const c of heap) expect(differing.has(c.line), `${c.name} at line ${c.line}`).toBe(false);
  });

  it('counts every call: replayed, not modelled by name, and the results that differ listed exactly', () => {
    const { tally, result } = replaySample(text);
    expect(tally.replayed).toEqual({ brk: 5, close: 2, mmap: 9, mprotect: 3, munmap: 2, openat: 2, pread64: 2, read: 1 });
    expect(tally.unmodelled).toEqual({ access: 1, arch_prctl: 1, execve: 1, getrandom: 1, newfstatat: 2, prlimit64: 1, rseq: 1, set_robust_list: 1, set_tid_address: 1 });
    // The dynamic loader's files (ld.so.cache, libc.so.6) are not in the simulated file system: their opens fail,
    // and the reads and file mappings of those fds after them; the program's own image (mapped by execve) is not there either.
    expect(tally.mismatches.map((m) => `${m.line} ${m.name} ${m.log} | ${m.sim}`)).toEqual([
      '5 openat 3 | -1 ENOENT',
      expect.stringMatching(/^7 mmap 0x[0-9a-f]+ \| -1 EBADF$/),
      '8 close 0 | -1 EBADF',
      '9 openat 3 | -1 ENOENT',
      '10 read 832 | -1 EBADF',
      '11 pread64 784 | -1 EBADF',
      '13 pread64 784 | -1 EBADF',
      expect.stringMatching(/^14 mmap 0x[0-9a-f]+ \| -1 EBADF$/),
      expect.stringMatching(/^15 mmap 0x[0-9a-f]+ \| -1 EBADF$/),
      expect.stringMatching(/^16 mmap 0x[0-9a-f]+ \| -1 EBADF$/),
      expect.stringMatching(/^17 mmap 0x[0-9a-f]+ \| -1 EBADF$/),
      '19 close 0 | -1 EBADF',
      '25 mprotect 0 | -1 ENOMEM',
      '26 mprotect 0 | -1 ENOMEM',
      '27 mprotect 0 | -1 ENOMEM',
    ]);
    const f = result.figures!;
    expect(f['calls_in_log']).toBe(calls.length);
    expect(f['calls_replayed']! + f['calls_not_modelled']! + 1).toBe(calls.length); // + exit_group, which ends the thread
    expect(f['results_differing']).toBe(15);
    expect(f['not_modelled:newfstatat']).toBe(2);
    // Each call not modelled is charged the machine's null system call, under its own name.
    const node = result.breakdown.children.find((n) => n.name === 'not modelled:newfstatat');
    expect(node?.inclusive).toBe(2 * defaultConfig().cost.syscall);
  });

  it('charges the time between calls as user time, from the log\'s timestamps and durations, unless gaps are off', () => {
    const { cfg, tally, result } = replaySample(text);
    let end = calls[0]!.start;
    let gap = 0;
    for (const c of calls) {
      if (c.start > end) gap += Math.round((c.start - end) * cfg.clock_ghz * 1e9);
      end = Math.max(end, c.start + c.duration);
      if (c.name === 'exit_group') break;
    }
    expect(tally.gapCycles).toBe(gap);
    expect(gap).toBeGreaterThan(0);
    const off = replaySample(text, false);
    expect(off.tally.gapCycles).toBe(0);
    // Without gaps the run is shorter by at least the gaps charged.
    const busy = (r: typeof result) => r.cpus.reduce((a, c) => a + c.busy, 0);
    expect(busy(result) - busy(off.result)).toBeGreaterThanOrEqual(gap);
  });
});

describe('kernsim replay (CLI)', () => {
  it('runs a log as an ordinary run result (--json)', async () => {
    const r = await cli(['replay', '--strace', SAMPLE, '--json', '--cpus', '2']);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as { workload: string; figures: Record<string, number> };
    expect(res.workload).toBe('replay');
    expect(res.figures['results_differing']).toBe(15);
    expect(r.stderr).toContain(`${SAMPLE}:5: openat returned 3 in the log, -1 ENOENT simulated`);
    expect(r.stderr).toContain('not modelled (each charged cost.syscall): newfstatat 2,');
  });

  it('exits 2 with file:line on malformed input, and without --strace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kernsim-replay-'));
    const bad = join(dir, 'bad.strace');
    writeFileSync(bad, '1 1.0 brk(NULL) = 0x1000 <0.1>\n1 1.1 mmap(NULL, 4096\n');
    expect(expectUsageError(await cli(['replay', '--strace', bad]))).toMatch(new RegExp(`${bad}:2: expected "mmap\\(ARGS\\) = RET"`));
    expect(expectUsageError(await cli(['replay']))).toMatch(/--strace FILE is required/);
  });
});

function tool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

const liveReason = !tool('strace') ? 'strace is not installed' : !tool('cc') ? 'cc is not installed' : null;

describe.skipIf(liveReason !== null)(`live capture (${liveReason ?? 'strace and cc present'})`, () => {
  it('captures the sample program on this host and replays its heap calls with the log\'s results', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kernsim-replay-'));
    const prog = join(dir, 'prog');
    const log = join(dir, 'prog.strace');
    execFileSync('cc', ['-O0', '-o', prog, join(SAMPLES, 'malloc-trim.c')]);
    const st = spawnSync('strace', ['-f', '-ttt', '-T', '-o', log, prog]);
    if (st.status !== 0) {
      // ptrace can be forbidden (containers without CAP_SYS_PTRACE): say so rather than pass silently.
      console.warn(`live capture skipped: strace exited ${st.status}: ${String(st.stderr).trim()}`);
      return;
    }
    const text = readFileSync(log, 'utf8');
    const calls = parseStrace(text, log);
    const { tally } = replaySample(text);
    const heap = calls.filter((c) => c.name === 'brk' || (c.name === 'mmap' && c.args[4] === '-1' && !c.args[3]!.includes('MAP_FIXED')));
    expect(heap.length).toBeGreaterThanOrEqual(5);
    const differing = new Set(tally.mismatches.map((m) => m.line));
    for (const c of heap) expect(differing.has(c.line), `${c.name} at line ${c.line}`).toBe(false);
    expect(tally.replayed['brk']).toBe(calls.filter((c) => c.name === 'brk').length);
  });
});
