/**
 * Memory failure, after mm/memory-failure.c, as madvise's error injection
 * (madvise_inject_error) drives it:
 *
 * - memory_failure(): the frame is marked PG_hwpoison and taken out of use
 *   for good; every PTE mapping it becomes a hwpoison entry (the TLBs are
 *   flushed), so the next access raises SIGBUS; a clean page-cache page
 *   leaves the cache (a fresh mapping reads the file again);
 * - soft_offline_page(): the contents move to a new frame which takes the
 *   old one's place in every PTE, LRU list and owner; the process sees the
 *   same data; the old frame is retired.
 *
 * A hwpoison entry is a swap-format entry of type SWP_HWPOISON (a special
 * type, see guard.ts) carrying the pfn.
 */
import { makePte, ptePfn, pteFlags, tableIndex } from '../../hw/pagetable.js';
import { makeSwapPte, swapType, isSwapPte } from './swapops.js';
import { PG_anon, PG_dirty, PG_hwpoison, PG_lru, PG_swapcache, PG_zero } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EBUSY, EFAULT, ENOMEM } from '../errno.js';
import { mmCore } from './core.js';
import { FOLL_TOUCH, get_user_pages_range } from './gup.js';
import { mm_counter } from './memory.js';
import { PAGE_SIZE, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { __GFP_USER, alloc_page } from './page_alloc.js';
import { pte_lock, pte_present_k, pte_table, pte_unlock, ptep_get, ptep_get_and_clear, set_pte_at } from './pgtable.js';
import { folio_remove_rmap_pte, rmap_walk } from './rmap.js';
import { lru_add_drain_all, lru_lock, lru_unlock, lruvec_add_folio, lruvec_del_folio, lruvecOf } from './swap.js';
import { flush_tlb_page } from './tlbflush.js';
import { find_vma } from './vma.js';

/** SWP_HWPOISON: a special swap type, below SWP_PTE_MARKER (guard.ts). */
export const SWP_HWPOISON = 30;

const CAT_INJECT = intern('madvise_inject_error');
const CAT_MEMORY_FAILURE = intern('memory_failure');
const CAT_SOFT_OFFLINE = intern('soft_offline_page');

/** make_hwpoison_entry(). */
export function make_hwpoison_pte(pfn: number): number {
  return makeSwapPte(SWP_HWPOISON, pfn);
}

/** is_hwpoison_entry(). */
export function is_hwpoison_pte(pte: number): boolean {
  return isSwapPte(pte) && swapType(pte) === SWP_HWPOISON;
}

/** Every PTE mapping `pfn`, found through the rmap: (vma, addr) pairs whose PTE names it now. */
function mappingsOf(t: Task, pfn: number): { vma: VmAreaStruct; addr: number }[] {
  const k = t.k;
  const out: { vma: VmAreaStruct; addr: number }[] = [];
  rmap_walk(k, pfn, (vma, addr) => {
    const table = pte_table(t, vma.vmMm, addr);
    if (table < 0) return;
    const pte = ptep_get(t, vma.vmMm, table, tableIndex(addr, 1));
    if (pte_present_k(pte) && ptePfn(pte) === pfn) out.push({ vma, addr });
  });
  return out;
}

/** Take the frame off its LRU list (it is never put back). */
function isolate(t: Task, pfn: number): boolean {
  const k = t.k;
  const memmap = k.mem_map;
  if ((memmap.flags[pfn]! & PG_lru) === 0) return false;
  const lv = lruvecOf(k);
  lru_lock(t, lv);
  lruvec_del_folio(t, lv, pfn);
  lru_unlock(t, lv);
  return true;
}

/**
 * memory_failure(): poison the frame. Returns 0, or -EBUSY for a frame the
 * kernel cannot take away (the zero page, a page in the swap cache).
 */
export function* memory_failure(t: Task, pfn: number): Blocking<number> {
  const k = t.k;
  const memmap = k.mem_map;
  const f = memmap.flags[pfn]!;
  if ((f & PG_hwpoison) !== 0) return 0;
  if ((f & (PG_zero | PG_swapcache)) !== 0) return -EBUSY;
  t.enter(CAT_MEMORY_FAILURE);
  memmap.flags[pfn] = (f | PG_hwpoison) >>> 0;
  k.engine.counters.add('memory_failure');
  lru_add_drain_all(t);
  isolate(t, pfn);
  // try_to_unmap(TTU_HWPOISON): each mapping gets a hwpoison entry, then every CPU drops the translation.
  for (const { vma, addr } of mappingsOf(t, pfn)) {
    const mm = vma.vmMm;
    const table = pte_table(t, mm, addr);
    pte_lock(t, mm, table);
    ptep_get_and_clear(t, mm, table, tableIndex(addr, 1));
    set_pte_at(t, mm, table, tableIndex(addr, 1), make_hwpoison_pte(pfn));
    pte_unlock(t, mm, table);
    mm.rss[mm_counter(k, pfn)]!--;
    folio_remove_rmap_pte(t, pfn);
    memmap.refcount[pfn]!--;
    yield* flush_tlb_page(t, mm, addr);
  }
  // A page-cache page leaves the cache (me_pagecache_clean); its data, if dirty, is lost as in the kernel.
  const owner = memmap.owner[pfn]!;
  if ((f & PG_anon) === 0 && owner !== 0) {
    const mapping = mmCore(k).mappings.get(owner);
    if (mapping && mapping.pages.get(memmap.index[pfn]!) === pfn) {
      mapping.pages.delete(memmap.index[pfn]!);
      memmap.refcount[pfn]!--;
    }
  }
  // The frame is never freed: whatever references remain keep it out of the allocator.
  memmap.owner[pfn] = 0;
  memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_dirty) >>> 0;
  memmap.refcount[pfn] = Math.max(1, memmap.refcount[pfn]!);
  t.leave();
  return 0;
}

/**
 * soft_offline_page(): move an in-use page to a new frame and retire the
 * old one; the mappings see the same bytes. Returns 0 or -errno.
 */
export function* soft_offline_page(t: Task, pfn: number): Blocking<number> {
  const k = t.k;
  const mem = k.machine.mem;
  const memmap = k.mem_map;
  const f = memmap.flags[pfn]!;
  if ((f & PG_hwpoison) !== 0) return 0;
  if ((f & (PG_zero | PG_swapcache)) !== 0 || (f & PG_anon) === 0) return -EBUSY;
  t.enter(CAT_SOFT_OFFLINE);
  const np = yield* alloc_page(t, __GFP_USER);
  if (np < 0) {
    t.leave();
    return -ENOMEM;
  }
  lru_add_drain_all(t);
  const onLru = isolate(t, pfn);
  // migrate_pages(): unmap, copy, remap.
  const maps = mappingsOf(t, pfn);
  const ptes: number[] = [];
  for (const { vma, addr } of maps) {
    const mm = vma.vmMm;
    const table = pte_table(t, mm, addr);
    ptes.push(ptep_get_and_clear(t, mm, table, tableIndex(addr, 1)));
    yield* flush_tlb_page(t, mm, addr);
  }
  mem.copy(np, pfn);
  t.charge(k.cfg.cost.copy_page);
  memmap.flags[np] = (memmap.flags[pfn]! & ~PG_lru) >>> 0;
  memmap.owner[np] = memmap.owner[pfn]!;
  memmap.index[np] = memmap.index[pfn]!;
  memmap.mapcount[np] = memmap.mapcount[pfn]!;
  memmap.refcount[np] = memmap.refcount[pfn]! - (onLru ? 0 : 0);
  for (let i = 0; i < maps.length; i++) {
    const { vma, addr } = maps[i]!;
    set_pte_at(t, vma.vmMm, pte_table(t, vma.vmMm, addr), tableIndex(addr, 1), makePte(np, pteFlags(ptes[i]!)));
  }
  if (onLru) {
    const lv = lruvecOf(k);
    lru_lock(t, lv);
    lruvec_add_folio(t, lv, np, false);
    lru_unlock(t, lv);
  }
  memmap.owner[pfn] = 0;
  memmap.mapcount[pfn] = 0;
  memmap.refcount[pfn] = 1;
  memmap.flags[pfn] = PG_hwpoison;
  k.engine.counters.add('soft_offline');
  t.leave();
  return 0;
}

/**
 * madvise_inject_error(): poison (HWPOISON) or soft-offline (SOFT_OFFLINE)
 * every page of [start, end), faulting each in first as
 * get_user_pages_fast does. EFAULT where nothing can be mapped.
 */
export function* madvise_inject_error(t: Task, mm: MmStruct, start: number, end: number, soft: boolean): Blocking<number> {
  const k = mm.k;
  t.enter(CAT_INJECT);
  let r = 0;
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    const vma = find_vma(t, mm, addr);
    if (!vma || addr < vma.vmStart) {
      r = -EFAULT;
      break;
    }
    const n = yield* get_user_pages_range(t, vma, addr, addr + PAGE_SIZE, FOLL_TOUCH);
    if (n !== 1) {
      r = n < 0 ? n : -EFAULT;
      break;
    }
    const pfn = k.machine.pt.translateFunctional(mm.pgd, addr);
    if (pfn < 0) {
      r = -EFAULT;
      break;
    }
    r = soft ? yield* soft_offline_page(t, pfn) : yield* memory_failure(t, pfn);
    if (r < 0) break;
  }
  t.leave();
  return r;
}
