/**
 * Simulator handlers of the process and signal ops (calls/fields.ts): exit
 * ends the process with a status, kill sends a signal to the process
 * itself; sigaction, sigprocmask, setitimer (ITIMER_REAL), nanosleep,
 * await_signal and caught (the counting handler's runs) are
 * kernel/signal.ts's. An op that ends the process prints no line (`ended`:
 * the interpreter stops).
 */
import { current } from '../../../kernel/sched/task_struct.js';
import {
  await_signal as kawait_signal, caught_count, sys_kill_self, sys_nanosleep, sys_rt_sigaction, sys_rt_sigprocmask, sys_setitimer_real,
  type KillResult,
} from '../../../kernel/signal.js';
import type { Blocking } from '../../../sim/task.js';
import type { CallOp } from '../types.js';
import { outcome, type OpEnv, type OpHandler, type OpOutcome } from '../ops/fd.js';
import { int32, num } from './mm.js';

const SIGBUS = 7;
const SIGSEGV = 11;

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

/** sigaction(sig, {handler, flags}): glibc refuses its own two real-time signals (32, 33) with EINVAL before the kernel. */
function* sigaction(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const sig = int32(num(env, op, 'sig'));
  if (sig === SIGSEGV || sig === SIGBUS) throw new Error(`sigaction: ${sig === SIGSEGV ? 'SIGSEGV' : 'SIGBUS'} is the runner's own (fill and load faults); scripts may not change it`);
  // An op a strace replay made (`raw`) is the logged system call itself, past glibc.
  if ((sig === 32 || sig === 33) && op['raw'] !== true) return { ret: -1, errno: 'EINVAL' };
  return outcome(yield* sys_rt_sigaction(env.t, sig, num(env, op, 'handler'), num(env, op, 'flags')));
}

function* sigprocmask(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  // A strace replay passes the set as a bigint (signals past 53 lose nothing).
  const set = op['set'];
  return outcome(yield* sys_rt_sigprocmask(env.t, int32(num(env, op, 'how')), typeof set === 'bigint' ? set : BigInt(num(env, op, 'set'))));
}

function* setitimer(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_setitimer_real(env.t, num(env, op, 'usec')));
}

function* nanosleep(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_nanosleep(env.t, num(env, op, 'ns')));
}

function* await_signal(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* kawait_signal(env.t, int32(num(env, op, 'sig')), num(env, op, 'count')));
}

/** caught: how many times the counting handler ran for `sig` in this process (a read of its memory: no system call). */
function* caught(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const sig = int32(num(env, op, 'sig'));
  yield* [];
  if (sig < 1 || sig > 64) return { ret: -1, errno: 'EINVAL' };
  return { ret: 0, errno: null, value: caught_count(current(env.t), sig) };
}

export const procCalls: Readonly<Record<string, OpHandler>> = {
  exit, kill, sigaction, sigprocmask, setitimer, nanosleep, await_signal, caught,
} as Record<string, OpHandler>;
