/**
 * The swap cache, after mm/swap_state.c: pages that have a swap slot, found
 * by slot (the swapper address_space), so that a page being written out, or
 * read in, or still mapped by other processes after one of them faulted it
 * back, exists once in memory.
 *
 * - add_to_swap() gives an anonymous page chosen by reclaim a slot and puts
 *   it in the cache (dirty, so pageout writes it).
 * - read_swap_cache_async() finds a slot's page in the cache or allocates
 *   one, caches it and starts the device read; the page stays locked until
 *   the read completes.
 * - swap_cluster_readahead() (swapin_readahead) reads the aligned window of
 *   slots around the one faulted on, of 2^vm.page-cluster slots at most,
 *   sized by recent readahead hits as swapin_nr_pages() does. VMA-based
 *   readahead (which follows virtual addresses) is not modelled: the hook
 *   do_swap_page calls passes no address.
 *
 * A swap cache page holds one reference for the cache. Its slot is kept in
 * a map beside the frame (folio->swap); MemMap.index keeps the page's
 * anon_vma offset for rmap.
 */
import { tableIndex } from '../../hw/pagetable.js';
import { swapOffset } from './swapops.js';
import { PG_dirty, PG_locked, PG_swapbacked, PG_swapcache, PG_writeback } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { Completion } from '../../sim/wait.js';
import type { Kernel } from '../kernel.js';
import { walk_pte_tables } from './memory_zap.js';
import { PAGE_SIZE, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { __GFP_NOWAIT, __GFP_USER, alloc_page, free_frame, put_page_testzero_free } from './page_alloc.js';
import { ptep_get } from './pgtable.js';
import { swap_read_folio } from './page_io.js';
import { folio_add_lru, lru_add_drain } from './swap.js';
import { get_swap_page, put_swap_folio, swapcache_prepare, swapInfo, touchPage } from './swapfile.js';
import { is_real_swap_pte } from './guard.js';

/**
 * PG_reclaim: the page is being written for reclaim; rotate it to the
 * inactive tail when the write ends. PG_readahead shares the bit, as in the
 * kernel: a page read ahead and not yet used. Bit position our own.
 */
export const PG_reclaim = 1 << 26;
export const PG_readahead = PG_reclaim;

/** Bytes of the swapper address_space (its xarray root): the line every cache lookup reads. */
const SWAPPER_SPACE_BYTES = 128;

const CAT_ADD_TO_SWAP = intern('add_to_swap');
const CAT_READ_SWAP_CACHE = intern('read_swap_cache_async');
const CAT_SWAP_READAHEAD = intern('swap_cluster_readahead');
const CAT_IO_WAIT = intern('io_schedule');
const CAT_FORCE_SWAPIN = intern('force_swapin_readahead');

export class SwapCache {
  /** slot -> frame. */
  readonly pages = new Map<number, number>();
  /** frame -> slot (folio->swap). */
  readonly slotOf = new Map<number, number>();
  /** Reads in flight (the page is locked until they complete). */
  readonly reading = new Map<number, Completion>();
  /** Writes in flight (PG_writeback). */
  readonly writing = new Map<number, Completion>();
  readonly kaddr: number;
  /** swapin_readahead_hits: readahead pages used since the last window was sized. */
  raHits = 0;
  /** swapin_nr_pages()'s prev_offset and last_readahead_pages. */
  prevOffset = 0;
  lastRaPages = 0;

  constructor(readonly k: Kernel) {
    this.kaddr = k.slab.kmalloc(SWAPPER_SPACE_BYTES);
  }
}

export function swapCache(k: Kernel): SwapCache {
  return k.swapCache;
}

export function swap_cache_init(k: Kernel): SwapCache {
  const c = new SwapCache(k);
  k.swapCache = c;
  return c;
}

/** The xarray walk of one lookup or store in the swapper space. */
function touchXarray(t: Task, c: SwapCache, write: boolean): void {
  t.charge(c.k.machine.caches.access(t.cpu, c.kaddr, write) + c.k.cfg.kernel.cost.kernel_op);
}

/** folio->swap: the slot of a swap cache page, or -1. */
export function folio_swap_slot(k: Kernel, pfn: number): number {
  return swapCache(k).slotOf.get(pfn) ?? -1;
}

/** add_to_swap_cache(): the page enters the cache for `slot` (whose SWAP_HAS_CACHE the caller holds), with the cache's reference. */
export function add_to_swap_cache(t: Task, pfn: number, slot: number): void {
  const k = t.k;
  const c = swapCache(k);
  const memmap = k.mem_map;
  touchXarray(t, c, true);
  c.pages.set(slot, pfn);
  c.slotOf.set(pfn, slot);
  memmap.flags[pfn] = (memmap.flags[pfn]! | PG_swapcache | PG_swapbacked) >>> 0;
  memmap.refcount[pfn]!++;
  touchPage(t, pfn, true);
  k.engine.counters.add('swap_cache_add');
}

/** __delete_from_swap_cache(): the page leaves the cache; returns its slot. The caller drops the cache's reference and the slot's SWAP_HAS_CACHE. */
export function __delete_from_swap_cache(k: Kernel, t: Task | null, pfn: number): number {
  const c = swapCache(k);
  const slot = c.slotOf.get(pfn);
  if (slot === undefined) throw new Error(`__delete_from_swap_cache: pfn ${pfn} is not in the swap cache`);
  if (t) touchXarray(t, c, true);
  c.pages.delete(slot);
  c.slotOf.delete(pfn);
  const memmap = k.mem_map;
  memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_swapcache) >>> 0;
  return slot;
}

/** delete_from_swap_cache(): take the page out, release the slot's cache claim and the cache's reference. */
export function delete_from_swap_cache(t: Task, pfn: number): void {
  const k = t.k;
  const slot = __delete_from_swap_cache(k, t, pfn);
  put_swap_folio(k, t, slot);
  put_page_testzero_free(t, pfn);
}

/**
 * swap_cache_get_folio(): the cached page of a slot, or -1. A page read
 * ahead counts as a readahead hit the first time it is found.
 */
export function swap_cache_get_folio(k: Kernel, slot: number): number {
  const c = swapCache(k);
  const pfn = c.pages.get(slot);
  if (pfn === undefined) return -1;
  const memmap = k.mem_map;
  if ((memmap.flags[pfn]! & PG_readahead) !== 0 && !c.reading.has(pfn)) {
    memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_readahead) >>> 0;
    c.raHits++;
    k.engine.counters.add('swap_ra_hit');
  }
  return pfn;
}

/**
 * lookup_swap_cache() as do_swap_page and mincore see it: the slot's page if
 * it is cached and up to date; -1 when it is absent or its read is still in
 * flight (do_swap_page then goes through swapin, which waits for the read).
 */
export function lookup_swap_cache(k: Kernel, slot: number): number {
  const c = swapCache(k);
  const pfn = c.pages.get(slot);
  if (pfn === undefined || c.reading.has(pfn)) return -1;
  return swap_cache_get_folio(k, slot);
}

/** folio_wait_locked(): sleep until the page's read completes (folio_lock in do_swap_page). */
export function* folio_wait_locked(t: Task, pfn: number): Blocking<void> {
  const k = t.k;
  const c = swapCache(k).reading.get(pfn);
  if (!c || c.done) return;
  t.enter(CAT_IO_WAIT);
  yield t.sleepOn(c);
  t.leave();
}

/** folio_wait_writeback(): sleep until the page's write completes. */
export function* folio_wait_writeback(t: Task, pfn: number): Blocking<void> {
  const k = t.k;
  const c = swapCache(k).writing.get(pfn);
  if (!c || c.done) return;
  t.enter(CAT_IO_WAIT);
  yield t.sleepOn(c);
  t.leave();
}

/**
 * add_to_swap(): reclaim gives an anonymous page a slot and puts it in the
 * swap cache, dirty, so pageout writes it. False when swap is full.
 */
export function add_to_swap(t: Task, pfn: number): boolean {
  const k = t.k;
  t.enter(CAT_ADD_TO_SWAP);
  const slot = get_swap_page(t);
  if (slot < 0) {
    t.leave();
    return false;
  }
  add_to_swap_cache(t, pfn, slot);
  // folio_mark_dirty: the only copy of the data is in memory until pageout writes it.
  k.mem_map.flags[pfn] = (k.mem_map.flags[pfn]! | PG_dirty) >>> 0;
  t.leave();
  return true;
}

/**
 * __read_swap_cache_async(): the slot's page with a reference for the
 * caller: from the cache, or a new page cached and read from the device
 * (allocated = true; the read runs on after return). -1 when the slot was
 * freed meanwhile or no memory is left. Readahead allocations do not enter
 * direct reclaim (they are opportunistic), the faulting page's may.
 */
export function* read_swap_cache_async(t: Task, slot: number, readahead: boolean): Blocking<{ pfn: number; allocated: boolean }> {
  const k = t.k;
  const c = swapCache(k);
  const si = swapInfo(k);
  const memmap = k.mem_map;
  t.enter(CAT_READ_SWAP_CACHE);
  for (;;) {
    touchXarray(t, c, false);
    const found = swap_cache_get_folio(k, slot);
    if (found >= 0) {
      memmap.refcount[found]!++;
      touchPage(t, found, true);
      t.leave();
      return { pfn: found, allocated: false };
    }
    // The slot's last swap PTE went away (a racing zap or swapoff): nothing to read.
    if (si.mapCount(slot) === 0) {
      t.leave();
      return { pfn: -1, allocated: false };
    }
    const pfn = yield* alloc_page(t, __GFP_USER | (readahead ? __GFP_NOWAIT : 0));
    if (pfn < 0) {
      t.leave();
      return { pfn: -1, allocated: false };
    }
    // Allocation may have slept: another task may have cached the slot, or its PTEs may be gone.
    if (c.pages.has(slot) || !swapcache_prepare(t, slot)) {
      memmap.refcount[pfn] = 0;
      free_frame(k, pfn);
      if (si.mapCount(slot) === 0) {
        t.leave();
        return { pfn: -1, allocated: false };
      }
      continue;
    }
    memmap.flags[pfn] = (memmap.flags[pfn]! | PG_locked | PG_swapbacked) >>> 0;
    add_to_swap_cache(t, pfn, slot);
    // The caller's reference: the allocation's (the cache took its own).
    folio_add_lru(k, t, pfn);
    swap_read_folio(t, pfn, slot);
    t.leave();
    return { pfn, allocated: true };
  }
}

/**
 * __swapin_nr_pages(): the readahead window from recent hits: none (1 page)
 * after a miss unless the fault is next to the previous one, otherwise
 * hits + 2 rounded up to a power of two of at least 4, capped at
 * 2^page-cluster and shrinking by at most half per fault.
 */
export function swapin_nr_pages_window(prevOffset: number, offset: number, hits: number, maxPages: number, prevWin: number): number {
  let pages = hits + 2;
  if (pages === 2) {
    if (offset !== prevOffset + 1 && offset !== prevOffset - 1) pages = 1;
  } else {
    let roundup = 4;
    while (roundup < pages) roundup <<= 1;
    pages = roundup;
  }
  if (pages > maxPages) pages = maxPages;
  const lastRa = Math.floor(prevWin / 2);
  if (pages < lastRa) pages = lastRa;
  return pages;
}

/** swapin_nr_pages(): the window for a fault on `offset`, consuming the hits counted since the last one. */
function swapin_nr_pages(k: Kernel, offset: number): number {
  const c = swapCache(k);
  const maxPages = 1 << k.cfg.kernel.page_cluster;
  if (maxPages <= 1) return 1;
  const hits = c.raHits;
  c.raHits = 0;
  const pages = swapin_nr_pages_window(c.prevOffset, offset, hits, maxPages, c.lastRaPages);
  if (hits === 0) c.prevOffset = offset;
  c.lastRaPages = pages;
  return pages;
}

/**
 * swap_cluster_readahead(): read the aligned window around `slot`, then
 * return the slot's page (with a reference, possibly still being read).
 */
export function* swap_cluster_readahead(t: Task, slot: number): Blocking<number> {
  const k = t.k;
  const si = swapInfo(k);
  const memmap = k.mem_map;
  const mask = swapin_nr_pages(k, slot) - 1;
  if (mask > 0) {
    t.enter(CAT_SWAP_READAHEAD);
    let start = slot & ~mask;
    let end = slot | mask;
    if (start === 0) start = 1;
    if (end >= si.pages) end = si.pages - 1;
    for (let off = start; off <= end; off++) {
      if (off === slot || si.mapCount(off) === 0) continue;
      const r = yield* read_swap_cache_async(t, off, true);
      if (r.pfn < 0) continue;
      if (r.allocated) {
        memmap.flags[r.pfn] = (memmap.flags[r.pfn]! | PG_readahead) >>> 0;
        k.engine.counters.add('swap_ra');
      }
      put_page_testzero_free(t, r.pfn);
    }
    lru_add_drain(t);
    t.leave();
  }
  const r = yield* read_swap_cache_async(t, slot, false);
  return r.pfn;
}

/**
 * The swapIn hook: do_swap_page's read of `slot` into a swap cache page, with
 * readahead; returns the page up to date with a reference for the caller,
 * or -1 (out of memory, or the slot went away).
 */
export function* swapin_readahead(t: Task, slot: number): Blocking<number> {
  const pfn = yield* swap_cluster_readahead(t, slot);
  if (pfn < 0) return -1;
  yield* folio_wait_locked(t, pfn);
  return pfn;
}

/**
 * The swap slots of one page table's entries in [addr, next) (a module-level generator: one made per call costs the host microseconds).
 */
function* swapSlotsOf(t: Task, mm: MmStruct, table: number, addr: number, next: number, slots: number[]): Blocking<void> {
  for (let a = addr; a < next; a += PAGE_SIZE) {
    const pte = ptep_get(t, mm, table, tableIndex(a, 1));
    if (is_real_swap_pte(pte)) slots.push(swapOffset(pte));
  }
}

/**
 * force_swapin_readahead(), the anonymous part of madvise(MADV_WILLNEED):
 * start reading every swapped-out page of [start, end) of the area into the
 * swap cache, without waiting for the reads; the faults that follow then
 * find the pages there (or wait less).
 */
export function* force_swapin_readahead(t: Task, vma: VmAreaStruct, start: number, end: number): Blocking<void> {
  const mm = vma.vmMm;
  const slots: number[] = [];
  t.enter(CAT_FORCE_SWAPIN);
  yield* walk_pte_tables(t, mm, Math.max(start, vma.vmStart), Math.min(end, vma.vmEnd), (table, addr, next) => swapSlotsOf(t, mm, table, addr, next, slots));
  for (const slot of slots) {
    const r = yield* read_swap_cache_async(t, slot, false);
    if (r.pfn >= 0) put_page_testzero_free(t, r.pfn);
    if (t.shouldYield()) yield;
  }
  lru_add_drain(t);
  t.leave();
}

/** Whether the page is locked for a read or under writeback (reclaim and folio_free_swap leave such pages alone). */
export function folio_io_busy(k: Kernel, pfn: number): boolean {
  return (k.mem_map.flags[pfn]! & (PG_locked | PG_writeback)) !== 0;
}
