/**
 * membarrier(2) (kernel/sched/membarrier.c), the global command only:
 * MEMBARRIER_CMD_GLOBAL waits until every CPU has passed through a state in
 * which it ran no user code of the caller's, which the kernel gets from one
 * RCU grace period (synchronize_rcu). With one CPU online there is nothing
 * to wait for. The other commands are not modelled.
 */
import type { Blocking, Task } from '../../sim/task.js';
import { EINVAL, ENOSYS } from '../errno.js';
import { synchronize_rcu } from '../rcu/tree.js';
import { syscall } from '../syscalls.js';

export const MEMBARRIER_CMD_GLOBAL = 1;

/** sys_membarrier(cmd, flags) for MEMBARRIER_CMD_GLOBAL; -ENOSYS for the commands not modelled. */
export function* sys_membarrier(t: Task, cmd: number, flags: number): Blocking<number> {
  if (cmd !== MEMBARRIER_CMD_GLOBAL) return -ENOSYS;
  return yield* syscall(t, 'membarrier', membarrier_global(t, flags));
}

function* membarrier_global(t: Task, flags: number): Blocking<number> {
  if (flags !== 0) return -EINVAL;
  if (t.engine.ncpus > 1) yield* synchronize_rcu(t);
  return 0;
}
