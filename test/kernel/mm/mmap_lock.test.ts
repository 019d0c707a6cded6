/**
 * mmap_lock is a reader-writer semaphore whose contention costs time:
 * threads of one process changing their address space at once wait for
 * each other, and a fault on an area a writer has locked falls back from the
 * per-VMA lock to mmap_lock and waits for the writer.
 */
import { describe, expect, it } from 'vitest';
import { bootKernel } from '../../../src/kernel/boot.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { sys_mmap, sys_munmap } from '../../../src/kernel/mm/mmap.js';
import { sys_mprotect } from '../../../src/kernel/mm/mprotect.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { AddressSpace } from '../../../src/kernel/mm/filemap.js';
import { mmCore } from '../../../src/kernel/mm/core.js';
import { current } from '../../../src/kernel/sched/task_struct.js';
import type { Task } from '../../../src/sim/task.js';
import { PAGE, PRIVATE_ANON, PROT_RW, testConfig } from './helpers.js';

/** `threads` threads (CPUs 0..threads-1) each mapping, touching and unmapping `rounds` times; returns the kernel and when the last finished. */
function churn(threads: number, rounds: number): { k: Kernel; end: number } {
  const k = bootKernel(testConfig((c) => (c.cpus = 4)));
  let end = 0;
  const body = function* (t: Task) {
    const start = t.now;
    for (let i = 0; i < rounds; i++) {
      const a = yield* sys_mmap(t, 0, 8 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, 8 * PAGE, 1)).toBe(0);
      expect(yield* sys_munmap(t, a, 8 * PAGE)).toBe(0);
    }
    end = Math.max(end, t.now - start);
  };
  k.spawnProcess(
    'p',
    function* (t) {
      for (let c = 1; c < threads; c++) k.spawnThread(current(t), `t${c}`, body, { cpu: c, pinned: true });
      yield* body(t);
    },
    { cpu: 0, pinned: true },
  );
  k.run();
  return { k, end };
}

describe('mmap_lock', () => {
  it('threads mapping and unmapping at once contend on it and take longer than one alone', () => {
    const one = churn(1, 20);
    const four = churn(4, 20);
    expect(one.k.engine.counters.get('lock_contended:mmap_lock')).toBe(0);
    expect(four.k.engine.counters.get('lock_contended:mmap_lock')).toBeGreaterThan(0);
    expect(four.end).toBeGreaterThan(one.end);
  });

  it('a fault on an area a writer holds waits on mmap_lock instead of the per-VMA lock', () => {
    const k = bootKernel(testConfig((c) => (c.cpus = 4)));
    const st = { a: 0, ready: false, done: false };
    k.spawnProcess(
      'p',
      function* (t) {
        st.a = yield* sys_mmap(t, 0, 64 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
        yield* fillUser(t, st.a, 64 * PAGE, 1);
        // Threads on CPUs 2 and 3 make the mprotect wait for flush acknowledgements while it holds the lock.
        for (const c of [2, 3]) k.spawnThread(current(t), `busy${c}`, function* (tb) {
          while (!st.done) {
            tb.charge(500);
            yield;
          }
        }, { cpu: c, pinned: true });
        k.spawnThread(current(t), 'faulter', function* (tf) {
          while (!st.ready) yield tf.sleepFor(100);
          for (let i = 0; i < 40 && !st.done; i++) yield* fillUser(tf, st.a + (i % 64) * PAGE, 1, 2);
        }, { cpu: 1, pinned: true });
        st.ready = true;
        for (let i = 0; i < 20; i++) {
          expect(yield* sys_mprotect(t, st.a, 64 * PAGE, i % 2 ? PROT_RW : 1)).toBe(0);
        }
        st.done = true;
      },
      { cpu: 0, pinned: true },
    );
    k.run();
    expect(k.engine.counters.get('vma_lock_abort')).toBeGreaterThan(0);
    expect(k.engine.counters.get('lock_contended:mmap_lock')).toBeGreaterThan(0);
  });
});

describe('locks held across waits', () => {
  it('a COW break keeps the PTE lock while its flush waits: a racing fault sees the copy, never a fresh page', () => {
    const k = bootKernel(testConfig((c) => (c.cpus = 3)));
    const seen = new Set<number>();
    k.spawnProcess(
      'p',
      function* (t) {
        const ts = current(t);
        const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
        yield* fillUser(t, a, PAGE, 1);
        // A child keeps the page shared, so the next write must copy it.
        const child = yield* k.fork(t, ts, function* (ct) {
          yield ct.sleepFor(10_000_000);
          yield* k.exit(ct, current(ct));
        });
        if (typeof child === 'number') throw new Error('fork failed');
        const st = { done: false };
        k.spawnThread(ts, 'reader', function* (tr) {
          while (!st.done) {
            const r = yield* loadUser(tr, a);
            expect(r.sig).toBe(0);
            seen.add(r.value);
            yield;
          }
        }, { cpu: 1, pinned: true });
        yield t.sleepFor(20_000);
        expect(yield* fillUser(t, a, PAGE, 2)).toBe(0);
        yield t.sleepFor(20_000);
        st.done = true;
        checkInvariants(k);
      },
      { cpu: 0, pinned: true },
    );
    k.run();
    expect(k.engine.counters.get('nr_tlb_remote_flush_received')).toBeGreaterThan(0);
    expect([...seen].sort()).toEqual([1, 2]);
    // Without the lock held across the flush, the reader's fault would find the PTE empty and map a zero page (value 0).
  });

  it('munmap waits for a fault that holds the per-VMA lock (here, sleeping on a file read)', () => {
    const k = bootKernel(testConfig((c) => (c.cpus = 2)));
    const order: string[] = [];
    k.spawnProcess(
      'p',
      function* (t) {
        const mapping = new AddressSpace(k, PAGE, { readPage: (_i, pfn, now) => (k.machine.mem.fill(pfn, 0, PAGE, 0), now + 200_000), writePage: (_i, _p, now) => now }, false);
        mmCore(k).hooks.fget = () => ({ mapping, readable: true, writable: false });
        const a = yield* sys_mmap(t, 0, PAGE, 1, 0x02, 3, 0);
        k.spawnThread(current(t), 'unmapper', function* (tu) {
          yield tu.sleepFor(10_000);
          expect(yield* sys_munmap(tu, a, PAGE)).toBe(0);
          order.push('unmapped');
        }, { cpu: 1, pinned: true });
        const r = yield* loadUser(t, a);
        order.push(`loaded ${r.value}`);
      },
      { cpu: 0, pinned: true },
    );
    k.run();
    expect(order).toEqual(['loaded 0', 'unmapped']);
  });
});
