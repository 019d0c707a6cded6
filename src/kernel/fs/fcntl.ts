/**
 * The fcntl commands beyond the fd-table ones (fd_syscalls.ts keeps F_DUPFD,
 * F_GETFD/F_SETFD, F_GETFL/F_SETFL), after fs/fcntl.c's do_fcntl and the
 * helpers it calls: owners and signals (f_owner), leases (fs/locks.c),
 * directory notification (fs/notify/dnotify), pipe sizes, seals
 * (mm/memfd.c), F_DUPFD_QUERY and F_CREATED_QUERY, and the record-lock
 * commands, whose struct flock argument a script passes as 0 (NULL).
 *
 * Returns null for a command do_fcntl does not know (EINVAL in the caller).
 */
import { TaskState, type Blocking, type Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { EACCES, EBADF, EFAULT, EINVAL, ENOTDIR, ESRCH } from '../errno.js';
import { memfd_fcntl } from '../mm/memfd.js';
import { current } from '../sched/task_struct.js';
import { fget_raw } from './file.js';
import { fput, type File } from './file_table.js';
import { get_pipe_info, pipe_set_size } from './pipe.js';
import { S_ISDIR, S_ISREG } from './inode.js';
import type { LeaseView } from './locks_show.js';
import { FMODE_CREATED } from './uapi_fcntl.js';
import { file_fown, f_getown, f_modown, PIDTYPE_PGID, PIDTYPE_TGID } from './fown.js';
import { fcntl_getlease, generic_setlease, lease_of_file } from './locks_lease.js';
import { file_vfs_or_null } from './vfs_file.js';

export const F_GETLK = 5;
export const F_SETLK = 6;
export const F_SETLKW = 7;
export const F_SETOWN = 8;
export const F_GETOWN = 9;
export const F_SETSIG = 10;
export const F_GETSIG = 11;
export const F_SETOWN_EX = 15;
export const F_GETOWN_EX = 16;
export const F_GETOWNER_UIDS = 17;
export const F_OFD_GETLK = 36;
export const F_OFD_SETLK = 37;
export const F_OFD_SETLKW = 38;
export const F_SETLEASE = 1024;
export const F_GETLEASE = 1025;
export const F_NOTIFY = 1026;
export const F_DUPFD_QUERY = 1027;
export const F_CREATED_QUERY = 1028;
export const F_SETPIPE_SZ = 1031;
export const F_GET_RW_HINT = 1035;
export const F_SET_RW_HINT = 1036;
export const F_GETPIPE_SZ = 1032;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;

/** fcntl(F_NOTIFY)'s flag that keeps a watch after its first event. */
const DN_MULTISHOT = 0x80000000;

export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
/** _NSIG: signals 1..64 are valid. */
const NSIG = 64;

/** The file's lease as /proc/PID/fdinfo shows it, or null. */
export function lease_view(f: File): LeaseView | null {
  return lease_of_file(f);
}

/**
 * fcntl_setlease() past lease_alloc's type check and vfs_setlease's owner
 * check: a file that is not regular is EINVAL (generic_setlease), then
 * locks_lease.ts's generic_setlease.
 */
function* setlease(t: Task, f: File, arg: number): Blocking<number> {
  const v = file_vfs_or_null(f);
  if (!v || !S_ISREG(v.inode.i_mode)) return -EINVAL;
  return yield* generic_setlease(t, f, arg);
}

/** find_vpid(): a struct pid exists for the number (a live task's id, or a process group or session some task is in). */
function find_vpid(k: Kernel, nr: number): boolean {
  if (k.findTask(nr)) return true;
  return k.tasks().some((ts) => ts.pgid === nr || ts.sid === nr);
}

/** struct f_owner_ex. */
export interface FOwnerEx {
  type: number;
  pid: number;
}

export const F_OWNER_TID = 0;
export const F_OWNER_PID = 1;
export const F_OWNER_PGRP = 2;

/** f_setown_ex(): F_OWNER_TID, F_OWNER_PID or F_OWNER_PGRP (else EINVAL); a pid that does not exist is ESRCH, 0 clears the owner but keeps the type. */
export function f_setown_ex(k: Kernel, f: File, owner: FOwnerEx): number {
  // F_OWNER_* numbers are the pid_type values PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID.
  if (owner.type !== F_OWNER_TID && owner.type !== F_OWNER_PID && owner.type !== F_OWNER_PGRP) return -EINVAL;
  if (owner.pid !== 0 && !find_vpid(k, owner.pid)) return -ESRCH;
  f_modown(f, owner.pid < 0 ? 0 : owner.pid, owner.type, true);
  return 0;
}

/** f_getown_ex(): the owner's id and type; the id reads 0 when no task of that type has it now (pid_task). */
export function f_getown_ex(k: Kernel, f: File, out: FOwnerEx): number {
  const o = file_fown(f);
  let pid = 0;
  if (o.pid !== 0) {
    const ts = k.findTask(o.pid);
    // A thread is detached from its pid at its exit (release_task); a process leader stays until it is reaped.
    const gone = ts !== undefined && ts.pid !== ts.tgid && ts.task?.state === TaskState.Done;
    const live = o.type === PIDTYPE_PGID ? k.tasks().some((x) => x.pid === x.tgid && x.pgid === o.pid) : ts !== undefined && !gone && (o.type !== PIDTYPE_TGID || ts.pid === ts.tgid);
    if (live) pid = o.pid;
  }
  out.pid = pid;
  out.type = o.type;
  return 0;
}

export function* do_fcntl_more(t: Task, cmd: number, arg: number, f: File): Blocking<number | null> {
  const k = t.k;
  const argi = Number(BigInt.asIntN(32, BigInt(Math.trunc(arg))));
  switch (cmd) {
    case F_GETOWN:
      return f_getown(f);
    case F_SETOWN: {
      // f_setown(): a negative number is a process group (INT_MIN, which has no negation, EINVAL); 0 clears the
      // owner; an id that does not exist is ESRCH.
      if (argi === -0x80000000) return -EINVAL;
      const type = argi < 0 ? PIDTYPE_PGID : PIDTYPE_TGID;
      const pid = Math.abs(argi);
      if (pid !== 0 && !find_vpid(k, pid)) return -ESRCH;
      f_modown(f, pid, type, true);
      return 0;
    }
    case F_GETOWN_EX:
    case F_SETOWN_EX:
    case F_GETOWNER_UIDS:
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
    case F_GET_RW_HINT:
    case F_SET_RW_HINT:
      // The argument is a user pointer; a script passes a number, and only NULL (0) or an unmapped one is meaningful.
      return -EFAULT;
    case F_GETSIG:
      return file_fown(f).signum;
    case F_SETSIG:
      if (argi < 0 || argi > NSIG) return -EINVAL;
      file_fown(f).signum = argi;
      return 0;
    case F_GETLEASE:
      return yield* fcntl_getlease(t, f);
    case F_SETLEASE: {
      // do_fcntl_add_lease()'s lease_alloc() refuses an unknown lease type first; then vfs_setlease(): only the
      // inode's owner (or CAP_LEASE) may take one, whatever the file is (an anon inode is root's), and only then
      // is a file that is not regular EINVAL.
      if (argi !== F_RDLCK && argi !== F_WRLCK && argi !== F_UNLCK) return -EINVAL;
      const v = file_vfs_or_null(f);
      const uid = current(t).cred.uid;
      if (uid !== 0 && uid !== (v ? v.inode.i_uid : f.ownerUid)) return -EACCES;
      return yield* setlease(t, f, argi);
    }
    case F_NOTIFY: {
      // fcntl_dirnotify(): a mask of nothing (DN_MULTISHOT aside) removes this file's watch, on any file, before
      // the directory test; the events themselves are signals, which scripts do not receive.
      if ((argi & ~DN_MULTISHOT) === 0) return 0;
      const v = file_vfs_or_null(f);
      if (!v || !S_ISDIR(v.inode.i_mode)) return -ENOTDIR;
      return 0;
    }
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ: {
      // pipe_fcntl(): EBADF for anything but a pipe.
      const pipe = get_pipe_info(f);
      if (!pipe) return -EBADF;
      return cmd === F_GETPIPE_SZ ? pipe.capacity : pipe_set_size(t, pipe, argi);
    }
    case F_ADD_SEALS:
    case F_GET_SEALS:
      return (yield* memfd_fcntl(t, f, cmd === F_ADD_SEALS, arg >>> 0)) ?? -EINVAL;
    case F_DUPFD_QUERY: {
      // f_dupfd_query(): 1 when fd `arg` names this very open file description.
      const g = fget_raw(t, argi < 0 ? argi + 2 ** 32 : argi);
      if (!g) return -EBADF;
      const same = g === f ? 1 : 0;
      yield* fput(t, g);
      return same;
    }
    case F_CREATED_QUERY:
      return f.f_mode & FMODE_CREATED ? 1 : 0;
    default:
      return null;
  }
}
