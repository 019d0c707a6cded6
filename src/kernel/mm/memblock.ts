/**
 * Limiting the memory the kernel manages, as the mem= boot parameter does
 * (memblock_mem_limit_remove_map), and the watermarks that follow from it
 * (mm/page_alloc.c: calculate_min_free_kbytes, __setup_per_zone_wmarks).
 *
 * Frames above the limit are taken out of the allocator at once and marked
 * PG_reserved, so nothing ever gets them; the watermarks are then set from
 * the pages that remain, as the kernel sets them at boot:
 * min_free_kbytes = int_sqrt(managed KiB x 16), clamped to [128, 262144],
 * min = min_free_kbytes / 4 pages, low = min + min / 4, high = low + min / 4.
 */
import { PG_reserved } from './page_flags.js';
import type { Kernel } from '../kernel.js';
import { mmCore } from './core.js';
import { pgdatOf } from './vmscan.js';

/** Pages the allocator manages (all of RAM but what mem= took away). */
export function managed_pages(k: Kernel): number {
  return k.machine.mem.totalFrames - k.memblockReserved;
}

/** calculate_min_free_kbytes() for the managed memory. */
export function calculate_min_free_kbytes(k: Kernel): number {
  const kb = managed_pages(k) * 4;
  return Math.min(262144, Math.max(128, Math.floor(Math.sqrt(kb * 16))));
}

/** __setup_per_zone_wmarks(): min, low and high from vm.min_free_kbytes. */
export function setup_per_zone_wmarks(k: Kernel, minFreeKbytes: number): void {
  const core = mmCore(k);
  const min = Math.floor(minFreeKbytes / 4);
  core.minWmark = min;
  core.lowWmark = min + Math.floor(min / 4);
  pgdatOf(k).highWmark = core.lowWmark + Math.floor(min / 4);
}

/**
 * mem=MIB: keep `mib` MiB for the allocator (including what boot already
 * took) and reserve every other frame; then set the watermarks for that
 * much memory. Returns the frames reserved. Call right after boot, before
 * any process runs.
 */
export function mem_limit(k: Kernel, mib: number): number {
  const mem = k.machine.mem;
  const memmap = k.mem_map;
  const keep = Math.min(mem.totalFrames, mib * 256);
  const take = Math.max(0, mem.totalFrames - keep);
  let reserved = 0;
  // The allocator hands out its lowest free frames first: take everything, give back the first `keep`.
  const all: number[] = [];
  for (let pfn = memmap.alloc(); pfn >= 0; pfn = memmap.alloc()) all.push(pfn);
  const giveBack = Math.max(0, all.length - take);
  for (let i = all.length - 1; i >= 0; i--) {
    const pfn = all[i]!;
    if (i < giveBack) {
      memmap.free(pfn);
      continue;
    }
    memmap.flags[pfn] = PG_reserved;
    memmap.refcount[pfn] = 1;
    reserved++;
  }
  k.memblockReserved += reserved;
  setup_per_zone_wmarks(k, calculate_min_free_kbytes(k));
  return reserved;
}
