/**
 * POSIX record locks and open file description (OFD) locks, after
 * fs/locks.c (6.18): fcntl F_GETLK/F_SETLK/F_SETLKW and F_OFD_GETLK/
 * F_OFD_SETLK/F_OFD_SETLKW on a struct flock. flock(2) is locks_flock.ts,
 * on the same context and waiters.
 *
 * An inode's locks are its file_lock_context's flc_posix list, guarded by
 * the context's flc_lock spinlock. A POSIX lock is owned by the process's
 * files_struct (threads sharing the fd table share their locks; a fork
 * child has a table, so locks, of its own), an OFD lock by the open file
 * description. posix_lock_inode keeps each owner's locks together, sorted
 * by start, merging adjacent or overlapping ranges of one type and
 * splitting a range that a request of another type (or an unlock) cuts;
 * owners conflict where their ranges overlap and either lock is F_WRLCK.
 * A blocked F_SETLKW request sleeps on its blocker (a lock, or an earlier
 * request it conflicts with: the tree of waiters of __locks_insert_block)
 * and retries when the blocker changes or goes; POSIX waiters are kept in
 * the blocked list that posix_locks_deadlock follows from owner to owner
 * (EDEADLK on a cycle; OFD requests are never checked, as Linux's).
 *
 * Every close of an fd drops the closing process's POSIX locks on the
 * inode (filp_close -> locks_remove_posix), whichever fd took them; the
 * last reference to a description drops its OFD locks (__fput ->
 * locks_remove_file).
 *
 * Costs: the file_lock objects come from their slab (kmem_cache_zalloc of
 * 192 bytes, this host's file_lock_cache object size; the context 56 bytes,
 * file_lock_ctx), each through cost.kmalloc and its cache lines; the
 * context's spinlock, the global blocked_lock_lock when a request blocks or
 * wakes a waiter, one line per lock the list walks read, and the 32-byte
 * struct flock copied in (and out for GETLK) at cost.copy_page's rate.
 *
 * Positions are bigints (loff_t up to OFFSET_MAX, 2^63 - 1). The fcntl
 * commands and struct flock are in locks_fcntl.ts.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { WaitQueue } from '../../sim/wait.js';
import { EAGAIN, EDEADLK, ENOLCK } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { SpinLock } from '../locking/spinlock.js';
import { current } from '../sched/task_struct.js';
import type { File } from './file_table.js';
import { locks_remove_flock } from './locks_flock.js';
import { locks_remove_lease } from './locks_lease.js';
import { file_vfs_or_null } from './vfs_file.js';

export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;


export const OFFSET_MAX = (1n << 63n) - 1n;

export const FL_POSIX = 1;
export const FL_SLEEP = 128;
export const FL_OFDLCK = 1024;

/** posix_lock_inode's answer when the request waits (FILE_LOCK_DEFERRED). */
export const FILE_LOCK_DEFERRED = 1;
/** posix_locks_deadlock follows at most this many owners. */
const MAX_DEADLK_ITERATIONS = 10;

/** sizeof(struct file_lock): this host's file_lock_cache object size (/sys/kernel/slab/file_lock_cache/object_size). */
export const FILE_LOCK_BYTES = 192;
/** sizeof(struct file_lock_context): file_lock_ctx's object size on this host. */
const FILE_LOCK_CTX_BYTES = 56;

const CAT_TEST = intern('posix_test_lock');
const CAT_LOCK_INODE = intern('posix_lock_inode');
const CAT_REMOVE_POSIX = intern('locks_remove_posix');
const CAT_REMOVE_FILE = intern('locks_remove_file');
const CAT_ALLOC = intern('locks_alloc_lock');
const CAT_FREE = intern('locks_free_lock');


/** struct file_lock (its file_lock_core and range). */
export class FileLock {
  /** flc_blocker: the lock or request this request waits behind. */
  blocker: FileLock | null = null;
  /** flc_blocked_requests: requests waiting behind this one. */
  blocked: FileLock[] = [];
  /** In the blocked list posix_locks_deadlock searches (blocked_hash). */
  hashed = false;
  /** flc_wait, made when the request first sleeps. */
  wait: WaitQueue | null = null;
  owner: object = this;
  pid = 0;
  file: File | null = null;
  flags = 0;
  type = F_UNLCK;
  start = 0n;
  end = 0n;
  /** The CPU whose file_lock_list holds it (locks_insert_global_locks), and when it went there. */
  cpu = -1;
  seq = 0;
  /** A lease's fl_break_time and fl_downgrade_time (jiffies; 0: none), and whether it is on its file's fasync list (locks_lease.ts). */
  breakTime = 0;
  downgradeTime = 0;
  fasync = false;

  constructor(
    /** Kernel address of the slab object. */
    readonly addr: number,
  ) {}
}

/** struct file_lock_context: an inode's flock locks (flc_flock) and POSIX and OFD locks (flc_posix), in list order. */
export class FileLockContext {
  readonly flock: FileLock[] = [];
  readonly posix: FileLock[] = [];
  /** flc_lease: the inode's leases, oldest first (locks_lease.ts). */
  readonly lease: FileLock[] = [];
  readonly flc_lock: SpinLock;

  constructor(
    k: Kernel,
    readonly addr: number,
  ) {
    this.flc_lock = new SpinLock(k, 'file_lock_context.flc_lock', addr);
  }
}

/** The kernel's blocked_hash (as one list, newest first, as hash_add puts them) and blocked_lock_lock. */
export interface FileLocksState {
  blocked: FileLock[];
  blocked_lock_lock: SpinLock;
  /** file_lock_list: every lock on an inode's list (the per-CPU lists, told apart by FileLock.cpu and seq). */
  global: Set<FileLock>;
  /** Insertions so far: the order of each CPU's list (hlist_add_head: newest first). */
  seq: number;
}

function locksState(k: Kernel): FileLocksState {
  return (k.fileLocks ??= { blocked: [], blocked_lock_lock: new SpinLock(k, 'blocked_lock_lock', k.slab.kmalloc(64)), global: new Set(), seq: 0 });
}

/** i_flctx of every inode that has had a lock (pipes and anonymous files included), by the inode's object. */
const contexts = new WeakMap<object, FileLockContext>();

/** file_inode(): the VFS inode, or the object a pipe or anonymous file keeps its state in. */
export function file_inode(f: File): object {
  const v = file_vfs_or_null(f);
  // A pipe reopened through /proc/PID/fd has pipefs's inode: its locks are the pipe's, as its pipe2 files' are.
  if (v) return v.inode.i_sb.s_type === 'pipefs' && typeof v.inode.i_private === 'object' && v.inode.i_private !== null ? v.inode.i_private : v.inode;
  if (typeof f.f_inode === 'object' && f.f_inode !== null) return f.f_inode;
  if (typeof f.private_data === 'object' && f.private_data !== null) return f.private_data;
  return f;
}


function lineTouches(t: Task, addr: number, bytes: number, write: boolean): void {
  const k = t.k;
  for (let off = 0; off < bytes; off += 64) k.touch(t, addr + off, write);
}

/** locks_alloc_lock(): kmem_cache_zalloc from filelock_cache (the zeroing writes its lines). */
export function locks_alloc_lock(t: Task): FileLock {
  const k = t.k;
  t.enter(CAT_ALLOC);
  t.charge(k.cfg.kernel.cost.kmalloc);
  const fl = new FileLock(k.slab.kmalloc(FILE_LOCK_BYTES));
  lineTouches(t, fl.addr, FILE_LOCK_BYTES, true);
  t.leave();
  return fl;
}

export function locks_free_lock(t: Task, fl: FileLock): void {
  const k = t.k;
  t.enter(CAT_FREE);
  t.charge(k.cfg.kernel.cost.kmalloc);
  k.slab.kfree(fl.addr, FILE_LOCK_BYTES);
  t.leave();
}


/** locks_inode_context(). */
export function locks_inode_context(inode: object): FileLockContext | null {
  return contexts.get(inode) ?? null;
}

/** locks_get_lock_context(): made (kmem_cache_alloc from flctx_cache) at the first lock; an unlock makes none. */
export function locks_get_lock_context(t: Task, inode: object, type: number): FileLockContext | null {
  const ctx = contexts.get(inode);
  if (ctx || type === F_UNLCK) return ctx ?? null;
  const k = t.k;
  t.charge(k.cfg.kernel.cost.kmalloc);
  const c = new FileLockContext(k, k.slab.kmalloc(FILE_LOCK_CTX_BYTES));
  k.touch(t, c.addr, true);
  contexts.set(inode, c);
  return c;
}

/** The locks on an inode, for tests and /proc views. */
export function inode_posix_locks(inode: object): readonly FileLock[] {
  return contexts.get(inode)?.posix ?? [];
}

/** The flock locks on an inode, for /proc views. */
export function inode_flock_locks(inode: object): readonly FileLock[] {
  return contexts.get(inode)?.flock ?? [];
}

/** The locks on a file's inode. */
export function file_posix_locks(f: File): readonly FileLock[] {
  return inode_posix_locks(file_inode(f));
}


// --- conflicts -------------------------------------------------------------------------

function locks_overlap(a: FileLock, b: FileLock): boolean {
  return a.end >= b.start && b.end >= a.start;
}

function posix_same_owner(a: FileLock, b: FileLock): boolean {
  return a.owner === b.owner;
}

/** posix_locks_conflict(): another owner's overlapping range, either side F_WRLCK. */
function posix_locks_conflict(caller: FileLock, sys: FileLock): boolean {
  if (posix_same_owner(caller, sys)) return false;
  if (!locks_overlap(caller, sys)) return false;
  return sys.type === F_WRLCK || caller.type === F_WRLCK;
}

/** posix_test_locks_conflict(): an F_UNLCK query (F_OFD_GETLK only) finds the caller's own overlapping locks. */
function posix_test_locks_conflict(caller: FileLock, sys: FileLock): boolean {
  if (caller.type === F_UNLCK) return posix_same_owner(caller, sys) && locks_overlap(caller, sys);
  return posix_locks_conflict(caller, sys);
}

// --- waiters ---------------------------------------------------------------------------

function locks_delete_global_blocked(k: Kernel, waiter: FileLock): void {
  if (!waiter.hashed) return;
  const s = locksState(k);
  const i = s.blocked.indexOf(waiter);
  if (i >= 0) s.blocked.splice(i, 1);
  waiter.hashed = false;
}

/** __locks_delete_block(): off the blocked list and its blocker's requests. */
function __locks_delete_block(k: Kernel, waiter: FileLock): void {
  locks_delete_global_blocked(k, waiter);
  const b = waiter.blocker;
  if (b) {
    const i = b.blocked.indexOf(waiter);
    if (i >= 0) b.blocked.splice(i, 1);
  }
}

/** __locks_wake_up_blocks(): every request waiting behind `blocker` is released to retry. */
function __locks_wake_up_blocks(t: Task, blocker: FileLock): void {
  const k = t.k;
  while (blocker.blocked.length > 0) {
    const waiter = blocker.blocked[0]!;
    __locks_delete_block(k, waiter);
    waiter.blocker = null;
    k.touch(t, waiter.addr, true);
    waiter.wait?.wakeAll(t.now);
  }
}

/** locks_wake_up_blocks(): takes blocked_lock_lock only when someone waits. */
export function* locks_wake_up_blocks(t: Task, blocker: FileLock): Blocking<void> {
  if (blocker.blocked.length === 0) return;
  const s = locksState(t.k);
  yield* s.blocked_lock_lock.lock(t);
  __locks_wake_up_blocks(t, blocker);
  s.blocked_lock_lock.unlock(t);
}

/** __locks_insert_block(): behind the first of the blocker's waiters the request conflicts with (by `conflict`), recursively. */
function __locks_insert_block(t: Task, blocker: FileLock, waiter: FileLock, conflict: (a: FileLock, b: FileLock) => boolean = posix_locks_conflict): void {
  const k = t.k;
  for (;;) {
    const next = blocker.blocked.find((w) => conflict(w, waiter));
    if (!next) break;
    blocker = next;
  }
  waiter.blocker = blocker;
  blocker.blocked.push(waiter);
  if ((blocker.flags & (FL_POSIX | FL_OFDLCK)) === FL_POSIX) {
    locksState(k).blocked.unshift(waiter);
    waiter.hashed = true;
  }
  // Requests behind this one may not conflict with its new blocker: they retry.
  __locks_wake_up_blocks(t, waiter);
}

/** locks_insert_block(): __locks_insert_block under blocked_lock_lock. */
export function* locks_insert_block(t: Task, blocker: FileLock, waiter: FileLock, conflict: (a: FileLock, b: FileLock) => boolean): Blocking<void> {
  const s = locksState(t.k);
  yield* s.blocked_lock_lock.lock(t);
  __locks_insert_block(t, blocker, waiter, conflict);
  s.blocked_lock_lock.unlock(t);
}

/** locks_move_blocks(): the request's waiters now wait behind the lock it became. */
export function* locks_move_blocks(t: Task, to: FileLock, from: FileLock): Blocking<void> {
  if (from.blocked.length === 0) return;
  const s = locksState(t.k);
  yield* s.blocked_lock_lock.lock(t);
  for (const w of from.blocked) {
    w.blocker = to;
    to.blocked.push(w);
  }
  from.blocked.length = 0;
  s.blocked_lock_lock.unlock(t);
}

/** locks_delete_block(): the request is done (granted, refused or interrupted); its own waiters retry. */
export function* locks_delete_block(t: Task, waiter: FileLock): Blocking<void> {
  if (waiter.blocker === null && waiter.blocked.length === 0) return;
  const s = locksState(t.k);
  yield* s.blocked_lock_lock.lock(t);
  __locks_wake_up_blocks(t, waiter);
  __locks_delete_block(t.k, waiter);
  waiter.blocker = null;
  s.blocked_lock_lock.unlock(t);
}

/** what_owner_is_waiting_for(): the lock a request of this lock's owner waits behind, at the root of its chain. */
function what_owner_is_waiting_for(k: Kernel, block: FileLock): FileLock | null {
  for (const fl of locksState(k).blocked) {
    if (!posix_same_owner(fl, block)) continue;
    let f = fl;
    while (f.blocker) f = f.blocker;
    return f;
  }
  return null;
}

/** posix_locks_deadlock(): following owner -> lock it waits for -> that lock's owner comes back to the caller. */
function posix_locks_deadlock(k: Kernel, caller: FileLock, block: FileLock): boolean {
  // OFD locks are not owned by a process: the detector cannot follow them.
  if (caller.flags & FL_OFDLCK) return false;
  let i = 0;
  let b: FileLock | null = block;
  while ((b = what_owner_is_waiting_for(k, b))) {
    if (i++ > MAX_DEADLK_ITERATIONS) return false;
    if (posix_same_owner(caller, b)) return true;
  }
  return false;
}

// --- the lock list ---------------------------------------------------------------------

export function locks_copy_lock(to: FileLock, from: FileLock): void {
  to.owner = from.owner;
  to.pid = from.pid;
  to.file = from.file;
  to.flags = from.flags;
  to.type = from.type;
  to.start = from.start;
  to.end = from.end;
}

/** locks_insert_lock_ctx(): into the inode's list at `i`, and at the head of this CPU's file_lock_list. */
export function insert_lock_ctx(t: Task, list: FileLock[], i: number, fl: FileLock): void {
  list.splice(i, 0, fl);
  const s = locksState(t.k);
  fl.cpu = t.cpu;
  fl.seq = ++s.seq;
  s.global.add(fl);
}

/** locks_delete_global_locks(): off its CPU's file_lock_list (a lease removed by lease_modify). */
export function locks_delete_global_locks(k: Kernel, fl: FileLock): void {
  k.fileLocks?.global.delete(fl);
}

/** Every lock on an inode's list in /proc/locks's order: CPU by CPU, newest first on each. */
export function global_locks(k: Kernel): FileLock[] {
  const s = k.fileLocks;
  if (!s) return [];
  return [...s.global].sort((a, b) => a.cpu - b.cpu || b.seq - a.seq);
}

/** locks_delete_lock_ctx(): unlinked, its waiters woken, freed after the spinlock (the dispose list). */
export function* deleteAt(t: Task, list: FileLock[], i: number, dispose: FileLock[]): Blocking<void> {
  const fl = list[i]!;
  list.splice(i, 1);
  locksState(t.k).global.delete(fl);
  yield* locks_wake_up_blocks(t, fl);
  dispose.push(fl);
}

/**
 * posix_lock_inode(): apply a POSIX or OFD lock request (or unlock) to the
 * inode's list, or find what it conflicts with. Returns 0, -EAGAIN,
 * -EDEADLK, or FILE_LOCK_DEFERRED when the request now waits.
 */
export function* posix_lock_inode(t: Task, inode: object, req: FileLock, conflock: FileLock | null): Blocking<number> {
  const k = t.k;
  const ctx = locks_get_lock_context(t, inode, req.type);
  if (!ctx) return req.type === F_UNLCK ? 0 : -ENOLCK;
  t.enter(CAT_LOCK_INODE);
  let request = req;
  // Two locks are allocated up front unless the request is an unlock of everything (it never needs one).
  let new_fl: FileLock | null = null;
  let new_fl2: FileLock | null = null;
  if (request.type !== F_UNLCK || request.start !== 0n || request.end !== OFFSET_MAX) {
    new_fl = locks_alloc_lock(t);
    new_fl2 = locks_alloc_lock(t);
  }
  const dispose: FileLock[] = [];
  const list = ctx.posix;
  yield* ctx.flc_lock.lock(t);
  let error = 0;
  out: {
    if (request.type !== F_UNLCK) {
      for (const fl of list) {
        k.touch(t, fl.addr, false);
        if (!posix_locks_conflict(request, fl)) continue;
        if (conflock) locks_copy_lock(conflock, fl);
        error = -EAGAIN;
        if (!(request.flags & FL_SLEEP)) break out;
        error = -EDEADLK;
        const s = locksState(k);
        yield* s.blocked_lock_lock.lock(t);
        // No request may be found waiting behind this one during the deadlock search.
        __locks_wake_up_blocks(t, request);
        if (!posix_locks_deadlock(k, request, fl)) {
          error = FILE_LOCK_DEFERRED;
          __locks_insert_block(t, fl, request);
        }
        s.blocked_lock_lock.unlock(t);
        break out;
      }
    }
    // The owner's locks: find the first, then walk them in order of start.
    let i = list.findIndex((fl) => posix_same_owner(request, fl));
    if (i < 0) i = list.length;
    let added = false;
    let left: FileLock | null = null;
    let right: FileLock | null = null;
    while (i < list.length) {
      const fl = list[i]!;
      if (!posix_same_owner(request, fl)) break;
      k.touch(t, fl.addr, false);
      if (request.type === fl.type) {
        // Adjacent or overlapping ranges of one type merge ("start - 1", never "end + 1": end may be OFFSET_MAX).
        if (fl.end < request.start - 1n) {
          i++;
          continue;
        }
        if (fl.start - 1n > request.end) break;
        if (fl.start > request.start) fl.start = request.start;
        else request.start = fl.start;
        if (fl.end < request.end) fl.end = request.end;
        else request.end = fl.end;
        k.touch(t, fl.addr, true);
        if (added) {
          yield* deleteAt(t, list, i, dispose);
          continue;
        }
        request = fl;
        added = true;
        i++;
        continue;
      }
      if (fl.end < request.start) {
        i++;
        continue;
      }
      if (fl.start > request.end) break;
      if (request.type === F_UNLCK) added = true;
      if (fl.start < request.start) left = fl;
      if (fl.end > request.end) {
        right = fl;
        break;
      }
      if (fl.start >= request.start) {
        // The request covers this lock: it goes (or is replaced by the request).
        if (added) {
          yield* deleteAt(t, list, i, dispose);
          continue;
        }
        locks_copy_lock(new_fl!, request);
        yield* locks_move_blocks(t, new_fl!, request);
        request = new_fl!;
        new_fl = null;
        insert_lock_ctx(t, list, i, request);
        k.touch(t, request.addr, true);
        yield* deleteAt(t, list, i + 1, dispose);
        added = true;
        i++;
        continue;
      }
      i++;
    }
    // i is where the loop stopped: the lock it broke at, or the list's end.
    error = 0;
    if (!added) {
      if (request.type === F_UNLCK) break out;
      const nf = new_fl!;
      locks_copy_lock(nf, request);
      yield* locks_move_blocks(t, nf, request);
      insert_lock_ctx(t, list, i, nf);
      k.touch(t, nf.addr, true);
      request = nf;
      new_fl = null;
    }
    if (right) {
      if (left === right) {
        // The request cuts the old lock in two: the second allocation becomes its left part.
        left = new_fl2!;
        new_fl2 = null;
        locks_copy_lock(left, right);
        insert_lock_ctx(t, list, i, left);
        k.touch(t, left.addr, true);
      }
      right.start = request.end + 1n;
      k.touch(t, right.addr, true);
      yield* locks_wake_up_blocks(t, right);
    }
    if (left) {
      left.end = request.start - 1n;
      k.touch(t, left.addr, true);
      yield* locks_wake_up_blocks(t, left);
    }
  }
  ctx.flc_lock.unlock(t);
  if (new_fl) locks_free_lock(t, new_fl);
  if (new_fl2) locks_free_lock(t, new_fl2);
  for (const fl of dispose) locks_free_lock(t, fl);
  t.leave();
  return error;
}

/** posix_test_lock(): the first lock in list order the request conflicts with, copied into it; else F_UNLCK. */
export function* posix_test_lock(t: Task, filp: File, fl: FileLock): Blocking<void> {
  const k = t.k;
  const ctx = locks_inode_context(file_inode(filp));
  if (!ctx || ctx.posix.length === 0) {
    fl.type = F_UNLCK;
    return;
  }
  t.enter(CAT_TEST);
  yield* ctx.flc_lock.lock(t);
  let found: FileLock | null = null;
  for (const c of ctx.posix) {
    k.touch(t, c.addr, false);
    if (posix_test_locks_conflict(fl, c)) {
      found = c;
      break;
    }
  }
  if (found) locks_copy_lock(fl, found);
  else fl.type = F_UNLCK;
  ctx.flc_lock.unlock(t);
  t.leave();
}

/** locks_remove_posix(): at every close, the owner's POSIX locks on the file's inode go (an unlock of everything). */
export function* locks_remove_posix(t: Task, filp: File, owner: object): Blocking<void> {
  const inode = file_inode(filp);
  const ctx = locks_inode_context(inode);
  if (!ctx || ctx.posix.length === 0) return;
  t.enter(CAT_REMOVE_POSIX);
  const fl = new FileLock(0);
  fl.type = F_UNLCK;
  fl.flags = FL_POSIX;
  fl.start = 0n;
  fl.end = OFFSET_MAX;
  fl.owner = owner;
  fl.pid = current(t).tgid;
  fl.file = filp;
  yield* posix_lock_inode(t, inode, fl, null);
  t.leave();
}

/** locks_remove_file(): at the description's last reference, its OFD locks, its flock lock and its leases go. */
export function* locks_remove_file(t: Task, filp: File): Blocking<void> {
  const ctx = locks_inode_context(file_inode(filp));
  if (!ctx) return;
  t.enter(CAT_REMOVE_FILE);
  yield* locks_remove_posix(t, filp, filp);
  yield* locks_remove_flock(t, filp);
  yield* locks_remove_lease(t, filp, ctx);
  t.leave();
}
