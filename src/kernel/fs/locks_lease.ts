/**
 * Leases (fcntl F_SETLEASE / F_GETLEASE), after fs/locks.c (6.18): an
 * inode's leases are its file_lock_context's flc_lease list, each owned by
 * the open file description that took it. An open that conflicts (for
 * writing against any lease, for reading against a write lease) or a
 * truncate by name breaks them (__break_lease): each conflicting lease is
 * marked pending (FL_UNLOCK_PENDING with its fl_break_time, or
 * FL_DOWNGRADE_PENDING with its fl_downgrade_time, lease-break-time
 * seconds on) and its holder is sent SIGIO, or the F_SETSIG signal, once
 * (lease_break_callback -> kill_fasync); F_GETLEASE then reports the type
 * the lease is to become (target_leasetype). With O_NONBLOCK the opener
 * gets EWOULDBLOCK; otherwise it sleeps behind the first lease of the list
 * until the holder gives the lease up or downgrades it (lease_modify wakes
 * it), or the first lease's break time comes (a lease pending a downgrade
 * has none: the opener looks again every jiffy), when time_out_leases
 * downgrades or removes the leases whose time has passed. The sleep is
 * interruptible (-ERESTARTSYS: EINTR, or the open restarted under
 * SA_RESTART, which then waits out the same break time).
 *
 * Costs: the breaker's file_lease from its slab (file_lease_cache, 160
 * bytes on this host) through cost.kmalloc and its lines, the context's
 * flc_lock, a line per lease the walks read or write, blocked_lock_lock
 * when the opener waits; the signal's generation as signal.ts costs it.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { WaitQueue } from '../../sim/wait.js';
import { EAGAIN, EINVAL, ERESTARTSYS } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { current } from '../sched/task_struct.js';
import { signal_pending, sleep_interruptible, TIMED_OUT } from '../signal.js';
import type { File } from './file_table.js';
import { fown_clear, fown_set, send_sigio } from './fown.js';
import {
  file_inode, F_RDLCK, F_UNLCK, F_WRLCK, FileLock, insert_lock_ctx, locks_delete_block, locks_delete_global_locks, locks_get_lock_context,
  locks_inode_context, locks_insert_block, locks_wake_up_blocks, type FileLockContext,
} from './locks.js';
import { FMODE_READ, FMODE_WRITE, O_ACCMODE, O_NONBLOCK, O_RDONLY } from './uapi_fcntl.js';
import { file_vfs_or_null } from './vfs_file.js';

export const FL_LEASE = 32;
export const FL_DOWNGRADE_PENDING = 256;
export const FL_UNLOCK_PENDING = 512;

/** sizeof(struct file_lease): this host's file_lease_cache object size (/sys/kernel/slab/file_lease_cache/object_size). */
const FILE_LEASE_BYTES = 160;


const CAT_BREAK = intern('__break_lease');
const CAT_SETLEASE = intern('generic_setlease');
const CAT_GETLEASE = intern('fcntl_getlease');
const CAT_REMOVE_LEASE = intern('locks_remove_lease');

/** fs.lease-break-time of this kernel (seconds): as /proc/sys last set it, else the machine's setting. */
export function lease_break_time(k: Kernel): number {
  return k.leaseBreakTime ?? k.cfg.kernel.lease_break_time;
}

/** fs.leases-enable of this kernel: as /proc/sys last set it, else the machine's setting. */
export function leases_enable(k: Kernel): number {
  return k.leasesEnable ?? k.cfg.kernel.leases_enable;
}

/** Cycles per jiffy (CONFIG_HZ). */
function jiffyCycles(k: Kernel): number {
  return (k.cfg.clock_ghz * 1e9) / k.cfg.kernel.hz;
}

/** jiffies at simulated time `now`, counted from 1 so that a time of 0 means "none" (as INITIAL_JIFFIES keeps it off 0). */
function jiffies(k: Kernel, now: number): number {
  return Math.floor(now / jiffyCycles(k)) + 1;
}

/** past_time(): a time is set and jiffies is after it. */
function past_time(k: Kernel, now: number, t: number): boolean {
  return t !== 0 && jiffies(k, now) > t;
}

function lease_alloc(t: Task, filp: File | null, type: number): FileLock {
  const k = t.k;
  t.charge(k.cfg.kernel.cost.kmalloc);
  const fl = new FileLock(k.slab.kmalloc(FILE_LEASE_BYTES));
  for (let off = 0; off < FILE_LEASE_BYTES; off += 64) k.touch(t, fl.addr + off, true);
  // lease_init(): owned by the file (none for a breaker), flc_pid the caller's tgid.
  fl.flags = FL_LEASE;
  fl.type = type;
  fl.file = filp;
  fl.owner = filp ?? fl;
  fl.pid = current(t).tgid;
  return fl;
}

function lease_free(t: Task, fl: FileLock): void {
  const k = t.k;
  t.charge(k.cfg.kernel.cost.kmalloc);
  k.slab.kfree(fl.addr, FILE_LEASE_BYTES);
}

export function lease_breaking(fl: FileLock): boolean {
  return (fl.flags & (FL_UNLOCK_PENDING | FL_DOWNGRADE_PENDING)) !== 0;
}

/** target_leasetype(): what the lease is to become while a break is pending. */
export function target_leasetype(fl: FileLock): number {
  if (fl.flags & FL_UNLOCK_PENDING) return F_UNLCK;
  if (fl.flags & FL_DOWNGRADE_PENDING) return F_RDLCK;
  return fl.type;
}

/** leases_conflict() (locks_conflict on the types): either side a write. */
function leases_conflict(lease: FileLock, breaker: FileLock): boolean {
  return lease.type === F_WRLCK || breaker.type === F_WRLCK;
}

function any_leases_conflict(ctx: FileLockContext, breaker: FileLock): boolean {
  for (const fl of ctx.lease) if (leases_conflict(fl, breaker)) return true;
  return false;
}

/**
 * lease_modify(): the lease becomes `arg`, the pending marks it satisfies
 * cleared, its waiters woken; F_UNLCK removes it (f_delown, signum 0, off
 * the fasync list) onto `dispose`.
 */
function* lease_modify(t: Task, ctx: FileLockContext, fl: FileLock, arg: number, dispose: FileLock[]): Blocking<void> {
  fl.type = arg;
  // lease_clear_pending().
  if (arg === F_UNLCK) fl.flags &= ~FL_UNLOCK_PENDING;
  if (arg === F_UNLCK || arg === F_RDLCK) fl.flags &= ~FL_DOWNGRADE_PENDING;
  t.k.touch(t, fl.addr, true);
  yield* locks_wake_up_blocks(t, fl);
  if (arg === F_UNLCK) {
    fown_clear(fl.file!);
    const i = ctx.lease.indexOf(fl);
    if (i >= 0) ctx.lease.splice(i, 1);
    locks_delete_global_locks(t.k, fl);
    dispose.push(fl);
  }
}

/** time_out_leases(): leases whose downgrade or break time has passed are downgraded or removed. */
function* time_out_leases(t: Task, ctx: FileLockContext, dispose: FileLock[]): Blocking<void> {
  const k = t.k;
  for (const fl of [...ctx.lease]) {
    k.touch(t, fl.addr, false);
    if (past_time(k, t.now, fl.downgradeTime)) yield* lease_modify(t, ctx, fl, F_RDLCK, dispose);
    if (past_time(k, t.now, fl.breakTime)) yield* lease_modify(t, ctx, fl, F_UNLCK, dispose);
  }
}

/**
 * lease_break_callback() -> kill_fasync(SIGIO, POLL_MSG) -> send_sigio():
 * the file's owner (F_SETOWN or F_SETOWN_EX's thread, process or process
 * group, or the process that took the lease) gets its F_SETSIG signal, or
 * SIGIO.
 */
function lease_break_callback(t: Task, fl: FileLock): void {
  if (!fl.fasync || !fl.file) return;
  send_sigio(t, fl.file);
}

function dispose_list(t: Task, dispose: FileLock[]): void {
  for (const fl of dispose) lease_free(t, fl);
  dispose.length = 0;
}

/**
 * break_lease(): called by an open (do_dentry_open, with the opener's
 * write access already taken) and by truncate (vfs_truncate, as O_WRONLY)
 * on an inode with leases. Returns 0, -EWOULDBLOCK, or -ERESTARTSYS.
 */
export function* break_lease(t: Task, inode: object, mode: number): Blocking<number> {
  const ctx = locks_inode_context(inode);
  if (!ctx || ctx.lease.length === 0) return 0;
  t.enter(CAT_BREAK);
  const r = yield* __break_lease(t, ctx, mode);
  t.leave();
  return r;
}

function* __break_lease(t: Task, ctx: FileLockContext, mode: number): Blocking<number> {
  const k = t.k;
  const want_write = (mode & O_ACCMODE) !== O_RDONLY;
  const new_fl = lease_alloc(t, null, want_write ? F_WRLCK : F_RDLCK);
  const dispose: FileLock[] = [];
  let error = 0;
  yield* ctx.flc_lock.lock(t);
  yield* time_out_leases(t, ctx, dispose);
  out: {
    if (!any_leases_conflict(ctx, new_fl)) break out;
    let break_time = 0;
    const lbt = lease_break_time(k);
    if (lbt > 0) break_time = jiffies(k, t.now) + lbt * k.cfg.kernel.hz;
    for (const fl of [...ctx.lease]) {
      k.touch(t, fl.addr, false);
      if (!leases_conflict(fl, new_fl)) continue;
      if (want_write) {
        if (fl.flags & FL_UNLOCK_PENDING) continue;
        fl.flags |= FL_UNLOCK_PENDING;
        fl.breakTime = break_time;
      } else {
        if (lease_breaking(fl)) continue;
        fl.flags |= FL_DOWNGRADE_PENDING;
        fl.downgradeTime = break_time;
      }
      k.touch(t, fl.addr, true);
      lease_break_callback(t, fl);
    }
    if (ctx.lease.length === 0) break out;
    if (mode & O_NONBLOCK) {
      error = -EAGAIN; // EWOULDBLOCK
      break out;
    }
    for (;;) {
      // restart: wait behind the first lease, until its break time (a lease pending a downgrade has none: one jiffy).
      const fl = ctx.lease[0]!;
      let wait = fl.breakTime;
      if (wait !== 0) wait -= jiffies(k, t.now);
      if (wait === 0) wait = 1;
      yield* locks_insert_block(t, fl, new_fl, leases_conflict);
      ctx.flc_lock.unlock(t);
      dispose_list(t, dispose);
      // wait_event_interruptible_timeout(flc_wait, list_empty(&flc_blocked_member), wait): its timer is a jiffy's.
      new_fl.wait ??= new WaitQueue(k.engine);
      const deadline = wait > 0 ? (jiffies(k, t.now) - 1 + wait) * jiffyCycles(k) : -1;
      let res = 1;
      const ts = current(t);
      for (;;) {
        if (new_fl.blocker === null) break;
        if (signal_pending(ts)) {
          res = -ERESTARTSYS;
          break;
        }
        const r = yield* sleep_interruptible(t, new_fl.wait, deadline);
        if (r === TIMED_OUT) {
          res = new_fl.blocker === null ? 1 : 0;
          break;
        }
      }
      yield* ctx.flc_lock.lock(t);
      yield* locks_delete_block(t, new_fl);
      error = res;
      if (res >= 0) {
        if (res === 0) yield* time_out_leases(t, ctx, dispose);
        if (any_leases_conflict(ctx, new_fl)) continue;
        error = 0;
      }
      break;
    }
  }
  ctx.flc_lock.unlock(t);
  dispose_list(t, dispose);
  lease_free(t, new_fl);
  return error;
}

/** fcntl_getlease(): the type the file's lease is, or is to become; F_UNLCK without one. */
export function* fcntl_getlease(t: Task, filp: File): Blocking<number> {
  const ctx = locks_inode_context(file_inode(filp));
  let type = F_UNLCK;
  if (!ctx || ctx.lease.length === 0) return type;
  t.enter(CAT_GETLEASE);
  const dispose: FileLock[] = [];
  yield* ctx.flc_lock.lock(t);
  yield* time_out_leases(t, ctx, dispose);
  for (const fl of ctx.lease) {
    if (fl.file !== filp) continue;
    type = target_leasetype(fl);
    break;
  }
  ctx.flc_lock.unlock(t);
  dispose_list(t, dispose);
  t.leave();
  return type;
}

/**
 * check_conflicting_open(): any writer (this file too) refuses a read
 * lease; a write lease needs the inode's writers to be exactly this file
 * (a memfd, which holds no write access, has none: refused).
 * i_readcount (CONFIG_IMA) is not modelled.
 */
function check_conflicting_open(filp: File, inode: { i_writecount: number }, arg: number): number {
  if (arg === F_RDLCK) return inode.i_writecount > 0 ? -EAGAIN : 0;
  if (arg !== F_WRLCK) return 0;
  const self_wcount = filp.f_mode & FMODE_WRITE ? 1 : 0;
  void FMODE_READ;
  return inode.i_writecount !== self_wcount ? -EAGAIN : 0;
}

/** generic_add_lease() and lease_setup(): a new lease at the list's end, or this file's own lease changed. */
function* generic_add_lease(t: Task, filp: File, arg: number): Blocking<number> {
  const v = file_vfs_or_null(filp)!;
  const inode = file_inode(filp);
  const lease = lease_alloc(t, filp, arg);
  const ctx = locks_get_lock_context(t, inode, arg)!;
  const dispose: FileLock[] = [];
  yield* ctx.flc_lock.lock(t);
  yield* time_out_leases(t, ctx, dispose);
  let error = check_conflicting_open(filp, v.inode, arg);
  let kept = false;
  out: {
    if (error) break out;
    error = -EAGAIN;
    let my_fl: FileLock | null = null;
    for (const fl of ctx.lease) {
      t.k.touch(t, fl.addr, false);
      if (fl.file === filp && fl.owner === filp) {
        my_fl = fl;
        continue;
      }
      // No exclusive lease while another file holds one; no new one while another is being broken for a writer.
      if (arg === F_WRLCK) break out;
      if (fl.flags & FL_UNLOCK_PENDING) break out;
    }
    let setup: FileLock;
    if (my_fl) {
      yield* lease_modify(t, ctx, my_fl, arg, dispose);
      setup = my_fl;
    } else {
      // fs.leases-enable 0 refuses a new lease (one already held may still change, above).
      if (!leases_enable(t.k)) {
        error = -EINVAL;
        break out;
      }
      // locks_insert_lock_ctx(): at the list's tail, and at the head of this CPU's file_lock_list (/proc/locks).
      insert_lock_ctx(t, ctx.lease, ctx.lease.length, lease);
      t.k.touch(t, lease.addr, true);
      kept = true;
      setup = lease;
    }
    error = 0;
    // lease_setup(): on the fasync list, and the caller (its process) becomes the file's owner.
    setup.fasync = true;
    fown_set(filp, current(t).tgid);
  }
  ctx.flc_lock.unlock(t);
  dispose_list(t, dispose);
  if (!kept) lease_free(t, lease);
  return error;
}

/** generic_delete_lease(): this file's lease goes (lease_modify F_UNLCK); EAGAIN when it has none. */
function* generic_delete_lease(t: Task, filp: File): Blocking<number> {
  const ctx = locks_inode_context(file_inode(filp));
  if (!ctx) return -EAGAIN;
  const dispose: FileLock[] = [];
  yield* ctx.flc_lock.lock(t);
  let error = -EAGAIN;
  for (const fl of ctx.lease) {
    t.k.touch(t, fl.addr, false);
    if (fl.file === filp && fl.owner === filp) {
      yield* lease_modify(t, ctx, fl, F_UNLCK, dispose);
      error = 0;
      break;
    }
  }
  ctx.flc_lock.unlock(t);
  dispose_list(t, dispose);
  return error;
}

/** generic_setlease() past its permission and file-type checks (fcntl.ts): F_UNLCK, F_RDLCK or F_WRLCK. */
export function* generic_setlease(t: Task, filp: File, arg: number): Blocking<number> {
  t.enter(CAT_SETLEASE);
  const r = arg === F_UNLCK ? yield* generic_delete_lease(t, filp) : yield* generic_add_lease(t, filp, arg);
  t.leave();
  return r;
}

/** locks_remove_lease(): at the description's last reference, its leases go. */
export function* locks_remove_lease(t: Task, filp: File, ctx: FileLockContext): Blocking<void> {
  if (ctx.lease.length === 0) return;
  t.enter(CAT_REMOVE_LEASE);
  const dispose: FileLock[] = [];
  yield* ctx.flc_lock.lock(t);
  for (const fl of [...ctx.lease]) if (fl.file === filp) yield* lease_modify(t, ctx, fl, F_UNLCK, dispose);
  ctx.flc_lock.unlock(t);
  dispose_list(t, dispose);
  t.leave();
}

/** The file's lease as /proc/PID/fdinfo shows it (type to be, flc_pid, breaking), or null. */
export function lease_of_file(f: File): { type: number; pid: number; breaking: boolean } | null {
  const ctx = locks_inode_context(file_inode(f));
  if (!ctx) return null;
  for (const fl of ctx.lease) if (fl.file === f) return { type: target_leasetype(fl), pid: fl.pid, breaking: lease_breaking(fl) };
  return null;
}
