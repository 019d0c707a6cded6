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
import { sig, sigset } from '../../../src/workloads/replay/strace-translate.js';

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
    expect(tally.replayed).toEqual({ brk: 5, close: 2, execve: 1, exit_group: 1, mmap: 9, mprotect: 3, munmap: 2, newfstatat: 2, openat: 2, pread64: 2, read: 1 });
    expect(tally.unmodelled).toEqual({ access: 1, arch_prctl: 1, getrandom: 1, prlimit64: 1, rseq: 1, set_robust_list: 1, set_tid_address: 1 });
    // The dynamic loader's files (ld.so.cache, libc.so.6) are not in the simulated file system: their opens fail,
    // and the reads and file mappings of those fds after them; the program's own image (mapped by execve) is not there either.
    expect(tally.mismatches.map((m) => `${m.line} ${m.name} ${m.log} | ${m.sim}`)).toEqual([
      '5 openat 3 | -1 ENOENT',
      '6 newfstatat 0 | -1 EBADF',
      expect.stringMatching(/^7 mmap 0x[0-9a-f]+ \| -1 EBADF$/),
      '8 close 0 | -1 EBADF',
      '9 openat 3 | -1 ENOENT',
      '10 read 832 | -1 EBADF',
      '11 pread64 784 | -1 EBADF',
      '12 newfstatat 0 | -1 EBADF',
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
    expect(f['calls_replayed']! + f['calls_not_modelled']!).toBe(calls.length);
    expect(f['results_differing']).toBe(17);
    expect(f['not_modelled:access']).toBe(1);
    // Each call not modelled is charged the machine's null system call, under its own name.
    const node = result.breakdown.children.find((n) => n.name === 'not modelled:access');
    expect(node?.inclusive).toBe(defaultConfig().cost.syscall);
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

describe('translation of the file, pipe and memory calls', () => {
  it('replays openat with a dirfd, writev/readv iovecs, stat calls, getdents64, pipe2 and eventfd fds, close_range ~0U, a moving mremap, inotify and renameat2 with dirfds with the log\'s results', () => {
    const text = [
      '1 1.000 mkdir("d", 0755) = 0 <0.000010>',
      '1 1.001 openat(AT_FDCWD, "d", O_RDONLY|O_DIRECTORY) = 3 <0.000010>',
      '1 1.002 openat(3, "f", O_RDWR|O_CREAT, 0644) = 4 <0.000010>',
      '1 1.003 writev(4, [{iov_base="ab", iov_len=2}, {iov_base="cde", iov_len=3}], 2) = 5 <0.000010>',
      '1 1.004 pread64(4, "abcde", 10, 0) = 5 <0.000010>',
      '1 1.005 fstat(4, {st_mode=S_IFREG|0644, st_size=5, ...}) = 0 <0.000010>',
      '1 1.006 newfstatat(3, "f", {st_mode=S_IFREG|0644, st_size=5, ...}, 0) = 0 <0.000010>',
      '1 1.007 statx(AT_FDCWD, "d/f", AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, {stx_mask=STATX_BASIC_STATS, ...}) = 0 <0.000010>',
      '1 1.008 getdents64(3, 0x555555560000 /* 3 entries */, 32768) = 72 <0.000010>',
      '1 1.009 pipe2([5, 6], O_CLOEXEC) = 0 <0.000010>',
      '1 1.010 write(6, "x", 1) = 1 <0.000010>',
      '1 1.011 readv(5, [{iov_base="x", iov_len=10}], 1) = 1 <0.000010>',
      '1 1.012 eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 7 <0.000010>',
      '1 1.013 fsync(4) = 0 <0.000010>',
      '1 1.014 close_range(4, ~0U, 0) = 0 <0.000010>',
      '1 1.015 fcntl(4, F_GETFD) = -1 EBADF (Bad file descriptor) <0.000010>',
      '1 1.016 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000 <0.000010>',
      '1 1.017 mremap(0x7f0000000000, 8192, 16384, MREMAP_MAYMOVE) = 0x7f0000100000 <0.000010>',
      '1 1.018 munmap(0x7f0000100000, 16384) = 0 <0.000010>',
      '1 1.019 inotify_init1(IN_NONBLOCK) = 4 <0.000010>',
      '1 1.020 inotify_add_watch(4, "d", IN_CREATE|IN_DELETE) = 1 <0.000010>',
      '1 1.021 renameat2(AT_FDCWD, "d/f", 3, "g", RENAME_NOREPLACE) = 0 <0.000010>',
      '1 1.022 renameat2(3, "g", AT_FDCWD, "d", RENAME_NOREPLACE) = -1 EEXIST (File exists) <0.000010>',
      '1 1.023 exit_group(0) = ?',
    ].join('\n');
    const { tally } = replaySample(text);
    expect(tally.mismatches).toEqual([]);
    expect(tally.unmodelled).toEqual({});
    expect(Object.values(tally.replayed).reduce((a, b) => a + b, 0)).toBe(24);
  });

  it('replays MAP_HUGETLB mmaps with their size field (MAP_HUGE_2MB) against an empty pool, and opens of /proc/self/smaps and pagemap', () => {
    const text = [
      '1 1.000 mmap(NULL, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_2MB, -1, 0) = -1 ENOMEM (Cannot allocate memory) <0.000010>',
      '1 1.001 mmap(NULL, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_1GB, -1, 0) = -1 EINVAL (Invalid argument) <0.000010>',
      '1 1.002 openat(AT_FDCWD, "/proc/self/smaps", O_RDONLY) = 3 <0.000010>',
      '1 1.003 close(3) = 0 <0.000010>',
      '1 1.004 openat(AT_FDCWD, "/proc/self/pagemap", O_RDONLY) = 3 <0.000010>',
      '1 1.005 pread64(3, "", 8, 0) = 8 <0.000010>',
      '1 1.006 close(3) = 0 <0.000010>',
      '1 1.007 exit_group(0) = ?',
    ].join('\n');
    const { tally } = replaySample(text);
    expect(tally.mismatches).toEqual([]);
    expect(tally.unmodelled).toEqual({});
  });
});

describe('translation of record locks', () => {
  it('replays fcntl F_SETLK/F_GETLK/F_OFD_* with strace\'s struct flock, the log\'s results included', () => {
    const text = [
      '1 1.000 openat(AT_FDCWD, "lk", O_RDWR|O_CREAT, 0644) = 3 <0.000010>',
      '1 1.001 fcntl(3, F_SETLK, {l_type=F_WRLCK, l_whence=SEEK_SET, l_start=10, l_len=-5}) = 0 <0.000010>',
      '1 1.002 fcntl(3, F_GETLK, {l_type=F_UNLCK, l_whence=SEEK_SET, l_start=10, l_len=-5, l_pid=0}) = 0 <0.000010>',
      '1 1.003 fcntl(3, F_OFD_SETLKW, {l_type=F_RDLCK, l_whence=SEEK_SET, l_start=100, l_len=-5}) = 0 <0.000010>',
      '1 1.004 fcntl(3, F_OFD_GETLK, {l_type=F_UNLCK, l_whence=SEEK_SET, l_start=100, l_len=-5, l_pid=0}) = 0 <0.000010>',
      '1 1.005 fcntl(3, F_SETLK, {l_type=F_RDLCK, l_whence=SEEK_SET, l_start=-1, l_len=0}) = -1 EINVAL (Invalid argument) <0.000010>',
      '1 1.006 fcntl(3, F_SETLKW, {l_type=F_UNLCK, l_whence=SEEK_END, l_start=0, l_len=9223372036854775807}) = 0 <0.000010>',
      '1 1.007 exit_group(0) = ?',
    ].join('\n');
    const { tally } = replaySample(text);
    expect(tally.mismatches).toEqual([]);
    expect(tally.unmodelled).toEqual({});
    expect(tally.replayed['fcntl']).toBe(6);
  });

  it('replays flock with its LOCK_ names, the log\'s results included', () => {
    const text = [
      '1 1.000 openat(AT_FDCWD, "lk", O_RDWR|O_CREAT, 0644) = 3 <0.000010>',
      '1 1.001 openat(AT_FDCWD, "lk", O_RDONLY) = 4 <0.000010>',
      '1 1.002 flock(3, LOCK_EX|LOCK_NB) = 0 <0.000010>',
      '1 1.003 flock(4, LOCK_SH|LOCK_NB) = -1 EAGAIN (Resource temporarily unavailable) <0.000010>',
      '1 1.004 flock(3, LOCK_UN) = 0 <0.000010>',
      '1 1.005 flock(4, LOCK_SH) = 0 <0.000010>',
      '1 1.006 flock(4, 0) = -1 EINVAL (Invalid argument) <0.000010>',
      '1 1.007 exit_group(0) = ?',
    ].join('\n');
    const { tally } = replaySample(text);
    expect(tally.mismatches).toEqual([]);
    expect(tally.unmodelled).toEqual({});
    expect(tally.replayed['flock']).toBe(5);
  });

  it('replays truncate by name, the log\'s results included', () => {
    const text = [
      '1 1.000 openat(AT_FDCWD, "t", O_RDWR|O_CREAT, 0644) = 3 <0.000010>',
      '1 1.001 truncate("t", 8192) = 0 <0.000010>',
      '1 1.002 fstat(3, {st_mode=S_IFREG|0644, st_size=8192, ...}) = 0 <0.000010>',
      '1 1.003 truncate("missing", 0) = -1 ENOENT (No such file or directory) <0.000010>',
      '1 1.004 truncate("t", -1) = -1 EINVAL (Invalid argument) <0.000010>',
      '1 1.005 exit_group(0) = ?',
    ].join('\n');
    const { tally } = replaySample(text);
    expect(tally.mismatches).toEqual([]);
    expect(tally.unmodelled).toEqual({});
    expect(tally.replayed['truncate']).toBe(3);
  });
});

describe('replay of processes and threads (stored log of samples/procs.c)', () => {
  const PROCS = join(SAMPLES, 'procs.strace');
  const text = readFileSync(PROCS, 'utf8');
  const calls = parseStrace(text, PROCS);
  /** The dynamic loader's part of the log (before main): its files are not in the simulated file system. */
  const loaderEnd = calls.find((c) => c.name === 'munmap')!.line;

  it('makes the fork child a process and the clone3 thread a thread where the log made them, and their calls agree with the log', () => {
    const { tally } = replaySample(text);
    expect(tally.replayed).toMatchObject({ clone: 1, clone3: 1, wait4: 1, mremap: 1, exit_group: 2, exit: 1, madvise: 2, write: 1, unlink: 1 });
    const leader = calls[0]!.pid;
    const child = calls.find((c) => c.name === 'clone')!.ret!;
    const thread = calls.find((c) => c.name === 'clone3')!.ret!;
    // Every call of the child (mremap moving the area, the file it writes) and of the thread (mmap, madvise, munmap) agrees.
    expect(tally.mismatches.filter((m) => m.pid === child || m.pid === thread)).toEqual([]);
    expect(tally.mismatches.filter((m) => m.pid === leader && m.line > loaderEnd)).toEqual([]);
    expect(calls.filter((c) => c.pid === child).map((c) => c.name)).toContain('mremap');
  });

  it('counts the processes and threads it made: the program and its fork child, and one thread', () => {
    const { tally, result } = replaySample(text);
    expect(tally.processes).toBe(2);
    expect(tally.threads).toBe(1);
    expect(result.figures!['processes']).toBe(2);
    // The stored malloc log has one process and no thread.
    const single = replaySample(readFileSync(SAMPLE, 'utf8')).tally;
    expect([single.processes, single.threads]).toEqual([1, 0]);
  });
});

describe('kernsim replay (CLI)', () => {
  it('runs a log as an ordinary run result (--json)', async () => {
    const r = await cli(['replay', '--strace', SAMPLE, '--json', '--cpus', '2']);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as { workload: string; figures: Record<string, number> };
    expect(res.workload).toBe('replay');
    expect(res.figures['results_differing']).toBe(17);
    expect(r.stderr).toContain(`${SAMPLE}:5: openat returned 3 in the log, -1 ENOENT simulated`);
    expect(r.stderr).toContain('not modelled (each charged cost.syscall): access 1, arch_prctl 1,');
  });

  it('exits 2 with file:line on malformed input, and without --strace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kernsim-replay-'));
    const bad = join(dir, 'bad.strace');
    writeFileSync(bad, '1 1.0 brk(NULL) = 0x1000 <0.1>\n1 1.1 mmap(NULL, 4096\n');
    expect(expectUsageError(await cli(['replay', '--strace', bad]))).toMatch(new RegExp(`${bad}:2: expected "mmap\\(ARGS\\) = RET"`));
    expect(expectUsageError(await cli(['replay']))).toMatch(/--strace FILE or --lackey FILE is required/);
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

  it('captures the fork-and-thread program and replays the child\'s and the thread\'s calls with the log\'s results', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kernsim-replay-'));
    const prog = join(dir, 'procs');
    const log = join(dir, 'procs.strace');
    execFileSync('cc', ['-O0', '-pthread', '-o', prog, join(SAMPLES, 'procs.c')]);
    const st = spawnSync('strace', ['-f', '-ttt', '-T', '-o', log, prog], { cwd: dir });
    if (st.status !== 0) {
      console.warn(`live capture skipped: strace exited ${st.status}: ${String(st.stderr).trim()}`);
      return;
    }
    const text = readFileSync(log, 'utf8');
    const calls = parseStrace(text, log);
    const { tally } = replaySample(text);
    const child = calls.find((c) => c.name === 'clone' || c.name === 'fork')!.ret!;
    const thread = calls.find((c) => c.name === 'clone3' || (c.name === 'clone' && c.args.join().includes('CLONE_THREAD')))!.ret!;
    expect(tally.mismatches.filter((m) => m.pid === child || m.pid === thread)).toEqual([]);
    expect(tally.replayed['mremap']).toBe(1);
    expect(tally.replayed['wait4']).toBe(1);
  });
});

describe('replay of an execve in a threaded process', () => {
  it('kills the other threads (de_thread): a thread with calls logged after the execve stops replaying', () => {
    const text = [
      '100 1.000000 execve("./a", ["./a"], 0x7ffd00000000 /* 1 var */) = 0 <0.000100>',
      '100 1.000200 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, child_tid=0x7f0000001000, exit_signal=0, stack=0x7f0000002000, stack_size=0x1000}, 88) = 101 <0.000050>',
      '101 1.000300 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000010000 <0.000004>',
      '100 1.000400 execve("./b", ["./b"], 0x7ffd00000000 /* 1 var */) = 0 <0.000100>',
      '101 1.000450 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000020000 <0.000004>',
      '101 1.000460 +++ killed by SIGKILL +++',
      '100 1.000500 exit_group(0) = ?',
      '100 1.000600 +++ exited with 0 +++',
    ].join('\n');
    const { tally } = replaySample(text);
    expect(tally.threads).toBe(1);
    // The thread's mmap before the second execve is replayed; the one logged after it is not (the thread was killed).
    expect(tally.replayed).toMatchObject({ execve: 2, clone3: 1, mmap: 1, exit_group: 1 });
  });
});


describe('translation of the signal calls (a log strace 6.1 wrote of a small C program on the development host)', () => {
  // sigaction of a handler, SIG_IGN, SA_RESTART; rt_sigaction of SIGKILL with an action (EINVAL) and without (a query);
  // sigprocmask's BLOCK, UNBLOCK, SETMASK of a full set (~[RTMIN RT_1]: glibc keeps its two), a bad how (EINVAL) and a
  // bad how with no set (0); nanosleep as glibc makes it (clock_nanosleep CLOCK_REALTIME) and with 2e9 ns (EINVAL);
  // a CLOCK_MONOTONIC sleep; ITIMER_REAL of 20 ms ending a 1 s sleep (ERESTART_RESTARTBLOCK, the handler, rt_sigreturn).
  const LOG = [
    '21521 1796695219.824559 rt_sigaction(SIGALRM, {sa_handler=0x55cfb3edc1c9, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7ff308f03050}, NULL, 8) = 0 <0.000069>',
    '21521 1796695219.824755 rt_sigaction(SIGUSR1, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7ff308f03050}, NULL, 8) = 0 <0.000016>',
    '21521 1796695219.824810 rt_sigaction(SIGUSR2, {sa_handler=0x55cfb3edc1c9, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7ff308f03050}, NULL, 8) = 0 <0.000016>',
    '21521 1796695219.824871 rt_sigaction(SIGKILL, {sa_handler=0x55cfb3edc1c9, sa_mask=[], sa_flags=0}, NULL, 8) = -1 EINVAL (Invalid argument) <0.000017>',
    '21521 1796695219.824938 rt_sigaction(SIGKILL, NULL, NULL, 8) = 0 <0.000016>',
    '21521 1796695219.824994 rt_sigprocmask(SIG_BLOCK, [INT USR2], [], 8) = 0 <0.000016>',
    '21521 1796695219.825056 rt_sigprocmask(SIG_UNBLOCK, [INT USR2], NULL, 8) = 0 <0.000016>',
    '21521 1796695219.825115 rt_sigprocmask(SIG_SETMASK, ~[RTMIN RT_1], [], 8) = 0 <0.000015>',
    '21521 1796695219.825200 rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0 <0.000015>',
    '21521 1796695219.825254 rt_sigprocmask(0x7 /* SIG_??? */, ~[RTMIN RT_1], NULL, 8) = -1 EINVAL (Invalid argument) <0.000016>',
    '21521 1796695219.825334 rt_sigprocmask(0x7 /* SIG_??? */, NULL, [], 8) = 0 <0.000016>',
    '21521 1796695219.825435 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=2000000}, NULL) = 0 <0.002151>',
    '21521 1796695219.827665 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=2000000000}, NULL) = -1 EINVAL (Invalid argument) <0.000019>',
    '21521 1796695219.827758 clock_nanosleep(CLOCK_MONOTONIC, 0, {tv_sec=0, tv_nsec=1000000}, NULL) = 0 <0.001123>',
    '21521 1796695219.828979 setitimer(ITIMER_REAL, {it_interval={tv_sec=0, tv_usec=0}, it_value={tv_sec=0, tv_usec=20000}}, NULL) = 0 <0.000048>',
    '21521 1796695219.829094 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=0}, NULL) = ? ERESTART_RESTARTBLOCK (Interrupted by signal) <0.027214>',
    '21521 1796695219.856425 --- SIGALRM {si_signo=SIGALRM, si_code=SI_KERNEL} ---',
    '21521 1796695219.856524 rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call) <0.000070>',
    '21521 1796695219.856757 setitimer(ITIMER_REAL, {it_interval={tv_sec=0, tv_usec=0}, it_value={tv_sec=0, tv_usec=0}}, NULL) = 0 <0.000018>',
    '21521 1796695219.857783 exit_group(0)   = ?',
    '21521 1796695219.858456 +++ exited with 0 +++',
  ].join('\n');

  it('replays every signal call with the log\'s results: errnos, the query, the sleeps, the timer\'s interruption', () => {
    const { tally } = replaySample(LOG);
    expect(tally.mismatches).toEqual([]);
    expect(tally.unmodelled).toEqual({});
    expect(tally.replayed).toEqual({ rt_sigaction: 5, rt_sigprocmask: 6, clock_nanosleep: 4, setitimer: 2, rt_sigreturn: 1, exit_group: 1 });
  });

  it('a log whose results the model would not give is listed: a sleep the timer should have ended, a SIGKILL action', () => {
    const text = [
      '1 1.000 rt_sigaction(SIGALRM, {sa_handler=0x1000, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x2000}, NULL, 8) = 0 <0.000010>',
      '1 1.001 setitimer(ITIMER_REAL, {it_interval={tv_sec=0, tv_usec=0}, it_value={tv_sec=0, tv_usec=1000}}, NULL) = 0 <0.000010>',
      '1 1.002 nanosleep({tv_sec=1, tv_nsec=0}, NULL) = 0 <1.000000>',
      '1 2.003 rt_sigaction(SIGSTOP, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=0}, NULL, 8) = 0 <0.000010>',
      '1 2.004 exit_group(0) = ?',
    ].join('\n');
    const { tally } = replaySample(text);
    expect(tally.mismatches.map((m) => [m.line, m.name, m.log, m.sim])).toEqual([
      [3, 'nanosleep', '0', '-1 ERESTART_RESTARTBLOCK'],
      [4, 'rt_sigaction', '0', '-1 EINVAL'],
    ]);
  });

  it('leaves unmodelled what the model has no call for: periodic and CPU-time timers, absolute and CPU-clock sleeps, another sigsetsize', () => {
    const text = [
      '1 1.000 setitimer(ITIMER_REAL, {it_interval={tv_sec=0, tv_usec=1000}, it_value={tv_sec=0, tv_usec=1000}}, NULL) = 0 <0.000010>',
      '1 1.001 setitimer(ITIMER_VIRTUAL, {it_interval={tv_sec=0, tv_usec=0}, it_value={tv_sec=1, tv_usec=0}}, NULL) = 0 <0.000010>',
      '1 1.002 clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, {tv_sec=1796695219, tv_nsec=0}, NULL) = 0 <0.000010>',
      '1 1.003 clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, {tv_sec=0, tv_nsec=1000}, NULL) = 0 <0.000010>',
      '1 1.004 rt_sigprocmask(SIG_BLOCK, [INT], NULL, 16) = -1 EINVAL (Invalid argument) <0.000010>',
      '1 1.005 exit_group(0) = ?',
    ].join('\n');
    const { tally } = replaySample(text);
    expect(tally.unmodelled).toEqual({ setitimer: 2, clock_nanosleep: 2, rt_sigprocmask: 1 });
    expect(tally.mismatches).toEqual([]);
  });
});

describe('strace signal notation', () => {
  it('reads sigsets, complements included, and signal names', () => {
    expect(sigset('[]')).toBe(0n);
    expect(sigset('[INT USR2]')).toBe((1n << 1n) | (1n << 11n));
    expect(sigset('~[RTMIN RT_1]')).toBe(((1n << 64n) - 1n) & ~((1n << 31n) | (1n << 32n)));
    expect(sigset('[RT_32]')).toBe(1n << 63n);
    expect(sig('SIGIO')).toBe(29);
    expect(sig('SIGPOLL')).toBe(29);
    expect(sig('SIGRT_3')).toBe(35);
    expect(sig('14')).toBe(14);
  });
});
