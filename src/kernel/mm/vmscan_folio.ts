/**
 * What reclaim does with each page it isolated, after shrink_folio_list()
 * in mm/vmscan.c and the helpers it calls (folio_check_references, pageout,
 * __remove_mapping). vmscan.ts decides which pages to isolate and when.
 *
 * Per page, in the kernel's order: a page being read in is skipped; a page
 * under writeback is activated (marked PG_reclaim, so the write's end
 * rotates it to the inactive tail); a page whose PTEs were young again is
 * activated or kept; an anonymous page gets a swap slot (add_to_swap); every
 * mapping is removed (try_to_unmap); a dirty page is written (swap slot or
 * backing store: only kswapd writes file pages, and only once it saw them
 * dirty twice); a clean unmapped page leaves its cache and is freed, after
 * the batch's TLB flush.
 */
import { PG_active, PG_anon, PG_dirty, PG_head, PG_locked, PG_mlocked, PG_tail, PG_referenced, PG_swapbacked, PG_swapcache, PG_writeback } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { MmCore, mmCore } from './core.js';
import { VM_EXEC, VM_LOCKED } from './mm_types.js';
import { memcg_uncharge_begin, memcg_uncharge_end } from './memcontrol.js';
import { free_frame, free_unref_page } from './page_alloc.js';
import { folio_end_writeback, swap_writepage } from './page_io.js';
import { folio_referenced, try_to_unmap, try_to_unmap_flush, try_to_unmap_flush_dirty } from './rmap_reclaim.js';
import { __delete_from_swap_cache, add_to_swap, PG_reclaim } from './swap_state.js';
import { folio_free_swap, put_swap_folio, vm_swap_full } from './swapfile.js';
import { pgdatOf, type ScanControl } from './vmscan.js';

const FOLIOREF_RECLAIM = 0;
const FOLIOREF_RECLAIM_CLEAN = 1;
const FOLIOREF_KEEP = 2;
const FOLIOREF_ACTIVATE = 3;

const CAT_SHRINK_FOLIO_LIST = intern('shrink_folio_list');
const CAT_PAGEOUT = intern('pageout');
const CAT_REMOVE_MAPPING = intern('__remove_mapping');
const CAT_FREE = intern('free_unref_folios');

/** Per-batch outcome of shrink_folio_list (struct reclaim_stat). */
export interface ReclaimStat {
  nrDirty: number;
  nrUnqueuedDirty: number;
  nrWriteback: number;
  nrImmediate: number;
  nrPageout: number;
  nrActivate: number;
  nrUnmapFail: number;
}

export function newReclaimStat(): ReclaimStat {
  return { nrDirty: 0, nrUnqueuedDirty: 0, nrWriteback: 0, nrImmediate: 0, nrPageout: 0, nrActivate: 0, nrUnmapFail: 0 };
}

/** Frees pages whose last reference is the caller's (free_unref_folios); the caller has flushed the TLBs. */
export function freePages(t: Task, pages: number[]): void {
  const k = t.k;
  if (pages.length === 0) return;
  const memmap = k.mem_map;
  t.enter(CAT_FREE);
  // mem_cgroup_uncharge_folios(&free_folios): one uncharge_gather for the list.
  memcg_uncharge_begin(t);
  for (const pfn of pages) {
    memmap.refcount[pfn] = 0;
    free_unref_page(t, pfn);
  }
  memcg_uncharge_end(t);
  t.leave();
}

/** folio_check_references(): what the page's recent use says reclaim should do with it. */
function folio_check_references(t: Task, pfn: number): number {
  const k = t.k;
  const memmap = k.mem_map;
  const ref = folio_referenced(t, pfn);
  const f = memmap.flags[pfn]!;
  const referencedFolio = (f & PG_referenced) !== 0;
  memmap.flags[pfn] = (f & ~PG_referenced) >>> 0;
  const file = (f & PG_swapbacked) === 0;
  if ((ref.vmFlags & VM_LOCKED) !== 0) return FOLIOREF_ACTIVATE;
  if (ref.ptes > 0) {
    memmap.flags[pfn] = (memmap.flags[pfn]! | PG_referenced) >>> 0;
    if (referencedFolio || ref.ptes > 1) return FOLIOREF_ACTIVATE;
    if ((ref.vmFlags & VM_EXEC) !== 0 && file) return FOLIOREF_ACTIVATE;
    return FOLIOREF_KEEP;
  }
  if (referencedFolio && file) return FOLIOREF_RECLAIM_CLEAN;
  return FOLIOREF_RECLAIM;
}

const PAGE_KEEP = 0;
const PAGE_ACTIVATE = 1;
const PAGE_SUCCESS = 2;

/**
 * pageout(): start writing a dirty page that nothing maps: a swap cache page
 * to its slot, a file page to its backing store. PAGE_SUCCESS with
 * PG_writeback set means the write is in flight; without it, the write was
 * synchronous (or not needed) and the page may be freed now if clean.
 */
function pageout(t: Task, pfn: number): number {
  const k = t.k;
  const memmap = k.mem_map;
  // is_page_cache_freeable(): only the isolation and the cache hold it.
  if (memmap.refcount[pfn] !== 2) return PAGE_KEEP;
  const f = memmap.flags[pfn]!;
  t.enter(CAT_PAGEOUT);
  if ((f & PG_swapcache) !== 0) {
    memmap.flags[pfn] = ((f & ~PG_dirty) | PG_reclaim) >>> 0;
    if (swap_writepage(t, pfn)) {
      pgdatOf(k).nrWriteback++;
      k.engine.counters.add('nr_vmscan_write');
    } else memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_reclaim) >>> 0;
    t.leave();
    return PAGE_SUCCESS;
  }
  const mapping = (f & PG_anon) === 0 ? mmCore(k).mappings.get(memmap.owner[pfn]!) : undefined;
  if (!mapping || mapping.shmem || !mapping.backing) {
    t.leave();
    return mapping ? PAGE_ACTIVATE : PAGE_KEEP;
  }
  memmap.flags[pfn] = ((f & ~PG_dirty) | PG_reclaim) >>> 0;
  const index = memmap.index[pfn]!;
  t.charge(k.cfg.kernel.cost.swap_io);
  const done = mapping.backing.writePage(index, pfn, t.now);
  k.engine.counters.add('nr_vmscan_write');
  if (done > t.now) {
    // The write holds a reference until it ends, so truncation cannot free the page under it.
    memmap.flags[pfn] = (memmap.flags[pfn]! | PG_writeback) >>> 0;
    memmap.refcount[pfn]!++;
    pgdatOf(k).nrWriteback++;
    k.engine.at(done, (time) => {
      folio_end_writeback(k, pfn, time, null);
      if (--memmap.refcount[pfn]! === 0) free_frame(k, pfn);
    });
  } else memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_reclaim) >>> 0;
  t.leave();
  return PAGE_SUCCESS;
}

/**
 * __remove_mapping(): take a clean, unmapped page out of the swap cache or
 * page cache, if only the isolation and the cache hold it. True on success
 * (the caller then frees it).
 */
function __remove_mapping(t: Task, pfn: number): boolean {
  const k = t.k;
  const memmap = k.mem_map;
  const f = memmap.flags[pfn]!;
  if (memmap.refcount[pfn] !== 2 || (f & PG_dirty) !== 0) return false;
  t.enter(CAT_REMOVE_MAPPING);
  if ((f & PG_swapcache) !== 0) {
    const slot = __delete_from_swap_cache(k, t, pfn);
    put_swap_folio(k, t, slot);
  } else {
    const mapping = mmCore(k).mappings.get(memmap.owner[pfn]!);
    if (!mapping || mapping.pages.get(memmap.index[pfn]!) !== pfn) {
      t.leave();
      return false;
    }
    // __filemap_remove_folio: the xarray store.
    t.charge(k.machine.caches.access(t.cpu, mapping.kaddr, true) + k.cfg.kernel.cost.kernel_op);
    mapping.pages.delete(memmap.index[pfn]!);
  }
  memmap.refcount[pfn]!--;
  t.leave();
  return true;
}

/**
 * shrink_folio_list(): try to free each isolated page; returns the number
 * freed. Pages kept are left in `keep` (with their isolation reference) for
 * move_folios_to_lru; activated ones have PG_active set.
 */
export function* shrink_folio_list(t: Task, pages: readonly number[], sc: ScanControl, stat: ReclaimStat, keep: number[]): Blocking<number> {
  const k = t.k;
  const memmap = k.mem_map;
  const pg = pgdatOf(k);
  const counters = k.engine.counters;
  const freeList: number[] = [];
  let reclaimed = 0;
  t.enter(CAT_SHRINK_FOLIO_LIST);
  for (const pfn of pages) {
    let f = memmap.flags[pfn]!;
    sc.nrScanned++;
    t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), false) + k.cfg.kernel.cost.kernel_op);
    const file = (f & PG_swapbacked) === 0;
    const anon = (f & PG_anon) !== 0;
    let activate = false;
    let free = false;
    decide: {
      // folio_trylock: a page being read in is locked.
      if ((f & PG_locked) !== 0) break decide;
      if ((f & (PG_mlocked | PG_head | PG_tail)) !== 0 || (!anon && !file && (f & PG_swapcache) === 0)) {
        // Unevictable here: mlocked; part of a huge page (not split for swap-out here); or shmem, whose swap-out is not modelled.
        activate = true;
        break decide;
      }
      // folio_check_dirty_writeback(): anonymous pages outside the swap cache are neither.
      const tracked = !(anon && (f & PG_swapcache) === 0);
      const dirty = tracked && (f & PG_dirty) !== 0;
      const wb = tracked && (f & PG_writeback) !== 0;
      if (dirty || wb) stat.nrDirty++;
      if (dirty && !wb) stat.nrUnqueuedDirty++;
      if (wb) {
        if (sc.kswapd && (f & PG_reclaim) !== 0 && pg.writeback) stat.nrImmediate++;
        else {
          memmap.flags[pfn] = (f | PG_reclaim) >>> 0;
          stat.nrWriteback++;
        }
        activate = true;
        break decide;
      }
      const refs = folio_check_references(t, pfn);
      if (refs === FOLIOREF_ACTIVATE) {
        activate = true;
        break decide;
      }
      if (refs === FOLIOREF_KEEP) break decide;
      if (anon && (memmap.flags[pfn]! & (PG_swapbacked | PG_swapcache)) === PG_swapbacked) {
        if (!sc.maySwap) break decide;
        if (!add_to_swap(t, pfn)) {
          activate = true;
          break decide;
        }
      }
      if (memmap.mapcount[pfn]! > 0) {
        const unmapped = yield* try_to_unmap(t, pfn, sc.batch);
        if (!unmapped) {
          stat.nrUnmapFail++;
          activate = true;
          break decide;
        }
      }
      f = memmap.flags[pfn]!;
      if ((f & PG_dirty) !== 0) {
        if ((f & PG_swapbacked) === 0 && (!sc.kswapd || (f & PG_reclaim) === 0 || !pg.dirty)) {
          // Only kswapd writes file pages, and only those seen dirty twice: mark for reclaim as soon as written.
          memmap.flags[pfn] = (f | PG_reclaim) >>> 0;
          counters.add('nr_vmscan_immediate_reclaim');
          activate = true;
          break decide;
        }
        if (refs === FOLIOREF_RECLAIM_CLEAN || !sc.mayWritepage) break decide;
        yield* try_to_unmap_flush_dirty(t, sc.batch);
        const r = pageout(t, pfn);
        if (r === PAGE_KEEP) break decide;
        if (r === PAGE_ACTIVATE) {
          activate = true;
          break decide;
        }
        stat.nrPageout++;
        f = memmap.flags[pfn]!;
        if ((f & (PG_writeback | PG_dirty)) !== 0) break decide;
      }
      if (anon && (f & PG_swapbacked) === 0) {
        // A lazily freed page: only the isolation holds it now.
        if (memmap.refcount[pfn] !== 1) break decide;
        counters.add('pglazyfreed');
        free = true;
        break decide;
      }
      if ((f & PG_swapcache) === 0 && memmap.owner[pfn] === 0 && !anon) {
        if (memmap.refcount[pfn] === 1) free = true;
        break decide;
      }
      if (anon && (f & PG_swapcache) === 0) {
        // Unmapped by someone else since isolation and in no cache.
        if (memmap.refcount[pfn] === 1) free = true;
        break decide;
      }
      free = __remove_mapping(t, pfn);
    }
    if (free) {
      reclaimed++;
      freeList.push(pfn);
      continue;
    }
    if (activate) {
      f = memmap.flags[pfn]!;
      if ((f & PG_swapcache) !== 0 && (vm_swap_full(k) || (f & PG_mlocked) !== 0)) folio_free_swap(t, pfn);
      if ((f & PG_mlocked) === 0) {
        memmap.flags[pfn] = (memmap.flags[pfn]! | PG_active) >>> 0;
        stat.nrActivate++;
        counters.add('pgactivate');
      } else {
        memmap.flags[pfn] = (memmap.flags[pfn]! | PG_active) >>> 0;
        counters.add('unevictable_pgs_culled');
      }
    }
    keep.push(pfn);
    if (t.shouldYield()) yield;
  }
  // Nothing is freed before every CPU has dropped its translations.
  yield* try_to_unmap_flush(t, sc.batch);
  freePages(t, freeList);
  t.leave();
  return reclaimed;
}
