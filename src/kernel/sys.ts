/**
 * getrlimit(2)/setrlimit(2) of every resource, after kernel/sys.c
 * (do_prlimit) and include/asm-generic/resource.h (INIT_RLIMITS).
 *
 * RLIMIT_NOFILE and RLIMIT_MEMLOCK live in their own task fields (the fd
 * table and mlock read them on hot paths); the other resources are kept
 * per process here, starting at init's values: no limit except STACK
 * (8 MiB soft), CORE (0 soft), MSGQUEUE (MQ_BYTES_MAX), NICE and RTPRIO
 * (0), and NPROC and SIGPENDING, which fork_init sets to max_threads / 2
 * from the machine's memory (one 16 KiB THREAD_SIZE stack per 8 pages of
 * RAM at most).
 */
import type { Blocking, Task } from '../sim/task.js';
import { EINVAL, EPERM } from './errno.js';
import type { Kernel } from './kernel.js';
import { current, type Rlimit, type TaskStruct } from './sched/task_struct.js';
import { PAGE_SIZE } from '../hw/types.js';

export const RLIMIT_CPU = 0;
export const RLIMIT_FSIZE = 1;
export const RLIMIT_DATA = 2;
export const RLIMIT_STACK = 3;
export const RLIMIT_CORE = 4;
export const RLIMIT_RSS = 5;
export const RLIMIT_NPROC = 6;
export const RLIMIT_NOFILE = 7;
export const RLIMIT_MEMLOCK = 8;
export const RLIMIT_AS = 9;
export const RLIMIT_LOCKS = 10;
export const RLIMIT_SIGPENDING = 11;
export const RLIMIT_MSGQUEUE = 12;
export const RLIMIT_NICE = 13;
export const RLIMIT_RTPRIO = 14;
export const RLIMIT_RTTIME = 15;
export const RLIM_NLIMITS = 16;

/** _STK_LIM and MQ_BYTES_MAX. */
const STK_LIM = 8 * 1024 * 1024;
const MQ_BYTES_MAX = 819200;
/** x86-64 THREAD_SIZE (16 KiB kernel stacks). */
const THREAD_SIZE = 16384;

/** fork_init(): max_threads = totalram / (8 * THREAD_SIZE), and init's NPROC and SIGPENDING are half of it. */
function maxThreadsHalf(k: Kernel): number {
  const totalram = k.machine.mem.totalFrames * PAGE_SIZE;
  return Math.floor(Math.floor(totalram / (8 * THREAD_SIZE)) / 2);
}

function initRlimits(k: Kernel): Rlimit[] {
  const inf = Infinity;
  const lim: Rlimit[] = Array.from({ length: RLIM_NLIMITS }, () => ({ cur: inf, max: inf }));
  lim[RLIMIT_STACK] = { cur: STK_LIM, max: inf };
  lim[RLIMIT_CORE] = { cur: 0, max: inf };
  const half = maxThreadsHalf(k);
  lim[RLIMIT_NPROC] = { cur: half, max: half };
  lim[RLIMIT_SIGPENDING] = { cur: half, max: half };
  lim[RLIMIT_MSGQUEUE] = { cur: MQ_BYTES_MAX, max: MQ_BYTES_MAX };
  lim[RLIMIT_NICE] = { cur: 0, max: 0 };
  lim[RLIMIT_RTPRIO] = { cur: 0, max: 0 };
  return lim;
}

/** The process's limits (signal->rlim: shared by its threads, copied by fork). */
export function task_rlimits(k: Kernel, ts: TaskStruct): Rlimit[] {
  const leader = ts.group[0] ?? ts;
  return (leader.rlim ??= initRlimits(k));
}

/** copy_signal(): a fork child starts with a copy of its parent's limits. */
export function copy_rlimits(k: Kernel, parent: TaskStruct, child: TaskStruct): void {
  child.rlim = task_rlimits(k, parent).map((l) => ({ ...l }));
}

/** RLIMIT_MEMLOCK as mlock reads it: the task's, or the configured default for both values. */
function memlock(k: Kernel, ts: TaskStruct): Rlimit {
  const leader = ts.group[0] ?? ts;
  if (!leader.rlimitMemlock) {
    const v = k.cfg.kernel.memlock_kib * 1024;
    leader.rlimitMemlock = { cur: v, max: v };
  }
  return leader.rlimitMemlock;
}

/** A resource's limits as getrlimit reports them for `ts` (RLIMIT_NOFILE and RLIMIT_MEMLOCK from their own fields). */
export function task_rlimit(k: Kernel, ts: TaskStruct, resource: number): Rlimit {
  if (resource === RLIMIT_NOFILE) return ts.rlimitNofile;
  if (resource === RLIMIT_MEMLOCK) return memlock(k, ts);
  return task_rlimits(k, ts)[resource]!;
}

/** do_prlimit() for every resource but RLIMIT_NOFILE (fd_syscalls.ts checks nr_open first). */
export function* do_prlimit(t: Task, resource: number, set: Rlimit | null, old: Rlimit | null): Blocking<number> {
  const k = t.k;
  if (resource >>> 0 >= RLIM_NLIMITS) return -EINVAL;
  const ts = current(t);
  if (set && set.cur > set.max) return -EINVAL;
  const lim = resource === RLIMIT_MEMLOCK ? memlock(k, ts) : task_rlimits(k, ts)[resource]!;
  if (old) {
    old.cur = lim.cur;
    old.max = lim.max;
  }
  if (set) {
    // Raising the hard limit needs CAP_SYS_RESOURCE.
    if (set.max > lim.max && ts.cred.uid !== 0) return -EPERM;
    lim.cur = set.cur;
    lim.max = set.max;
  }
  return 0;
}
