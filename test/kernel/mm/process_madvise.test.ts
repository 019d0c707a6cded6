/**
 * process_madvise(2) and pidfd_open(2): the errno of each refusal and the
 * bytes-done result, checked on the host kernel (Linux 6.18) with a small C
 * program before they were written here; and the batched flush: one TLB
 * flush for the whole vector of DONTNEED ranges (Linux 6.16+).
 */
import { describe, expect, it } from 'vitest';
import { EBADF, EFAULT, EINVAL, ENOMEM, EPERM, ESRCH } from '../../../src/kernel/errno.js';
import { sys_open } from '../../../src/kernel/fs/fd_syscalls.js';
import { MADV_COLD, MADV_DONTFORK, MADV_DONTNEED, MADV_FREE, sys_madvise, sys_process_madvise, UIO_MAXIOV, type Iovec } from '../../../src/kernel/mm/madvise.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { sys_munmap } from '../../../src/kernel/mm/munmap.js';
import { accessUserRange, fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import { PIDFD_THREAD, sys_pidfd_open } from '../../../src/kernel/pid.js';
import { bootKernel } from '../../../src/kernel/boot.js';
import { current, type TaskStruct } from '../../../src/kernel/sched/task_struct.js';
import type { Blocking, Task } from '../../../src/sim/task.js';
import { PAGE, PRIVATE_ANON, PROT_RW, runProcess, testConfig } from './helpers.js';

function* byte(t: Task, addr: number): Blocking<number> {
  const r = yield* loadUser(t, addr);
  expect(r.sig).toBe(0);
  return r.value;
}

describe('pidfd_open', () => {
  it('gives a close-on-exec fd naming a thread-group leader; refuses bad flags, pid <= 0, a missing pid, and a non-leader without PIDFD_THREAD', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const thread = k.spawnThread(ts, 'other', (t2) => (function* () { yield t2.sleepFor(1e6); })());
      const fd = yield* sys_pidfd_open(t, ts.pid, 0);
      expect(fd).toBe(3);
      expect(yield* sys_pidfd_open(t, ts.pid, 1)).toBe(-EINVAL);
      expect(yield* sys_pidfd_open(t, 0, 0)).toBe(-EINVAL);
      expect(yield* sys_pidfd_open(t, -1, 0)).toBe(-EINVAL);
      expect(yield* sys_pidfd_open(t, 999999, 0)).toBe(-ESRCH);
      expect(yield* sys_pidfd_open(t, thread.pid, 0)).toBe(-EINVAL);
      expect(yield* sys_pidfd_open(t, thread.pid, PIDFD_THREAD)).toBe(4);
    });
  });
});

describe('process_madvise', () => {
  it('refuses flags, an oversized or unreadable vector, a negative length, a bad or non-pidfd fd, and unknown advice', () => {
    runProcess(function* (t, ts) {
      const a = yield* sys_mmap(t, 0, 16 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      const pfd = yield* sys_pidfd_open(t, ts.pid, 0);
      const nul = yield* sys_open(t, '/dev/null', 0, 0);
      const v: Iovec[] = [{ base: a, len: PAGE }];
      expect(yield* sys_process_madvise(t, pfd, v, 1, MADV_DONTNEED, 1)).toBe(-EINVAL);
      expect(yield* sys_process_madvise(t, pfd, v, UIO_MAXIOV + 1, MADV_DONTNEED, 0)).toBe(-EINVAL);
      expect(yield* sys_process_madvise(t, pfd, null, 1, MADV_DONTNEED, 0)).toBe(-EFAULT);
      expect(yield* sys_process_madvise(t, pfd, [{ base: a, len: -1n }], 1, MADV_DONTNEED, 0)).toBe(-EINVAL);
      expect(yield* sys_process_madvise(t, pfd, [{ base: -4096n, len: PAGE }], 1, MADV_DONTNEED, 0)).toBe(-EFAULT);
      expect(yield* sys_process_madvise(t, 99, v, 1, MADV_DONTNEED, 0)).toBe(-EBADF);
      expect(yield* sys_process_madvise(t, nul, v, 1, MADV_DONTNEED, 0)).toBe(-EBADF);
      expect(yield* sys_process_madvise(t, pfd, v, 1, 12345, 0)).toBe(-EINVAL);
      expect(yield* sys_process_madvise(t, pfd, v, 0, MADV_DONTNEED, 0)).toBe(0);
    });
  });

  it('returns the bytes of the ranges done (lengths as given) up to the first that fails, or that one\'s errno when none was done', () => {
    runProcess(function* (t, ts) {
      const a = yield* sys_mmap(t, 0, 16 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* sys_munmap(t, a + 8 * PAGE, PAGE)).toBe(0);
      expect(yield* fillUser(t, a, 8 * PAGE, 7)).toBe(0);
      const pfd = yield* sys_pidfd_open(t, ts.pid, 0);
      const pm = (v: Iovec[], advice = MADV_DONTNEED) => sys_process_madvise(t, pfd, v, v.length, advice, 0);
      // A hole in the second range: the first is done, the second's ENOMEM stops the vector, the third is not done.
      expect(yield* pm([{ base: a, len: PAGE }, { base: a + 8 * PAGE, len: PAGE }, { base: a + 3 * PAGE, len: PAGE }])).toBe(PAGE);
      expect(yield* byte(t, a)).toBe(0);
      expect(yield* byte(t, a + 3 * PAGE)).toBe(7);
      expect(yield* pm([{ base: a + 8 * PAGE, len: PAGE }])).toBe(-ENOMEM);
      expect(yield* pm([{ base: a, len: PAGE }, { base: a + 1, len: PAGE }])).toBe(PAGE);
      expect(yield* pm([{ base: a, len: 0 }, { base: a + 3 * PAGE, len: PAGE }])).toBe(PAGE);
      expect(yield* pm([{ base: a, len: 100 }, { base: a + 3 * PAGE, len: PAGE }])).toBe(PAGE + 100);
      // Any advice on the caller's own memory, flag advice included.
      expect(yield* pm([{ base: a, len: 2 * PAGE }], MADV_DONTFORK)).toBe(2 * PAGE);
      expect(yield* pm([{ base: a, len: 2 * PAGE }], MADV_FREE)).toBe(2 * PAGE);
    });
  });

  it('on another process: only the non-destructive advice, with CAP_SYS_NICE; ESRCH once it has exited', () => {
    const k = bootKernel(testConfig());
    let other: TaskStruct | null = null;
    let otherDone = false;
    let base = 0;
    const results: number[] = [];
    other = k.spawnProcess('target', (t) => (function* () {
      base = yield* sys_mmap(t, 0, 4 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      while (!otherDone) yield t.sleepFor(10000);
      yield* k.exit(t, current(t));
    })(), { cpu: 1, pinned: true });
    k.spawnProcess('caller', (t) => (function* () {
      yield t.sleepFor(5000);
      const pfd = yield* sys_pidfd_open(t, other!.pid, 0);
      const v: Iovec[] = [{ base, len: PAGE }];
      results.push(yield* sys_process_madvise(t, pfd, v, 1, MADV_DONTNEED, 0));
      results.push(yield* sys_process_madvise(t, pfd, v, 1, MADV_COLD, 0));
      current(t).cred.capSysNice = true;
      results.push(yield* sys_process_madvise(t, pfd, v, 1, MADV_COLD, 0));
      otherDone = true;
      yield t.sleepFor(100000);
      results.push(yield* sys_process_madvise(t, pfd, v, 1, MADV_COLD, 0));
      yield* k.exit(t, current(t));
    })(), { cpu: 0, pinned: true });
    k.run();
    expect(results).toEqual([-EINVAL, -EPERM, PAGE, -ESRCH]);
  });

  it('flushes the TLB once for a whole vector of DONTNEED ranges where madvise flushes once a call', () => {
    const ranges = 8;
    const run = (batched: boolean) => {
      const k = bootKernel(testConfig());
      let stop = false;
      let flushes = 0;
      let full = 0;
      let ipis = 0;
      let zeroes = 0;
      k.spawnProcess('p', (t) => (function* () {
        const ts = current(t);
        // A second thread keeps the mm loaded on CPU 1, so each flush is a shootdown.
        k.spawnThread(ts, 'other', (t2) => (function* () {
          const b = yield* sys_mmap(t2, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
          while (!stop) {
            yield* accessUserRange(t2, b, 16, 0, false);
            if (t2.shouldYield()) yield;
          }
        })(), { cpu: 1, pinned: true });
        yield t.sleepFor(20000);
        const a = yield* sys_mmap(t, 0, 2 * ranges * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
        expect(yield* fillUser(t, a, 2 * ranges * PAGE, 9)).toBe(0);
        const pfd = yield* sys_pidfd_open(t, ts.pid, 0);
        const v: Iovec[] = Array.from({ length: ranges }, (_, i) => ({ base: a + 2 * i * PAGE, len: PAGE }));
        const c0 = k.engine.counters.snapshot();
        const i0 = k.engine.ipi.counters().ipi_sent;
        if (batched) expect(yield* sys_process_madvise(t, pfd, v, ranges, MADV_DONTNEED, 0)).toBe(ranges * PAGE);
        else for (const r of v) expect(yield* sys_madvise(t, r.base as number, PAGE, MADV_DONTNEED)).toBe(0);
        const c1 = k.engine.counters.snapshot();
        flushes = (c1.nr_tlb_remote_flush ?? 0) - (c0.nr_tlb_remote_flush ?? 0);
        full = (c1.tlb_shootdown_full ?? 0) - (c0.tlb_shootdown_full ?? 0);
        ipis = k.engine.ipi.counters().ipi_sent - i0;
        for (let i = 0; i < 2 * ranges; i++) if ((yield* byte(t, a + i * PAGE)) === 0) zeroes++;
        stop = true;
        yield* k.exit(t, ts);
      })(), { cpu: 0, pinned: true });
      k.run();
      return { flushes, full, ipis, zeroes };
    };
    // The vector's ranges span 15 pages, under the 33-page ceiling: one ranged flush, one IPI.
    expect(run(true)).toEqual({ flushes: 1, full: 0, ipis: 1, zeroes: ranges });
    expect(run(false)).toEqual({ flushes: ranges, full: 0, ipis: ranges, zeroes: ranges });
  });
});
