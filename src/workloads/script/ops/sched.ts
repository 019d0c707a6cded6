/** Syscall-script op handlers for scheduling calls: membarrier. */
import { sys_membarrier } from '../../../kernel/sched/membarrier.js';
import type { Blocking } from '../../../sim/task.js';
import type { MembarrierOp, Op } from '../types.js';
import { outcome, type OpEnv, type OpHandler, type OpOutcome } from './fd.js';

function* membarrier(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as MembarrierOp;
  return outcome(yield* sys_membarrier(env.t, o.cmd, o.flags));
}

export const schedOps: Readonly<Record<string, OpHandler>> = { membarrier };
