/**
 * madvise(2), after mm/madvise.c: the argument checks (madvise_should_skip),
 * the walk over the areas of the range (holes are skipped and reported as
 * ENOMEM at the end), and the behaviours:
 *
 * - flag behaviours (NORMAL, RANDOM, SEQUENTIAL, DONTFORK, DOFORK,
 *   WIPEONFORK, KEEPONFORK, DONTDUMP, DODUMP): madvise_update_vma splits or
 *   merges the area and sets its vm_flags (a split refused by
 *   vm.max_map_count is EAGAIN);
 * - MADV_DONTNEED / MADV_DONTNEED_LOCKED: zap the range (the next touch
 *   faults in zeroes, or the file's page).
 *
 * Other valid behaviours answer ENOSYS here; do_madvise dispatches through
 * `madviseBehaviours`, so a fuller implementation can add them.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EAGAIN, EINVAL, ENOMEM, ENOSYS, EPERM } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { zap_page_range_single } from './memory_zap.js';
import {
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_HUGETLB,
  VM_IO,
  VM_LOCKED,
  VM_PFNMAP,
  VM_RAND_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WIPEONFORK,
  type MmStruct,
  type VmAreaStruct,
} from './mm_types.js';
import { mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_unlock } from './mmap_lock.js';
import { page_align, u64 } from './uapi.js';
import { find_vma, find_vma_prev, vm_flags_reset, vma_modify_flags, vma_start_write_range } from './vma.js';

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

const CAT_MADVISE_DONTNEED = intern('madvise_dontneed_single_vma');
const CAT_MADVISE_UPDATE_VMA = intern('madvise_update_vma');

/** The state of one madvise call (struct madvise_behavior). */
export interface MadviseBehavior {
  mm: MmStruct;
  behavior: number;
}

/** A behaviour's work on [start, end) of one area. Returns the area now covering it (the next `prev`) or -errno. */
export type MadviseVisit = (t: Task, mb: MadviseBehavior, vma: VmAreaStruct, prev: VmAreaStruct | null, start: number, end: number) => Blocking<VmAreaStruct | number>;

/** madvise_behavior_valid(): every behaviour current Linux knows (with KSM, THP and memory failure built in). */
export function madvise_behavior_valid(k: MmStruct['k'], behavior: number): boolean {
  switch (behavior) {
    case MADV_DOFORK: case MADV_DONTFORK: case MADV_NORMAL: case MADV_SEQUENTIAL: case MADV_RANDOM:
    case MADV_REMOVE: case MADV_WILLNEED: case MADV_DONTNEED: case MADV_DONTNEED_LOCKED: case MADV_FREE:
    case MADV_COLD: case MADV_PAGEOUT: case MADV_POPULATE_READ: case MADV_POPULATE_WRITE:
    case MADV_MERGEABLE: case MADV_UNMERGEABLE: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE: case MADV_COLLAPSE:
    case MADV_DONTDUMP: case MADV_DODUMP: case MADV_WIPEONFORK: case MADV_KEEPONFORK:
    case MADV_GUARD_INSTALL: case MADV_GUARD_REMOVE:
      return true;
    case MADV_SOFT_OFFLINE: case MADV_HWPOISON:
      return k.cfg.kernel.memory_failure;
    default:
      return false;
  }
}

/** madvise_need_mmap_write(): behaviours that change areas take mmap_lock for writing. */
function needsWriteLock(behavior: number): boolean {
  switch (behavior) {
    case MADV_REMOVE: case MADV_WILLNEED: case MADV_DONTNEED: case MADV_DONTNEED_LOCKED: case MADV_COLD:
    case MADV_PAGEOUT: case MADV_FREE: case MADV_POPULATE_READ: case MADV_POPULATE_WRITE: case MADV_COLLAPSE:
    case MADV_GUARD_INSTALL: case MADV_GUARD_REMOVE:
      return false;
    default:
      return true;
  }
}

/** madvise_update_vma(): give [start, end) of the area `newFlags`. */
export function madvise_update_vma(t: Task, vma: VmAreaStruct, prev: VmAreaStruct | null, start: number, end: number, newFlags: number): VmAreaStruct | number {
  if (newFlags === vma.vmFlags) return vma;
  t.enter(CAT_MADVISE_UPDATE_VMA);
  const v = vma_modify_flags(t, prev, vma, start, end, newFlags);
  if (v) vm_flags_reset(t, v, newFlags);
  t.leave();
  return v ?? -ENOMEM;
}

/** madvise_vma_behavior() for the behaviours that only change vm_flags; null for the others. */
function flagBehavior(vma: VmAreaStruct, behavior: number): number | null {
  const f = vma.vmFlags;
  switch (behavior) {
    case MADV_NORMAL:
      return f & ~VM_RAND_READ & ~VM_SEQ_READ;
    case MADV_SEQUENTIAL:
      return (f & ~VM_RAND_READ) | VM_SEQ_READ;
    case MADV_RANDOM:
      return (f & ~VM_SEQ_READ) | VM_RAND_READ;
    case MADV_DONTFORK:
      return f | VM_DONTCOPY;
    case MADV_DOFORK:
      return f & VM_IO ? -EINVAL : f & ~VM_DONTCOPY;
    case MADV_WIPEONFORK:
      // Only anonymous private memory can be wiped on fork.
      return vma.vmFile || f & VM_SHARED ? -EINVAL : f | VM_WIPEONFORK;
    case MADV_KEEPONFORK:
      return f & ~VM_WIPEONFORK;
    case MADV_DONTDUMP:
      return f | VM_DONTDUMP;
    case MADV_DODUMP:
      return !(f & VM_HUGETLB) && f & VM_SPECIAL ? -EINVAL : f & ~VM_DONTDUMP;
    default:
      return null;
  }
}

/** madvise_dontneed_free(): MADV_DONTNEED(_LOCKED) on one area. */
function* madviseDontneed(t: Task, mb: MadviseBehavior, vma: VmAreaStruct, _prev: VmAreaStruct | null, start: number, end: number): Blocking<VmAreaStruct | number> {
  let forbidden = VM_PFNMAP;
  if (mb.behavior !== MADV_DONTNEED_LOCKED) forbidden |= VM_LOCKED;
  if (vma.vmFlags & forbidden) return -EINVAL;
  t.enter(CAT_MADVISE_DONTNEED);
  yield* zap_page_range_single(t, vma, start, end - start, { mapping: null, evenCows: true });
  t.leave();
  return vma;
}

function* madviseFlags(t: Task, mb: MadviseBehavior, vma: VmAreaStruct, prev: VmAreaStruct | null, start: number, end: number): Blocking<VmAreaStruct | number> {
  const nf = flagBehavior(vma, mb.behavior)!;
  if (nf === -EINVAL) return -EINVAL;
  const r = madvise_update_vma(t, vma, prev, start, end, nf);
  // madvise() reports a refused split (a kernel resource) as EAGAIN.
  return r === -ENOMEM ? -EAGAIN : r;
}

function* notImplemented(): Blocking<VmAreaStruct | number> {
  return -ENOSYS;
}

/**
 * Behaviour -> work on one area. A fuller madvise replaces or adds entries;
 * behaviours without one answer ENOSYS.
 */
export const madviseBehaviours = new Map<number, MadviseVisit>([
  [MADV_DONTNEED, madviseDontneed],
  [MADV_DONTNEED_LOCKED, madviseDontneed],
  ...[MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_DONTDUMP, MADV_DODUMP].map(
    (b): [number, MadviseVisit] => [b, madviseFlags],
  ),
]);

/** madvise_walk_vmas(): visit each area of [start, end); holes make the result ENOMEM but do not stop the walk. */
export function* madvise_walk_vmas(t: Task, mb: MadviseBehavior, start: number, end: number, visit: MadviseVisit): Blocking<number> {
  const mm = mb.mm;
  let unmappedError = 0;
  let { vma, prev } = find_vma_prev(t, mm, start);
  if (vma && start > vma.vmStart) prev = vma;
  for (;;) {
    if (!vma) return -ENOMEM;
    if (start < vma.vmStart) {
      unmappedError = -ENOMEM;
      start = vma.vmStart;
      if (start >= end) break;
    }
    const tmp = Math.min(vma.vmEnd, end);
    const r = yield* visit(t, mb, vma, prev, start, tmp);
    if (typeof r === 'number') return r;
    prev = r;
    start = tmp;
    if (prev && start < prev.vmEnd) start = prev.vmEnd;
    if (start >= end) break;
    vma = find_vma(t, mm, prev ? prev.vmEnd : start);
  }
  return unmappedError;
}

/**
 * do_madvise(): apply `behavior` to [start, start + len). Raw 64-bit
 * arguments; returns 0 or -errno.
 */
export function* do_madvise(t: Task, mm: MmStruct, startIn: bigint, lenIn: bigint, behavior: number): Blocking<number> {
  if (!madvise_behavior_valid(mm.k, behavior)) return -EINVAL;
  if (startIn & 4095n) return -EINVAL;
  const len = page_align(lenIn);
  if (lenIn !== 0n && len === 0n) return -EINVAL;
  const endB = startIn + len;
  if (endB > (1n << 64n) - 1n) return -EINVAL;
  if (endB === startIn) return 0;
  if ((behavior === MADV_HWPOISON || behavior === MADV_SOFT_OFFLINE) && !current(t).cred.capSysAdmin) return -EPERM;
  const visit = madviseBehaviours.get(behavior);
  if (!visit) return -ENOSYS;
  const write = needsWriteLock(behavior);
  if (write) yield* mmap_write_lock(t, mm);
  else yield* mmap_read_lock(t, mm);
  const top = 2 ** 48;
  const start = startIn >= BigInt(top) ? top : Number(startIn);
  const end = endB >= BigInt(top) ? top : Number(endB);
  if (write) yield* vma_start_write_range(t, mm, start, end);
  const r = yield* madvise_walk_vmas(t, { mm, behavior }, start, end, visit);
  if (write) mmap_write_unlock(t, mm);
  else mmap_read_unlock(t, mm);
  return r;
}

/** madvise(2). */
export function sys_madvise(t: Task, start: number | bigint, len: number | bigint, behavior: number): Blocking<number> {
  const mm = current(t).mm;
  return syscall(t, 'madvise', mm ? do_madvise(t, mm, u64(start), u64(len), behavior) : notImplemented() as Blocking<number>);
}
