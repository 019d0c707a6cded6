/**
 * Whether a task runs user code or kernel code, after kernel/context_tracking.c:
 * RCU treats a scheduler tick that interrupts user mode as a quiescent state.
 * The syscall wrapper (and any other kernel entry, such as a page fault)
 * brackets kernel execution with ct_user_exit / ct_user_enter. Kernel
 * threads are always in kernel mode.
 *
 * The depth lives on the Task object itself (one property, no lookup), so the
 * bracket costs nothing measurable on the host.
 */
import type { Task } from '../../sim/task.js';

interface CtTask extends Task {
  ctKernelDepth?: number;
}

/** Entering the kernel from user mode (syscall, exception). */
export function ct_user_exit(t: Task): void {
  const c = t as CtTask;
  c.ctKernelDepth = (c.ctKernelDepth ?? 0) + 1;
}

/** Returning to user mode. */
export function ct_user_enter(t: Task): void {
  const c = t as CtTask;
  c.ctKernelDepth = (c.ctKernelDepth ?? 1) - 1;
}

/** True when the task is running user code (not inside a syscall or exception, not a kernel thread). */
export function in_user_mode(t: Task): boolean {
  return !t.kernelThread && !((t as CtTask).ctKernelDepth! > 0);
}
