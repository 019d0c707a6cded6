/**
 * madvise(2), after mm/madvise.c: the argument checks (madvise_should_skip),
 * the walk over the areas of the range (holes are skipped and reported as
 * ENOMEM at the end), and the behaviours:
 *
 * - flag behaviours (NORMAL, RANDOM, SEQUENTIAL, DONTFORK, DOFORK,
 *   WIPEONFORK, KEEPONFORK, DONTDUMP, DODUMP): madvise_update_vma splits or
 *   merges the area and sets its vm_flags (a split refused by
 *   vm.max_map_count is EAGAIN);
 *   HUGEPAGE/NOHUGEPAGE and MERGEABLE/UNMERGEABLE change flags the same way;
 * - the page behaviours (DONTNEED, FREE, COLD, PAGEOUT, WILLNEED, REMOVE)
 *   in madvise_behavior.ts;
 * - POPULATE_READ/WRITE (madvise_populate), which faults the range in
 *   page by page instead of walking areas.
 *
 * do_madvise dispatches through `madviseBehaviours`.
 */
import { hugetlb_may_split } from './hugetlb.js';
import { madvise_collapse } from './khugepaged.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EACCES, EAGAIN, EFAULT, EINVAL, ENOMEM, ENOSYS, EPERM, ESRCH } from '../errno.js';
import { pidfd_get_task } from '../pid.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { FOLL_TOUCH, FOLL_WRITE, check_vma_flags, get_user_pages_range } from './gup.js';
import { madvise_guard_install, madvise_guard_remove } from './guard.js';
import { madvise_inject_error } from './memory-failure.js';
import { madvise_cold_or_pageout, madvise_dontneed, madvise_free, madvise_remove, madvise_willneed } from './madvise_behavior.js';
import {
  MADV_COLD, MADV_COLLAPSE, MADV_DODUMP, MADV_DOFORK, MADV_DONTDUMP, MADV_DONTFORK, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE,
  MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_HUGEPAGE, MADV_HWPOISON, MADV_KEEPONFORK, MADV_MERGEABLE, MADV_NOHUGEPAGE, MADV_NORMAL,
  MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_RANDOM, MADV_REMOVE, MADV_SEQUENTIAL, MADV_SOFT_OFFLINE, MADV_UNMERGEABLE,
  MADV_WILLNEED, MADV_WIPEONFORK,
  type MadviseBehavior, type MadviseVisit,
} from './madvise_uapi.js';
import {
  PAGE_SIZE,
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_HUGETLB,
  VM_DONTEXPAND,
  VM_HUGEPAGE,
  VM_IO,
  VM_MAYSHARE,
  VM_MERGEABLE,
  VM_MIXEDMAP,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_RAND_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WIPEONFORK,
  VM_WRITE,
  type MmStruct,
  type VmAreaStruct,
} from './mm_types.js';
import { mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_unlock } from './mmap_lock.js';
import { page_align, u64 } from './uapi.js';
import { find_vma, find_vma_prev, vm_flags_reset, vma_modify_flags, vma_start_write_range } from './vma.js';

export * from './madvise_uapi.js';

const CAT_MADVISE_POPULATE = intern('madvise_populate');
const CAT_MADVISE_UPDATE_VMA = intern('madvise_update_vma');

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
  // hugetlb_vm_op_split(): a hugetlb area splits only at huge page boundaries.
  if ((start > vma.vmStart && hugetlb_may_split(vma, start)) || (end < vma.vmEnd && hugetlb_may_split(vma, end))) return -EINVAL;
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
    case MADV_HUGEPAGE:
      // hugepage_madvise(): the area may get huge pages (khugepaged would scan it).
      return (f & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
    case MADV_NOHUGEPAGE:
      return (f & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
    case MADV_MERGEABLE:
      // ksm_madvise(): areas KSM cannot handle are left as they are, without an error.
      if (f & (VM_MERGEABLE | VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_HUGETLB | VM_MIXEDMAP)) return f;
      return f | VM_MERGEABLE;
    case MADV_UNMERGEABLE:
      return f & ~VM_MERGEABLE;
    default:
      return null;
  }
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
  [MADV_DONTNEED, madvise_dontneed],
  [MADV_DONTNEED_LOCKED, madvise_dontneed],
  [MADV_FREE, madvise_free],
  [MADV_COLD, madvise_cold_or_pageout],
  [MADV_PAGEOUT, madvise_cold_or_pageout],
  [MADV_WILLNEED, madvise_willneed],
  [MADV_REMOVE, madvise_remove],
  [MADV_COLLAPSE, madvise_collapse],
  [MADV_GUARD_INSTALL, madvise_guard_install],
  [MADV_GUARD_REMOVE, madvise_guard_remove],
  ...[
    MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_DONTDUMP, MADV_DODUMP,
    MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_MERGEABLE, MADV_UNMERGEABLE,
  ].map(
    (b): [number, MadviseVisit] => [b, madviseFlags],
  ),
]);

/**
 * can_madvise_modify(): on a sealed area the advice that discards data
 * (is_discard) is refused unless the area is shared or writable anyway.
 */
function can_madvise_modify(behavior: number, vma: VmAreaStruct): boolean {
  if (!vma.sealed) return true;
  const discard = [MADV_FREE, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_REMOVE, MADV_DONTFORK, MADV_WIPEONFORK, MADV_GUARD_INSTALL].includes(behavior);
  return !discard || (vma.vmFlags & VM_SHARED) !== 0 || (vma.vmFlags & VM_WRITE) !== 0;
}

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
    if (!can_madvise_modify(mb.behavior, vma)) return -EPERM;
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
 * madvise_populate(): fault [start, end) in page by page (for writing with
 * POPULATE_WRITE), area by area as faultin_page_range finds them. A hole is
 * ENOMEM, an area that does not allow the access EINVAL, a fault that would
 * be SIGBUS or SIGSEGV EFAULT; pages before the failure stay populated.
 */
function* madvise_populate(t: Task, mm: MmStruct, start: number, end: number, write: boolean): Blocking<number> {
  t.enter(CAT_MADVISE_POPULATE);
  const gup = FOLL_TOUCH | (write ? FOLL_WRITE : 0);
  let r = 0;
  while (start < end) {
    const vma = find_vma(t, mm, start);
    if (!vma || start < vma.vmStart) {
      r = -ENOMEM;
      break;
    }
    if (check_vma_flags(vma, gup) < 0) {
      r = -EINVAL;
      break;
    }
    const stop = Math.min(end, vma.vmEnd);
    const n = yield* get_user_pages_range(t, vma, start, stop, gup);
    if (n < 0) {
      r = n === -ENOMEM ? -ENOMEM : -EFAULT;
      break;
    }
    if (n === 0) {
      r = -EFAULT;
      break;
    }
    start += n * PAGE_SIZE;
  }
  t.leave();
  return r;
}

/**
 * madvise_should_skip(): the checks of one range before any work. Returns
 * null to go on, or the result to give for the range without doing it
 * (0 for an empty range, -errno for a bad one).
 */
function madvise_should_skip(mm: MmStruct, t: Task, startIn: bigint, lenIn: bigint, behavior: number): number | null {
  if (!madvise_behavior_valid(mm.k, behavior)) return -EINVAL;
  if (startIn & 4095n) return -EINVAL;
  const len = page_align(lenIn);
  if (lenIn !== 0n && len === 0n) return -EINVAL;
  const endB = startIn + len;
  if (endB > (1n << 64n) - 1n) return -EINVAL;
  if (endB === startIn) return 0;
  if ((behavior === MADV_HWPOISON || behavior === MADV_SOFT_OFFLINE) && !current(t).cred.capSysAdmin) return -EPERM;
  return null;
}

/** is_memory_failure(): error injection walks pages, not areas, and takes no mmap lock. */
function is_memory_failure(behavior: number): boolean {
  return behavior === MADV_HWPOISON || behavior === MADV_SOFT_OFFLINE;
}

/** madvise_batch_tlb_flush(): the behaviours whose TLB flushes one call gathers into one. */
function madvise_batch_tlb_flush(behavior: number): boolean {
  return behavior === MADV_DONTNEED || behavior === MADV_DONTNEED_LOCKED || behavior === MADV_FREE;
}

/** madvise_lock(). */
function* madvise_lock(t: Task, mm: MmStruct, behavior: number): Blocking<void> {
  if (is_memory_failure(behavior)) return;
  if (needsWriteLock(behavior)) yield* mmap_write_lock(t, mm);
  else yield* mmap_read_lock(t, mm);
}

/** madvise_unlock(). */
function madvise_unlock(t: Task, mm: MmStruct, behavior: number): void {
  if (is_memory_failure(behavior)) return;
  if (needsWriteLock(behavior)) mmap_write_unlock(t, mm);
  else mmap_read_unlock(t, mm);
}

/** madvise_init_tlb(): one gather for the whole call when the behaviour batches its flushes. */
function madvise_init_tlb(t: Task, mb: MadviseBehavior): void {
  if (madvise_batch_tlb_flush(mb.behavior) && mb.mm.k.cfg.kernel.madvise_batch_tlb_flush) mb.tlb = tlb_gather_mmu(t, mb.mm);
}

/** madvise_finish_tlb(): the one flush (and the frees after it) for everything the call gathered. */
function* madvise_finish_tlb(t: Task, mb: MadviseBehavior): Blocking<void> {
  if (!mb.tlb) return;
  yield* tlb_finish_mmu(t, mb.tlb);
  mb.tlb = undefined;
}

/**
 * madvise_do_behavior(): apply the behaviour to [start, start + len) (already
 * checked by madvise_should_skip) with the lock held.
 */
function* madvise_do_behavior(t: Task, mb: MadviseBehavior, startIn: bigint, lenIn: bigint): Blocking<number> {
  const { mm, behavior } = mb;
  const top = 2 ** 48;
  const endB = startIn + page_align(lenIn);
  const start = startIn >= BigInt(top) ? top : Number(startIn);
  const end = endB >= BigInt(top) ? top : Number(endB);
  if (is_memory_failure(behavior)) return yield* madvise_inject_error(t, mm, start, end, behavior === MADV_SOFT_OFFLINE);
  const populate = behavior === MADV_POPULATE_READ || behavior === MADV_POPULATE_WRITE;
  if (populate) return yield* madvise_populate(t, mm, start, end, behavior === MADV_POPULATE_WRITE);
  const visit = madviseBehaviours.get(behavior);
  if (!visit) return -ENOSYS;
  if (needsWriteLock(behavior)) yield* vma_start_write_range(t, mm, start, end);
  return yield* madvise_walk_vmas(t, mb, start, end, visit);
}

/**
 * do_madvise(): apply `behavior` to [start, start + len). Raw 64-bit
 * arguments; returns 0 or -errno.
 */
export function* do_madvise(t: Task, mm: MmStruct, startIn: bigint, lenIn: bigint, behavior: number): Blocking<number> {
  const skip = madvise_should_skip(mm, t, startIn, lenIn, behavior);
  if (skip !== null) return skip;
  if (!is_memory_failure(behavior) && !madviseBehaviours.has(behavior) && behavior !== MADV_POPULATE_READ && behavior !== MADV_POPULATE_WRITE) return -ENOSYS;
  const mb: MadviseBehavior = { mm, behavior };
  yield* madvise_lock(t, mm, behavior);
  madvise_init_tlb(t, mb);
  const r = yield* madvise_do_behavior(t, mb, startIn, lenIn);
  yield* madvise_finish_tlb(t, mb);
  madvise_unlock(t, mm, behavior);
  return r;
}

/** madvise(2). */
export function sys_madvise(t: Task, start: number | bigint, len: number | bigint, behavior: number): Blocking<number> {
  const mm = current(t).mm;
  return syscall(t, 'madvise', mm ? do_madvise(t, mm, u64(start), u64(len), behavior) : notImplemented() as Blocking<number>);
}

/** UIO_MAXIOV: the most iovecs one call takes. */
export const UIO_MAXIOV = 1024;
/** UIO_FASTIOV: iovecs import_iovec copies onto the stack; more take a kmalloc. */
const UIO_FASTIOV = 8;
/** MAX_RW_COUNT: a vector's total length is capped here (INT_MAX & PAGE_MASK). */
const MAX_RW_COUNT = 0x7ffff000n;
/** User addresses end here (TASK_SIZE_MAX): an iovec beyond it is EFAULT. */
const TASK_SIZE_MAX = (1n << 47n) - BigInt(PAGE_SIZE);

/** struct iovec as the caller passes it: raw 64-bit base and length. */
export interface Iovec {
  base: number | bigint;
  len: number | bigint;
}

const CAT_IMPORT_IOVEC = intern('import_iovec');

/**
 * import_iovec(): copy the vector in and check it. vlen above UIO_MAXIOV
 * or a length negative as ssize_t is EINVAL, a vector the caller cannot
 * read (null here) or a segment outside user space EFAULT. The total is
 * capped at MAX_RW_COUNT by shortening the segment that crosses it.
 * Returns the segments or -errno.
 */
function import_iovec(t: Task, vec: readonly Iovec[] | null, vlen: number): { base: bigint; len: bigint }[] | number {
  const k = t.k;
  if (vlen > UIO_MAXIOV || vlen < 0) return -EINVAL;
  if (vlen === 0) return [];
  if (!vec || vec.length < vlen) return -EFAULT;
  t.enter(CAT_IMPORT_IOVEC);
  // copy_from_user of the vector (16 bytes an iovec) into the stack array, or into a kmalloc'ed one past UIO_FASTIOV;
  // the stores go through the caches, the user-side loads are not modelled.
  const bytes = vlen * 16;
  const buf = k.slab.kmalloc(bytes);
  if (vlen > UIO_FASTIOV) t.charge(2 * k.cfg.kernel.cost.kmalloc); // its kmalloc and kfree
  k.touchRange(t, buf, bytes, true);
  k.slab.kfree(buf, bytes);
  const out: { base: bigint; len: bigint }[] = [];
  let total = 0n;
  let bad = 0;
  for (let i = 0; i < vlen; i++) {
    const base = BigInt.asUintN(64, BigInt(vec[i]!.base));
    let len = BigInt.asUintN(64, BigInt(vec[i]!.len));
    if (len >= 1n << 63n) {
      bad = -EINVAL;
      break;
    }
    if (len > MAX_RW_COUNT - total) len = MAX_RW_COUNT - total;
    if (len > 0n && (base > TASK_SIZE_MAX || len > TASK_SIZE_MAX - base)) {
      bad = -EFAULT;
      break;
    }
    total += len;
    out.push({ base, len });
  }
  t.leave();
  return bad < 0 ? bad : out;
}

/** process_madvise_remote_valid(): the only advice one process may give about another's memory. */
function process_madvise_remote_valid(behavior: number): boolean {
  return behavior === MADV_COLD || behavior === MADV_PAGEOUT || behavior === MADV_WILLNEED || behavior === MADV_COLLAPSE;
}

/**
 * vector_madvise(): each range in turn under one lock and, for DONTNEED
 * and FREE, one mmu_gather, so the TLB is flushed once for the whole
 * vector. Stops at the first range that fails; returns the bytes of the
 * ranges done before it (their lengths as given), or its -errno when none
 * was done.
 */
function* vector_madvise(t: Task, mm: MmStruct, iov: readonly { base: bigint; len: bigint }[], behavior: number): Blocking<number> {
  let total = 0n;
  for (const v of iov) total += v.len;
  let done = 0n;
  let ret = 0;
  const mb: MadviseBehavior = { mm, behavior };
  yield* madvise_lock(t, mm, behavior);
  madvise_init_tlb(t, mb);
  for (const v of iov) {
    const skip = madvise_should_skip(mm, t, v.base, v.len, behavior);
    ret = skip !== null ? skip : yield* madvise_do_behavior(t, mb, v.base, v.len);
    if (ret < 0) break;
    done += v.len;
  }
  yield* madvise_finish_tlb(t, mb);
  madvise_unlock(t, mm, behavior);
  return done !== 0n ? Number(done) : ret;
}

/**
 * process_madvise(2): madvise over a vector of ranges of the process a
 * pidfd names. flags must be 0. Another process's memory takes only COLD,
 * PAGEOUT, WILLNEED and COLLAPSE (else EINVAL) and CAP_SYS_NICE (else
 * EPERM); reading its mm needs PTRACE_MODE_READ (here: the same uid, or
 * CAP_SYS_ADMIN standing for CAP_SYS_PTRACE; else EACCES).
 */
export function* do_process_madvise(t: Task, pidfd: number, vec: readonly Iovec[] | null, vlen: number, behavior: number, flags: number): Blocking<number> {
  if (flags !== 0) return -EINVAL;
  const iov = import_iovec(t, vec, vlen);
  if (typeof iov === 'number') return iov;
  const task = yield* pidfd_get_task(t, pidfd);
  if (typeof task === 'number') return task;
  const me = current(t);
  // mm_access(): a task without an mm (exited, or a kernel thread) is ESRCH.
  const mm = task.mm;
  if (!mm) return -ESRCH;
  if (mm !== me.mm && task.cred.uid !== me.cred.uid && !me.cred.capSysAdmin) return -EACCES;
  if (mm !== me.mm && !process_madvise_remote_valid(behavior)) return -EINVAL;
  if (mm !== me.mm && !(me.cred.capSysNice ?? me.cred.capSysAdmin)) return -EPERM;
  return yield* vector_madvise(t, mm, iov, behavior);
}

/** process_madvise(2). */
export function sys_process_madvise(t: Task, pidfd: number, vec: readonly Iovec[] | null, vlen: number, behavior: number, flags: number): Blocking<number> {
  return syscall(t, 'process_madvise', do_process_madvise(t, pidfd, vec, vlen, behavior, flags));
}
