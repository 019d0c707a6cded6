/**
 * The page allocator's entry points, after mm/page_alloc.c: order-0 pages
 * with watermarks, a wake-up of kswapd below the low watermark and direct
 * reclaim when no frame is free (both through MmCore.hooks, where the
 * reclaim code attaches), and the freeing side: put_page dropping the last
 * reference frees the frame.
 *
 * Every allocation and free charges its fixed cost (cost.page_alloc,
 * cost.page_free) and the access to the frame's struct page through the
 * caches, so a frame freed on one CPU and reused on another pulls its
 * struct page's line across.
 */
import { PG_anon, PG_pagetable, PG_reserved, PG_zero } from '../../hw/physmem.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { MmCore, mmCore } from './core.js';

/** Clear the page before returning it (__GFP_ZERO). */
export const __GFP_ZERO = 1 << 0;
/** The allocation may not sleep: no direct reclaim (GFP_NOWAIT / GFP_ATOMIC). */
export const __GFP_NOWAIT = 1 << 1;
/** A user page (GFP_HIGHUSER_MOVABLE): counted apart from kernel allocations. */
export const __GFP_USER = 1 << 2;

/** SWAP_CLUSTER_MAX: what direct reclaim tries to free per round. */
const SWAP_CLUSTER_MAX = 32;
/** Rounds of direct reclaim before an allocation gives up (the slowpath's retries, before OOM). */
const MAX_RECLAIM_RETRIES = 16;

const CAT_ALLOC = intern('__alloc_pages');
const CAT_CLEAR = intern('clear_page');
const CAT_DIRECT_RECLAIM = intern('__alloc_pages_direct_reclaim');

/** Takes a frame off the free lists without reclaim; -1 when none (or the min watermark would be broken). */
function rmqueue(t: Task, k: Kernel, core: MmCore, gfp: number): number {
  const mem = k.machine.mem;
  if (mem.freeCount <= core.lowWmark) core.hooks.wakeupKswapd?.(t, k);
  // Only allocations that cannot sleep may dip below the min watermark, as ALLOC_HARDER lets atomic ones.
  if (mem.freeCount <= core.minWmark && (gfp & __GFP_NOWAIT) === 0 && core.hooks.directReclaim) return -1;
  const pfn = mem.alloc();
  if (pfn < 0) return -1;
  mem.refcount[pfn] = 1;
  mem.mapcount[pfn] = 0;
  t.charge(k.cfg.kernel.cost.page_alloc + k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true));
  k.engine.counters.add('pgalloc_normal');
  return pfn;
}

function clearPage(t: Task, k: Kernel, pfn: number): void {
  k.machine.mem.zero(pfn);
  t.chargeAs(CAT_CLEAR, k.cfg.cost.zero_page);
}

/**
 * alloc_pages(gfp, 0): a frame with one reference, or -1 when memory is
 * exhausted even after reclaim (the caller reports ENOMEM or VM_FAULT_OOM).
 * May sleep in direct reclaim unless __GFP_NOWAIT.
 */
export function* alloc_page(t: Task, k: Kernel, gfp: number): Blocking<number> {
  const core = mmCore(k);
  t.enter(CAT_ALLOC);
  let pfn = rmqueue(t, k, core, gfp);
  for (let round = 0; pfn < 0 && (gfp & __GFP_NOWAIT) === 0 && core.hooks.directReclaim && round < MAX_RECLAIM_RETRIES; round++) {
    t.enter(CAT_DIRECT_RECLAIM);
    k.engine.counters.add('allocstall_normal');
    const freed = yield* core.hooks.directReclaim(t, k, SWAP_CLUSTER_MAX);
    t.leave();
    pfn = rmqueue(t, k, core, gfp | (freed === 0 ? __GFP_NOWAIT : 0));
    if (freed === 0 && pfn < 0) break;
  }
  if (pfn < 0 && (gfp & __GFP_NOWAIT) === 0 && !core.hooks.directReclaim) pfn = rmqueue(t, k, core, gfp | __GFP_NOWAIT);
  t.leave();
  if (pfn >= 0 && (gfp & __GFP_ZERO) !== 0) clearPage(t, k, pfn);
  return pfn;
}

/** alloc_page without sleeping (GFP_NOWAIT): -1 when nothing is free above the reserves. */
export function alloc_page_nowait(t: Task, k: Kernel, gfp: number): number {
  const pfn = rmqueue(t, k, mmCore(k), gfp | __GFP_NOWAIT);
  if (pfn >= 0 && (gfp & __GFP_ZERO) !== 0) clearPage(t, k, pfn);
  return pfn;
}

/** Returns a frame with no references left to the free lists (free_unref_page). */
export function free_frame(k: Kernel, pfn: number): void {
  const mem = k.machine.mem;
  const core = mmCore(k);
  core.hooks.onFree?.(k, pfn);
  if ((mem.flags[pfn]! & PG_anon) !== 0) {
    const av = core.anonVmas.get(mem.owner[pfn]!);
    if (av) {
      av.pages--;
      if (av.pages === 0 && av.refcount === 0) core.anonVmas.delete(av.id);
    }
  }
  mem.refcount[pfn] = 0;
  mem.mapcount[pfn] = 0;
  mem.free(pfn);
  k.engine.counters.add('pgfree');
}

/** put_page() charged to a task: drop one reference; the last one frees the frame. Returns true if it was freed. */
export function put_page_testzero_free(t: Task, k: Kernel, pfn: number): boolean {
  const mem = k.machine.mem;
  if ((mem.flags[pfn]! & (PG_zero | PG_reserved)) !== 0) return false;
  const r = --mem.refcount[pfn]!;
  if (r < 0) throw new Error(`put_page: pfn ${pfn} refcount went negative`);
  if (r > 0) return false;
  t.charge(k.cfg.kernel.cost.page_free);
  free_frame(k, pfn);
  return true;
}

/** get_page(): one more reference (an atomic on the struct page). */
export function get_page(t: Task, k: Kernel, pfn: number): void {
  const mem = k.machine.mem;
  if ((mem.flags[pfn]! & (PG_zero | PG_reserved)) !== 0) return;
  mem.refcount[pfn]!++;
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true) + k.cfg.cost.atomic_rmw);
}

/**
 * pte_alloc_one / pmd_alloc_one: a zeroed page-table frame (PG_pagetable,
 * one reference), or -1. The frame holds real bytes from the start, as the
 * walker reads entries from them.
 */
export function* alloc_pgtable_page(t: Task, k: Kernel): Blocking<number> {
  const pfn = yield* alloc_page(t, k, __GFP_ZERO);
  if (pfn < 0) return -1;
  const mem = k.machine.mem;
  mem.materialize(pfn);
  mem.flags[pfn] = PG_pagetable;
  k.engine.counters.add('nr_page_table_pages');
  return pfn;
}

/** pagetable_free(): a page-table frame whose TLB and paging-structure-cache entries are gone. */
export function free_pgtable_page(k: Kernel, pfn: number): void {
  const mem = k.machine.mem;
  if ((mem.flags[pfn]! & PG_pagetable) === 0) throw new Error(`free_pgtable_page: pfn ${pfn} is not a page table`);
  mmCore(k).hooks.onFree?.(k, pfn);
  k.machine.pt.freeTable(pfn);
  k.engine.counters.add('nr_page_table_pages', -1);
  k.engine.counters.add('pgfree');
}

/** Sets up ZERO_PAGE(0): a reserved, zero-filled frame that read faults map and nothing frees. */
export function init_zero_page(k: Kernel): number {
  const mem = k.machine.mem;
  const pfn = mem.alloc();
  if (pfn < 0) throw new Error('mm_init: no frame for the zero page');
  mem.zero(pfn);
  mem.flags[pfn] = PG_zero | PG_reserved;
  mem.refcount[pfn] = 1;
  return pfn;
}
