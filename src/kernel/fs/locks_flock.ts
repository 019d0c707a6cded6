/**
 * flock(2), after fs/locks.c (6.18): whole-file advisory locks owned by the
 * open file description (flc_owner = the file), shared (LOCK_SH, F_RDLCK)
 * or exclusive (LOCK_EX, F_WRLCK), kept on the inode context's flc_flock
 * list apart from POSIX and OFD locks (the two kinds never conflict).
 *
 * flock_lock_inode: a request first finds its own description's lock; the
 * same type is a no-op, another type removes it (and wakes its waiters)
 * before the request looks for conflicts, so a conversion that then fails
 * (EWOULDBLOCK with LOCK_NB) or waits has given up the old lock, as on
 * Linux. A request conflicts with another description's lock where either
 * is exclusive. Without LOCK_NB it waits behind the first conflicting lock
 * (locks_insert_block with flock_locks_conflict) and retries when woken;
 * there is no deadlock detection for flock. A dup or a fork child's copy of
 * the fd shares the lock; the description's last close releases it
 * (locks_remove_flock from locks_remove_file).
 *
 * The syscall checks LOCK_MAND first (ignored: 0, whatever the fd), then
 * the operation (EINVAL), then the fd (EBADF, also for O_PATH), then that
 * a lock request's file is open for reading or writing (EBADF).
 *
 * Costs: the request is on the caller's stack (flock_make_lock); a lock
 * request allocates its list entry from the file_lock slab up front, as
 * flock_lock_inode does; the inode context's flc_lock, one line per lock
 * the walks read, blocked_lock_lock when a request waits.
 */
import { wait_event_interruptible } from '../signal.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { WaitQueue } from '../../sim/wait.js';
import { EAGAIN, EBADF, EINVAL, ENOLCK } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { fget_light, fput_light } from './file.js';
import type { File } from './file_table.js';
import {
  deleteAt, F_RDLCK, F_UNLCK, F_WRLCK, file_inode, FILE_LOCK_DEFERRED, FileLock, FL_SLEEP, locks_alloc_lock, locks_copy_lock,
  insert_lock_ctx, locks_delete_block, locks_free_lock, locks_get_lock_context, locks_inode_context, locks_insert_block, locks_move_blocks, OFFSET_MAX,
} from './locks.js';
import { FMODE_READ, FMODE_WRITE } from './uapi_fcntl.js';

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
export const LOCK_MAND = 32;
export const FL_FLOCK = 2;

const CAT_FLOCK_LOCK_INODE = intern('flock_lock_inode');
const CAT_REMOVE_FLOCK = intern('locks_remove_flock');

/** flock_translate_cmd(). */
function flock_translate_cmd(cmd: number): number {
  switch (cmd) {
    case LOCK_SH:
      return F_RDLCK;
    case LOCK_EX:
      return F_WRLCK;
    case LOCK_UN:
      return F_UNLCK;
  }
  return -EINVAL;
}

/** flock_locks_conflict(): another description's lock, either of the two exclusive. */
export function flock_locks_conflict(caller: FileLock, sys: FileLock): boolean {
  if (caller.file === sys.file) return false;
  return caller.type === F_WRLCK || sys.type === F_WRLCK;
}

/** flock_make_lock(): a request of `type` for the whole file, owned by the description (on the caller's stack). */
function flock_make_lock(t: Task, filp: File, type: number): FileLock {
  const fl = new FileLock(0);
  fl.file = filp;
  fl.owner = filp;
  fl.pid = current(t).tgid;
  fl.flags = FL_FLOCK;
  fl.type = type;
  fl.start = 0n;
  fl.end = OFFSET_MAX;
  return fl;
}

/** flock_lock_inode(): 0, -EAGAIN, or FILE_LOCK_DEFERRED when the request now waits. */
export function* flock_lock_inode(t: Task, inode: object, request: FileLock): Blocking<number> {
  const k = t.k;
  const ctx = locks_get_lock_context(t, inode, request.type);
  if (!ctx) return request.type === F_UNLCK ? 0 : -ENOLCK;
  t.enter(CAT_FLOCK_LOCK_INODE);
  let new_fl = request.type !== F_UNLCK ? locks_alloc_lock(t) : null;
  const dispose: FileLock[] = [];
  const list = ctx.flock;
  yield* ctx.flc_lock.lock(t);
  let error = 0;
  out: {
    for (let i = 0; i < list.length; i++) {
      const fl = list[i]!;
      k.touch(t, fl.addr, false);
      if (request.file !== fl.file) continue;
      if (request.type === fl.type) break out;
      yield* deleteAt(t, list, i, dispose);
      break;
    }
    if (request.type === F_UNLCK) break out;
    for (const fl of list) {
      k.touch(t, fl.addr, false);
      if (!flock_locks_conflict(request, fl)) continue;
      error = -EAGAIN;
      if (!(request.flags & FL_SLEEP)) break out;
      error = FILE_LOCK_DEFERRED;
      yield* locks_insert_block(t, fl, request, flock_locks_conflict);
      break out;
    }
    const nf = new_fl!;
    locks_copy_lock(nf, request);
    yield* locks_move_blocks(t, nf, request);
    // locks_insert_lock_ctx(): at the list's tail.
    insert_lock_ctx(t, list, list.length, nf);
    k.touch(t, nf.addr, true);
    new_fl = null;
  }
  ctx.flc_lock.unlock(t);
  if (new_fl) locks_free_lock(t, new_fl);
  for (const fl of dispose) locks_free_lock(t, fl);
  t.leave();
  return error;
}

/** flock_lock_inode_wait(): until granted or refused, sleeping while the request waits. */
function* flock_lock_inode_wait(t: Task, inode: object, fl: FileLock): Blocking<number> {
  let error: number;
  for (;;) {
    error = yield* flock_lock_inode(t, inode, fl);
    if (error !== FILE_LOCK_DEFERRED) break;
    fl.wait ??= new WaitQueue(t.k.engine);
    // wait_event_interruptible(flc_wait, list_empty(&flc_blocked_member)): woken when the blocker changes or goes;
    // a signal ends it with -ERESTARTSYS.
    error = yield* wait_event_interruptible(t, fl.wait, () => fl.blocker === null);
    if (error) break;
  }
  yield* locks_delete_block(t, fl);
  return error;
}

/** locks_remove_flock(): at the description's last reference, its flock lock goes. */
export function* locks_remove_flock(t: Task, filp: File): Blocking<void> {
  const inode = file_inode(filp);
  const ctx = locks_inode_context(inode);
  if (!ctx || ctx.flock.length === 0) return;
  t.enter(CAT_REMOVE_FLOCK);
  yield* flock_lock_inode(t, inode, flock_make_lock(t, filp, F_UNLCK));
  t.leave();
}

function* flockBody(t: Task, fd: number, cmd: number): Blocking<number> {
  // LOCK_MAND is ignored (its locks never worked), before the fd is looked at.
  if (cmd & LOCK_MAND) return 0;
  const type = flock_translate_cmd(cmd & ~LOCK_NB);
  if (type < 0) return type;
  // fdget(): an O_PATH fd is not found.
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  const filp = f.file;
  try {
    if (type !== F_UNLCK && !(filp.f_mode & (FMODE_READ | FMODE_WRITE))) return -EBADF;
    const fl = flock_make_lock(t, filp, type);
    if (!(cmd & LOCK_NB)) fl.flags |= FL_SLEEP;
    return yield* flock_lock_inode_wait(t, file_inode(filp), fl);
  } finally {
    yield* fput_light(t, f);
  }
}

/** flock(2): 0 or -errno (EWOULDBLOCK is EAGAIN). */
export function sys_flock(t: Task, fd: number, cmd: number): Blocking<number> {
  return syscall(t, 'flock', flockBody(t, fd, cmd >>> 0));
}
