/**
 * mlock(2), mlock2(2) and munlock(2), after mm/mlock.c: RLIMIT_MEMLOCK
 * (counting already-locked parts of the range once), apply_vma_lock_flags
 * over the areas (a hole is ENOMEM), mlock_fixup splitting or merging areas
 * and keeping mm->locked_vm, the present pages marked (un)evictable, then
 * __mm_populate faulting the rest in, its errors turned into mlock's
 * (EFAULT -> ENOMEM, ENOMEM -> EAGAIN).
 */
import { PTE_PRESENT, tableIndex } from '../../hw/pagetable.js';
import { PG_mlocked } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EAGAIN, EFAULT, EINVAL, ENOMEM, EPERM } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { vm_normal_page } from './memory.js';
import { walk_pte_tables } from './memory_zap.js';
import { PAGE_SIZE, TASK_SIZE, VM_HUGETLB, VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT, VM_SPECIAL, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { mm_populate } from './mmap.js';
import { mmap_write_lock, mmap_write_unlock } from './mmap_lock.js';
import { pte_lock, pte_unlock, ptep_get } from './pgtable.js';
import { page_align, u64 } from './uapi.js';
import { can_do_mlock, capable_ipc_lock, rlimit_memlock } from './util.js';
import { vm_flags_reset, vma_start_write_range, vma_index, vma_modify_flags, vma_start_write } from './vma.js';

/** mlock2() flag. */
export const MLOCK_ONFAULT = 0x01;

const CAT_MLOCK_FIXUP = intern('mlock_fixup');
const CAT_MLOCK_PAGES = intern('mlock_vma_pages_range');

const U64_MAX = (1n << 64n) - 1n;

/** One page table's part of mlock_vma_pages_range (a module-level generator: one made per call costs the host microseconds). */
function* mlockPteRange(t: Task, mm: MmStruct, lock: boolean, table: number, a: number, n: number): Blocking<void> {
  const k = mm.k;
  const memmap = k.mem_map;
  pte_lock(t, mm, table);
  for (; a < n; a += PAGE_SIZE) {
    const pte = ptep_get(t, mm, table, tableIndex(a, 1));
    if ((pte & PTE_PRESENT) === 0) continue;
    const pfn = vm_normal_page(k, pte);
    if (pfn < 0) continue;
    const was = (memmap.flags[pfn]! & PG_mlocked) !== 0;
    if (lock && !was) {
      memmap.flags[pfn] = (memmap.flags[pfn]! | PG_mlocked) >>> 0;
      k.engine.counters.add('unevictable_pgs_mlocked');
    } else if (!lock && was) {
      memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_mlocked) >>> 0;
      k.engine.counters.add('unevictable_pgs_munlocked');
    }
    t.charge(k.cfg.kernel.cost.kernel_op);
  }
  pte_unlock(t, mm, table);
}

/** mlock_vma_pages_range(): set the flags and (un)mark the present pages. */
function* mlockVmaPagesRange(t: Task, vma: VmAreaStruct, start: number, end: number, newflags: number): Blocking<void> {
  const mm = vma.vmMm;
  const lock = (newflags & VM_LOCKED) !== 0;
  vm_flags_reset(t, vma, newflags);
  t.enter(CAT_MLOCK_PAGES);
  yield* walk_pte_tables(t, mm, start, end, (table, a, n) => mlockPteRange(t, mm, lock, table, a, n));
  t.leave();
}

/**
 * mlock_fixup(): [start, end) of `vma` gets `newflags` (VM_LOCKED and
 * VM_LOCKONFAULT changed). Returns the area now holding the range, or -errno.
 */
function* mlockFixup(t: Task, vma: VmAreaStruct, prev: VmAreaStruct | null, start: number, end: number, newflags: number): Blocking<VmAreaStruct | number> {
  const mm = vma.vmMm;
  const oldflags = vma.vmFlags;
  // vma_supports_mlock(): special, hugetlb and droppable areas are left alone and not counted.
  if (newflags === oldflags || oldflags & (VM_SPECIAL | VM_HUGETLB) || vma.droppable) return vma;
  t.enter(CAT_MLOCK_FIXUP);
  const v = vma_modify_flags(t, prev, vma, start, end, newflags);
  if (!v) {
    t.leave();
    return -ENOMEM;
  }
  let nr = (end - start) / PAGE_SIZE;
  if (!(newflags & VM_LOCKED)) nr = -nr;
  else if (oldflags & VM_LOCKED) nr = 0;
  mm.lockedVm += nr;
  if (newflags & VM_LOCKED && oldflags & VM_LOCKED) {
    vma_start_write(t, v);
    vm_flags_reset(t, v, newflags);
  } else yield* mlockVmaPagesRange(t, v, start, end, newflags);
  t.leave();
  return v;
}

/** apply_vma_lock_flags(): mlock_fixup over every area of [start, start + len). Returns 0 or -errno. */
function* applyVmaLockFlags(t: Task, mm: MmStruct, start: bigint, len: bigint, flags: number): Blocking<number> {
  const endB = start + len;
  if (endB > U64_MAX) return -EINVAL;
  if (endB === start) return 0;
  if (start >= BigInt(TASK_SIZE)) return -ENOMEM;
  const s = Number(start);
  const end = endB > BigInt(TASK_SIZE) + BigInt(PAGE_SIZE) ? TASK_SIZE + PAGE_SIZE : Number(endB);
  yield* vma_start_write_range(t, mm, s, end);
  let i = vma_index(mm, s);
  let vma = mm.vmas[i];
  if (!vma || vma.vmStart > s) return -ENOMEM;
  let prev: VmAreaStruct | null = i > 0 ? mm.vmas[i - 1]! : null;
  if (s > vma.vmStart) prev = vma;
  let nstart = s;
  let tmp = vma.vmStart;
  for (;;) {
    i = vma_index(mm, nstart);
    vma = mm.vmas[i];
    if (!vma || vma.vmStart >= end) break;
    if (vma.vmStart !== tmp) return -ENOMEM;
    const newflags = (vma.vmFlags & ~VM_LOCKED_MASK) | flags;
    tmp = Math.min(vma.vmEnd, end);
    const r = yield* mlockFixup(t, vma, prev, nstart, tmp, newflags);
    if (typeof r === 'number') return r;
    prev = r;
    tmp = r.vmEnd;
    nstart = tmp;
    if (nstart >= end) break;
  }
  if (tmp < end) return -ENOMEM;
  return 0;
}

/** count_mm_mlocked_page_nr(): pages of [start, start + len) already in VM_LOCKED areas. */
function countMmMlockedPageNr(mm: MmStruct, start: number, len: number): number {
  const end = start + len;
  let count = 0;
  for (let i = vma_index(mm, start); i < mm.vmas.length; i++) {
    const vma = mm.vmas[i]!;
    if (vma.vmStart >= end) break;
    if (!(vma.vmFlags & VM_LOCKED)) continue;
    if (start > vma.vmStart) count -= start - vma.vmStart;
    if (end < vma.vmEnd) {
      count += end - vma.vmStart;
      break;
    }
    count += vma.vmEnd - vma.vmStart;
  }
  return Math.floor(count / PAGE_SIZE);
}

/** do_mlock(). */
function* doMlock(t: Task, startIn: bigint, lenIn: bigint, flags: number): Blocking<number> {
  const ts = current(t);
  const mm = ts.mm;
  if (!mm) return -EINVAL;
  if (!can_do_mlock(ts, mm.k)) return -EPERM;
  const len = page_align((lenIn + (startIn & 4095n)) & U64_MAX);
  const start = startIn & ~4095n;
  const lockLimit = Math.floor(rlimit_memlock(ts, mm.k) / PAGE_SIZE);
  let locked = Number(len >> 12n);
  yield* mmap_write_lock(t, mm);
  locked += mm.lockedVm;
  const cap = capable_ipc_lock(ts);
  if (locked > lockLimit && !cap && start < BigInt(TASK_SIZE)) locked -= countMmMlockedPageNr(mm, Number(start), Math.min(Number(len), TASK_SIZE));
  let error = -ENOMEM;
  if (locked <= lockLimit || cap) error = yield* applyVmaLockFlags(t, mm, start, len, flags);
  mmap_write_unlock(t, mm);
  if (error) return error;
  if (len === 0n) return 0;
  error = yield* mm_populate(t, mm, Number(start), Number(len), false);
  if (error === -EFAULT) return -ENOMEM;
  if (error === -ENOMEM) return -EAGAIN;
  return error;
}

/** mlock(2). */
export function sys_mlock(t: Task, start: number | bigint, len: number | bigint): Blocking<number> {
  return syscall(t, 'mlock', doMlock(t, u64(start), u64(len), VM_LOCKED));
}

/** A body that fails with EINVAL (a module-level generator: one made per call costs the host microseconds). */
function* einval(): Blocking<number> {
  return -EINVAL;
}

/** mlock2(2). */
export function sys_mlock2(t: Task, start: number | bigint, len: number | bigint, flags: number | bigint): Blocking<number> {
  const f = u64(flags);
  if (f & ~BigInt(MLOCK_ONFAULT)) return syscall(t, 'mlock2', einval());
  return syscall(t, 'mlock2', doMlock(t, u64(start), u64(len), VM_LOCKED | (f & BigInt(MLOCK_ONFAULT) ? VM_LOCKONFAULT : 0)));
}

/** munlock(2). */
export function sys_munlock(t: Task, start: number | bigint, len: number | bigint): Blocking<number> {
  return syscall(t, 'munlock', doMunlock(t, u64(start), u64(len)));
}

function* doMunlock(t: Task, startIn: bigint, lenIn: bigint): Blocking<number> {
  const mm = current(t).mm;
  if (!mm) return -EINVAL;
  const len = page_align((lenIn + (startIn & 4095n)) & U64_MAX);
  const start = startIn & ~4095n;
  yield* mmap_write_lock(t, mm);
  const r = yield* applyVmaLockFlags(t, mm, start, len, 0);
  mmap_write_unlock(t, mm);
  return r;
}

/** mlockall() flags (linux/mman.h). */
export const MCL_CURRENT = 1;
export const MCL_FUTURE = 2;
export const MCL_ONFAULT = 4;

/**
 * apply_mlockall_flags(): MCL_FUTURE sets mm->def_flags (every later area is
 * locked); MCL_CURRENT applies VM_LOCKED (and VM_LOCKONFAULT) to every area
 * through mlock_fixup. Flags 0 (munlockall) clears both.
 */
function* applyMlockallFlags(t: Task, mm: MmStruct, flags: number): Blocking<void> {
  mm.defFlags &= ~VM_LOCKED_MASK;
  if (flags & MCL_FUTURE) {
    mm.defFlags |= VM_LOCKED;
    if (flags & MCL_ONFAULT) mm.defFlags |= VM_LOCKONFAULT;
    if (!(flags & MCL_CURRENT)) return;
  }
  let toAdd = 0;
  if (flags & MCL_CURRENT) {
    toAdd |= VM_LOCKED;
    if (flags & MCL_ONFAULT) toAdd |= VM_LOCKONFAULT;
  }
  yield* vma_start_write_range(t, mm, 0, TASK_SIZE);
  let prev: VmAreaStruct | null = null;
  for (let i = 0; i < mm.vmas.length; ) {
    const vma = mm.vmas[i]!;
    const newflags = (vma.vmFlags & ~VM_LOCKED_MASK) | toAdd;
    const r: VmAreaStruct | number = yield* mlockFixup(t, vma, prev, vma.vmStart, vma.vmEnd, newflags);
    // Errors are ignored as the kernel's loop does; a merged area moves the index back.
    const v: VmAreaStruct = typeof r === 'number' ? vma : r;
    prev = v;
    i = mm.vmas.indexOf(v) + 1;
    if (t.shouldYield()) yield;
  }
}

function* doMlockall(t: Task, flags: number): Blocking<number> {
  if (!flags || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT) return -EINVAL;
  const ts = current(t);
  const mm = ts.mm;
  if (!mm) return -EINVAL;
  if (!can_do_mlock(ts, mm.k)) return -EPERM;
  const lockLimit = Math.floor(rlimit_memlock(ts, mm.k) / PAGE_SIZE);
  yield* mmap_write_lock(t, mm);
  let ret = -ENOMEM;
  if (!(flags & MCL_CURRENT) || mm.totalVm <= lockLimit || capable_ipc_lock(ts)) {
    yield* applyMlockallFlags(t, mm, flags);
    ret = 0;
  }
  mmap_write_unlock(t, mm);
  if (!ret && flags & MCL_CURRENT) yield* mm_populate(t, mm, 0, TASK_SIZE, true);
  return ret;
}

/** mlockall(2). */
export function sys_mlockall(t: Task, flags: number): Blocking<number> {
  return syscall(t, 'mlockall', doMlockall(t, flags));
}

function* doMunlockall(t: Task): Blocking<number> {
  const mm = current(t).mm;
  if (!mm) return -EINVAL;
  yield* mmap_write_lock(t, mm);
  yield* applyMlockallFlags(t, mm, 0);
  mmap_write_unlock(t, mm);
  return 0;
}

/** munlockall(2). */
export function sys_munlockall(t: Task): Blocking<number> {
  return syscall(t, 'munlockall', doMunlockall(t));
}
