/**
 * Whether a task runs user code or kernel code, after kernel/context_tracking.c:
 * RCU treats a scheduler tick that interrupts user mode as a quiescent state.
 * The syscall wrapper (and any other kernel entry, such as a page fault)
 * brackets kernel execution with ct_user_exit / ct_user_enter. Kernel
 * threads are always in kernel mode.
 *
 * The depth lives on the Task object itself (t.ctKernelDepth, one property,
 * no lookup), so the bracket costs nothing measurable on the host.
 */
import type { Task } from '../../sim/task.js';

/** Entering the kernel from user mode (syscall, exception). */
export function ct_user_exit(t: Task): void {
  // The first entry starts a span of system time (/proc/PID/stat's stime; the rest of cpuTime is utime).
  if (t.ctKernelDepth++ === 0) t.ctEnteredAt = t.cpuTime;
}

/** Returning to user mode. */
export function ct_user_enter(t: Task): void {
  if (t.ctKernelDepth > 0 && --t.ctKernelDepth === 0) t.stimeCycles += t.cpuTime - t.ctEnteredAt;
}

/** True when the task is running user code (not inside a syscall or exception, not a kernel thread). */
export function in_user_mode(t: Task): boolean {
  return !t.kernelThread && !(t.ctKernelDepth > 0);
}
