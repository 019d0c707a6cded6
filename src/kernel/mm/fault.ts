/**
 * The x86 page-fault handler, after arch/x86/mm/fault.c do_user_addr_fault:
 * a user fault first tries the per-VMA lock (lock_vma_under_rcu), falls back
 * to mmap_lock for reading when the area is write-locked by a writer, checks
 * the access against the area (access_error), and calls handle_mm_fault.
 * What cannot be resolved becomes a signal: SIGSEGV (no area, or an access
 * the area does not allow), SIGBUS (past the end of a file), SIGKILL (out of
 * memory: the OOM killer picks the faulting task).
 */
import { find_extend_vma } from './expand_stack.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { ct_user_enter, ct_user_exit } from '../rcu/context_tracking.js';
import { current } from '../sched/task_struct.js';
import { FAULT_FLAG_USER, FAULT_FLAG_WRITE, handle_mm_fault, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV, VM_FAULT_HWPOISON } from './memory.js';
import { TASK_SIZE, VM_ACCESS_FLAGS, VM_WRITE, type VmAreaStruct } from './mm_types.js';
import { fatal_signal_pending } from './oom_kill.js';
import { find_vma, vma_end_read, vma_lookup, vma_start_read } from './vma.js';

export const SIGKILL = 9;
export const SIGBUS = 7;
export const SIGSEGV = 11;

/** Signal numbers to the names result lines use. */
export function signame(sig: number): string {
  return sig === SIGSEGV ? 'SIGSEGV' : sig === SIGBUS ? 'SIGBUS' : sig === SIGKILL ? 'SIGKILL' : `SIG${sig}`;
}

// x86 page-fault error code bits.
export const X86_PF_PROT = 1 << 0;
export const X86_PF_WRITE = 1 << 1;
export const X86_PF_USER = 1 << 2;

const CAT_EXC_PAGE_FAULT = intern('exc_page_fault');

/** access_error(): does the area forbid this access? */
function accessError(errorCode: number, vma: VmAreaStruct): boolean {
  if (errorCode & X86_PF_WRITE) return (vma.vmFlags & VM_WRITE) === 0;
  if (errorCode & X86_PF_PROT) return true;
  return (vma.vmFlags & VM_ACCESS_FLAGS) === 0;
}

function faultSignal(ret: number): number {
  if (ret & VM_FAULT_OOM) return SIGKILL;
  if (ret & (VM_FAULT_SIGBUS | VM_FAULT_HWPOISON)) return SIGBUS;
  if (ret & VM_FAULT_SIGSEGV) return SIGSEGV;
  return 0;
}

/**
 * do_user_addr_fault(): a user-mode fault at `address`. Returns 0 when the
 * access can be retried, or the signal the task gets.
 */
export function* do_user_addr_fault(t: Task, address: number, write: boolean, protection: boolean): Blocking<number> {
  const ts = current(t);
  const mm = ts.mm;
  const k = t.engine;
  const cost = k.cfg.cost;
  const kcost = k.cfg.kernel.cost;
  const start = t.now;
  const startCpu = t.cpu;
  ct_user_exit(t);
  t.enter(CAT_EXC_PAGE_FAULT);
  t.charge(cost.page_fault_trap / 2 + kcost.fault_handler);
  const errorCode = X86_PF_USER | (write ? X86_PF_WRITE : 0) | (protection ? X86_PF_PROT : 0);
  const flags = FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0);
  let sig = 0;
  if (!mm || address >= TASK_SIZE) sig = SIGSEGV;
  else {
    // lock_vma_under_rcu(): a per-VMA read lock, unless a writer holds the area.
    let vma = vma_lookup(t, mm, address);
    if (vma && vma_start_read(t, vma)) {
      k.counters.add('vma_lock_success');
      if (accessError(errorCode, vma)) sig = SIGSEGV;
      else sig = faultSignal(yield* handle_mm_fault(t, vma, address, flags));
      vma_end_read(t, vma);
    } else {
      if (vma) k.counters.add('vma_lock_abort');
      else k.counters.add('vma_lock_miss');
      yield* mm.mmapLock.downRead(t);
      vma = find_vma(t, mm, address);
      // lock_mm_and_find_vma(): an area that grows down is grown to the address.
      if (vma && vma.vmStart > address) vma = yield* find_extend_vma(t, mm, vma, address);
      if (!vma) sig = SIGSEGV;
      else if (accessError(errorCode, vma)) sig = SIGSEGV;
      else sig = faultSignal(yield* handle_mm_fault(t, vma, address, flags));
      mm.mmapLock.upRead(t);
    }
  }
  // The return to user mode delivers a SIGKILL the OOM killer left pending.
  if (!sig && fatal_signal_pending(ts)) sig = SIGKILL;
  t.charge(cost.page_fault_trap - cost.page_fault_trap / 2);
  t.leave();
  ct_user_enter(t);
  if (k.tracing) k.traceSpan('fault', write ? 'page fault (write)' : 'page fault (read)', startCpu, start, t.now - start);
  return sig;
}
