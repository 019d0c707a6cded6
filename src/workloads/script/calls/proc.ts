/**
 * Simulator handlers of the process ops (calls/fields.ts): exit ends the
 * process with a status, kill sends a signal to the process itself. An op
 * that ends the process prints no line (`ended`: the interpreter stops).
 */
import { current } from '../../../kernel/sched/task_struct.js';
import { sys_kill_self, type KillResult } from '../../../kernel/signal.js';
import type { Blocking } from '../../../sim/task.js';
import type { CallOp } from '../types.js';
import { outcome, type OpEnv, type OpHandler, type OpOutcome } from '../ops/fd.js';
import { int32, num } from './mm.js';

/** exit_group(status): the parent's wait sees status & 0xff. */
function* exit(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  current(env.t).exitCode = num(env, op, 'status') & 0xff;
  yield* [];
  return { ret: 0, errno: null, ended: true };
}

function* kill(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const r: KillResult = { ended: false };
  const ret = yield* sys_kill_self(env.t, int32(num(env, op, 'sig')), r);
  return r.ended ? { ret: 0, errno: null, ended: true } : outcome(ret);
}

export const procCalls: Readonly<Record<string, OpHandler>> = { exit, kill } as Record<string, OpHandler>;
