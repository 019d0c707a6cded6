/**
 * Syscall-script op handlers for the fd table: open, close, dup, dup2, dup3,
 * fcntl, getrlimit, setrlimit. Each runs the simulated syscall in the
 * script's process and returns the op's result line (without `i` and `op`).
 *
 * Argument conversion follows the C prototypes the host runner calls: fds
 * are `int` (a script's number keeps its low 32 bits), fcntl's argument is
 * `unsigned long`, rlimit values are `rlim_t` (RLIM_INFINITY is Infinity in
 * the parsed form, and a negative value wraps to it).
 */
import { errnoName } from '../../../kernel/errno.js';
import { sys_close, sys_dup, sys_dup2, sys_dup3, sys_fcntl, sys_fcntl_nowait, sys_getrlimit, sys_open, sys_setrlimit } from '../../../kernel/fs/fd_syscalls.js';
import { F_GETFL } from '../../../kernel/fs/uapi_fcntl.js';
import type { Kernel } from '../../../kernel/kernel.js';
import type { Blocking, Task } from '../../../sim/task.js';
import { getflResult, rlimitValue, type CookieNames, type ResultBody } from '../format.js';
import type { CloseOp, Dup2Op, Dup3Op, DupOp, FcntlOp, GetrlimitOp, Op, OpenOp, Ref, SetrlimitOp } from '../types.js';

/** What an op handler gets from the interpreter: the kernel, the process's task, and its names. */
export interface OpEnv {
  k: Kernel;
  t: Task;
  /** The number a Ref stands for (a bound name plus its offset, or a plain number). */
  ref(r: Ref): number;
  /** Bind `name` (when given) to a value: an op's result, or -1 when it failed. */
  bind(name: string | undefined, v: number): void;
  /** The run's names for inotify rename cookies: numbered at the op that first prints them. */
  cookies: CookieNames;
  /** The tgid of the process that forked this one, if a fork op made it (a lock's l_pid prints as `parent`). */
  ppid?: number;
}

/** An op's result line without `i` and `op`. */
export type OpOutcome = ResultBody;
export type OpHandler = (env: OpEnv, op: Op) => Blocking<OpOutcome>;

/** ret >= 0, or -errno, as a result line. */
export function outcome(ret: number | bigint): OpOutcome {
  return ret < 0 ? { ret: -1, errno: errnoName(-Number(ret)) } : { ret, errno: null };
}

/** C `int` conversion of a script value. */
function int32(v: number): number {
  // ToInt32 (`| 0`) is C's conversion to int of the truncated value modulo 2^32.
  return Number.isFinite(v) ? v | 0 : -1;
}

function rlim(v: number): number {
  return v < 0 || v >= 2 ** 64 - 1 ? Infinity : v;
}

function bound(env: OpEnv, as: string | undefined, ret: number): OpOutcome {
  env.bind(as, ret < 0 ? -1 : ret);
  return outcome(ret);
}

function* open(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as OpenOp;
  return bound(env, o.as, yield* sys_open(env.t, o.path, int32(o.flags), o.mode));
}

function* close(env: OpEnv, op: Op): Blocking<OpOutcome> {
  return outcome(yield* sys_close(env.t, int32(env.ref((op as CloseOp).fd))));
}

function* dup(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as DupOp;
  return bound(env, o.as, yield* sys_dup(env.t, int32(env.ref(o.fd))));
}

function* dup2(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as Dup2Op;
  return bound(env, o.as, yield* sys_dup2(env.t, int32(env.ref(o.fd)), int32(env.ref(o.newfd))));
}

function* dup3(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as Dup3Op;
  return bound(env, o.as, yield* sys_dup3(env.t, int32(env.ref(o.fd)), int32(env.ref(o.newfd)), int32(o.flags)));
}

function* fcntl(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as FcntlOp;
  const arg = typeof o.arg === 'number' ? o.arg : env.ref(o.arg);
  const fd = int32(env.ref(o.fd));
  const cmd = int32(o.cmd);
  const ret = sys_fcntl_nowait(env.t, fd, cmd) ?? (yield* sys_fcntl(env.t, fd, cmd, arg));
  env.bind(o.as, ret < 0 ? -1 : ret);
  if (ret >= 0 && o.cmd === F_GETFL) {
    const g = getflResult(ret);
    return { ret: g.ret, errno: null, flags: g.flags };
  }
  return outcome(ret);
}

function* getrlimit(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as GetrlimitOp;
  const lim = { cur: 0, max: 0 };
  const ret = yield* sys_getrlimit(env.t, o.resource, lim);
  if (ret < 0) return outcome(ret);
  return { ret, errno: null, cur: rlimitValue(lim.cur), max: rlimitValue(lim.max) };
}

function* setrlimit(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as SetrlimitOp;
  return outcome(yield* sys_setrlimit(env.t, o.resource, rlim(o.cur), rlim(o.max)));
}

/** The fd ops, merged into the interpreter's table. */
export const fdOps: Readonly<Record<string, OpHandler>> = { open, close, dup, dup2, dup3, fcntl, getrlimit, setrlimit };
