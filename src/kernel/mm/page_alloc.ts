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
 *
 * MemMap is the kernel's mem_map, the array of struct page, and the free
 * lists the frames come from. Its arrays follow the frames handed out, not
 * the size of RAM: each covers pfns [0, capacity) and doubles (capped at the
 * RAM size) when a higher pfn is handed out. Frames are handed out lowest
 * never-used pfn first; freed frames go on a LIFO stack and are reused first,
 * as the per-CPU hot lists hand back the most recently freed (cache-warm)
 * page. The hardware only learns that a frame is claimed or released.
 */
import type { TableFrames } from '../../hw/pagetable.js';
import type { PhysMem } from '../../hw/physmem.js';
import { PAGE_SIZE } from '../../hw/types.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { MmCore, mmCore } from './core.js';
import { PG_anon, PG_pagetable, PG_reserved, PG_zero } from './page_flags.js';
import { mem_cgroup_charge, mem_cgroup_forget, mem_cgroup_uncharge } from './memcontrol.js';
import { pcp_alloc, pcp_free_commit } from './page_pcp.js';

const INITIAL_CAPACITY = 1024;

export class MemMap implements TableFrames {
  // struct page, one field per array over pfns [0, capacity). Replaced (not
  // resized) when they grow, so hold the MemMap, not the arrays, across allocations.
  refcount: Int32Array;
  mapcount: Int32Array;
  flags: Uint32Array;
  /** The owning mapping's id (page->mapping): an address_space or an anon_vma, as PG_anon says. */
  owner: Int32Array;
  /** The page offset in its mapping, or a swap slot (page->index, page->private). */
  index: Float64Array;

  readonly totalFrames: number;
  private capacity: number;
  /** pfns below this have been handed out at least once. */
  private highWater = 0;
  private freeStack = new Int32Array(64);
  private freeTop = 0;
  private used = 0;

  constructor(readonly mem: PhysMem) {
    this.totalFrames = mem.totalFrames;
    const cap = Math.min(INITIAL_CAPACITY, this.totalFrames);
    this.refcount = new Int32Array(cap);
    this.mapcount = new Int32Array(cap);
    this.flags = new Uint32Array(cap);
    this.owner = new Int32Array(cap);
    this.index = new Float64Array(cap);
    this.capacity = cap;
  }

  get freeCount(): number {
    return this.totalFrames - this.used;
  }
  get usedCount(): number {
    return this.used;
  }

  /** A free frame's pfn with cleared struct page and POISON contents, or -1 when none is free. */
  alloc(): number {
    let pfn: number;
    if (this.freeTop > 0) {
      pfn = this.freeStack[--this.freeTop]!;
    } else if (this.highWater < this.totalFrames) {
      pfn = this.highWater++;
      if (pfn >= this.capacity) this.grow(pfn + 1);
    } else {
      return -1;
    }
    this.mem.claim(pfn);
    this.used++;
    return pfn;
  }

  /**
   * `n` (a power of two) free frames, contiguous and starting at a multiple
   * of `n`, as the buddy allocator hands out a block of that order; returns
   * the first pfn or -1. Never-used frames are taken first (the frames
   * skipped to reach alignment go on the free stack); otherwise the lowest
   * block whose frames are all free is taken. Each frame is as alloc() leaves it.
   */
  allocAligned(n: number): number {
    let base = Math.ceil(this.highWater / n) * n;
    if (base + n <= this.totalFrames) {
      if (base + n > this.capacity) this.grow(base + n);
      for (let p = this.highWater; p < base; p++) this.pushFree(p);
      this.highWater = base + n;
    } else {
      base = -1;
      for (let b = 0; b + n <= this.highWater && base < 0; b += n) {
        let all = true;
        for (let p = b; p < b + n && all; p++) all = this.isFree(p);
        if (all) base = b;
      }
      if (base < 0) return -1;
      let w = 0;
      for (let r = 0; r < this.freeTop; r++) {
        const p = this.freeStack[r]!;
        if (p < base || p >= base + n) this.freeStack[w++] = p;
      }
      this.freeTop = w;
    }
    for (let p = base; p < base + n; p++) this.mem.claim(p);
    this.used += n;
    return base;
  }

  private pushFree(pfn: number): void {
    if (this.freeTop === this.freeStack.length) {
      const s = new Int32Array(this.freeStack.length * 2);
      s.set(this.freeStack);
      this.freeStack = s;
    }
    this.freeStack[this.freeTop++] = pfn;
  }

  /**
   * Returns a frame to the free lists. Its contents become POISON and its
   * struct page is cleared. A frame still referenced or mapped, or already
   * free, is a kernel bug: throws.
   */
  free(pfn: number): void {
    if (!(pfn >= 0 && pfn < this.highWater) || this.isFree(pfn)) {
      throw new Error(`free_frame: pfn ${pfn} is not allocated`);
    }
    if (this.refcount[pfn] !== 0 || this.mapcount[pfn] !== 0) {
      throw new Error(`free_frame: pfn ${pfn} still has refcount ${this.refcount[pfn]} mapcount ${this.mapcount[pfn]}`);
    }
    this.mem.release(pfn);
    this.flags[pfn] = 0;
    this.owner[pfn] = 0;
    this.index[pfn] = 0;
    this.pushFree(pfn);
    this.used--;
  }

  /** The pfn the i-th next alloc() would hand out, or -1 (nothing else allocated or freed meanwhile). */
  peekFree(i: number): number {
    if (i < this.freeTop) return this.freeStack[this.freeTop - 1 - i]!;
    const p = this.highWater + (i - this.freeTop);
    return p < this.totalFrames ? p : -1;
  }

  /** True for a frame that is free or was never handed out. */
  isFree(pfn: number): boolean {
    return pfn >= this.highWater || !this.mem.isClaimed(pfn);
  }

  /** A page-table frame for the walker's tables (pagetable_alloc): PG_pagetable, one reference; -1 when none is free. */
  allocTableFrame(): number {
    const pfn = this.alloc();
    if (pfn < 0) return -1;
    this.flags[pfn] = PG_pagetable;
    this.refcount[pfn] = 1;
    return pfn;
  }

  /** pagetable_free: the caller has flushed every TLB and paging-structure-cache entry through it. */
  freeTableFrame(pfn: number): void {
    this.refcount[pfn] = 0;
    this.flags[pfn] = this.flags[pfn]! & ~PG_pagetable;
    this.free(pfn);
  }

  private grow(minCap: number): void {
    let cap = this.capacity;
    while (cap < minCap) cap *= 2;
    cap = Math.min(cap, this.totalFrames);
    const g32 = (a: Int32Array): Int32Array => {
      const n = new Int32Array(cap);
      n.set(a);
      return n;
    };
    this.refcount = g32(this.refcount);
    this.mapcount = g32(this.mapcount);
    this.owner = g32(this.owner);
    const f = new Uint32Array(cap);
    f.set(this.flags);
    this.flags = f;
    const ix = new Float64Array(cap);
    ix.set(this.index);
    this.index = ix;
    this.capacity = cap;
  }

  /**
   * Host bytes per frame in use of the struct page arrays (at their current
   * capacity) and the free stack, plus the hardware's own per-frame
   * bookkeeping; the 4 KiB of frames holding real bytes are not counted.
   */
  hostBytesPerPage(): number {
    const perFrame = 4 + 4 + 4 + 4 + 8;
    return this.used === 0 ? 0 : (this.capacity * perFrame + this.freeStack.length * 4) / this.used + this.mem.hostBytesPerFrame();
  }
}

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
function rmqueue(t: Task, core: MmCore, gfp: number): number {
  const k = t.k;
  const memmap = k.mem_map;
  if (memmap.freeCount <= core.lowWmark) core.hooks.wakeupKswapd?.(t);
  // Only allocations that cannot sleep may dip below the min watermark, as ALLOC_HARDER lets atomic ones.
  if (memmap.freeCount <= core.minWmark && (gfp & __GFP_NOWAIT) === 0 && core.hooks.directReclaim) return -1;
  if (memmap.freeCount === 0) return -1;
  pcp_alloc(t, memmap.freeCount);
  const pfn = memmap.alloc();
  if (pfn < 0) return -1;
  memmap.refcount[pfn] = 1;
  memmap.mapcount[pfn] = 0;
  t.charge(k.cfg.kernel.cost.page_alloc + k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true));
  k.engine.counters.add('pgalloc_normal');
  return pfn;
}

function clearPage(t: Task, pfn: number): void {
  const k = t.k;
  k.machine.mem.zero(pfn);
  // 4 KiB of string stores through the caches: a cache-hot page clears at the store rate of the level holding it.
  t.chargeAs(CAT_CLEAR, k.clearRange(t, pfn * PAGE_SIZE, PAGE_SIZE));
  k.engine.counters.add('pages_cleared');
}

/**
 * alloc_pages(gfp, 0): a frame with one reference, or -1 when memory is
 * exhausted even after reclaim (the caller reports ENOMEM or VM_FAULT_OOM).
 * May sleep in direct reclaim unless __GFP_NOWAIT.
 */
export function* alloc_page(t: Task, gfp: number): Blocking<number> {
  const k = t.k;
  const core = mmCore(k);
  t.enter(CAT_ALLOC);
  let pfn = rmqueue(t, core, gfp);
  for (let round = 0; pfn < 0 && (gfp & __GFP_NOWAIT) === 0 && core.hooks.directReclaim && round < MAX_RECLAIM_RETRIES; round++) {
    t.enter(CAT_DIRECT_RECLAIM);
    k.engine.counters.add('allocstall_normal');
    const freed = yield* core.hooks.directReclaim(t, SWAP_CLUSTER_MAX);
    t.leave();
    pfn = rmqueue(t, core, gfp | (freed === 0 ? __GFP_NOWAIT : 0));
    if (freed === 0 && pfn < 0) break;
  }
  if (pfn < 0 && (gfp & __GFP_NOWAIT) === 0 && !core.hooks.directReclaim) pfn = rmqueue(t, core, gfp | __GFP_NOWAIT);
  t.leave();
  if (pfn >= 0 && (gfp & __GFP_ZERO) !== 0) clearPage(t, pfn);
  if (pfn >= 0 && (gfp & __GFP_USER) !== 0) mem_cgroup_charge(t, pfn);
  return pfn;
}

/** alloc_page without sleeping (GFP_NOWAIT): -1 when nothing is free above the reserves. */
export function alloc_page_nowait(t: Task, gfp: number): number {
  const k = t.k;
  const pfn = rmqueue(t, mmCore(k), gfp | __GFP_NOWAIT);
  if (pfn >= 0 && (gfp & __GFP_ZERO) !== 0) clearPage(t, pfn);
  if (pfn >= 0 && (gfp & __GFP_USER) !== 0) mem_cgroup_charge(t, pfn);
  return pfn;
}

/** Returns a frame with no references left to the free lists (free_unref_page). */
export function free_frame(k: Kernel, pfn: number): void {
  const memmap = k.mem_map;
  const core = mmCore(k);
  core.hooks.onFree?.(k, pfn);
  mem_cgroup_forget(k, pfn);
  if ((memmap.flags[pfn]! & PG_anon) !== 0) {
    const av = core.anonVmas.get(memmap.owner[pfn]!);
    if (av) {
      av.pages--;
      if (av.pages === 0 && av.refcount === 0) core.anonVmas.delete(av.id);
    }
  }
  memmap.refcount[pfn] = 0;
  memmap.mapcount[pfn] = 0;
  memmap.free(pfn);
  k.engine.counters.add('pgfree');
}

/** put_page() charged to a task: drop one reference; the last one frees the frame. Returns true if it was freed. */
export function put_page_testzero_free(t: Task, pfn: number): boolean {
  const k = t.k;
  const memmap = k.mem_map;
  if ((memmap.flags[pfn]! & (PG_zero | PG_reserved)) !== 0) return false;
  const r = --memmap.refcount[pfn]!;
  if (r < 0) throw new Error(`put_page: pfn ${pfn} refcount went negative`);
  if (r > 0) return false;
  free_unref_page(t, pfn);
  return true;
}

/**
 * free_unref_page() of an order-0 frame with no references left, charged to
 * t: the memcg uncharge of a user page (into the caller's uncharge_gather, if
 * one is open), cost.page_free for the free to the per-CPU list, then the
 * list's spill to the buddy lists when it passes its high mark (page_pcp.ts).
 */
export function free_unref_page(t: Task, pfn: number): void {
  mem_cgroup_uncharge(t, pfn);
  t.charge(t.k.cfg.kernel.cost.page_free);
  free_frame(t.k, pfn);
  pcp_free_commit(t, pfn);
}

/** get_page(): one more reference (an atomic on the struct page). */
export function get_page(t: Task, pfn: number): void {
  const k = t.k;
  const memmap = k.mem_map;
  if ((memmap.flags[pfn]! & (PG_zero | PG_reserved)) !== 0) return;
  memmap.refcount[pfn]!++;
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true) + k.cfg.cost.atomic_rmw);
}

/**
 * pte_alloc_one / pmd_alloc_one: a zeroed page-table frame (PG_pagetable,
 * one reference), or -1. The frame holds real bytes from the start, as the
 * walker reads entries from them.
 */
export function* alloc_pgtable_page(t: Task): Blocking<number> {
  const k = t.k;
  const pfn = yield* alloc_page(t, __GFP_ZERO);
  if (pfn < 0) return -1;
  const mem = k.machine.mem;
  const memmap = k.mem_map;
  mem.materialize(pfn);
  memmap.flags[pfn] = PG_pagetable;
  k.engine.counters.add('nr_page_table_pages');
  return pfn;
}

/** pagetable_free(): a page-table frame whose TLB and paging-structure-cache entries are gone. */
export function free_pgtable_page(k: Kernel, pfn: number): void {
  const memmap = k.mem_map;
  if ((memmap.flags[pfn]! & PG_pagetable) === 0) throw new Error(`free_pgtable_page: pfn ${pfn} is not a page table`);
  mmCore(k).hooks.onFree?.(k, pfn);
  k.machine.pt.freeTable(pfn);
  k.engine.counters.add('nr_page_table_pages', -1);
  k.engine.counters.add('pgfree');
}

/** Sets up ZERO_PAGE(0): a reserved, zero-filled frame that read faults map and nothing frees. */
export function init_zero_page(k: Kernel): number {
  const mem = k.machine.mem;
  const memmap = k.mem_map;
  const pfn = memmap.alloc();
  if (pfn < 0) throw new Error('mm_init: no frame for the zero page');
  mem.zero(pfn);
  memmap.flags[pfn] = PG_zero | PG_reserved;
  memmap.refcount[pfn] = 1;
  return pfn;
}
