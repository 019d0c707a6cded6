/**
 * Page faults: the zero page for reads (mincore counts it), a copy on the
 * first write, copy-on-write after fork, file pages through the page cache
 * (a major fault sleeps for the backing store), SIGBUS past the end of a
 * file, swap-in of a swap PTE, and the signals of bad accesses.
 */
import { describe, expect, it } from 'vitest';
import { tableIndex } from '../../../src/hw/pagetable.js';
import { makeSwapPte } from '../../../src/kernel/mm/swapops.js';
import { mmCore } from '../../../src/kernel/mm/core.js';
import { SIGBUS, SIGSEGV } from '../../../src/kernel/mm/fault.js';
import { AddressSpace, type BackingStore } from '../../../src/kernel/mm/filemap.js';
import { sys_mincore } from '../../../src/kernel/mm/mincore.js';
import { MAP_PRIVATE, MAP_SHARED, sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { MM_ANONPAGES, MM_SWAPENTS } from '../../../src/kernel/mm/mm_types.js';
import { sys_mprotect } from '../../../src/kernel/mm/mprotect.js';
import { pte_table } from '../../../src/kernel/mm/pgtable.js';
import { swap_writepage_contents } from '../../../src/kernel/mm/swap_io.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { current } from '../../../src/kernel/sched/task_struct.js';
import type { Blocking, Task } from '../../../src/sim/task.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { PAGE, PRIVATE_ANON, PROT_R, PROT_RW, runProcess, testConfig } from './helpers.js';

function* mincoreVec(t: Task, addr: number, len: number): Blocking<string> {
  const out: { out: Uint8Array | null } = { out: null };
  expect(yield* sys_mincore(t, addr, len, out)).toBe(0);
  return [...out.out!].join('');
}

describe('anonymous faults', () => {
  it('a read maps the shared zero page (resident for mincore, no allocation); a write then copies it', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const a = yield* sys_mmap(t, 0, 2 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* mincoreVec(t, a, 2 * PAGE)).toBe('00');
      const allocs = k.engine.counters.get('pgalloc_normal');
      expect(yield* loadUser(t, a)).toEqual({ sig: 0, value: 0 });
      // Page tables (PUD, PMD, PT) were allocated, no data page.
      expect(k.engine.counters.get('pgalloc_normal') - allocs).toBe(3);
      expect(k.machine.mmu.translateFunctional(t.cpu, a)).toBe(mmCore(k).zeroPfn);
      expect(ts.mm!.rss[MM_ANONPAGES]).toBe(0);
      expect(yield* mincoreVec(t, a, 2 * PAGE)).toBe('10');
      expect(yield* fillUser(t, a, 10, 7)).toBe(0);
      const pfn = k.machine.mmu.translateFunctional(t.cpu, a);
      expect(pfn).not.toBe(mmCore(k).zeroPfn);
      expect(k.machine.mem.readByte(pfn, 9)).toBe(7);
      expect(k.machine.mem.readByte(pfn, 10)).toBe(0);
      expect(ts.mm!.rss[MM_ANONPAGES]).toBe(1);
      checkInvariants(k);
    });
  });

  it('after fork, writes copy: each process sees its own data; the last sharer reuses the page', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      yield* fillUser(t, a, PAGE, 1);
      const shared = k.machine.mmu.translateFunctional(t.cpu, a);
      const child = yield* k.fork(t, ts, function* (ct) {
        expect((yield* loadUser(ct, a)).value).toBe(1);
        expect(k.machine.mmu.translateFunctional(ct.cpu, a)).toBe(shared);
        expect(k.mem_map.mapcount[shared]).toBe(2);
        expect(yield* fillUser(ct, a, PAGE, 2)).toBe(0);
        expect(k.machine.mmu.translateFunctional(ct.cpu, a)).not.toBe(shared);
        expect((yield* loadUser(ct, a)).value).toBe(2);
        checkInvariants(k);
        yield* k.exit(ct, current(ct));
      });
      if (typeof child === 'number') throw new Error('fork failed');
      yield t.sleepOn(child.task.exited);
      expect((yield* loadUser(t, a)).value).toBe(1);
      const copies = k.engine.counters.get('cow_faults');
      // The child's copy left the parent the only user: the write reuses the page.
      expect(yield* fillUser(t, a, PAGE, 3)).toBe(0);
      expect(k.engine.counters.get('cow_faults')).toBe(copies);
      expect(k.machine.mmu.translateFunctional(t.cpu, a)).toBe(shared);
      checkInvariants(k);
    }, testConfig((c) => (c.cpus = 1)));
  });

  it('bad accesses give SIGSEGV: no area, a write to a read-only area, PROT_NONE, a kernel address', () => {
    runProcess(function* (t) {
      const a = yield* sys_mmap(t, 0, 2 * PAGE, PROT_R, PRIVATE_ANON, -1, 0);
      expect((yield* loadUser(t, a + 2 * PAGE)).sig).toBe(SIGSEGV);
      expect(yield* fillUser(t, a, 1, 1)).toBe(SIGSEGV);
      expect(yield* sys_mprotect(t, a, PAGE, 0)).toBe(0);
      expect((yield* loadUser(t, a)).sig).toBe(SIGSEGV);
      expect((yield* loadUser(t, a + PAGE)).sig).toBe(0);
      expect((yield* loadUser(t, 2 ** 47 + 5)).sig).toBe(SIGSEGV);
    });
  });

  it('fill writes pages in ascending order: a fault part-way leaves the lower pages written', () => {
    runProcess(function* (t) {
      const a = yield* sys_mmap(t, 2 ** 44, 2 * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, 3 * PAGE, 9)).toBe(SIGSEGV);
      expect((yield* loadUser(t, a + PAGE + 100)).value).toBe(9);
    });
  });
});

/** A file whose page i holds the byte i + 1, read after `latency` cycles. */
function slowFile(k: Kernel, pages: number, latency: number): AddressSpace {
  const store: BackingStore = {
    readPage(index, pfn, now) {
      k.machine.mem.fill(pfn, 0, PAGE, index + 1);
      return now + latency;
    },
    writePage: (_i, _p, now) => now,
  };
  return new AddressSpace(k, pages * PAGE, store, false);
}

describe('file-backed faults', () => {
  it('the first touch reads the page in (a major fault, the task sleeping), later ones find it cached', () => {
    const latency = 50_000;
    runProcess(function* (t) {
      const k = t.k;
      const mapping = slowFile(k, 2, latency);
      mmCore(k).hooks.fget = () => ({ mapping, readable: true, writable: true });
      const a = yield* sys_mmap(t, 0, 2 * PAGE, PROT_R, MAP_PRIVATE, 3, 0);
      expect(yield* mincoreVec(t, a, 2 * PAGE)).toBe('00');
      const idle = k.engine.idle[0]!;
      expect(yield* loadUser(t, a + PAGE)).toEqual({ sig: 0, value: 2 });
      expect(k.engine.counters.get('pgmajfault')).toBe(1);
      // The CPU idled while the read was in flight.
      expect(k.engine.idle[0]! - idle).toBeGreaterThan(latency * 0.9);
      expect(yield* mincoreVec(t, a, 2 * PAGE)).toBe('01');
      const b = yield* sys_mmap(t, 0, 2 * PAGE, PROT_R, MAP_PRIVATE, 3, 0);
      expect((yield* loadUser(t, b + PAGE)).value).toBe(2);
      expect(k.engine.counters.get('pgmajfault')).toBe(1);
      checkInvariants(k);
    });
  });

  it('past the end of the file is SIGBUS; a private write copies, a shared one dirties the cached page', () => {
    runProcess(function* (t) {
      const k = t.k;
      const mapping = slowFile(k, 1, 0);
      mmCore(k).hooks.fget = () => ({ mapping, readable: true, writable: true });
      const p = yield* sys_mmap(t, 0, 2 * PAGE, PROT_RW, MAP_PRIVATE, 3, 0);
      expect((yield* loadUser(t, p + PAGE)).sig).toBe(SIGBUS);
      expect(yield* fillUser(t, p, PAGE, 0x44)).toBe(0);
      const cached = mapping.pages.get(0)!;
      expect(k.machine.mem.readByte(cached, 0)).toBe(1);
      const s = yield* sys_mmap(t, 0, PAGE, PROT_RW, MAP_SHARED, 3, 0);
      expect(yield* fillUser(t, s, 1, 0x55)).toBe(0);
      expect(k.machine.mmu.translateFunctional(t.cpu, s)).toBe(cached);
      expect(k.machine.mem.readByte(cached, 0)).toBe(0x55);
      expect(k.mem_map.flags[cached]! & (1 << 3)).not.toBe(0);
      checkInvariants(k);
    });
  });
});

describe('swap-in', () => {
  it('a swap PTE is read back from the device: a major fault, the data restored', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const core = mmCore(k);
      // The device read path of do_swap_page itself, without a swap cache.
      core.hooks.swapIn = undefined;
      core.hooks.swapCacheLookup = undefined;
      core.hooks.swapFree = undefined;
      const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      yield* fillUser(t, a, PAGE, 0x77);
      // Swap the page out by hand: contents to a slot, a swap entry in the PTE, the frame freed.
      const mm = ts.mm!;
      const pfn = k.machine.mmu.translateFunctional(t.cpu, a);
      const slot = k.swap.allocSlot();
      k.swap.store(slot, swap_writepage_contents(k, pfn));
      const table = pte_table(t, mm, a);
      k.machine.pt.writeEntry(table, tableIndex(a, 1), makeSwapPte(0, slot));
      k.machine.mmu.flushAll(t.cpu);
      k.mem_map.mapcount[pfn] = 0;
      k.mem_map.refcount[pfn] = 0;
      k.mem_map.free(pfn);
      mm.rss[MM_ANONPAGES]!--;
      mm.rss[MM_SWAPENTS]!++;
      checkInvariants(k);
      const start = t.now;
      expect(yield* loadUser(t, a + 100)).toEqual({ sig: 0, value: 0x77 });
      expect(t.now - start).toBeGreaterThanOrEqual(k.swap.serviceTime(false, PAGE));
      expect(k.engine.counters.get('pgmajfault')).toBe(1);
      expect(k.engine.counters.get('pswpin')).toBe(1);
      expect(k.swap.isUsed(slot)).toBe(false);
      expect(mm.rss[MM_SWAPENTS]).toBe(0);
      checkInvariants(k);
    });
  });
});
