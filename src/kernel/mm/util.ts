/**
 * Accounting shared by the mm syscalls, after mm/util.c and mm/mmap.c:
 * overcommit (__vm_enough_memory: vm_committed_as against
 * vm.overcommit_memory), total_vm and its exec/stack/data split
 * (vm_stat_account), and the RLIMIT_MEMLOCK / CAP_IPC_LOCK rules mlock and
 * MAP_LOCKED follow.
 */
import { ENOMEM } from '../errno.js';
import type { TaskStruct } from '../sched/task_struct.js';
import { mmCore } from './core.js';
import { PAGE_SIZE, VM_EXEC, VM_GROWSDOWN, VM_LOCKED, VM_SHARED, VM_WRITE, type MmStruct } from './mm_types.js';

/** RLIMIT_MEMLOCK of the task's process, in bytes. */
export function rlimit_memlock(ts: TaskStruct, k: MmStruct['k']): number {
  const leader = ts.group[0] ?? ts;
  return (leader.rlimitMemlock ?? ts.rlimitMemlock)?.cur ?? k.cfg.kernel.memlock_kib * 1024;
}

/** capable(CAP_IPC_LOCK). */
export function capable_ipc_lock(ts: TaskStruct): boolean {
  return ts.cred.capIpcLock ?? ts.cred.capSysAdmin;
}

/** can_do_mlock(). */
export function can_do_mlock(ts: TaskStruct, k: MmStruct['k']): boolean {
  return rlimit_memlock(ts, k) !== 0 || capable_ipc_lock(ts);
}

/** mlock_future_ok(): would locking `bytes` more stay within RLIMIT_MEMLOCK? */
export function mlock_future_ok(ts: TaskStruct, mm: MmStruct, vmFlags: number, bytes: number): boolean {
  if ((vmFlags & VM_LOCKED) === 0 || capable_ipc_lock(ts)) return true;
  const locked = bytes / PAGE_SIZE + mm.lockedVm;
  return locked <= Math.floor(rlimit_memlock(ts, mm.k) / PAGE_SIZE);
}

/** vm_stat_account(): total_vm and the exec/stack/data split. */
export function vm_stat_account(mm: MmStruct, flags: number, npages: number): void {
  mm.totalVm += npages;
  if ((flags & (VM_EXEC | VM_WRITE | VM_GROWSDOWN)) === VM_EXEC) mm.execVm += npages;
  else if ((flags & VM_GROWSDOWN) === VM_GROWSDOWN) mm.stackVm += npages;
  else if ((flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) === VM_WRITE) mm.dataVm += npages;
}

/**
 * __vm_enough_memory(): charge `pages` to vm_committed_as, refusing (and
 * returning -ENOMEM) as vm.overcommit_memory says.
 */
export function vm_enough_memory(ts: TaskStruct | null, mm: MmStruct, pages: number): number {
  const k = mm.k;
  const core = mmCore(k);
  core.committedPages += pages;
  const mode = k.cfg.kernel.overcommit_memory;
  if (mode === 1) return 0;
  const ram = k.machine.mem.totalFrames;
  const swap = k.cfg.kernel.swapon ? k.swap.slots : 0;
  if (mode === 0) {
    if (pages > ram + swap) {
      core.committedPages -= pages;
      return -ENOMEM;
    }
    return 0;
  }
  // OVERCOMMIT_NEVER: the commit limit less root's and this process's reserves.
  let allowed = Math.floor((ram * k.cfg.kernel.overcommit_ratio) / 100) + swap;
  if (!(ts?.cred.capSysAdmin ?? false)) allowed -= 8192 / 4;
  allowed -= Math.min(Math.floor(mm.totalVm / 32), 131072 / 4);
  if (core.committedPages < allowed) return 0;
  core.committedPages -= pages;
  return -ENOMEM;
}

/** vm_unacct_memory(). */
export function vm_unacct_memory(mm: MmStruct, pages: number): void {
  mmCore(mm.k).committedPages -= pages;
}
