/**
 * Collapsing small pages into a huge page, after mm/khugepaged.c. Only the
 * synchronous path is modelled: MADV_COLLAPSE (madvise_collapse) scans each
 * 2 MiB-aligned range of the area (hpage_collapse_scan_pmd) and builds the
 * huge page as khugepaged would (collapse_huge_page): a new compound page,
 * the PMD cleared and flushed, the 512 pages copied (or cleared where no page
 * or the zero page was mapped), the old pages released, the emptied PT table
 * deposited and the PMD leaf installed (thp_collapse_alloc). The background
 * khugepaged thread is not modelled.
 */
import { PTE_PRESENT, PTE_RW, ptePfn, tableIndex } from '../../hw/pagetable.js';
import { HPAGE_NR, PG_anon, PG_head, PG_swapcache, PG_tail, PG_zero } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EAGAIN, EINVAL, ENOMEM } from '../errno.js';
import { allocHugePage, huge_pmd_install, pmd_table, pmd_trans_huge, thp_vma_allowable } from './huge_memory.js';
import type { MadviseBehavior } from './madvise_uapi.js';
import { MM_ANONPAGES, PMD_SIZE, type VmAreaStruct } from './mm_types.js';
import { put_page_testzero_free } from './page_alloc.js';
import { ptep_get, set_pte_at } from './pgtable.js';
import { folio_remove_rmap_pte } from './rmap.js';
import { flush_tlb_mm_range } from './tlbflush.js';

const CAT_COLLAPSE = intern('collapse_huge_page');
const CAT_COPY = intern('__collapse_huge_page_copy');

/** enum scan_result (the ones this model can produce). */
export const SCAN_SUCCEED = 1;
export const SCAN_PMD_NULL = 2;
export const SCAN_PMD_MAPPED = 4;
export const SCAN_PAGE_RO = 7;
export const SCAN_PTE_NON_PRESENT = 9;
export const SCAN_PAGE_COUNT = 14;
export const SCAN_PAGE_ANON = 16;
export const SCAN_PAGE_COMPOUND = 17;
export const SCAN_ALLOC_HUGE_PAGE_FAIL = 21;

/** madvise_collapse_errno(). */
function collapseErrno(r: number): number {
  switch (r) {
    case SCAN_ALLOC_HUGE_PAGE_FAIL:
      return -ENOMEM;
    case SCAN_PAGE_COUNT:
      return -EAGAIN;
    default:
      return -EINVAL;
  }
}

/** Results after which madvise_collapse goes on to the next range. */
function keepGoing(r: number): boolean {
  return r === SCAN_PMD_NULL || r === SCAN_PTE_NON_PRESENT || r === SCAN_PAGE_RO || r === SCAN_PAGE_COUNT || r === SCAN_PAGE_COMPOUND;
}

/**
 * hpage_collapse_scan_pmd() + collapse_huge_page() for the 2 MiB at haddr.
 * Returns a SCAN_* result.
 */
export function* collapse_huge_page(t: Task, vma: VmAreaStruct, haddr: number): Blocking<number> {
  const mm = vma.vmMm;
  const k = mm.k;
  const mem = k.machine.mem;
  const memmap = k.mem_map;
  const pd = pmd_table(t, mm, haddr);
  if (pd < 0) return SCAN_PMD_NULL;
  const idx = tableIndex(haddr, 2);
  const pmd = ptep_get(t, mm, pd, idx);
  if (pmd === 0) return SCAN_PMD_NULL;
  if (pmd_trans_huge(pmd)) return SCAN_PMD_MAPPED;
  const table = ptePfn(pmd);
  let writable = false;
  for (let i = 0; i < HPAGE_NR; i++) {
    const pte = ptep_get(t, mm, table, i);
    if (pte === 0) continue;
    if ((pte & PTE_PRESENT) === 0) return SCAN_PTE_NON_PRESENT;
    const pfn = ptePfn(pte);
    const f = memmap.flags[pfn]!;
    if (f & PG_zero) continue;
    if (f & (PG_head | PG_tail)) return SCAN_PAGE_COMPOUND;
    if ((f & PG_anon) === 0) return SCAN_PAGE_ANON;
    // is_refcount_suitable(): no reference beyond the mappings (and the swap cache's).
    if (memmap.refcount[pfn]! !== memmap.mapcount[pfn]! + (f & PG_swapcache ? 1 : 0)) return SCAN_PAGE_COUNT;
    if (pte & PTE_RW) writable = true;
  }
  if (!writable) return SCAN_PAGE_RO;
  t.enter(CAT_COLLAPSE);
  const head = allocHugePage(t);
  if (head < 0) {
    t.leave();
    return SCAN_ALLOC_HUGE_PAGE_FAIL;
  }
  // pmdp_collapse_flush: the PMD goes, so no walker reaches the old PTEs while they are copied.
  set_pte_at(t, mm, pd, idx, 0);
  yield* flush_tlb_mm_range(t, mm, haddr, haddr + PMD_SIZE, 12, true);
  t.enter(CAT_COPY);
  for (let i = 0; i < HPAGE_NR; i++) {
    const pte = ptep_get(t, mm, table, i);
    const pfn = pte === 0 ? -1 : ptePfn(pte);
    if (pfn < 0 || memmap.flags[pfn]! & PG_zero) {
      mem.zero(head + i);
      t.charge(k.cfg.cost.zero_page);
      mm.rss[MM_ANONPAGES]!++;
    } else {
      mem.copy(head + i, pfn);
      t.charge(k.cfg.cost.copy_page);
      folio_remove_rmap_pte(t, pfn);
      put_page_testzero_free(t, pfn);
    }
    if (pte !== 0) set_pte_at(t, mm, table, i, 0);
  }
  t.leave();
  huge_pmd_install(t, vma, pd, idx, haddr, head, table);
  k.engine.counters.add('thp_collapse_alloc');
  t.leave();
  return SCAN_SUCCEED;
}

/**
 * madvise_collapse(): collapse every 2 MiB-aligned range of [start, end) in
 * the area. EINVAL for an area THP may not use (not anonymous, VM_NOHUGEPAGE,
 * a process with THP disabled); otherwise the error of the last range that
 * could not be collapsed, or success when all were (or none was aligned).
 */
export function* madvise_collapse(t: Task, _mb: MadviseBehavior, vma: VmAreaStruct, _prev: VmAreaStruct | null, start: number, end: number): Blocking<VmAreaStruct | number> {
  if (!thp_vma_allowable(vma, true)) return -EINVAL;
  const hstart = Math.ceil(start / PMD_SIZE) * PMD_SIZE;
  const hend = Math.floor(end / PMD_SIZE) * PMD_SIZE;
  let thps = 0;
  let lastFail = SCAN_SUCCEED;
  for (let addr = hstart; addr < hend; addr += PMD_SIZE) {
    const r = yield* collapse_huge_page(t, vma, addr);
    if (r === SCAN_SUCCEED || r === SCAN_PMD_MAPPED) thps++;
    else {
      lastFail = r;
      if (!keepGoing(r)) break;
    }
    if (t.shouldYield()) yield;
  }
  const want = hend > hstart ? (hend - hstart) / PMD_SIZE : 0;
  return thps === want ? vma : collapseErrno(lastFail);
}
