/**
 * The madvise(2) advice values (include/uapi/asm-generic/mman-common.h) and
 * the state one call carries (struct madvise_behavior), shared by
 * madvise.ts and the files holding the behaviours.
 */
import type { Blocking, Task } from '../../sim/task.js';
import type { MmStruct, VmAreaStruct } from './mm_types.js';
import type { MmuGather } from './mmu_gather.js';

export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_REMOVE = 9;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_MERGEABLE = 12;
export const MADV_UNMERGEABLE = 13;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_DONTDUMP = 16;
export const MADV_DODUMP = 17;
export const MADV_WIPEONFORK = 18;
export const MADV_KEEPONFORK = 19;
export const MADV_COLD = 20;
export const MADV_PAGEOUT = 21;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;
export const MADV_DONTNEED_LOCKED = 24;
export const MADV_COLLAPSE = 25;
export const MADV_HWPOISON = 100;
export const MADV_SOFT_OFFLINE = 101;
export const MADV_GUARD_INSTALL = 102;
export const MADV_GUARD_REMOVE = 103;

/** The state of one madvise call (struct madvise_behavior). */
export interface MadviseBehavior {
  mm: MmStruct;
  behavior: number;
  /**
   * The one mmu_gather of the call (madvise_init_tlb) for the behaviours
   * whose flushes are batched (DONTNEED, DONTNEED_LOCKED, FREE): every area
   * and every range of a process_madvise vector gathers into it, and one
   * flush covers them all at madvise_finish_tlb (Linux 6.16+).
   */
  tlb?: MmuGather;
}

/** A behaviour's work on [start, end) of one area. Returns the area now covering it (the next `prev`) or -errno. */
export type MadviseVisit = (t: Task, mb: MadviseBehavior, vma: VmAreaStruct, prev: VmAreaStruct | null, start: number, end: number) => Blocking<VmAreaStruct | number>;
