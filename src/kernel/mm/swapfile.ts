/**
 * Swap slots, after mm/swapfile.c: one swap area (type 0) over the
 * machine's SwapDevice, with the per-slot use counts of si->swap_map.
 *
 * A slot's count is the number of swap PTEs that name it; SWAP_HAS_CACHE is
 * kept beside it (the kernel packs it into the same byte) and says the swap
 * cache holds a page for the slot. A slot is free again when both are gone:
 * the last swap PTE dropped (swap_free / free_swap_and_cache) and the page
 * left the swap cache (put_swap_folio).
 *
 * Slot choice is the device's (lowest free after the last one handed out,
 * as the cluster allocator tends to); the kernel's per-CPU slot caches and
 * cluster lists are not modelled. Every count update is an atomic on the
 * swap_map byte's cache line, charged through the cache model.
 */
import { PTE_PRESENT, ptePfn, PTRS_PER_TABLE } from '../../hw/pagetable.js';
import { swapOffset } from './swapops.js';
import { PG_dirty, PG_locked, PG_mlocked, PG_swapcache, PG_writeback } from './page_flags.js';
import type { Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { MmCore, mmCore } from './core.js';
import { put_page_testzero_free } from './page_alloc.js';
import { delete_from_swap_cache, folio_swap_slot, swapCache } from './swap_state.js';
import { is_real_swap_pte } from './guard.js';

/** include/linux/swap.h: the swap cache holds a page for this slot. */
export const SWAP_HAS_CACHE = 0x40;
/** The one swap area every swap entry names. */
export const SWAP_TYPE = 0;

/** struct swap_info_struct, reduced to what one area needs. */
export class SwapInfo {
  /** Swap PTEs naming each slot (the count part of swap_map). */
  private count: Uint32Array;
  /** SWAP_HAS_CACHE per slot. */
  private cache: Uint8Array;
  /** Kernel address of swap_map (vmalloc'd, one byte per slot). */
  readonly mapKaddr: number;
  /** Kernel address of si->lock's line. */
  readonly lockKaddr: number;
  /** Slots in use (inuse_pages). */
  inuse = 0;

  constructor(
    readonly k: Kernel,
    /** Slots on the device (si->pages). */
    readonly pages: number,
  ) {
    const cap = Math.min(pages, 1024);
    this.count = new Uint32Array(cap);
    this.cache = new Uint8Array(cap);
    this.mapKaddr = pages > 0 ? k.slab.kmalloc(pages) : 0;
    this.lockKaddr = k.slab.kmalloc(k.machine.caches.lineBytes);
  }

  /** Grows the per-slot arrays to cover `slot` (host memory follows the slots used, not the device size). */
  private cover(slot: number): void {
    if (slot < this.count.length) return;
    let cap = this.count.length;
    while (cap <= slot) cap *= 2;
    cap = Math.min(cap, this.pages);
    const c = new Uint32Array(cap);
    c.set(this.count);
    this.count = c;
    const h = new Uint8Array(cap);
    h.set(this.cache);
    this.cache = h;
  }

  /** swap_count(): swap PTEs naming the slot. */
  mapCount(slot: number): number {
    return slot < this.count.length ? this.count[slot]! : 0;
  }

  hasCache(slot: number): boolean {
    return slot < this.cache.length && this.cache[slot] === 1;
  }

  /** __swap_count() != 0 or SWAP_HAS_CACHE: the slot is allocated. */
  inUse(slot: number): boolean {
    return this.mapCount(slot) > 0 || this.hasCache(slot);
  }

  /** Sets the two halves of the slot's swap_map byte (internal to this file and swap_state.ts). */
  setCount(slot: number, n: number): void {
    this.cover(slot);
    this.count[slot] = n;
  }

  setCache(slot: number, on: boolean): void {
    this.cover(slot);
    this.cache[slot] = on ? 1 : 0;
  }
}

/** The swap area (swap_info[0]). */
export function swapInfo(k: Kernel): SwapInfo {
  return k.swapInfo;
}

/** The swap device's slots in use as swap: all of them after swapon (kernel.swapon), none without. */
export function swapSlots(k: Kernel): number {
  return k.cfg.kernel.swapon ? k.swap.slots : 0;
}

/** swapon: the device's slots become the swap area (no area when swap is disabled). */
export function swap_setup(k: Kernel): SwapInfo {
  const si = new SwapInfo(k, swapSlots(k));
  k.swapInfo = si;
  return si;
}

/** Charges an atomic update of the slot's swap_map byte. */
function touchMap(t: Task, si: SwapInfo, slot: number): void {
  const k = si.k;
  t.charge(k.machine.caches.access(t.cpu, si.mapKaddr + slot, true) + k.cfg.cost.atomic_rmw);
}

/** get_nr_swap_pages(): free slots. */
export function nr_swap_pages(k: Kernel): number {
  const si = swapInfo(k);
  return si.pages - si.inuse;
}

/** total_swap_pages. */
export function total_swap_pages(k: Kernel): number {
  return swapInfo(k).pages;
}

/** vm_swap_full(): more than half the swap space is in use (then swap cache copies of mapped pages are dropped early). */
export function vm_swap_full(k: Kernel): boolean {
  const si = swapInfo(k);
  return (si.pages - si.inuse) * 2 < si.pages;
}

/**
 * folio_alloc_swap() / get_swap_pages(): a free slot for a page entering the
 * swap cache, with SWAP_HAS_CACHE set; -1 when swap is full or absent.
 */
export function get_swap_page(t: Task): number {
  const k = t.k;
  const si = swapInfo(k);
  if (si.inuse >= si.pages) return -1;
  // scan_swap_map_slots under si->lock.
  t.charge(k.machine.caches.access(t.cpu, si.lockKaddr, true) + k.cfg.cost.atomic_rmw + k.cfg.kernel.cost.kernel_op);
  const slot = k.swap.allocSlot();
  if (slot < 0) return -1;
  si.setCount(slot, 0);
  si.setCache(slot, true);
  si.inuse++;
  touchMap(t, si, slot);
  t.charge(k.machine.caches.access(t.cpu, si.lockKaddr, true));
  k.engine.counters.add('swap_slots_allocated');
  return slot;
}

/** swap_range_free(): the slot has neither PTEs nor a cached page: back to the device. */
function slotFree(si: SwapInfo, slot: number): void {
  si.setCount(slot, 0);
  si.setCache(slot, false);
  si.inuse--;
  si.k.swap.freeSlot(slot);
}

/**
 * swap_duplicate(): one more swap PTE names the slot (try_to_unmap installing
 * it, fork copying it). Returns 0, or -ENOENT-like -1 for a slot not in use.
 */
export function swap_duplicate(k: Kernel, t: Task | null, slot: number): number {
  const si = swapInfo(k);
  if (!(slot >= 0 && slot < si.pages) || !si.inUse(slot)) return -1;
  si.setCount(slot, si.mapCount(slot) + 1);
  if (t) touchMap(t, si, slot);
  return 0;
}

/**
 * swap_free(): one swap PTE naming the slot went away. The slot is freed when
 * no PTE names it and no page caches it.
 */
export function swap_free(k: Kernel, t: Task | null, slot: number): void {
  const si = swapInfo(k);
  const n = si.mapCount(slot);
  if (n <= 0) throw new Error(`swap_free: slot ${slot} has no swap PTE to drop`);
  si.setCount(slot, n - 1);
  if (t) touchMap(t, si, slot);
  if (n === 1 && !si.hasCache(slot)) slotFree(si, slot);
}

/**
 * put_swap_folio(): the swap cache dropped its page for the slot (clear
 * SWAP_HAS_CACHE); frees the slot if no PTE names it.
 */
export function put_swap_folio(k: Kernel, t: Task | null, slot: number): void {
  const si = swapInfo(k);
  if (!si.hasCache(slot)) throw new Error(`put_swap_folio: slot ${slot} is not cached`);
  si.setCache(slot, false);
  if (t) touchMap(t, si, slot);
  if (si.mapCount(slot) === 0) slotFree(si, slot);
}

/**
 * swapcache_prepare(): claim SWAP_HAS_CACHE for a slot about to get a page
 * read into the swap cache. False when the slot is free (its PTEs went away
 * meanwhile) or another page already caches it.
 */
export function swapcache_prepare(t: Task, slot: number): boolean {
  const k = t.k;
  const si = swapInfo(k);
  if (si.mapCount(slot) === 0 || si.hasCache(slot)) return false;
  si.setCache(slot, true);
  touchMap(t, si, slot);
  return true;
}

/**
 * folio_swapcache_freeable(): a swap cache page that may leave the cache
 * now: not under writeback (nor locked for a read).
 */
export function folio_swapcache_freeable(k: Kernel, pfn: number): boolean {
  const f = k.mem_map.flags[pfn]!;
  return (f & PG_swapcache) !== 0 && (f & PG_writeback) === 0;
}

/**
 * folio_free_swap(): drop the swap cache copy of a page that no swap PTE
 * names any more (the page itself, still mapped or held, now carries the
 * only copy, so it becomes dirty). The caller holds a reference. False when
 * the page is not in the cache, is under I/O, or its slot is still named.
 */
export function folio_free_swap(t: Task, pfn: number): boolean {
  const k = t.k;
  const memmap = k.mem_map;
  if (!folio_swapcache_freeable(k, pfn) || (memmap.flags[pfn]! & PG_locked) !== 0) return false;
  const slot = folio_swap_slot(k, pfn);
  if (swapInfo(k).mapCount(slot) > 0) return false;
  delete_from_swap_cache(t, pfn);
  memmap.flags[pfn] = (memmap.flags[pfn]! | PG_dirty) >>> 0;
  return true;
}

/**
 * free_swap_and_cache(): a swap PTE naming `slot` was zapped. When that was
 * the last one and the slot's page sits in the swap cache unmapped (or swap
 * is more than half full), the page leaves the cache too
 * (__try_to_reclaim_swap with TTRS_UNMAPPED | TTRS_FULL), and is freed if
 * nothing else holds it.
 */
export function free_swap_and_cache(t: Task, slot: number): void {
  const k = t.k;
  const si = swapInfo(k);
  if (!(slot >= 0 && slot < si.pages) || si.mapCount(slot) === 0) throw new Error(`free_swap_and_cache: slot ${slot} is not named by any swap PTE`);
  swap_free(k, t, slot);
  if (si.mapCount(slot) > 0 || !si.hasCache(slot)) return;
  const pfn = swapCache(k).pages.get(slot);
  if (pfn === undefined) return;
  const memmap = k.mem_map;
  if (memmap.mapcount[pfn]! > 0 && !vm_swap_full(k)) return;
  // filemap_get_folio + folio_trylock: a reference while the cache lets go.
  memmap.refcount[pfn]!++;
  touchPage(t, pfn, true);
  folio_free_swap(t, pfn);
  put_page_testzero_free(t, pfn);
}

/**
 * should_try_to_free_swap() + folio_free_swap(), for do_swap_page once it
 * has mapped a swap cache page: drop the cache copy when swap is filling up,
 * the page is mlocked, or a write fault comes from the page's only user
 * (only the cache and the fault hold it), so the write reuses the page
 * instead of copying it.
 */
export function try_free_swap_after_fault(t: Task, pfn: number, write: boolean): void {
  const k = t.k;
  const memmap = k.mem_map;
  const f = memmap.flags[pfn]!;
  if ((f & PG_swapcache) === 0) return;
  if (vm_swap_full(k) || (f & PG_mlocked) !== 0 || (write && memmap.refcount[pfn] === 2)) folio_free_swap(t, pfn);
}

/**
 * free_swap_cache(): an unmapped page on its way out of an mmu_gather leaves
 * the swap cache if no swap PTE names its slot (the gather still holds it).
 */
export function free_swap_cache(t: Task, pfn: number): void {
  const k = t.k;
  const memmap = k.mem_map;
  if ((memmap.flags[pfn]! & PG_swapcache) === 0 || memmap.mapcount[pfn]! > 0) return;
  folio_free_swap(t, pfn);
}

/** Charges the struct page access of a swap-side check on a frame. */
export function touchPage(t: Task, pfn: number, write: boolean): void {
  const k = t.k;
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), write));
}

/**
 * Consistency of swap (for tests; no cycles): every slot's count equals the
 * swap PTEs naming it in all live address spaces; SWAP_HAS_CACHE is set
 * exactly for slots the swap cache holds a page for; swap cache pages carry
 * PG_swapcache and the cache's reference; the device's used slots are the
 * area's. Returns the violations found.
 */
export function swap_check(k: Kernel): string[] {
  const out: string[] = [];
  const si = swapInfo(k);
  const cache = swapCache(k);
  const memmap = k.mem_map;
  const pt = k.machine.pt;
  const named = new Map<number, number>();
  const walk = (table: number, level: number): void => {
    const n = level === 4 ? PTRS_PER_TABLE / 2 : PTRS_PER_TABLE;
    for (let i = 0; i < n; i++) {
      const e = pt.readEntry(table, i);
      if (e === 0) continue;
      if (level > 1) {
        if ((e & PTE_PRESENT) !== 0) walk(ptePfn(e), level - 1);
        continue;
      }
      if (is_real_swap_pte(e)) named.set(swapOffset(e), (named.get(swapOffset(e)) ?? 0) + 1);
    }
  };
  for (const mm of mmCore(k).mms.values()) if (mm.pgd >= 0) walk(mm.pgd, 4);
  let inuse = 0;
  for (let slot = 0; slot < si.pages; slot++) {
    const c = si.mapCount(slot);
    const h = si.hasCache(slot);
    if (c > 0 || h) inuse++;
    const want = named.get(slot) ?? 0;
    if (c !== want) out.push(`slot ${slot}: count ${c} but ${want} swap PTEs name it`);
    const pfn = cache.pages.get(slot);
    if (h !== (pfn !== undefined)) out.push(`slot ${slot}: SWAP_HAS_CACHE ${h} but the swap cache ${pfn === undefined ? 'has no page' : `holds pfn ${pfn}`}`);
    if ((c > 0 || h) !== k.swap.isUsed(slot)) out.push(`slot ${slot}: in use ${c > 0 || h} but the device says ${k.swap.isUsed(slot)}`);
  }
  if (inuse !== si.inuse) out.push(`${inuse} slots in use but inuse_pages is ${si.inuse}`);
  for (const [slot, pfn] of cache.pages) {
    if (memmap.isFree(pfn)) out.push(`slot ${slot}: the swap cache holds free pfn ${pfn}`);
    else {
      if ((memmap.flags[pfn]! & PG_swapcache) === 0) out.push(`pfn ${pfn} (slot ${slot}) lacks PG_swapcache`);
      if (memmap.refcount[pfn]! < 1 + memmap.mapcount[pfn]!) out.push(`pfn ${pfn} (slot ${slot}): refcount ${memmap.refcount[pfn]} below the cache's and ${memmap.mapcount[pfn]} mappings`);
    }
    if (cache.slotOf.get(pfn) !== slot) out.push(`pfn ${pfn}: folio->swap is ${cache.slotOf.get(pfn)}, cached under ${slot}`);
  }
  return out;
}
