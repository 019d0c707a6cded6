/**
 * A VM_GROWSDOWN area grows down to a user fault below it, after
 * mm/memory.c lock_mm_and_find_vma() and mm/mmap.c expand_downwards() /
 * acct_stack_growth() of today's kernel (6.5 on; checked on the 6.18 host):
 * the fault upgrades mmap_lock to write, the area's start moves down to the
 * faulting page, unless that page is below vm.mmap_min_addr (EPERM), within
 * stack_guard_gap of the end of an accessible area below that does not grow
 * down itself (ENOMEM), or the area's new size passes RLIMIT_STACK, or
 * RLIMIT_AS, RLIMIT_MEMLOCK (a locked area) or the overcommit policy refuse
 * the pages (ENOMEM). A refused growth is SIGSEGV. The access is then
 * checked against the area's protection as any other: an area grows even
 * for an access it does not allow (a write below a read-only one grows it
 * and then gets SIGSEGV). get_user_pages does not grow areas since 6.5, so
 * only user-mode faults do (mincore, mlock, madvise below one are ENOMEM).
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EFAULT, ENOMEM, EPERM } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { RLIMIT_STACK, task_rlimits } from '../sys.js';
import { PAGE_SIZE, VM_ACCESS_FLAGS, VM_GROWSDOWN, VM_LOCKED, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { may_expand_vm } from './mremap.js';
import { anon_vma_prepare } from './rmap.js';
import { mlock_future_ok, vm_enough_memory, vm_stat_account } from './util.js';
import { find_vma, vma_index, vma_start_write } from './vma.js';

const CAT_EXPAND_DOWNWARDS = intern('expand_downwards');

/** mm/mmap.c stack_guard_gap: 256 pages (the kernel's stack_guard_gap= boot parameter, unset on the host). */
export const STACK_GUARD_GAP = 256 * PAGE_SIZE;

/** vm_start_gap(): where the gap a growing-down area keeps below itself begins. */
export function vm_start_gap(vma: VmAreaStruct): number {
  if (!(vma.vmFlags & VM_GROWSDOWN)) return vma.vmStart;
  return Math.max(0, vma.vmStart - STACK_GUARD_GAP);
}

/** acct_stack_growth(): may the area take `grow` more pages, to `size` bytes? 0 or -ENOMEM. */
function acct_stack_growth(t: Task, vma: VmAreaStruct, size: number, grow: number): number {
  const mm = vma.vmMm;
  const ts = current(t);
  if (!may_expand_vm(t, mm, vma.vmFlags, grow)) return -ENOMEM;
  if (size > task_rlimits(mm.k, ts)[RLIMIT_STACK]!.cur) return -ENOMEM;
  if (!mlock_future_ok(ts, mm, vma.vmFlags, grow * PAGE_SIZE)) return -ENOMEM;
  // security_vm_enough_memory_mm(): charged for every growth, as in Linux.
  if (vm_enough_memory(ts, mm, grow)) return -ENOMEM;
  return 0;
}

/** expand_downwards(): grow `vma` down to the page of `address` (mmap_lock held for writing). 0 or -errno. */
export function expand_downwards(t: Task, vma: VmAreaStruct, address: number): number {
  const mm = vma.vmMm;
  if (!(vma.vmFlags & VM_GROWSDOWN)) return -EFAULT;
  address = Math.floor(address / PAGE_SIZE) * PAGE_SIZE;
  if (address < mm.k.cfg.kernel.mmap_min_addr) return -EPERM;
  const i = vma_index(mm, vma.vmStart);
  const prev = i > 0 ? mm.vmas[i - 1] : undefined;
  // Enforce stack_guard_gap against an accessible area below that is not a stack itself.
  if (prev && !(prev.vmFlags & VM_GROWSDOWN) && prev.vmFlags & VM_ACCESS_FLAGS && address - prev.vmEnd < STACK_GUARD_GAP) return -ENOMEM;
  t.enter(CAT_EXPAND_DOWNWARDS);
  anon_vma_prepare(t, vma);
  vma_start_write(t, vma);
  let error = 0;
  if (address < vma.vmStart) {
    const size = vma.vmEnd - address;
    const grow = (vma.vmStart - address) / PAGE_SIZE;
    error = -ENOMEM;
    if (grow <= vma.vmPgoff) {
      error = acct_stack_growth(t, vma, size, grow);
      if (!error) {
        if (vma.vmFlags & VM_LOCKED) mm.lockedVm += grow;
        vm_stat_account(mm, vma.vmFlags, grow);
        vma.vmStart = address;
        vma.vmPgoff -= grow;
        t.charge(mm.k.cfg.kernel.cost.kernel_op);
      }
    }
  }
  t.leave();
  return error;
}

/**
 * The part of lock_mm_and_find_vma() after find_vma found `vma` above
 * `address` (mmap_lock held for reading): a VM_GROWSDOWN area is grown
 * under the write lock, then the lock is downgraded. Returns the area that
 * now holds the address, or null (SIGSEGV), with mmap_lock held for reading.
 */
export function* find_extend_vma(t: Task, mm: MmStruct, vma: VmAreaStruct, address: number): Blocking<VmAreaStruct | null> {
  if (!(vma.vmFlags & VM_GROWSDOWN)) return null;
  // upgrade_mmap_lock_carefully(): drop the read lock, take the write lock, look again.
  mm.mmapLock.upRead(t);
  yield* mm.mmapLock.downWrite(t);
  let v = find_vma(t, mm, address);
  if (v && v.vmStart > address && (!(v.vmFlags & VM_GROWSDOWN) || expand_downwards(t, v, address) !== 0)) v = null;
  // mmap_write_downgrade(): vma_end_write_all, then keep the lock for reading.
  mm.mmLockSeq++;
  mm.mmapLock.downgradeWrite(t);
  return v;
}
