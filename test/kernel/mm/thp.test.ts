/**
 * Transparent huge pages: a fault in a MADV_HUGEPAGE area maps a 2 MiB page
 * with one PMD leaf (one TLB entry for 512 pages), partial zaps split the
 * PMD first, COW after fork splits, MADV_NOHUGEPAGE and PR_SET_THP_DISABLE
 * keep faults small; invariant checks after each step.
 */
import { describe, expect, it } from 'vitest';
import { PTE_PSE, PTE_RW } from '../../../src/hw/pagetable.js';
import { HPAGE_NR, PG_head, PG_tail } from '../../../src/kernel/mm/page_flags.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { current, type TaskStruct } from '../../../src/kernel/sched/task_struct.js';
import { checkInvariants } from '../../../src/kernel/mm/invariants.js';
import { sys_madvise } from '../../../src/kernel/mm/madvise.js';
import { MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE } from '../../../src/kernel/mm/madvise_uapi.js';
import { sys_mmap } from '../../../src/kernel/mm/mmap.js';
import { MM_ANONPAGES, type MmStruct } from '../../../src/kernel/mm/mm_types.js';
import { sys_munmap } from '../../../src/kernel/mm/munmap.js';
import { fillUser, loadUser } from '../../../src/kernel/mm/uaccess.js';
import type { Blocking, Task } from '../../../src/sim/task.js';
import { PAGE, PRIVATE_ANON, PROT_RW, runProcess, testConfig } from './helpers.js';
import { single } from '../../hw/single.js';

const HPAGE = 2 * 1024 * 1024;

/** A private anonymous mapping of `n` 2 MiB-aligned huge-page slots; returns its aligned start. */
function* hugeArea(t: Task, n: number, advice = MADV_HUGEPAGE): Blocking<number> {
  const raw = yield* sys_mmap(t, 0, (n + 1) * HPAGE, PROT_RW, PRIVATE_ANON, -1, 0);
  const a = Math.ceil(raw / HPAGE) * HPAGE;
  expect(yield* sys_madvise(t, a, n * HPAGE, advice)).toBe(0);
  return a;
}

/** The PD entry mapping vaddr if it is a leaf, else 0 (functional). */
function pmdLeaf(k: Kernel, mm: MmStruct, vaddr: number): number {
  const pt = k.machine.pt;
  const e = pt.walkFunctional(mm.pgd, vaddr);
  return pt.walkLevel === 2 && (e & PTE_PSE) !== 0 ? e : 0;
}

function ctr(k: Kernel, name: string): number {
  return k.engine.counters.get(name);
}

describe('THP faults', () => {
  it('a write fault maps a zeroed 2 MiB compound page with one PMD leaf, and 512 pages cost one TLB miss', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const mm = ts.mm!;
      const a = yield* hugeArea(t, 1);
      const free = k.mem_map.freeCount;
      expect(yield* fillUser(t, a + 5 * PAGE, 1, 9)).toBe(0);
      expect(ctr(k, 'thp_fault_alloc')).toBe(1);
      expect(ctr(k, 'thp_fault_fallback')).toBe(0);
      expect(mm.rss[MM_ANONPAGES]).toBe(HPAGE_NR);
      const pmd = pmdLeaf(k, mm, a);
      expect(pmd).not.toBe(0);
      expect(pmd & PTE_RW).toBe(PTE_RW);
      const head = k.machine.mmu.translateFunctional(t.cpu, a);
      expect(head % HPAGE_NR).toBe(0);
      const mem = k.machine.mem;
      const memmap = k.mem_map;
      expect(memmap.flags[head]! & PG_head).toBe(PG_head);
      for (let i = 1; i < HPAGE_NR; i++) expect(memmap.flags[head + i]! & PG_tail).toBe(PG_tail);
      expect(k.machine.mmu.translateFunctional(t.cpu, a + 300 * PAGE)).toBe(head + 300);
      // 512 data frames and the deposited page table (the PD came with the first table walk: PUD + PD).
      expect(free - memmap.freeCount).toBe(HPAGE_NR + 1 + 2);
      expect(mem.readByte(head + 5, 0)).toBe(9);
      expect(mem.readByte(head + 6, 0)).toBe(0);
      checkInvariants(k);
      // One TLB entry serves all 512 pages.
      const mmu = k.machine.mmu;
      mmu.flushAll(t.cpu);
      const before = k.machine.tlb.counters();
      for (let i = 0; i < HPAGE_NR; i++) expect(single(mmu.access(t.cpu, a + i * PAGE, false))).toBeGreaterThanOrEqual(0);
      const after = k.machine.tlb.counters();
      expect(after.stlb_miss! - before.stlb_miss!).toBe(1);
      expect(after.dtlb_l1_miss! - before.dtlb_l1_miss!).toBe(1);
    });
  });

  it('clearing the huge page costs 512 x cost.zero_page under clear_huge_page', () => {
    const k = runProcess(function* (t) {
      const a = yield* hugeArea(t, 1);
      expect(yield* fillUser(t, a, 1, 1)).toBe(0);
    });
    const cleared = k.engine.attribution
      .folded()
      .filter((l) => /;clear_huge_page \d+$/.test(l))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    expect(cleared).toBe(HPAGE_NR * k.cfg.cost.zero_page);
  });

  it('thp=always maps huge pages without MADV_HUGEPAGE; MADV_NOHUGEPAGE and PR_SET_THP_DISABLE keep faults small', () => {
    runProcess(
      function* (t, ts) {
        const k = t.k;
        const a = yield* hugeArea(t, 3, MADV_NOHUGEPAGE);
        expect(yield* fillUser(t, a, 1, 1)).toBe(0);
        expect(ctr(k, 'thp_fault_alloc')).toBe(0);
        expect(yield* sys_madvise(t, a, 3 * HPAGE, MADV_HUGEPAGE)).toBe(0);
        expect(yield* fillUser(t, a + HPAGE, 1, 1)).toBe(0);
        expect(ctr(k, 'thp_fault_alloc')).toBe(1);
        // The first slot already has a PT table: it stays small.
        expect(pmdLeaf(k, ts.mm!, a)).toBe(0);
        ts.mm!.thpDisabled = true;
        expect(yield* fillUser(t, a + 2 * HPAGE, 1, 1)).toBe(0);
        expect(ctr(k, 'thp_fault_alloc')).toBe(1);
        checkInvariants(k);
      },
      testConfig((c) => {
        c.kernel.thp = 'always';
      }),
    );
  });

  it('without 512 free contiguous frames the fault falls back to a small page (thp_fault_fallback)', () => {
    runProcess(
      function* (t, ts) {
        const k = t.k;
        const a = yield* hugeArea(t, 1);
        // Take every never-used frame so no aligned block is left.
        const memmap = k.mem_map;
        const held: number[] = [];
        for (;;) {
          const p = memmap.alloc();
          if (p < 0) break;
          held.push(p);
        }
        // Give back a few scattered frames: enough for small pages, no whole block.
        for (let i = 0; i < 64; i++) {
          const p = held[i * 7]!;
          memmap.free(p);
        }
        expect(yield* fillUser(t, a, 1, 1)).toBe(0);
        expect(ctr(k, 'thp_fault_fallback')).toBe(1);
        expect(ctr(k, 'thp_fault_alloc')).toBe(0);
        expect(ts.mm!.rss[MM_ANONPAGES]).toBe(1);
      },
      testConfig((c) => {
        c.ram_mib = 16;
        c.kernel.min_free_kbytes = 0;
      }),
    );
  });
});

describe('THP splits', () => {
  it('DONTNEED of one page splits the PMD into 512 PTEs (thp_split_pmd) and keeps the other pages\' data', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const mm = ts.mm!;
      const a = yield* hugeArea(t, 1);
      for (let i = 0; i < 4; i++) expect(yield* fillUser(t, a + i * PAGE, PAGE, 10 + i)).toBe(0);
      const head = k.machine.mmu.translateFunctional(t.cpu, a);
      expect(yield* sys_madvise(t, a + PAGE, PAGE, MADV_DONTNEED)).toBe(0);
      expect(ctr(k, 'thp_split_pmd')).toBe(1);
      expect(pmdLeaf(k, mm, a)).toBe(0);
      expect(mm.rss[MM_ANONPAGES]).toBe(HPAGE_NR - 1);
      expect(k.machine.mmu.translateFunctional(t.cpu, a + 2 * PAGE)).toBe(head + 2);
      expect((yield* loadUser(t, a)).value).toBe(10);
      expect((yield* loadUser(t, a + PAGE)).value).toBe(0);
      expect((yield* loadUser(t, a + 2 * PAGE)).value).toBe(12);
      expect((yield* loadUser(t, a + 3 * PAGE + 100)).value).toBe(13);
      // Each frame is accounted on its own: the zapped one is free at once (Linux frees it at the deferred split).
      expect(k.mem_map.isFree(head + 1)).toBe(true);
      checkInvariants(k);
    });
  });

  it('DONTNEED and munmap of the whole 2 MiB zap the PMD without a split and free the frames', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const mm = ts.mm!;
      const a = yield* hugeArea(t, 2);
      const free0 = k.mem_map.freeCount;
      expect(yield* fillUser(t, a, 2 * HPAGE, 3)).toBe(0);
      expect(ctr(k, 'thp_fault_alloc')).toBe(2);
      expect(yield* sys_madvise(t, a, HPAGE, MADV_DONTNEED)).toBe(0);
      expect(mm.rss[MM_ANONPAGES]).toBe(HPAGE_NR);
      checkInvariants(k);
      expect(yield* sys_munmap(t, a + HPAGE, HPAGE)).toBe(0);
      expect(ctr(k, 'thp_split_pmd')).toBe(0);
      expect(mm.rss[MM_ANONPAGES]).toBe(0);
      checkInvariants(k);
      // Every data frame and deposited table is back (the PT tables the walk made may remain).
      expect(k.mem_map.freeCount).toBeGreaterThanOrEqual(free0 - 3);
    });
  });

  it('munmap of part of a huge page splits it and frees only that part', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const mm = ts.mm!;
      const a = yield* hugeArea(t, 1);
      expect(yield* fillUser(t, a, HPAGE, 4)).toBe(0);
      expect(yield* sys_munmap(t, a + HPAGE / 2, HPAGE / 2)).toBe(0);
      expect(ctr(k, 'thp_split_pmd')).toBe(1);
      expect(mm.rss[MM_ANONPAGES]).toBe(HPAGE_NR / 2);
      expect((yield* loadUser(t, a + HPAGE / 2 - 1)).value).toBe(4);
      checkInvariants(k);
    });
  });

  it('a write after fork splits the PMD in the writer (COW of one 4 KiB page); both see their own data', () => {
    runProcess(function* (t, ts) {
      const k = t.k;
      const a = yield* hugeArea(t, 1);
      expect(yield* fillUser(t, a, HPAGE, 7)).toBe(0);
      const head = k.machine.mmu.translateFunctional(t.cpu, a);
      const child = yield* k.fork(t, ts, function* (ct) {
        expect((yield* loadUser(ct, a + 100 * PAGE)).value).toBe(7);
        expect(k.machine.mmu.translateFunctional(ct.cpu, a + 100 * PAGE)).toBe(head + 100);
        expect(yield* fillUser(ct, a + 100 * PAGE, 1, 8)).toBe(0);
        expect(ctr(k, 'thp_split_pmd')).toBe(1);
        expect((yield* loadUser(ct, a + 100 * PAGE)).value).toBe(8);
        expect(k.machine.mmu.translateFunctional(ct.cpu, a + 100 * PAGE)).not.toBe(head + 100);
        expect(k.machine.mmu.translateFunctional(ct.cpu, a + 101 * PAGE)).toBe(head + 101);
        checkInvariants(k);
        yield* k.exit(ct, current(ct));
      });
      expect(typeof child).not.toBe('number');
      yield t.sleepOn((child as TaskStruct).task.exited);
      // The parent's PMD is still a (write-protected) leaf; its write reuses the page in place once the child is gone.
      expect(pmdLeaf(k, ts.mm!, a)).not.toBe(0);
      expect((yield* loadUser(t, a + 100 * PAGE)).value).toBe(7);
      const m = k.mem_map;
      const odd: string[] = [];
      for (let i = 0; i < HPAGE_NR; i++) if (m.refcount[head + i] !== 1) odd.push(`${i}:${m.refcount[head + i]}/${m.mapcount[head + i]}`);
      expect(odd).toEqual([]);
      expect(yield* fillUser(t, a + 100 * PAGE, 1, 6)).toBe(0);
      expect(ctr(k, 'thp_split_pmd')).toBe(1);
      expect(pmdLeaf(k, ts.mm!, a) & PTE_RW).toBe(PTE_RW);
      checkInvariants(k);
    });
  });
});
