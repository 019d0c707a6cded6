/**
 * The fcntl side of record locks (fs/locks.c's fcntl_getlk, fcntl_setlk and
 * the struct flock conversions): a struct flock is copied in, turned into a
 * file_lock (its range from l_whence, l_start and l_len; POSIX owner the
 * process's files_struct, OFD owner the open file description), handed to
 * the lock list in locks.ts, and for F_GETLK the conflicting lock is
 * copied back out.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { WaitQueue } from '../../sim/wait.js';
import { EBADF, EINVAL, EOVERFLOW } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { wait_event_interruptible } from '../signal.js';
import type { File } from './file_table.js';
import { Inode } from './inode.js';
import {
  F_RDLCK, F_UNLCK, F_WRLCK, FILE_LOCK_DEFERRED, FL_OFDLCK, FL_POSIX, FL_SLEEP, FileLock, OFFSET_MAX, file_inode, locks_alloc_lock,
  locks_delete_block, locks_free_lock, locks_remove_posix, posix_lock_inode, posix_test_lock,
} from './locks.js';
import { FMODE_READ, FMODE_WRITE } from './uapi_fcntl.js';

export const F_GETLK = 5;
export const F_SETLK = 6;
export const F_SETLKW = 7;
export const F_OFD_GETLK = 36;
export const F_OFD_SETLK = 37;
export const F_OFD_SETLKW = 38;

const SEEK_SET = 0;
const SEEK_CUR = 1;
const SEEK_END = 2;

/** sizeof(struct flock) on x86-64: two shorts, padding, two off_t, a pid_t and padding. */
const FLOCK_BYTES = 32;

const CAT_GETLK = intern('fcntl_getlk');
const CAT_SETLK = intern('fcntl_setlk');

/** struct flock as the caller passes it (positions as bigints: off_t). */
export interface Flock {
  l_type: number;
  l_whence: number;
  l_start: bigint;
  l_len: bigint;
  l_pid: number;
}

function i_size_read(f: File): bigint {
  const inode = file_inode(f);
  return inode instanceof Inode ? BigInt(inode.i_size) : 0n;
}

/** The struct flock's copy_from_user / copy_to_user, at the kernel copies' rate. */
function copyFlock(t: Task): void {
  t.charge(Math.ceil((t.k.cfg.cost.copy_page * FLOCK_BYTES) / 4096));
}

// --- struct flock ----------------------------------------------------------------------

/** flock64_to_posix_lock(): the range and type from a struct flock; owner the process's files_struct. */
function flock_to_posix_lock(t: Task, filp: File, fl: FileLock, l: Flock): number {
  let start: bigint;
  switch (l.l_whence) {
    case SEEK_SET:
      start = 0n;
      break;
    case SEEK_CUR:
      start = BigInt(filp.f_pos);
      break;
    case SEEK_END:
      start = i_size_read(filp);
      break;
    default:
      return -EINVAL;
  }
  if (l.l_start > OFFSET_MAX - start) return -EOVERFLOW;
  start += l.l_start;
  if (start < 0n) return -EINVAL;
  let end: bigint;
  if (l.l_len > 0n) {
    if (l.l_len - 1n > OFFSET_MAX - start) return -EOVERFLOW;
    end = start + (l.l_len - 1n);
  } else if (l.l_len < 0n) {
    if (start + l.l_len < 0n) return -EINVAL;
    end = start - 1n;
    start += l.l_len;
  } else {
    end = OFFSET_MAX;
  }
  const ts = current(t);
  fl.start = start;
  fl.end = end;
  fl.owner = ts.files as object;
  fl.pid = ts.tgid;
  fl.file = filp;
  fl.flags = FL_POSIX;
  // assign_type().
  if (l.l_type !== F_RDLCK && l.l_type !== F_WRLCK && l.l_type !== F_UNLCK) return -EINVAL;
  fl.type = l.l_type;
  return 0;
}

/** posix_lock_to_flock(): what F_GETLK reports of a conflicting lock (an OFD lock's pid as -1). */
function posix_lock_to_flock(l: Flock, fl: FileLock): void {
  l.l_pid = fl.flags & FL_OFDLCK ? -1 : fl.pid;
  l.l_start = fl.start;
  l.l_len = fl.end === OFFSET_MAX ? 0n : fl.end - fl.start + 1n;
  l.l_whence = SEEK_SET;
  l.l_type = fl.type;
}

// --- the fcntl commands ----------------------------------------------------------------

/** fcntl_getlk(): F_GETLK and F_OFD_GETLK. */
export function* fcntl_getlk(t: Task, filp: File, cmd: number, flock: Flock): Blocking<number> {
  t.enter(CAT_GETLK);
  copyFlock(t);
  const fl = locks_alloc_lock(t);
  let error = -EINVAL;
  out: {
    if (cmd !== F_OFD_GETLK && flock.l_type !== F_RDLCK && flock.l_type !== F_WRLCK) break out;
    error = flock_to_posix_lock(t, filp, fl, flock);
    if (error) break out;
    if (cmd === F_OFD_GETLK) {
      error = -EINVAL;
      if (flock.l_pid !== 0) break out;
      fl.flags |= FL_OFDLCK;
      fl.owner = filp;
    }
    error = 0;
    yield* posix_test_lock(t, filp, fl);
    flock.l_type = fl.type;
    if (fl.type !== F_UNLCK) posix_lock_to_flock(flock, fl);
    copyFlock(t);
  }
  locks_free_lock(t, fl);
  t.leave();
  return error;
}

/** check_fmode_for_setlk(): a read lock needs a readable file, a write lock a writable one. */
function check_fmode_for_setlk(fl: FileLock): number {
  const mode = fl.file!.f_mode;
  if (fl.type === F_RDLCK && !(mode & FMODE_READ)) return -EBADF;
  if (fl.type === F_WRLCK && !(mode & FMODE_WRITE)) return -EBADF;
  return 0;
}

/** do_lock_file_wait(): posix_lock_inode until granted or refused, sleeping while the request waits. */
function* do_lock_file_wait(t: Task, filp: File, fl: FileLock): Blocking<number> {
  const inode = file_inode(filp);
  let error: number;
  for (;;) {
    error = yield* posix_lock_inode(t, inode, fl, null);
    if (error !== FILE_LOCK_DEFERRED) break;
    fl.wait ??= new WaitQueue(t.k.engine);
    // wait_event_interruptible(flc_wait, !flc_blocker): woken when the blocker changes or goes; a signal ends the
    // wait with -ERESTARTSYS (EINTR, or the call restarted under SA_RESTART: signal.ts do_signal).
    error = yield* wait_event_interruptible(t, fl.wait, () => fl.blocker === null);
    if (error) break;
  }
  yield* locks_delete_block(t, fl);
  return error;
}

/**
 * fcntl_setlk(): F_SETLK, F_SETLKW and the OFD forms. `stillOpen` is the
 * close race check: whether fd still names filp once the lock is taken
 * (if not, the process's locks on the file go and the call is EBADF).
 */
export function* fcntl_setlk(t: Task, filp: File, cmd: number, flock: Flock, stillOpen: () => boolean): Blocking<number> {
  t.enter(CAT_SETLK);
  copyFlock(t);
  const fl = locks_alloc_lock(t);
  let error: number;
  out: {
    error = flock_to_posix_lock(t, filp, fl, flock);
    if (error) break out;
    error = check_fmode_for_setlk(fl);
    if (error) break out;
    switch (cmd) {
      case F_OFD_SETLK:
      case F_OFD_SETLKW:
        error = -EINVAL;
        if (flock.l_pid !== 0) break out;
        fl.flags |= FL_OFDLCK;
        fl.owner = filp;
        if (cmd === F_OFD_SETLKW) fl.flags |= FL_SLEEP;
        break;
      case F_SETLKW:
        fl.flags |= FL_SLEEP;
        break;
    }
    error = yield* do_lock_file_wait(t, filp, fl);
    if (!error && fl.type !== F_UNLCK && !(fl.flags & FL_OFDLCK) && !stillOpen()) {
      yield* locks_remove_posix(t, filp, current(t).files as object);
      error = -EBADF;
    }
  }
  locks_free_lock(t, fl);
  t.leave();
  return error;
}

/** Whether a command is one of the record-lock commands. */
export function is_lock_cmd(cmd: number): boolean {
  return cmd === F_GETLK || cmd === F_SETLK || cmd === F_SETLKW || cmd === F_OFD_GETLK || cmd === F_OFD_SETLK || cmd === F_OFD_SETLKW;
}
