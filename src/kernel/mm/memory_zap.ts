/**
 * Unmapping, after the zap_* and free_pgtables parts of mm/memory.c:
 * unmap_page_range clears the PTEs of a range, drops each page's mapcount
 * and hands the page to the mmu_gather (which frees it only after the TLB
 * flush); free_pgtables frees the page tables a removed range no longer
 * needs, within the floor and ceiling its neighbours leave.
 */
import { PTE_DIRTY, PTE_PRESENT, PTE_PSE, ptePfn, tableIndex } from '../../hw/pagetable.js';
import { isSwapPte, swapOffset, swapType } from './swapops.js';
import { HPAGE_NR, PG_anon, PG_mlocked } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { mmCore } from './core.js';
import type { AddressSpace } from './filemap.js';
import { set_page_dirty } from './filemap.js';
import { is_pte_marker, is_special_swap_pte } from './guard.js';
import { mm_counter, vm_normal_page } from './memory.js';
import { MM_SWAPENTS, PAGE_SIZE, PMD_SIZE, PUD_SIZE, PGDIR_SIZE, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { MAX_GATHER_BATCH, MAX_GATHER_BATCH_COUNT, MMU_GATHER_BUNDLE, tlb_finish_mmu, tlb_flush_mmu, tlb_flush_pte_range, tlb_gather_mmu, tlb_remove_page, tlb_remove_table, type MmuGather } from './mmu_gather.js';
import { split_huge_pmd, zap_huge_pmd } from './huge_memory.js';
import { is_hugetlb_file, unmap_hugepage_range } from './hugetlb.js';
import { ptl_wait, pte_lock, pte_present_k, pte_unlock, ptep_get, ptep_get_and_clear, set_pte_at } from './pgtable.js';
import { folio_remove_rmap_pte } from './rmap.js';

const CAT_UNMAP_PAGE_RANGE = intern('unmap_page_range');
const CAT_ZAP_PTE_RANGE = intern('zap_pte_range');
const CAT_ZAP_PAGE_RANGE_SINGLE = intern('zap_page_range_single');
const CAT_FREE_PGTABLES = intern('free_pgtables');

/** Bytes one entry spans at each level (index = level: 1 PT ... 4 PML4). */
const LEVEL_SPAN = [0, PAGE_SIZE, PMD_SIZE, PUD_SIZE, PGDIR_SIZE];

/** struct zap_details: restrict a zap to one file's pages (truncation), optionally sparing private COW copies. */
export interface ZapDetails {
  mapping: AddressSpace | null;
  evenCows: boolean;
  /** ZAP_FLAG_DROP_MARKER: clear PTE markers (guard pages) too; a zap without details (munmap, exit) always does. */
  dropMarkers?: boolean;
}

/** zap_drop_markers/should_zap_folio: may this page be zapped under `details`? */
function shouldZapPage(k: Kernel, details: ZapDetails | null, pfn: number): boolean {
  if (!details) return true;
  if ((k.mem_map.flags[pfn]! & PG_anon) !== 0) return details.evenCows;
  return true;
}

/** Drop one swap entry's use by a page table (free_swap_and_cache). */
function freeSwapEntry(t: Task, pte: number): void {
  const k = t.k;
  const core = mmCore(k);
  if (core.hooks.swapFree) core.hooks.swapFree(t, swapType(pte), swapOffset(pte));
  else if (k.swap.isUsed(swapOffset(pte))) k.swap.freeSlot(swapOffset(pte));
}

/**
 * zap_pte_range(): clear the PTEs of one table in [addr, end). When the
 * gather fills up it flushes (and frees) before going on, as the kernel's
 * forced flush does.
 */
function* zapPteRange(t: Task, tlb: MmuGather, vma: VmAreaStruct, table: number, addr: number, end: number, details: ZapDetails | null): Blocking<void> {
  const mm = vma.vmMm;
  const k = mm.k;
  const memmap = k.mem_map;
  t.enter(CAT_ZAP_PTE_RANGE);
  while (addr < end) {
    let force = false;
    yield* ptl_wait(t, mm, table);
    pte_lock(t, mm, table);
    for (; addr < end; addr += PAGE_SIZE) {
      const idx = tableIndex(addr, 1);
      const pte = ptep_get(t, mm, table, idx);
      if (pte === 0) continue;
      if (pte_present_k(pte)) {
        const pfn = vm_normal_page(k, pte);
        if (pfn >= 0 && !shouldZapPage(k, details, pfn)) continue;
        ptep_get_and_clear(t, mm, table, idx);
        if ((pte & PTE_PRESENT) !== 0) tlb_flush_pte_range(tlb, addr, PAGE_SIZE);
        if (pfn < 0) continue;
        if ((memmap.flags[pfn]! & PG_anon) === 0 && (pte & PTE_DIRTY) !== 0) set_page_dirty(k, pfn);
        mm.rss[mm_counter(k, pfn)]!--;
        folio_remove_rmap_pte(t, pfn);
        if (memmap.mapcount[pfn] === 0) memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_mlocked) >>> 0;
        if (tlb_remove_page(t, tlb, pfn)) {
          force = true;
          addr += PAGE_SIZE;
          break;
        }
      } else if (is_special_swap_pte(pte)) {
        // zap_drop_markers(): DONTNEED and truncation keep guard pages; munmap and exit drop them. Hwpoison entries just go.
        if (is_pte_marker(pte) && details && !details.dropMarkers) continue;
        set_pte_at(t, mm, table, idx, 0);
      } else if (isSwapPte(pte)) {
        if (details && !details.evenCows) continue;
        set_pte_at(t, mm, table, idx, 0);
        mm.rss[MM_SWAPENTS]!--;
        freeSwapEntry(t, pte);
      } else {
        // A marker entry (a guard page, an uffd marker): just clear it.
        set_pte_at(t, mm, table, idx, 0);
      }
    }
    pte_unlock(t, mm, table);
    if (force) yield* tlb_flush_mmu(t, tlb);
  }
  t.leave();
}

/**
 * Visits every PT table under [start, end) from the top (pgd_offset,
 * pud_offset, pmd_offset), charging each upper entry read once, and calls
 * fn(table, addr, next) for the part of the range each table covers.
 * Yields at PMD boundaries when the task's window is used up (cond_resched).
 */
export function* walk_pte_tables(
  t: Task,
  mm: MmStruct,
  start: number,
  end: number,
  fn: (table: number, addr: number, next: number) => Blocking<void>,
  huge?: HugePmdVisit,
): Blocking<void> {
  yield* walkLevel(t, mm, mm.pgd, 4, start, end, fn, huge);
}

/**
 * What a walk does with a PMD leaf its range covers whole (zap_huge_pmd,
 * copy_huge_pmd). A leaf covered in part, or met by a walk without one,
 * is split first (split_huge_pmd) and its PTEs visited.
 */
export type HugePmdVisit = (pdTable: number, idx: number, haddr: number) => Blocking<void>;

function* walkLevel(
  t: Task,
  mm: MmStruct,
  table: number,
  level: number,
  start: number,
  end: number,
  fn: (table: number, addr: number, next: number) => Blocking<void>,
  huge?: HugePmdVisit,
): Blocking<void> {
  const span = LEVEL_SPAN[level]!;
  let addr = start;
  while (addr < end) {
    const next = Math.min(Math.floor(addr / span) * span + span, end);
    let e = ptep_get(t, mm, table, tableIndex(addr, level));
    if ((e & PTE_PRESENT) !== 0 && (e & PTE_PSE) !== 0) {
      if (level !== 2) throw new Error(`walk_pte_tables: 1 GiB mapping at 0x${addr.toString(16)}`);
      const haddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
      const idx = tableIndex(addr, 2);
      if (huge && addr === haddr && next === haddr + PMD_SIZE) {
        yield* huge(table, idx, haddr);
        if (t.shouldYield()) yield;
        addr = next;
        continue;
      }
      yield* split_huge_pmd(t, mm, table, idx, haddr);
      e = ptep_get(t, mm, table, idx);
    }
    if ((e & PTE_PRESENT) !== 0) {
      if (level === 2) {
        yield* fn(ptePfn(e), addr, next);
        if (t.shouldYield()) yield;
      } else yield* walkLevel(t, mm, ptePfn(e), level - 1, addr, next, fn, huge);
    }
    addr = next;
  }
}

/** unmap_page_range(): zap [start, end) of one area. */
export function* unmap_page_range(t: Task, tlb: MmuGather, vma: VmAreaStruct, start: number, end: number, details: ZapDetails | null): Blocking<void> {
  t.enter(CAT_UNMAP_PAGE_RANGE);
  const mm = vma.vmMm;
  yield* walk_pte_tables(t, mm, start, end, (table, a, n) => zapPteRange(t, tlb, vma, table, a, n, details), (pd, idx, haddr) => zapHugePmd(t, tlb, mm, pd, idx, haddr, details));
  t.leave();
}

/**
 * A PMD leaf inside a zap (zap_huge_pmd). A module-level generator, not a
 * closure: calling a generator function made afresh per call costs the host
 * microseconds (each new one makes its own prototype object and shape).
 */
function* zapHugePmd(t: Task, tlb: MmuGather, mm: MmStruct, pd: number, idx: number, haddr: number, details: ZapDetails | null): Blocking<void> {
  // zap_huge_pmd: anonymous THP only, so a zap sparing private copies leaves it.
  if (details && !details.evenCows) return;
  zap_huge_pmd(t, mm, pd, idx, (head) => {
    tlb_remove_page(t, tlb, head);
    for (let i = 1; i < HPAGE_NR; i++) tlb.pages.push(head + i);
  });
  tlb_flush_pte_range(tlb, haddr, PMD_SIZE);
  if (tlb.pages.length >= MMU_GATHER_BUNDLE + MAX_GATHER_BATCH_COUNT * MAX_GATHER_BATCH) yield* tlb_flush_mmu(t, tlb);
}

/** unmap_single_vma(): the part of [start, end) inside the area. */
export function* unmap_single_vma(t: Task, tlb: MmuGather, vma: VmAreaStruct, start: number, end: number, details: ZapDetails | null): Blocking<void> {
  const s = Math.max(vma.vmStart, start);
  const e = Math.min(vma.vmEnd, end);
  if (s >= e) return;
  // __unmap_hugepage_range(): huge page leaves, their pages dropped whole.
  if (is_hugetlb_file(vma.vmFile)) unmap_hugepage_range(t, tlb, vma, s, e);
  else yield* unmap_page_range(t, tlb, vma, s, e, details);
}

/** unmap_vmas(): zap every area of a list over [start, end). */
export function* unmap_vmas(t: Task, tlb: MmuGather, vmas: readonly VmAreaStruct[], start: number, end: number): Blocking<void> {
  for (const vma of vmas) yield* unmap_single_vma(t, tlb, vma, start, end, null);
}

/**
 * zap_page_range_single(): zap part of one area with its own gather and
 * flush (MADV_DONTNEED, truncation); the pages are freed once every CPU has
 * flushed.
 */
export function* zap_page_range_single(t: Task, vma: VmAreaStruct, addr: number, size: number, details: ZapDetails | null): Blocking<void> {
  t.enter(CAT_ZAP_PAGE_RANGE_SINGLE);
  const tlb = tlb_gather_mmu(t, vma.vmMm);
  yield* unmap_single_vma(t, tlb, vma, addr, addr + size, details);
  yield* tlb_finish_mmu(t, tlb);
  t.leave();
}

/**
 * zap_page_range_single_batched(): zap part of one area into the caller's
 * gather, which flushes and frees later (madvise's batched DONTNEED: one
 * flush for every range of the call).
 */
export function* zap_page_range_single_batched(t: Task, tlb: MmuGather, vma: VmAreaStruct, addr: number, size: number, details: ZapDetails | null): Blocking<void> {
  t.enter(CAT_ZAP_PAGE_RANGE_SINGLE);
  yield* unmap_single_vma(t, tlb, vma, addr, addr + size, details);
  t.leave();
}

/**
 * unmap_mapping_range(): zap every mapping of the file's pages from page
 * `firstIndex` on (to the end when nr is 0), in every area mapping it.
 */
export function* unmap_mapping_range(t: Task, mapping: AddressSpace, firstIndex: number, nr: number, evenCows: boolean): Blocking<void> {
  const lastIndex = nr === 0 ? Infinity : firstIndex + nr - 1;
  const details: ZapDetails = { mapping, evenCows };
  for (const vma of [...mapping.iMmap]) {
    const vFirst = vma.vmPgoff;
    const vLast = vma.vmPgoff + vma.pages - 1;
    if (vLast < firstIndex || vFirst > lastIndex) continue;
    const zFirst = Math.max(vFirst, firstIndex);
    const zLast = Math.min(vLast, lastIndex);
    const start = vma.vmStart + (zFirst - vma.vmPgoff) * PAGE_SIZE;
    yield* zap_page_range_single(t, vma, start, (zLast - zFirst + 1) * PAGE_SIZE, details);
  }
}

// ---- free_pgtables ----

/** The kernel's "ceiling - 1" with ceiling 0 meaning the top of the address space (unsigned wrap). */
function minus1(x: number): number {
  return x === 0 ? Infinity : x - 1;
}

/** Clear the entry at `idx` of `table` and queue the child table for freeing after the flush. */
function freeChild(t: Task, tlb: MmuGather, mm: MmStruct, table: number, idx: number, child: number): void {
  set_pte_at(t, mm, table, idx, 0);
  tlb_remove_table(tlb, child);
  mm.pgtablesBytes -= PAGE_SIZE;
}

function freePmdRange(t: Task, tlb: MmuGather, mm: MmStruct, pudTable: number, pudIdx: number, pmdTable: number, addr: number, end: number, floor: number, ceiling: number): void {
  const start = addr;
  while (addr < end) {
    const next = Math.min(Math.floor(addr / PMD_SIZE) * PMD_SIZE + PMD_SIZE, end);
    const idx = tableIndex(addr, 2);
    const e = ptep_get(t, mm, pmdTable, idx);
    // free_pte_range: the PT table goes whole.
    if ((e & PTE_PRESENT) !== 0) freeChild(t, tlb, mm, pmdTable, idx, ptePfn(e));
    addr = next;
  }
  const s = Math.floor(start / PUD_SIZE) * PUD_SIZE;
  if (s < floor) return;
  if (ceiling !== 0) {
    ceiling = Math.floor(ceiling / PUD_SIZE) * PUD_SIZE;
    if (ceiling === 0) return;
  }
  if (end - 1 > minus1(ceiling)) return;
  freeChild(t, tlb, mm, pudTable, pudIdx, pmdTable);
}

function freePudRange(t: Task, tlb: MmuGather, mm: MmStruct, pgdIdx: number, pudTable: number, addr: number, end: number, floor: number, ceiling: number): void {
  const start = addr;
  while (addr < end) {
    const next = Math.min(Math.floor(addr / PUD_SIZE) * PUD_SIZE + PUD_SIZE, end);
    const idx = tableIndex(addr, 3);
    const e = ptep_get(t, mm, pudTable, idx);
    if ((e & PTE_PRESENT) !== 0) freePmdRange(t, tlb, mm, pudTable, idx, ptePfn(e), addr, next, floor, ceiling);
    addr = next;
  }
  // The p4d level is folded into the pgd on 4-level paging: its check frees the PUD table itself.
  const s = Math.floor(start / PGDIR_SIZE) * PGDIR_SIZE;
  if (s < floor) return;
  if (ceiling !== 0) {
    ceiling = Math.floor(ceiling / PGDIR_SIZE) * PGDIR_SIZE;
    if (ceiling === 0) return;
  }
  if (end - 1 > minus1(ceiling)) return;
  freeChild(t, tlb, mm, mm.pgd, pgdIdx, pudTable);
}

/**
 * free_pgd_range(): free the tables that only map [addr, end), leaving those
 * that may still map something below floor or at/above ceiling (0: none).
 */
export function free_pgd_range(t: Task, tlb: MmuGather, addr: number, end: number, floor: number, ceiling: number): void {
  const mm = tlb.mm;
  addr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  if (addr < floor) addr += PMD_SIZE;
  if (ceiling !== 0) {
    ceiling = Math.floor(ceiling / PMD_SIZE) * PMD_SIZE;
    if (ceiling === 0) return;
  }
  if (end - 1 > minus1(ceiling)) end -= PMD_SIZE;
  if (addr > end - 1) return;
  while (addr < end) {
    const next = Math.min(Math.floor(addr / PGDIR_SIZE) * PGDIR_SIZE + PGDIR_SIZE, end);
    const idx = tableIndex(addr, 4);
    const e = ptep_get(t, mm, mm.pgd, idx);
    if ((e & PTE_PRESENT) !== 0) freePudRange(t, tlb, mm, idx, ptePfn(e), addr, next, floor, ceiling);
    addr = next;
  }
}

/**
 * free_pgtables(): for areas being removed (sorted, already unlinked from the
 * tree), free their page tables, grouping areas closer than a PMD; `floor`
 * is the end of the area below them (0: none) and `ceiling` the start of the
 * one above (0: none). The areas are also unlinked from their anon_vmas and
 * files, as the kernel does here.
 */
export function free_pgtables(t: Task, tlb: MmuGather, vmas: readonly VmAreaStruct[], floor: number, ceiling: number, unlink: (vma: VmAreaStruct) => void): void {
  t.enter(CAT_FREE_PGTABLES);
  let i = 0;
  while (i < vmas.length) {
    let vma = vmas[i]!;
    const addr = vma.vmStart;
    unlink(vma);
    i++;
    while (i < vmas.length && vmas[i]!.vmStart <= vma.vmEnd + PMD_SIZE) {
      vma = vmas[i]!;
      unlink(vma);
      i++;
    }
    const nextStart = i < vmas.length ? vmas[i]!.vmStart : ceiling;
    free_pgd_range(t, tlb, addr, vma.vmEnd, floor, nextStart);
  }
  t.leave();
}
