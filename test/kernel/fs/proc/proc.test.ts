/**
 * procfs: the registry and the proc_reg_* protocol (remove_proc_entry
 * returning at once with no users, waiting in simulated time for a read in
 * flight, refusing calls afterwards, releasing a file still open by hand
 * and only once), proc inodes freed through call_rcu after a grace period,
 * and the files showing the simulator's state (/proc/meminfo,
 * /proc/self/status with VmRSS, /proc/self/maps naming a mapped file).
 */
import { describe, expect, it } from 'vitest';
import { EIO, ENOENT } from '../../../../src/kernel/errno.js';
import { sys_close, sys_open } from '../../../../src/kernel/fs/fd_syscalls.js';
import type { File } from '../../../../src/kernel/fs/file_table.js';
import { proc_create, proc_find, remove_proc_entry, type ProcOps } from '../../../../src/kernel/fs/proc/generic.js';
import { sys_read } from '../../../../src/kernel/fs/read_write.js';
import { bootKernel } from '../../../../src/kernel/boot.js';
import { sys_mmap } from '../../../../src/kernel/mm/mmap.js';
import type { Blocking, Task } from '../../../../src/sim/task.js';
import { O_CREAT, O_RDONLY, O_RDWR, readText, runProcess, testConfig } from '../helpers.js';

/** A module's file: each read sleeps `readSleep` cycles (it waits for its device) and returns 8 bytes. */
function moduleOps(log: string[], readSleep: number): ProcOps {
  return {
    *proc_open(): Blocking<number> {
      log.push('open');
      return 0;
    },
    *proc_read(t: Task, file: File, len: number): Blocking<number> {
      log.push(`read@${t.now}`);
      if (readSleep) yield t.sleepFor(readSleep);
      log.push(`read-done@${t.now}`);
      const n = Math.max(0, Math.min(len, 8 - Number(file.f_pos)));
      file.f_pos = Number(file.f_pos) + n;
      return n;
    },
    *proc_release(t: Task): Blocking<number> {
      log.push(`release@${t.now}`);
      return 0;
    },
  };
}

describe('remove_proc_entry', () => {
  it('with no users returns at once; afterwards the name is gone', () => {
    const seen: unknown[] = [];
    const log: string[] = [];
    runProcess(function* (t) {
      const k = t.k;
      proc_create(k, t, 'mod', 0o444, null, moduleOps(log, 0));
      seen.push(yield* readText(t, '/proc/mod'));
      const start = t.now;
      seen.push(yield* remove_proc_entry(t, 'mod', null));
      seen.push(k.engine.samples.of('remove_proc_entry_wait').count, t.now - start < 10000);
      seen.push(yield* sys_open(t, '/proc/mod', O_RDONLY, 0));
      seen.push(yield* remove_proc_entry(t, 'mod', null));
    });
    expect(seen).toEqual(['', true, 0, true, -ENOENT, false]);
    expect(log.filter((l) => !l.startsWith('read'))).toEqual(['open', expect.stringMatching(/^release@/)]);
  });

  it('waits in simulated time for a read in flight; then reads are EIO and the open file is released by the remover, once', () => {
    const SLEEP = 500_000;
    const log: string[] = [];
    const seen: Record<string, unknown> = {};
    const k = bootKernel(testConfig());
    proc_create(k, null, 'mod', 0o444, null, moduleOps(log, SLEEP));
    let inRead = false;
    k.spawnProcess(
      'reader',
      function* (t) {
        const fd = yield* sys_open(t, '/proc/mod', O_RDONLY, 0);
        inRead = true;
        seen.first = yield* sys_read(t, fd, 100, { sum: 0 });
        seen.firstDone = t.now;
        seen.second = yield* sys_read(t, fd, 100, { sum: 0 });
        yield t.sleepFor(100_000);
        seen.close = yield* sys_close(t, fd);
      },
      { cpu: 0, pinned: true },
    );
    k.spawnKernelThread(
      'rmmod',
      function* (t) {
        while (!inRead) yield t.sleepFor(1000);
        yield t.sleepFor(1000);
        seen.removeStart = t.now;
        yield* remove_proc_entry(t, 'mod', null);
        seen.removeEnd = t.now;
      },
      { cpu: 1, pinned: true },
    );
    k.run();
    expect(seen.first).toBe(8);
    expect(seen.second).toBe(-EIO);
    expect(seen.close).toBe(0);
    // Removal returned after the read did, having waited about as long as the read still had to sleep.
    expect(seen.removeEnd as number).toBeGreaterThanOrEqual(seen.firstDone as number);
    expect((seen.removeEnd as number) - (seen.removeStart as number)).toBeGreaterThan(SLEEP - 10_000);
    expect(k.engine.samples.of('remove_proc_entry_wait').count).toBe(1);
    // The remover ran the release (the reader's close found nothing left to do).
    const releases = log.filter((l) => l.startsWith('release@'));
    expect(releases.length).toBe(1);
    expect(Number(releases[0]!.slice(8))).toBeLessThanOrEqual(seen.removeEnd as number);
    expect(k.engine.counters.get('pde_openers_released_by_remove')).toBe(1);
    expect(proc_find(k, 'mod')).toBeNull();
  });
});

describe('proc inodes', () => {
  it('are freed through call_rcu: not before a grace period after the last close', () => {
    const during: number[] = [];
    const k = runProcess(function* (t) {
      const k = t.k;
      const fd = yield* sys_open(t, '/proc/meminfo', O_RDONLY, 0);
      yield* sys_close(t, fd);
      during.push(k.engine.counters.get('proc_inodes_destroyed'), k.engine.counters.get('proc_inodes_freed'));
    });
    expect(during).toEqual([1, 0]);
    expect(k.engine.counters.get('proc_inodes_freed')).toBe(1);
    const a = k.engine.attribution;
    const rcu = a.tree().children.find((c) => c.name === 'softirq');
    expect(rcu?.inclusive ?? 0).toBeGreaterThanOrEqual(k.cfg.kernel.cost.rcu_callback + k.cfg.kernel.cost.kmalloc);
  });
});

describe('files showing the simulator', () => {
  it('/proc/meminfo: MemTotal is the machine, MemFree its free frames', () => {
    let text = '';
    let free = 0;
    const k = runProcess(function* (t) {
      const k = t.k;
      free = k.mem_map.freeCount;
      text = (yield* readText(t, '/proc/meminfo')) as string;
    });
    expect(text).toMatch(new RegExp(`^MemTotal: +${k.cfg.ram_mib * 1024} kB$`, 'm'));
    expect(text).toMatch(new RegExp(`^MemFree: +${free * 4} kB$`, 'm'));
  });

  it('/proc/self/status: VmRSS counts populated pages; /proc/self/maps names a mapped file', () => {
    let status = '';
    let maps = '';
    let pid = 0;
    runProcess(function* (t) {
      pid = (t.data as { pid: number }).pid;
      yield* sys_mmap(t, 0, 16 * 4096, 3, 0x22 | 0x8000, -1, 0);
      const fd = yield* sys_open(t, 'data', O_RDWR | O_CREAT, 0o644);
      yield* sys_mmap(t, 0, 4096, 1, 0x01, fd, 0);
      status = (yield* readText(t, '/proc/self/status')) as string;
      maps = (yield* readText(t, `/proc/${pid}/maps`)) as string;
    });
    expect(status).toMatch(/^VmRSS:\t +64 kB$/m);
    expect(status).toMatch(/^RssAnon:\t +64 kB$/m);
    expect(status).toMatch(new RegExp(`^Pid:\t${pid}$`, 'm'));
    expect(maps).toMatch(new RegExp(`^[0-9a-f]+-[0-9a-f]+ r--s 00000000 00:01 \\d+ +/tmp/kernsim\\.${pid}/data$`, 'm'));
    expect(maps).toMatch(/^[0-9a-f]+-[0-9a-f]+ rw-p 00000000 00:00 0 $/m);
  });
});
