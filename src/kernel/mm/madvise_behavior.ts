/**
 * The madvise behaviours that act on pages rather than on vm_flags, after
 * mm/madvise.c:
 *
 * - DONTNEED / DONTNEED_LOCKED (madvise_dontneed_free): zap the range
 *   through an mmu_gather; the frames go back only after the TLB flush;
 * - FREE (madvise_free_single_vma, madvise_free_pte_range): swap entries are
 *   dropped, each page is made clean and old (its TLB entry gathered for the
 *   flush, so the next write sets the dirty bit again) and moved to the
 *   lazy-free list; reclaim later discards clean ones without I/O;
 * - COLD / PAGEOUT (madvise_cold_or_pageout_pte_range): deactivate the
 *   pages, or isolate them and reclaim them at once (reclaim_pages);
 * - WILLNEED (madvise_willneed): swap-in readahead for anonymous areas,
 *   page-cache readahead for file areas;
 * - REMOVE (madvise_remove): punch a hole in the file behind a shared
 *   writable mapping.
 */
import { loffPages } from '../fs/loff.js';
import { hugetlb_punch_hole, is_hugetlb_file } from './hugetlb.js';
import { PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, ptePfn, pteFlags, makePte, tableIndex } from '../../hw/pagetable.js';
import { swapOffset, swapType } from './swapops.js';
import { PG_active, PG_anon, PG_dirty, PG_lru, PG_mlocked, PG_referenced, PG_swapbacked, PG_swapcache, PG_workingset } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EACCES, EINVAL } from '../errno.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, vfs_fallocate } from '../fs/open.js';
import { MmCore, mmCore } from './core.js';
import { filemap_start_read, ShmemFile } from './filemap.js';
import { is_real_swap_pte } from './guard.js';
import { MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_PAGEOUT, type MadviseBehavior } from './madvise_uapi.js';
import { vm_normal_page } from './memory.js';
import { unmap_mapping_range, walk_pte_tables, zap_page_range_single, zap_page_range_single_batched } from './memory_zap.js';
import { MM_SWAPENTS, PAGE_SIZE, PMD_SIZE, VM_HUGETLB, VM_LOCKED, VM_MAYWRITE, VM_PFNMAP, VM_SHARED, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { mmap_read_lock, mmap_read_unlock } from './mmap_lock.js';
import { tlb_finish_mmu, tlb_flush_pte_range, tlb_gather_mmu, type MmuGather } from './mmu_gather.js';
import { free_unref_page } from './page_alloc.js';
import { pte_lock, pte_unlock, ptep_get, ptep_get_and_clear, set_pte_at } from './pgtable.js';
import { linear_page_index } from './rmap.js';
import { force_swapin_readahead } from './swap_state.js';
import { folio_mark_lazyfree, lru_add_drain, lru_lock, lru_unlock, lruvec_add_folio, lruvec_del_folio, lruvecOf } from './swap.js';
import { folio_free_swap } from './swapfile.js';
import { newScanControl } from './vmscan.js';
import { freePages, newReclaimStat, shrink_folio_list } from './vmscan_folio.js';

const CAT_DONTNEED_FREE = intern('madvise_dontneed_free');
const CAT_FREE_SINGLE_VMA = intern('madvise_free_single_vma');
const CAT_FREE_PTE_RANGE = intern('madvise_free_pte_range');
const CAT_COLD_PAGEOUT = intern('madvise_cold_or_pageout_pte_range');
const CAT_RECLAIM_PAGES = intern('reclaim_pages');
const CAT_WILLNEED = intern('madvise_willneed');
const CAT_READAHEAD = intern('force_page_cache_readahead');
const CAT_REMOVE = intern('madvise_remove');
const CAT_SHMEM_FALLOCATE = intern('shmem_fallocate');

/**
 * madvise_dontneed_free_valid_vma(): DONTNEED refuses PFN maps and locked
 * areas unless _LOCKED; in a hugetlb area only DONTNEED, from a huge page
 * boundary, and the end is rounded down to one (so as not to free more than
 * asked). Returns the end to use, or -1 for EINVAL.
 */
function dontneedFreeValidVma(vma: VmAreaStruct, behavior: number, start: number, end: number): number {
  if (!(vma.vmFlags & VM_HUGETLB)) {
    let forbidden = VM_PFNMAP;
    if (behavior !== MADV_DONTNEED_LOCKED) forbidden |= VM_LOCKED;
    return (vma.vmFlags & forbidden) === 0 ? end : -1;
  }
  if (behavior !== MADV_DONTNEED && behavior !== MADV_DONTNEED_LOCKED) return -1;
  if (start % PMD_SIZE !== 0) return -1;
  return Math.floor(end / PMD_SIZE) * PMD_SIZE;
}

/** madvise_dontneed_single_vma() under madvise_dontneed_free(): zap, flush, then free. */
export function* madvise_dontneed(t: Task, mb: MadviseBehavior, vma: VmAreaStruct, _prev: VmAreaStruct | null, start: number, end: number): Blocking<VmAreaStruct | number> {
  end = dontneedFreeValidVma(vma, mb.behavior, start, end);
  if (end < 0) return -EINVAL;
  if (end <= start) return vma;
  t.enter(CAT_DONTNEED_FREE);
  if (mb.tlb) yield* zap_page_range_single_batched(t, mb.tlb, vma, start, end - start, { mapping: null, evenCows: true });
  else yield* zap_page_range_single(t, vma, start, end - start, { mapping: null, evenCows: true });
  t.leave();
  return vma;
}

/** Drop one swap entry's use by a page table (free_swap_and_cache via the swap code's hook). */
function freeSwapEntry(t: Task, pte: number): void {
  const k = t.k;
  const core = mmCore(k);
  if (core.hooks.swapFree) core.hooks.swapFree(t, swapType(pte), swapOffset(pte));
  else if (k.swap.isUsed(swapOffset(pte))) k.swap.freeSlot(swapOffset(pte));
}

/**
 * madvise_free_pte_range(): one PTE table's part of the range. Swap entries
 * are dropped (the data is not wanted); a present page that is dirty or in
 * the swap cache is made clean (unless another mapping shares it); a young
 * or dirty PTE is rewritten old and clean and its TLB entry gathered; the
 * page moves to the lazy-free list.
 */
function* madvise_free_pte_range(t: Task, tlb: MmuGather, vma: VmAreaStruct, table: number, addr: number, end: number): Blocking<void> {
  const mm = vma.vmMm;
  const k = mm.k;
  const memmap = k.mem_map;
  let nrSwap = 0;
  t.enter(CAT_FREE_PTE_RANGE);
  pte_lock(t, mm, table);
  for (; addr < end; addr += PAGE_SIZE) {
    const idx = tableIndex(addr, 1);
    const pte = ptep_get(t, mm, table, idx);
    if (pte === 0) continue;
    if ((pte & PTE_PRESENT) === 0) {
      // Markers (guard regions) stay; PROT_NONE entries map a page but are not touched by FREE's walk.
      if (is_real_swap_pte(pte)) {
        nrSwap++;
        freeSwapEntry(t, pte);
        set_pte_at(t, mm, table, idx, 0);
      }
      continue;
    }
    const pfn = vm_normal_page(k, pte);
    if (pfn < 0) continue;
    let f = memmap.flags[pfn]!;
    t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), false));
    if ((f & (PG_swapcache | PG_dirty)) !== 0) {
      // folio_trylock + an exclusive-mapping check: a page another mapping shares keeps its data.
      if (memmap.mapcount[pfn] !== 1) continue;
      if ((f & PG_swapcache) !== 0 && !folio_free_swap(t, pfn)) continue;
      memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_dirty) >>> 0;
      f = memmap.flags[pfn]!;
    }
    if ((pte & (PTE_ACCESSED | PTE_DIRTY)) !== 0) {
      const old = ptep_get_and_clear(t, mm, table, idx);
      set_pte_at(t, mm, table, idx, makePte(ptePfn(old), pteFlags(old) & ~(PTE_ACCESSED | PTE_DIRTY)));
      tlb_flush_pte_range(tlb, addr, PAGE_SIZE);
    }
    if ((f & PG_anon) !== 0 && (f & PG_swapbacked) !== 0 && (f & PG_swapcache) === 0 && (f & PG_mlocked) === 0) folio_mark_lazyfree(t, pfn);
  }
  pte_unlock(t, mm, table);
  mm.rss[MM_SWAPENTS]! -= nrSwap;
  t.leave();
}

/** madvise_free_single_vma(): MADV_FREE on one area (private anonymous only). */
export function* madvise_free(t: Task, mb: MadviseBehavior, vma: VmAreaStruct, _prev: VmAreaStruct | null, start: number, end: number): Blocking<VmAreaStruct | number> {
  if (dontneedFreeValidVma(vma, mb.behavior, start, end) < 0) return -EINVAL;
  if (!vma.isAnonymous) return -EINVAL;
  const mm = vma.vmMm;
  t.enter(CAT_DONTNEED_FREE);
  t.enter(CAT_FREE_SINGLE_VMA);
  // Pages still in a per-CPU add batch must reach their list before they can move to the lazy-free one.
  lru_add_drain(t);
  const tlb = mb.tlb ?? tlb_gather_mmu(t, mm);
  yield* walk_pte_tables(t, mm, Math.max(start, vma.vmStart), Math.min(end, vma.vmEnd), (table, a, n) => madvise_free_pte_range(t, tlb, vma, table, a, n));
  if (!mb.tlb) yield* tlb_finish_mmu(t, tlb);
  t.leave();
  t.leave();
  return vma;
}

/** can_madv_lru_vma(): COLD and PAGEOUT leave locked, PFN-mapped and huge-TLB areas alone. */
function can_madv_lru_vma(vma: VmAreaStruct): boolean {
  return (vma.vmFlags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)) === 0;
}

/** can_do_file_pageout(): the caller owns the file or may write it. */
function can_do_file_pageout(vma: VmAreaStruct): boolean {
  const f = vma.vmFile;
  if (!f) return false;
  return f.mincoreAllowed ?? f.writable;
}

/**
 * madvise_cold_or_pageout_pte_range(): for each page only this mapping
 * maps, forget its references; COLD moves it to the inactive list (clearing
 * the PTE's accessed bit, whose TLB entry is gathered), PAGEOUT isolates it
 * into `isolated` for reclaim_pages.
 */
function* cold_or_pageout_pte_range(t: Task, tlb: MmuGather, vma: VmAreaStruct, table: number, addr: number, end: number, pageout: boolean, anonOnly: boolean, isolated: number[]): Blocking<void> {
  const mm = vma.vmMm;
  const k = mm.k;
  const memmap = k.mem_map;
  const lv = lruvecOf(k);
  t.enter(CAT_COLD_PAGEOUT);
  pte_lock(t, mm, table);
  for (; addr < end; addr += PAGE_SIZE) {
    const idx = tableIndex(addr, 1);
    const pte = ptep_get(t, mm, table, idx);
    if ((pte & PTE_PRESENT) === 0) continue;
    const pfn = vm_normal_page(k, pte);
    if (pfn < 0) continue;
    const f = memmap.flags[pfn]!;
    t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true));
    if ((f & PG_lru) === 0 || memmap.mapcount[pfn] !== 1) continue;
    if (anonOnly && (f & PG_anon) === 0) continue;
    if ((pte & PTE_ACCESSED) !== 0) {
      // PAGEOUT reclaims ignoring references: clearing the bit here keeps folio_referenced from vetoing it.
      set_pte_at(t, mm, table, idx, makePte(ptePfn(pte), pteFlags(pte) & ~PTE_ACCESSED));
      if (!pageout) tlb_flush_pte_range(tlb, addr, PAGE_SIZE);
    }
    let nf = f & ~PG_referenced;
    if ((f & PG_active) !== 0) nf |= PG_workingset;
    lru_lock(t, lv);
    lruvec_del_folio(t, lv, pfn);
    if (pageout) {
      memmap.flags[pfn] = nf >>> 0;
      memmap.refcount[pfn]!++;
      isolated.push(pfn);
      k.engine.counters.add('pgpageout_isolated');
    } else {
      // folio_deactivate(): to the head of the inactive list.
      memmap.flags[pfn] = (nf & ~PG_active) >>> 0;
      lruvec_add_folio(t, lv, pfn, false);
      if ((f & PG_active) !== 0) k.engine.counters.add('pgdeactivate');
    }
    lru_unlock(t, lv);
  }
  pte_unlock(t, mm, table);
  t.leave();
}

/**
 * reclaim_pages(): reclaim isolated pages at once (may write and swap,
 * references already dropped); the survivors go back on their lists.
 */
function* reclaim_pages(t: Task, pages: number[]): Blocking<number> {
  const k = t.k;
  if (pages.length === 0) return 0;
  const lv = lruvecOf(k);
  const memmap = k.mem_map;
  t.enter(CAT_RECLAIM_PAGES);
  const sc = newScanControl(k, false, pages.length);
  const keep: number[] = [];
  const reclaimed = yield* shrink_folio_list(t, pages, sc, newReclaimStat(), keep);
  const freeList: number[] = [];
  lru_lock(t, lv);
  for (const pfn of keep) {
    t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true) + k.cfg.cost.atomic_rmw);
    if (memmap.refcount[pfn] === 1) {
      freeList.push(pfn);
      continue;
    }
    memmap.refcount[pfn]!--;
    lruvec_add_folio(t, lv, pfn, false);
  }
  lru_unlock(t, lv);
  freePages(t, freeList);
  k.engine.counters.add('pgsteal_madvise', reclaimed);
  t.leave();
  return reclaimed;
}

/** madvise_cold() / madvise_pageout() on one area. */
export function* madvise_cold_or_pageout(t: Task, mb: MadviseBehavior, vma: VmAreaStruct, _prev: VmAreaStruct | null, start: number, end: number): Blocking<VmAreaStruct | number> {
  if (!can_madv_lru_vma(vma)) return -EINVAL;
  const pageout = mb.behavior === MADV_PAGEOUT;
  // A file the caller may not write is left alone when shared: paging it out would be a side channel.
  if (pageout && !vma.isAnonymous && !can_do_file_pageout(vma) && (vma.vmFlags & VM_SHARED) !== 0) return vma;
  // pageout_anon_only_filter: of a file the caller may not write, only its private copies go.
  const anonOnly = pageout && !vma.isAnonymous && !can_do_file_pageout(vma);
  const mm = vma.vmMm;
  lru_add_drain(t);
  const tlb = tlb_gather_mmu(t, mm);
  const isolated: number[] = [];
  yield* walk_pte_tables(t, mm, start, end, (table, a, n) => cold_or_pageout_pte_range(t, tlb, vma, table, a, n, pageout, anonOnly, isolated));
  yield* tlb_finish_mmu(t, tlb);
  if (pageout) yield* reclaim_pages(t, isolated);
  return vma;
}

/**
 * madvise_willneed(): start reading the range in. Anonymous areas read
 * their swapped-out pages into the swap cache without waiting for the
 * device (force_swapin_readahead); file areas fill the page cache
 * (force_page_cache_readahead). The mmap lock is not held while the file
 * is read, as in the kernel.
 */
export function* madvise_willneed(t: Task, mb: MadviseBehavior, vma: VmAreaStruct, _prev: VmAreaStruct | null, start: number, end: number): Blocking<VmAreaStruct | number> {
  t.enter(CAT_WILLNEED);
  const file = vma.vmFile;
  if (!file) {
    yield* force_swapin_readahead(t, vma, start, end);
    t.leave();
    return vma;
  }
  if (file instanceof ShmemFile || is_hugetlb_file(file)) {
    // hugetlbfs has no readahead (generic_fadvise on its noop bdi does nothing);
    // shmem_swapin_range: shmem swap-out is not modelled, so every page is already in memory or a hole.
    t.leave();
    return vma;
  }
  const mapping = file.mapping;
  const first = linear_page_index(vma, start);
  const last = Math.min(linear_page_index(vma, end - PAGE_SIZE), loffPages(mapping.size) - 1);
  file.get?.();
  mmap_read_unlock(t, mb.mm);
  t.enter(CAT_READAHEAD);
  // The reads are started, not waited for: the call returns before the I/O completes, and a later fault waits for its page.
  for (let index = first; index <= last; index++) {
    if (mapping.pages.has(index)) continue;
    if (!(yield* filemap_start_read(t, mapping, index))) break;
    if (t.shouldYield()) yield;
  }
  t.leave();
  file.put?.(t);
  yield* mmap_read_lock(t, mb.mm);
  t.leave();
  // The lock was dropped: the walk must look the next area up again.
  return vma;
}

/** shmem_fallocate(FALLOC_FL_PUNCH_HOLE) for the shmem file of a shared anonymous area. */
function* shmemPunchHole(t: Task, file: ShmemFile, offset: number, len: number): Blocking<number> {
  const mapping = file.mapping;
  const k = mapping.k;
  const memmap = k.mem_map;
  const first = Math.ceil(offset / PAGE_SIZE);
  const last = Math.floor((offset + len) / PAGE_SIZE) - 1;
  if (last < first) return 0;
  t.enter(CAT_SHMEM_FALLOCATE);
  yield* unmap_mapping_range(t, mapping, first, last - first + 1, true);
  const indices = [...mapping.pages.keys()].filter((i) => i >= first && i <= last).sort((a, b) => a - b);
  for (const index of indices) {
    const pfn = mapping.pages.get(index)!;
    mapping.pages.delete(index);
    t.charge(k.machine.caches.access(t.cpu, mapping.kaddr, true) + k.cfg.kernel.cost.kernel_op);
    memmap.owner[pfn] = 0;
    memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_dirty) >>> 0;
    if (--memmap.refcount[pfn]! === 0) {
      free_unref_page(t, pfn);
    }
  }
  t.leave();
  return 0;
}

/** madvise_remove(): punch a hole in the file behind a shared mapping that may be written. */
export function* madvise_remove(t: Task, mb: MadviseBehavior, vma: VmAreaStruct, _prev: VmAreaStruct | null, start: number, end: number): Blocking<VmAreaStruct | number> {
  if ((vma.vmFlags & VM_LOCKED) !== 0) return -EINVAL;
  const file = vma.vmFile;
  if (!file) return -EINVAL;
  if ((vma.vmFlags & (VM_SHARED | VM_MAYWRITE)) !== (VM_SHARED | VM_MAYWRITE)) return -EACCES;
  const offset = start - vma.vmStart + vma.vmPgoff * PAGE_SIZE;
  t.enter(CAT_REMOVE);
  if (is_hugetlb_file(file)) {
    // hugetlbfs_fallocate(FALLOC_FL_PUNCH_HOLE): whole huge pages only; the area's leaves go, then the file's pages.
    yield* zap_page_range_single(t, vma, start, end - start, null);
    hugetlb_punch_hole(t, file, Math.ceil(offset / PMD_SIZE), Math.floor((offset + end - start) / PMD_SIZE));
    t.leave();
    return vma;
  }
  // The hole is punched without mmap_lock (the file is pinned), as the kernel does.
  file.get?.();
  mmap_read_unlock(t, mb.mm);
  const r = file instanceof ShmemFile ? yield* shmemPunchHole(t, file, offset, end - start) : yield* vfs_fallocate(t, file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, end - start);
  file.put?.(t);
  yield* mmap_read_lock(t, mb.mm);
  t.leave();
  return r < 0 ? r : vma;
}

/** For tests and workloads: the mm's lazily freed pages still mapped (anonymous, not swap-backed). */
export function count_lazyfree_mapped(mm: MmStruct, start: number, end: number): number {
  const k = mm.k;
  const memmap = k.mem_map;
  let n = 0;
  for (let a = start; a < end; a += PAGE_SIZE) {
    const pfn = k.machine.pt.translateFunctional(mm.pgd, a);
    if (pfn < 0) continue;
    const f = memmap.flags[pfn]!;
    if ((f & PG_anon) !== 0 && (f & PG_swapbacked) === 0) n++;
  }
  return n;
}
