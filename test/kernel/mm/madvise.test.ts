/**
 * madvise DONTNEED and FREE on the kernel: what reads back, what is freed and
 * when, what the lazy-free path does to PTEs, page flags and lists, how
 * reclaim treats lazily freed pages, and where the cycles are attributed.
 */
import { describe, expect, it } from 'vitest';
import { PTE_ACCESSED, PTE_DIRTY } from '../../../src/hw/pagetable.js';
import { PG_swapbacked } from '../../../src/kernel/mm/page_flags.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { EINVAL } from '../../../src/kernel/errno.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { try_to_free_pages } from '../../../src/kernel/mm/kswapd.js';
import { count_lazyfree_mapped } from '../../../src/kernel/mm/madvise_behavior.js';
import { MADV_DONTNEED, MADV_FREE, sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { sys_mlock } from '../../../src/kernel/mm/mlock.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import type { MmStruct } from '../../../src/kernel/mm/mm_types.js';
import type { Blocking, Task } from "../../../src/sim/task.js";
import { PAGE, PRIVATE_ANON, PROT_RW, SHARED_ANON, runProcess, testConfig } from './helpers.js';

/** The PTE mapping `addr` (functional walk, no cycles). */
function pteOf(k: Kernel, mm: MmStruct, addr: number): number {
  const pt = k.machine.pt;
  pt.translateFunctional(mm.pgd, addr);
  return pt.walkTable < 0 ? 0 : pt.readEntry(pt.walkTable, pt.walkIndex);
}

/** Inclusive cycles of the node at `path` below the root, 0 if absent. */
function cyclesAt(k: Kernel, path: string[]): number {
  let node = k.engine.attribution.tree();
  for (const name of path) {
    const next = node.children.find((c) => c.name === name);
    if (!next) return 0;
    node = next;
  }
  return node.inclusive;
}

function* load(t: Task, addr: number): Blocking<number> {
  const r = yield* loadUser(t, addr);
  expect(r.sig).toBe(0);
  return r.value;
}

describe('MADV_DONTNEED', () => {
  it('zaps private anonymous pages: they read back zero, their frames are freed, the cost sits under madvise_dontneed_free', () => {
    const n = 16;
    let freedDuring = 0;
    const k = runProcess(function* (t, ts) {
      const k = t.k;
      const a = yield* sys_mmap(t, 0, n * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, n * PAGE, 7)).toBe(0);
      const free0 = k.mem_map.freeCount;
      expect(yield* sys_madvise(t, a, n * PAGE, MADV_DONTNEED)).toBe(0);
      freedDuring = k.mem_map.freeCount - free0;
      expect(ts.mm!.rssPages).toBe(0);
      for (let i = 0; i < n; i++) expect(yield* load(t, a + i * PAGE)).toBe(0);
      checkInvariants(k);
    });
    // The data pages come back (page tables stay: DONTNEED does not free them).
    expect(freedDuring).toBe(n);
    const base = ['syscall:madvise', 'madvise_dontneed_free', 'zap_page_range_single'];
    expect(cyclesAt(k, base)).toBeGreaterThan(0);
    expect(cyclesAt(k, [...base, 'unmap_page_range'])).toBeGreaterThan(0);
    // The call's one gather is flushed and freed after the walk (madvise_finish_tlb), as Linux 6.16+ does.
    expect(cyclesAt(k, ['syscall:madvise', 'tlb_finish_mmu'])).toBeGreaterThan(0);
  });

  it('is EINVAL on locked memory and keeps the data', () => {
    runProcess(function* (t) {
      const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, PAGE, 7)).toBe(0);
      expect(yield* sys_mlock(t, a, PAGE)).toBe(0);
      expect(yield* sys_madvise(t, a, PAGE, MADV_DONTNEED)).toBe(-EINVAL);
      expect(yield* load(t, a)).toBe(7);
    });
  });
});

describe('MADV_FREE', () => {
  it('without pressure keeps the data and the frames, makes the PTEs clean and old, and moves the pages to the lazy-free list', () => {
    const n = 8;
    const k = runProcess(function* (t, ts) {
      const k = t.k;
      const mm = ts.mm!;
      const a = yield* sys_mmap(t, 0, n * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, n * PAGE, 7)).toBe(0);
      expect(pteOf(k, mm, a) & PTE_DIRTY).toBe(PTE_DIRTY);
      const free0 = k.mem_map.freeCount;
      const faults0 = k.engine.counters.snapshot().pgfault ?? 0;
      expect(yield* sys_madvise(t, a, n * PAGE, MADV_FREE)).toBe(0);
      expect(k.mem_map.freeCount).toBe(free0);
      for (let i = 0; i < n; i++) {
        expect(pteOf(k, mm, a + i * PAGE) & (PTE_DIRTY | PTE_ACCESSED)).toBe(0);
        const pfn = k.machine.pt.translateFunctional(mm.pgd, a + i * PAGE);
        expect(k.mem_map.flags[pfn]! & PG_swapbacked).toBe(0);
      }
      expect(count_lazyfree_mapped(mm, a, a + n * PAGE)).toBe(n);
      expect(k.engine.counters.snapshot().pglazyfree).toBe(n);
      for (let i = 0; i < n; i++) expect(yield* load(t, a + i * PAGE)).toBe(7);
      // No refault: the pages were never unmapped.
      expect(k.engine.counters.snapshot().pgfault ?? 0).toBe(faults0);
      checkInvariants(k);
    });
    const base = ['syscall:madvise', 'madvise_dontneed_free', 'madvise_free_single_vma'];
    expect(cyclesAt(k, [...base, 'madvise_free_pte_range'])).toBeGreaterThan(0);
    expect(cyclesAt(k, ['syscall:madvise', 'tlb_finish_mmu'])).toBeGreaterThan(0);
  });

  it('a write after FREE sets the dirty bit again through the flushed TLB', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const mm = ts.mm!;
      const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, PAGE, 7)).toBe(0);
      expect(yield* sys_madvise(t, a, PAGE, MADV_FREE)).toBe(0);
      expect(yield* fillUser(t, a, 1, 8)).toBe(0);
      expect(pteOf(k, mm, a) & PTE_DIRTY).toBe(PTE_DIRTY);
    });
  });

  it('under reclaim, clean lazy-free pages are discarded without I/O (zero afterwards) and rewritten ones keep their data', () => {
    const n = 8;
    runProcess(function* (t, ts) {
      const k = t.k;
      const mm = ts.mm!;
      const a = yield* sys_mmap(t, 0, n * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, n * PAGE, 7)).toBe(0);
      expect(yield* sys_madvise(t, a, n * PAGE, MADV_FREE)).toBe(0);
      // Pages 0 and 1 are written again: they must survive.
      expect(yield* fillUser(t, a, 2 * PAGE, 9)).toBe(0);
      const before = k.engine.counters.snapshot();
      for (let i = 0; i < 20 && count_lazyfree_mapped(mm, a, a + n * PAGE) > 0; i++) yield* try_to_free_pages(t, 1024);
      const after = k.engine.counters.snapshot();
      expect((after.pglazyfreed ?? 0) - (before.pglazyfreed ?? 0)).toBe(n - 2);
      expect((after.pswpout ?? 0) - (before.pswpout ?? 0)).toBe(0);
      expect(yield* load(t, a)).toBe(9);
      expect(yield* load(t, a + PAGE)).toBe(9);
      for (let i = 2; i < n; i++) expect(yield* load(t, a + i * PAGE)).toBe(0);
      checkInvariants(k);
    }, testConfig((c) => (c.kernel.swapon = false)));
  });

  it('is EINVAL on shared anonymous and locked memory', () => {
    runProcess(function* (t) {
      const s = yield* sys_mmap(t, 0, PAGE, PROT_RW, SHARED_ANON, -1, 0);
      expect(yield* sys_madvise(t, s, PAGE, MADV_FREE)).toBe(-EINVAL);
      const a = yield* sys_mmap(t, 0, PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
      expect(yield* fillUser(t, a, PAGE, 7)).toBe(0);
      expect(yield* sys_mlock(t, a, PAGE)).toBe(0);
      expect(yield* sys_madvise(t, a, PAGE, MADV_FREE)).toBe(-EINVAL);
      expect(yield* load(t, a)).toBe(7);
    });
  });

  it('costs less than DONTNEED plus the refaults when the memory is reused', () => {
    const n = 64;
    const cost = (advice: number): { call: number; reuse: number; faults: number } => {
      const out = { call: 0, reuse: 0, faults: 0 };
      runProcess(function* (t) {
        const k = t.k;
        const a = yield* sys_mmap(t, 0, n * PAGE, PROT_RW, PRIVATE_ANON, -1, 0);
        expect(yield* fillUser(t, a, n * PAGE, 7)).toBe(0);
        const f0 = k.engine.counters.snapshot().pgfault ?? 0;
        let t0 = t.now;
        expect(yield* sys_madvise(t, a, n * PAGE, advice)).toBe(0);
        out.call = t.now - t0;
        t0 = t.now;
        expect(yield* fillUser(t, a, n * PAGE, 8)).toBe(0);
        out.reuse = t.now - t0;
        out.faults = (k.engine.counters.snapshot().pgfault ?? 0) - f0;
      });
      return out;
    };
    const dn = cost(MADV_DONTNEED);
    const fr = cost(MADV_FREE);
    expect(dn.faults).toBe(n);
    expect(fr.faults).toBe(0);
    expect(fr.call + fr.reuse).toBeLessThan(dn.call + dn.reuse);
  });
});
