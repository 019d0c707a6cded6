/**
 * /proc/PID/stat, statm, smaps_rollup, limits and the PID directory's
 * listing: the values the conformance scripts (proc-pid-*) mask because
 * they differ between a host and the model (pids, fault counts, times,
 * sizes), checked here against the model's own counters, and getdents64's
 * order, which scripts print sorted.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../../src/config/machine.js';
import { bootKernel } from '../../../../src/kernel/boot.js';
import { sys_close, sys_open } from '../../../../src/kernel/fs/fd_syscalls.js';
import { cycles_to_clock_t, task_cputime } from '../../../../src/kernel/fs/proc/array.js';
import { sys_read } from '../../../../src/kernel/fs/read_write.js';
import { sys_getdents64 } from '../../../../src/kernel/fs/readdir.js';
import type { TextBuf } from '../../../../src/kernel/fs/seq_file.js';
import type { Kernel } from '../../../../src/kernel/kernel.js';
import { sys_mmap } from '../../../../src/kernel/mm/mmap.js';
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES } from '../../../../src/kernel/mm/mm_types.js';
import { accessUser } from '../../../../src/kernel/mm/uaccess.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../../../../src/kernel/mm/uapi.js';
import { current, type TaskStruct } from '../../../../src/kernel/sched/task_struct.js';
import { SIG_HANDLER, SIG_IGN, sys_rt_sigaction } from '../../../../src/kernel/signal.js';
import type { Blocking, Task } from '../../../../src/sim/task.js';
import { runScript } from '../../../../src/workloads/script/interp.js';
import { parseScript } from '../../../../src/workloads/script/parse.js';

function* readFile(t: Task, path: string): Blocking<string> {
  const fd = yield* sys_open(t, path, 0, 0);
  if (fd < 0) return `E${-fd}`;
  const buf: TextBuf = { sum: 0, text: '' };
  while ((yield* sys_read(t, fd, 1 << 16, buf)) > 0);
  yield* sys_close(t, fd);
  return buf.text!;
}

/** Boots a kernel and runs `body` as a process; returns the kernel once it has run. */
function runProcess(body: (t: Task) => Blocking<void>): Kernel {
  const k = bootKernel(defaultConfig());
  k.spawnProcess(
    'probe',
    function* (t) {
      yield* body(t);
      yield* k.exit(t, current(t));
    },
    { cpu: 0 },
  );
  k.run();
  return k;
}

describe('/proc/PID/stat and statm', () => {
  it('print the model counters: faults, sizes, times, threads, start time', () => {
    let stat = '';
    let statm = '';
    let me!: TaskStruct;
    let before = { utime: 0, stime: 0 };
    let after = { utime: 0, stime: 0 };
    let vm = { total: 0, rss: 0, shared: 0, data: 0, brk: 0 };
    runProcess(function* (t) {
      me = current(t);
      const anon = yield* sys_mmap(t, 0, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      const shm = yield* sys_mmap(t, 0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      for (let i = 0; i < 8; i++) yield* accessUser(t, anon + i * 4096, true);
      for (let i = 0; i < 2; i++) yield* accessUser(t, shm + i * 4096, true);
      // A second touch of a present page is no fault.
      yield* accessUser(t, anon, true);
      before = task_cputime(me);
      stat = yield* readFile(t, '/proc/self/stat');
      after = task_cputime(me);
      statm = yield* readFile(t, '/proc/self/statm');
      const mm = me.mm!;
      vm = { total: mm.totalVm, rss: mm.rss[MM_ANONPAGES]! + mm.rss[MM_FILEPAGES]! + mm.rss[MM_SHMEMPAGES]!, shared: mm.rss[MM_FILEPAGES]! + mm.rss[MM_SHMEMPAGES]!, data: mm.dataVm + mm.stackVm, brk: mm.startBrk };
    });
    expect(stat.endsWith('\n')).toBe(true);
    const close = stat.lastIndexOf(')');
    expect(stat.slice(0, close + 1)).toBe(`${me.pid} (probe)`);
    const f = ['pid', 'comm', ...stat.slice(close + 2).trimEnd().split(' ')];
    expect(f).toHaveLength(52);
    const n = (i: number): number => Number(f[i - 1]);
    expect(f[2]).toBe('R');
    expect(n(4)).toBe(0); // no parent process in the model for one the machine started
    expect([n(5), n(6)]).toEqual([me.pid, me.pid]);
    expect(n(10)).toBe(10); // ten faults: 8 anonymous pages, 2 shared ones
    expect(n(10)).toBe(me.minFlt);
    expect([n(11), n(12), n(13)]).toEqual([0, 0, 0]);
    const ticks = (c: number) => cycles_to_clock_t(me.task.k, c);
    expect(n(14)).toBeGreaterThanOrEqual(ticks(before.utime));
    expect(n(14)).toBeLessThanOrEqual(ticks(after.utime));
    expect(n(15)).toBeGreaterThanOrEqual(ticks(before.stime));
    expect(n(15)).toBeLessThanOrEqual(ticks(after.stime));
    expect([n(18), n(19), n(20), n(21)]).toEqual([20, 0, 1, 0]);
    expect(n(22)).toBe(ticks(me.startTime));
    expect(n(23)).toBe(vm.total * 4096);
    expect(n(24)).toBe(vm.rss);
    expect(vm.rss).toBe(10);
    expect(f[24]).toBe('18446744073709551615'); // RLIMIT_RSS unlimited
    expect(n(38)).toBe(17);
    expect(n(39)).toBe(0);
    expect(n(47)).toBe(vm.brk);
    expect(n(52)).toBe(0);
    expect(statm).toBe(`${vm.total} ${vm.rss} ${vm.shared} 0 0 ${vm.data} 0\n`);
    expect(vm.shared).toBe(2);
  });

  it('utime and stime split cpuTime at kernel entries; clock ticks are USER_HZ at the machine clock', () => {
    let me!: TaskStruct;
    runProcess(function* (t) {
      me = current(t);
      const a = yield* sys_mmap(t, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      for (let i = 0; i < 1000; i++) yield* accessUser(t, a, false);
    });
    const c = task_cputime(me);
    expect(c.utime + c.stime).toBe(me.task.cpuTime);
    expect(c.stime).toBeGreaterThan(0);
    expect(c.utime).toBeGreaterThan(0);
    const k = me.task.k;
    const perTick = k.cfg.clock_ghz * 1e7;
    expect(cycles_to_clock_t(k, perTick)).toBe(1);
    expect(cycles_to_clock_t(k, perTick - 1)).toBe(0);
  });

  it('cmin_flt adds the faults of reaped children; a thread line counts its own, the process line all', () => {
    const ops = [
      { op: 'fork', ops: [{ op: 'mmap', as: 'C', pages: 3, prot: 'rw', flags: ['private', 'anonymous'] }, { op: 'fill', addr: '$C', len: 12288, byte: 1 }] },
      { op: 'thread', as: 'T', ops: [{ op: 'mmap', as: 'B', pages: 5, prot: 'rw', flags: ['private', 'anonymous'] }, { op: 'fill', addr: '$B', len: 20480, byte: 1 }] },
      { op: 'join', thread: '$T' },
    ];
    const r = runScript(parseScript(JSON.stringify({ kernsim_script: 1, ops }), 'cmin.json'), defaultConfig());
    expect(r.finished).toBe(true);
    const tasks = r.kernel.tasks().filter((x) => !x.kernelThread);
    const main = tasks.find((x) => x.comm === 'script' && x.isGroupLeader && x.parent === null)!;
    const child = tasks.find((x) => x.parent === main)!;
    const thread = tasks.find((x) => x.tgid === main.tgid && !x.isGroupLeader)!;
    expect(child.minFlt).toBe(3);
    expect(main.cMinFlt).toBe(3);
    expect(thread.minFlt).toBe(5);
    expect(thread.comm).toBe('script');
    expect([child.pgid, child.sid, child.forkNoExec]).toEqual([main.pid, main.pid, true]);
  });
});

describe('/proc/PID/stat signal fields', () => {
  it('show the thread pending and blocked sets and the process ignored and caught ones (bit sig - 1)', () => {
    let stat = '';
    runProcess(function* (t) {
      yield* sys_rt_sigaction(t, 10, SIG_IGN, 0); // SIGUSR1 ignored
      yield* sys_rt_sigaction(t, 12, SIG_HANDLER, 0); // SIGUSR2 caught
      yield* sys_rt_sigaction(t, 2, SIG_HANDLER, 0); // SIGINT caught
      current(t).sigBlocked = 1n << 14n; // SIGTERM blocked
      stat = yield* readFile(t, '/proc/self/stat');
    });
    const f = stat.slice(stat.lastIndexOf(')') + 2).trimEnd().split(' ');
    // Fields 31..34 are at index 28..31 counting from field 3.
    expect(f.slice(28, 32).map(Number)).toEqual([0, 1 << 14, 1 << 9, (1 << 11) | (1 << 1)]);
  });
});

describe('/proc/PID directory', () => {
  it('lists its entries in tgid_base_stuff order (tid_base_stuff for a thread), . and .. first', () => {
    let tgid: string[] = [];
    let tid: string[] = [];
    runProcess(function* (t) {
      for (const [path, out] of [['/proc/self', (tgid = [])], ['/proc/thread-self', (tid = [])]] as const) {
        const fd = yield* sys_open(t, path, 0o200000, 0);
        expect(fd).toBeGreaterThanOrEqual(0);
        while ((yield* sys_getdents64(t, fd, 4096, out)) > 0);
        yield* sys_close(t, fd);
      }
    });
    expect(tgid).toEqual(['.', '..', 'task', 'fd', 'fdinfo', 'environ', 'status', 'limits', 'comm', 'cmdline', 'stat', 'statm', 'maps', 'cwd', 'root', 'exe', 'smaps', 'smaps_rollup', 'pagemap']);
    expect(tid).toEqual(['.', '..', 'fd', 'fdinfo', 'environ', 'status', 'limits', 'comm', 'cmdline', 'stat', 'statm', 'maps', 'cwd', 'root', 'exe', 'smaps', 'smaps_rollup', 'pagemap']);
  });

  it('smaps_rollup adds up every area; limits prints each resource in its columns', () => {
    let rollup = '';
    let limits = '';
    runProcess(function* (t) {
      const a = yield* sys_mmap(t, 0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      const b = yield* sys_mmap(t, 0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      for (let i = 0; i < 4; i++) yield* accessUser(t, a + i * 4096, true);
      yield* accessUser(t, b, true);
      rollup = yield* readFile(t, '/proc/self/smaps_rollup');
      limits = yield* readFile(t, '/proc/self/limits');
    });
    const lines = rollup.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^[0-9a-f]{8,}-[0-9a-f]{8,} ---p 00000000 00:00 0 +\[rollup\]$/);
    expect(lines[0]!.indexOf('[rollup]')).toBe(73);
    const kb = (name: string): number => Number(/(\d+) kB$/.exec(lines.find((l) => l.startsWith(name + ':'))!)![1]);
    expect(kb('Rss')).toBe(20);
    expect(kb('Pss')).toBe(20);
    expect(kb('Pss_Anon')).toBe(16);
    expect(kb('Pss_Shmem')).toBe(4);
    expect(kb('Pss_File')).toBe(0);
    expect(kb('Anonymous')).toBe(16);
    expect(kb('Private_Dirty')).toBe(20);
    expect(lines).toHaveLength(23);
    const rows = limits.split('\n');
    expect(rows[0]).toBe('Limit                     Soft Limit           Hard Limit           Units     ');
    expect(rows[8]).toBe('Max open files            1024                 4096                 files     ');
    expect(rows[4]).toBe('Max stack size            8388608              unlimited            bytes     ');
    expect(rows[14]).toBe('Max nice priority         0                    0                    ');
    expect(rows).toHaveLength(18);
  });
});
