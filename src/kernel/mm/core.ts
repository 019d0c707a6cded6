/**
 * Per-kernel state of memory management: the shared zero page, the id
 * spaces of mm contexts and of page owners (anon_vmas and page caches), the
 * live address spaces, x86's per-CPU TLB state, and the hooks through which
 * reclaim and swap plug in.
 *
 * A frame's owner (MemMap.owner) is the id of the anon_vma or the
 * address_space it belongs to (PG_anon tells which), and MemMap.index its
 * page offset there, as page->mapping and page->index are in Linux; rmap.ts
 * turns that back into the areas that map it.
 */
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import type { AddressSpace } from './filemap.js';
import type { AnonVma, MmStruct, VmFile } from './mm_types.js';
import { CpuTlbState } from './tlbflush.js';

/** Kernel address of the struct pages (vmemmap): 64 bytes, one cache line, per frame. */
import type { MemCgroup } from './memcontrol.js';
import type { VmStat } from './vmstat.js';
import type { ZonePcp } from './page_pcp.js';

export const VMEMMAP_BASE = 2 ** 42;
export const STRUCT_PAGE_BYTES = 64;

/**
 * Where reclaim and swap attach. Each is optional; without them an
 * allocation that finds no free frame fails (the fault path then reports
 * VM_FAULT_OOM).
 */
export interface MmHooks {
  /** Free memory fell below the low watermark: wake kswapd (must not block). */
  wakeupKswapd?(t: Task): void;
  /** Direct reclaim on behalf of an allocation: try to free `nr` frames; returns frames freed. */
  directReclaim?(t: Task, nr: number): Blocking<number>;
  /** A frame is about to be freed (the LRU owner unlinks it). */
  onFree?(k: Kernel, pfn: number): void;
  /** A new anonymous or file page was mapped for the first time (lru_cache_add); `t`, when given, pays for it. */
  onNewPage?(k: Kernel, pfn: number, t?: Task): void;
  /**
   * The swap cache's frame for a swap entry, or -1 (lookup_swap_cache).
   * do_swap_page uses it before reading the device; mincore counts a hit as resident.
   */
  swapCacheLookup?(k: Kernel, type: number, offset: number): number;
  /**
   * do_swap_page's read: bring the slot into a frame (swapin_readahead).
   * Returns the frame (refcount held for the caller) or -1 on failure. When
   * absent, do_swap_page reads the slot itself with no swap cache.
   */
  swapIn?(t: Task, type: number, offset: number): Blocking<number>;
  /** One mapping of a swap entry went away (free_swap_and_cache). */
  swapFree?(t: Task, type: number, offset: number): void;
  /**
   * do_swap_page has mapped a swap cache page: drop its swap cache copy when
   * the kernel would (should_try_to_free_swap: swap filling up, an mlocked
   * page, or a write fault by the page's only user), so the write can reuse it.
   */
  swapFreeFolio?(t: Task, pfn: number, write: boolean): void;
  /** free_swap_cache(): a page an mmu_gather is releasing drops its swap cache copy if no PTE maps it any more (before the gather's reference goes). */
  freeSwapCache?(t: Task, pfn: number): void;
  /** A swap entry gained a mapping (swap_duplicate, at fork). */
  swapDup?(k: Kernel, type: number, offset: number): void;
  /** fget(): the mappable file open on `fd` in the task's fd table, or null (EBADF). Set by the VFS. */
  fget?(t: Task, fd: number): VmFile | null;
}

export class MmCore {
  /** The shared zero page (ZERO_PAGE(0)): read faults on anonymous memory map it. */
  zeroPfn = -1;
  nextCtxId = 1;
  /** Ids of anon_vmas and address_spaces share one space, so a frame's owner id is unambiguous. */
  nextOwnerId = 1;
  readonly anonVmas = new Map<number, AnonVma>();
  readonly mappings = new Map<number, AddressSpace>();
  /** Live address spaces in creation order. */
  readonly mms = new Map<number, MmStruct>();
  /** vm.max_map_count. */
  maxMapCount: number;
  /** vm_committed_as: pages of accountable (private writable, shmem) mappings. */
  committedPages = 0;
  readonly hooks: MmHooks = {};
  /** cpu_tlbstate, per CPU. */
  readonly tlbstate: CpuTlbState[];
  /** Free frames below which allocation wakes kswapd / enters direct reclaim (low and min watermarks; setup_per_zone_wmarks may recompute them). */
  lowWmark: number;
  minWmark: number;
  /** The zone's per-CPU page lists and zone->lock (page_pcp.ts), made at first use. */
  pcp: ZonePcp | null = null;
  /** The memory cgroup user pages are charged to (memcontrol.ts), made at first use. */
  memcg: MemCgroup | null = null;
  /** The node and memcg statistics rmap and LRU changes update (vmstat.ts), made at first use. */
  vmstat: VmStat | null = null;

  constructor(readonly k: Kernel) {
    this.tlbstate = Array.from({ length: k.cfg.cpus }, () => new CpuTlbState());
    const min = Math.floor(k.cfg.kernel.min_free_kbytes / 4);
    this.minWmark = min;
    this.lowWmark = min + Math.floor(min / 4);
    this.maxMapCount = k.cfg.kernel.max_map_count;
  }

  /** Kernel address of a frame's struct page, for charging accesses to its refcount, mapcount and flags. */
  static pageKaddr(pfn: number): number {
    return VMEMMAP_BASE + pfn * STRUCT_PAGE_BYTES;
  }

  newOwnerId(): number {
    return this.nextOwnerId++;
  }
}

/** The kernel's MmCore (created by mm_init). */
export function mmCore(k: Kernel): MmCore {
  return k.mm;
}

export function installMmCore(k: Kernel): MmCore {
  const c = new MmCore(k);
  k.mm = c;
  return c;
}
