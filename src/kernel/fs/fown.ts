/**
 * struct fown_struct, the part of a file that says who gets its signals
 * (fs/fcntl.c): the owner F_SETOWN, F_SETOWN_EX or a lease set, as a pid
 * and the kind of id it is (a thread, a process, a process group), and the
 * F_SETSIG signal, made at first use. send_sigio() sends to it.
 */
import type { Kernel } from '../kernel.js';
import type { TaskStruct } from '../sched/task_struct.js';
import { send_group_signal, send_signal, SIGIO } from '../signal.js';
import type { File } from './file_table.js';
import { FASYNC } from './uapi_fcntl.js';
import { TaskState, type Task } from '../../sim/task.js';

/** enum pid_type's first three: a thread (F_OWNER_TID), a process (F_OWNER_PID), a process group (F_OWNER_PGRP). */
export const PIDTYPE_PID = 0;
export const PIDTYPE_TGID = 1;
export const PIDTYPE_PGID = 2;

export interface FileFown {
  /** The owner's id (0: none): a tid, a tgid or a process group id, as `type` says. */
  pid: number;
  /** PIDTYPE_PID, PIDTYPE_TGID or PIDTYPE_PGID. */
  type: number;
  /** F_SETSIG's signal; 0: SIGIO. */
  signum: number;
}

/** The file's fown_struct. */
export function file_fown(f: File): FileFown {
  const x = f as File & { fcntlState?: FileFown };
  if (!x.fcntlState) x.fcntlState = { pid: 0, type: PIDTYPE_PID, signum: 0 };
  return x.fcntlState;
}

/** f_modown(): the owner set when `force` or when the file has none yet. */
export function f_modown(f: File, pid: number, type: number, force: boolean): void {
  const o = file_fown(f);
  if (!force && o.pid !== 0) return;
  o.pid = pid;
  o.type = type;
}

/** f_getown(): the owner as F_GETOWN returns it (a process group negated). */
export function f_getown(f: File): number {
  const o = file_fown(f);
  return o.type === PIDTYPE_PGID ? -o.pid : o.pid;
}

/**
 * lease_setup(): on the fasync list (FASYNC) and, unless the file has an
 * owner already, the caller's process the owner (__f_setown without force:
 * an F_SETOWN made before the lease stays).
 */
export function fown_set(f: File, tgid: number): void {
  f_modown(f, tgid, PIDTYPE_TGID, false);
  f.f_flags |= FASYNC;
}

/** lease_modify(F_UNLCK): f_delown (no owner, type PIDTYPE_TGID), the signal back to SIGIO, off the fasync list. */
export function fown_clear(f: File): void {
  const st = file_fown(f);
  f_modown(f, 0, PIDTYPE_TGID, true);
  st.signum = 0;
  f.f_flags &= ~FASYNC;
}

/** A task a signal can still reach: not ended by a signal, and running (an exited task's signal would be dropped). */
function alive(ts: TaskStruct): boolean {
  return ts.exitSignal === null && ts.task !== undefined && ts.task.state !== TaskState.Done;
}

/**
 * send_sigio(): the file's F_SETSIG signal, or SIGIO, to its owner: a
 * thread (send_sigio_to_task with PIDTYPE_PID: that thread's own pending
 * set), a process, or every process of a process group
 * (do_each_pid_task over PIDTYPE_PGID, which lists group leaders). The
 * owner's credentials are not checked against the receiver's (sigio_perm):
 * the model's processes share one user's.
 */
export function send_sigio(t: Task, f: File): void {
  const o = file_fown(f);
  if (o.pid === 0) return;
  const sig = o.signum || SIGIO;
  const k: Kernel = t.k;
  if (o.type === PIDTYPE_PGID) {
    for (const ts of k.tasks()) if (ts.pid === ts.tgid && ts.pgid === o.pid && !ts.kernelThread && alive(ts)) send_group_signal(ts, sig, t.now);
    return;
  }
  const ts = k.findTask(o.pid);
  if (!ts || !alive(ts)) return;
  if (o.type === PIDTYPE_PID) send_signal(ts, sig, false, t.now);
  else if (ts.pid === ts.tgid) send_group_signal(ts, sig, t.now);
}
