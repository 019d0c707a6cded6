/**
 * files_struct and the fd table, after fs/file.c (the seed's Linux 3.8 for
 * structure; today's kernel where the semantics differ).
 *
 * Layout (each piece is a slab object, so every access goes through the
 * cache model):
 *
 *   files_struct (640 B, in a 1 KiB slab object)
 *     +0    count, fdt pointer, the embedded fdtable (fdtab)
 *     +64   file_lock, next_fd, close_on_exec_init, open_fds_init  (own line)
 *     +128  fd_array[NR_OPEN_DEFAULT]                               (512 B)
 *   a larger fdtable: a 64 B struct, the fd array (max_fds pointers) and one
 *   allocation holding open_fds then close_on_exec (max_fds/8 bytes each).
 *   Arrays above 32 KiB come from vmalloc (alloc_fdmem).
 *
 * Growth: an fd at or past max_fds makes __alloc_fd drop file_lock, allocate
 * a table of the next size (1024-byte steps of the fd array, doubling:
 * 128, 256, 512, ... fds, capped by nr_open), retake the lock, copy, and
 * publish it with rcu_assign_pointer. The old table (unless it is the one
 * embedded in files_struct) goes to call_rcu: after the grace period a
 * kmalloc'ed table is freed in the callback, a vmalloc'ed one is put on the
 * CPU's deferral list and freed by a worker (free_fdtable_work).
 *
 * Readers (fget) look tables up under rcu_read_lock with no lock at all.
 * The dup family (dup, dup2, dup3, F_DUPFD) is in file_dup.ts.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EBADF, EMFILE } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { SpinLock } from '../locking/spinlock.js';
import { call_rcu, rcu_read_lock, rcu_read_unlock } from '../rcu/tree.js';
import { current, type TaskStruct } from '../sched/task_struct.js';
import {
  __free_fdtable,
  alloc_fdtable,
  copy_fdtable,
  FdTable,
  filesState,
  free_fdtable_rcu,
  NR_OPEN_DEFAULT,
  PTR_BYTES,
} from './fdtable.js';
import { type File, fput, get_file, get_file_rcu } from './file_table.js';
import { locks_remove_posix } from './locks.js';
import { FMODE_PATH, O_CLOEXEC } from './uapi_fcntl.js';

export { FdTable, FilesState, filesState, fdtableSize, NR_OPEN_DEFAULT, type FdtableViolation } from './fdtable.js';
export { File, type FileOperations, type IoBuf, FILE_BYTES, alloc_file, get_file, fput } from './file_table.js';

const FILES_STRUCT_BYTES = 640;

const CAT_ALLOC_FD = intern('__alloc_fd');
const CAT_EXPAND = intern('expand_fdtable');
const CAT_FD_INSTALL = intern('fd_install');
const CAT_CLOSE_FD = intern('__close_fd');
const CAT_FGET = intern('fget');
const CAT_DUP_FD = intern('dup_fd');
const CAT_CLOSE_ON_EXEC = intern('do_close_on_exec');
const CAT_PUT_FILES = intern('put_files_struct');

/** struct files_struct. */
export class FilesStruct {
  /** References other than threads sharing it through CLONE_FILES (forks, get_files_struct). */
  count = 1;
  next_fd = 0;
  /** The published table (rcu-protected pointer). */
  fdt: FdTable;
  readonly fdtab: FdTable;
  readonly file_lock: SpinLock;

  constructor(
    readonly id: number,
    /** Kernel address of the object. */
    readonly addr: number,
    k: Kernel,
  ) {
    this.fdtab = new FdTable(NR_OPEN_DEFAULT, addr, addr + 128, addr + 80, addr + 72, true, false);
    this.fdt = this.fdtab;
    this.file_lock = new SpinLock(k, 'files_struct.file_lock', addr + 64);
  }
}

/** A new files_struct with an empty embedded table (no task: process creation is not charged). */
export function alloc_files_struct(k: Kernel): FilesStruct {
  const s = filesState(k);
  return new FilesStruct(s.nextId++, k.slab.kmalloc(FILES_STRUCT_BYTES), k);
}

// --- small helpers with their memory traffic ----------------------------------

/** files_fdtable(): read the published table pointer. */
export function files_fdtable(t: Task, files: FilesStruct): FdTable {
  const k = t.k;
  k.touch(t, files.addr, false);
  return files.fdt;
}

export function setBit(t: Task, bits: Uint8Array, base: number, fd: number, v: number): void {
  const k = t.k;
  k.touch(t, base + (fd >> 3), true);
  bits[fd] = v;
}

/** find_next_zero_bit over open_fds from `from`; charges the words it reads. */
function find_next_zero_bit(t: Task, fdt: FdTable, from: number): number {
  const k = t.k;
  const bits = fdt.open_fds;
  const max = fdt.max_fds;
  let fd = from;
  while (fd < max && bits[fd]) fd++;
  const firstWord = from >> 6;
  const lastWord = Math.min(fd, max - 1) >> 6;
  k.touchRange(t, fdt.openAddr + firstWord * 8, (lastWord - firstWord + 1) * 8, false);
  t.charge(k.cfg.kernel.cost.kernel_op);
  return fd;
}

function fdtableTooSmall(fdt: FdTable, fd: number): boolean {
  return fd >= fdt.max_fds;
}

/**
 * expand_fdtable(): called and returning with file_lock held; drops it to
 * allocate. Returns 1 (expanded or someone else did), -EMFILE or -ENOMEM.
 */
function* expand_fdtable(t: Task, files: FilesStruct, nr: number): Blocking<number> {
  const k = t.k;
  t.enter(CAT_EXPAND);
  files.file_lock.unlock(t);
  const nfdt = alloc_fdtable(t, nr);
  yield* files.file_lock.lock(t);
  if (nfdt.max_fds <= nr) {
    __free_fdtable(k, t, nfdt, t.cpu, t.now);
    t.leave();
    return -EMFILE;
  }
  const cur = files_fdtable(t, files);
  if (nr >= cur.max_fds) {
    copy_fdtable(t, nfdt, cur);
    // rcu_assign_pointer(files->fdt, new_fdt)
    k.touch(t, files.addr, true);
    files.fdt = nfdt;
    k.engine.counters.add('fdtable_expand');
    k.engine.counters.max('fdtable_max_fds', nfdt.max_fds);
    if (!cur.embedded) {
      cur.unpublishedAt = t.now;
      call_rcu(t, cur.bytes, (cpu, time) => free_fdtable_rcu(k, cur, cpu, time), cur.structAddr);
    }
  } else {
    __free_fdtable(k, t, nfdt, t.cpu, t.now);
  }
  t.leave();
  return 1;
}

/** expand_files(): 0 if fd `nr` fits, 1 if the table grew (the lock was dropped), -EMFILE past nr_open. */
export function* expand_files(t: Task, files: FilesStruct, nr: number): Blocking<number> {
  const k = t.k;
  const fdt = files_fdtable(t, files);
  if (!fdtableTooSmall(fdt, nr)) return 0;
  if (nr >= k.cfg.kernel.nr_open) return -EMFILE;
  return yield* expand_fdtable(t, files, nr);
}

// --- allocation of descriptors -----------------------------------------------

/** __alloc_fd(): the lowest free fd in [start, end), marked open (not yet installed). */
export function* __alloc_fd(t: Task, files: FilesStruct, start: number, end: number, flags: number): Blocking<number> {
  t.enter(CAT_ALLOC_FD);
  yield* files.file_lock.lock(t);
  let error: number;
  for (;;) {
    const fdt = files_fdtable(t, files);
    let fd = start;
    if (fd < files.next_fd) fd = files.next_fd;
    if (fd < fdt.max_fds) fd = find_next_zero_bit(t, fdt, fd);
    error = -EMFILE;
    if (fd >= end) break;
    error = yield* expand_files(t, files, fd);
    if (error < 0) break;
    if (error) continue; // the table grew with the lock dropped: look again
    if (start <= files.next_fd) files.next_fd = fd + 1;
    setBit(t, fdt.open_fds, fdt.openAddr, fd, 1);
    setBit(t, fdt.close_on_exec, fdt.cloexecAddr, fd, flags & O_CLOEXEC ? 1 : 0);
    if (fdt.fd[fd] !== null) fdt.fd[fd] = null; // the seed's sanity check
    error = fd;
    break;
  }
  files.file_lock.unlock(t);
  t.leave();
  return error;
}

export function nofile(t: Task): number {
  return current(t).rlimitNofile.cur;
}

/** get_unused_fd_flags(). */
export function* get_unused_fd_flags(t: Task, flags: number): Blocking<number> {
  return yield* __alloc_fd(t, current(t).files as FilesStruct, 0, nofile(t), flags);
}

function __put_unused_fd(t: Task, files: FilesStruct, fd: number): void {
  const fdt = files.fdt;
  setBit(t, fdt.open_fds, fdt.openAddr, fd, 0);
  if (fd < files.next_fd) files.next_fd = fd;
}

/** put_unused_fd(): give back an fd that was allocated but never installed. */
export function* put_unused_fd(t: Task, fd: number): Blocking<void> {
  const files = current(t).files as FilesStruct;
  yield* files.file_lock.lock(t);
  __put_unused_fd(t, files, fd);
  files.file_lock.unlock(t);
}

/** __fd_install()/fd_install(): publish `file` at an allocated fd. */
export function* __fd_install(t: Task, files: FilesStruct, fd: number, file: File): Blocking<void> {
  const k = t.k;
  t.enter(CAT_FD_INSTALL);
  yield* files.file_lock.lock(t);
  const fdt = files_fdtable(t, files);
  if (fdt.fd[fd] !== null) throw new Error(`fd_install: fd ${fd} is already installed`);
  k.touch(t, fdt.fdAddr + fd * PTR_BYTES, true);
  fdt.fd[fd] = file;
  files.file_lock.unlock(t);
  t.leave();
}

export function* fd_install(t: Task, fd: number, file: File): Blocking<void> {
  yield* __fd_install(t, current(t).files as FilesStruct, fd, file);
}

/**
 * filp_close(): ->flush, the closing process's POSIX locks on the file
 * (locks_remove_posix, whichever fd took them; `id` is its files_struct),
 * then drop the fd's reference.
 */
export function* filp_close(t: Task, file: File, id: FilesStruct | null): Blocking<number> {
  if (file.f_count === 0) return 0; // "VFS: Close: file count is 0"
  let retval = 0;
  if (file.f_op.flush && !(file.f_mode & FMODE_PATH)) retval = yield* file.f_op.flush(t, file);
  if (!(file.f_mode & FMODE_PATH) && id) yield* locks_remove_posix(t, file, id);
  yield* fput(t, file);
  return retval;
}

/** __close_fd() (today's close_fd): close one fd; -EBADF if it names no file. */
export function* __close_fd(t: Task, files: FilesStruct, fd: number): Blocking<number> {
  const k = t.k;
  t.enter(CAT_CLOSE_FD);
  yield* files.file_lock.lock(t);
  const fdt = files_fdtable(t, files);
  if (!(fd >= 0 && fd < fdt.max_fds)) {
    files.file_lock.unlock(t);
    t.leave();
    return -EBADF;
  }
  k.touch(t, fdt.fdAddr + fd * PTR_BYTES, true);
  const file = fdt.fd[fd]!;
  if (!file) {
    files.file_lock.unlock(t);
    t.leave();
    return -EBADF;
  }
  fdt.fd[fd] = null;
  setBit(t, fdt.close_on_exec, fdt.cloexecAddr, fd, 0);
  __put_unused_fd(t, files, fd);
  files.file_lock.unlock(t);
  const r = yield* filp_close(t, file, files);
  t.leave();
  return r;
}

/** close_fd(): today's name. */
export const close_fd = __close_fd;

// --- lookup ---------------------------------------------------------------------

/** fcheck_files(): the file at fd in the published table, or null; the caller holds rcu_read_lock or file_lock. */
export function fcheck_files(t: Task, files: FilesStruct, fd: number): File | null {
  const k = t.k;
  const fdt = files_fdtable(t, files);
  if (fdt.freed) throw new Error(`fcheck_files: fd table of files_struct ${files.id} used after free`);
  k.touch(t, fdt.structAddr, false);
  if (!(fd >= 0 && fd < fdt.max_fds)) return null;
  k.touch(t, fdt.fdAddr + fd * PTR_BYTES, false);
  return fdt.fd[fd]!;
}

function __fget(t: Task, fd: number, mask: number): File | null {
  const files = current(t).files as FilesStruct;
  t.enter(CAT_FGET);
  rcu_read_lock(t);
  let file = fcheck_files(t, files, fd);
  if (file && ((file.f_mode & mask) || !get_file_rcu(t, file))) file = null;
  rcu_read_unlock(t);
  t.leave();
  return file;
}

/** fget(): the file at fd with a reference taken, or null (O_PATH files are not returned). */
export function fget(t: Task, fd: number): File | null {
  return __fget(t, fd, FMODE_PATH);
}

/** fget_raw(): as fget, O_PATH files included. */
export function fget_raw(t: Task, fd: number): File | null {
  return __fget(t, fd, 0);
}

/** Whether anyone else can change this task's fd table (another thread sharing it, or another reference). */
export function files_shared(ts: TaskStruct): boolean {
  const files = ts.files as FilesStruct | null;
  if (!files) return false;
  if (files.count > 1) return true;
  for (const o of ts.group) if (o !== ts && o.files === files) return true;
  return false;
}

/** The result of fget_light (struct fd): the file and whether fput_light must drop a reference. */
export interface FdRef {
  file: File | null;
  fput_needed: boolean;
}

/**
 * fget_light() (today's fdget): when no one else can change the table, look
 * the fd up with no reference and no atomics; otherwise as fget.
 */
export function fget_light(t: Task, fd: number, raw = false): FdRef {
  const k = t.k;
  const ts = current(t);
  const files = ts.files as FilesStruct;
  if (!files_shared(ts)) {
    t.enter(CAT_FGET);
    let file = fcheck_files(t, files, fd);
    if (file && !raw && file.f_mode & FMODE_PATH) file = null;
    t.leave();
    k.engine.counters.add('fget_light_fast');
    return { file, fput_needed: false };
  }
  const file = __fget(t, fd, raw ? 0 : FMODE_PATH);
  return { file, fput_needed: file !== null };
}

/** fput_light(). */
export function* fput_light(t: Task, r: FdRef): Blocking<void> {
  if (r.fput_needed && r.file) yield* fput(t, r.file);
}

export function* set_close_on_exec(t: Task, fd: number, flag: boolean): Blocking<void> {
  const files = current(t).files as FilesStruct;
  yield* files.file_lock.lock(t);
  const fdt = files_fdtable(t, files);
  setBit(t, fdt.close_on_exec, fdt.cloexecAddr, fd, flag ? 1 : 0);
  files.file_lock.unlock(t);
}

export function get_close_on_exec(t: Task, fd: number): boolean {
  return get_close_on_exec_of(t, current(t).files as FilesStruct, fd);
}

/** close_on_exec() of another task's table (/proc/PID/fdinfo). */
export function get_close_on_exec_of(t: Task, files: FilesStruct, fd: number): boolean {
  const k = t.k;
  rcu_read_lock(t);
  const fdt = files_fdtable(t, files);
  k.touch(t, fdt.cloexecAddr + (fd >> 3), false);
  const r = fdt.close_on_exec[fd] === 1;
  rcu_read_unlock(t);
  return r;
}

// --- whole tables: fork, exec, exit ----------------------------------------------

/** count_open_files(): one past the last open fd, rounded up to a word; reads the bitmap words from the top down. */
function count_open_files(t: Task, fdt: FdTable): number {
  const k = t.k;
  let i = fdt.max_fds;
  while (i > 0 && !fdt.open_fds[i - 1]) i--;
  const words = Math.ceil(i / 64);
  const lowest = Math.max(words - 1, 0);
  k.touchRange(t, fdt.openAddr + lowest * 8, fdt.max_fds / 8 - lowest * 8, false);
  return Math.max(words, 1) * 64;
}

/**
 * dup_fd(): a copy of `oldf` for a forked child: every open fd shares its
 * file (a reference each); an fd allocated but not yet installed by a
 * sibling thread is left free in the copy.
 */
export function* dup_fd(t: Task, oldf: FilesStruct): Blocking<FilesStruct | number> {
  const k = t.k;
  t.enter(CAT_DUP_FD);
  t.charge(k.cfg.kernel.cost.kmalloc);
  const newf = alloc_files_struct(k);
  k.touchRange(t, newf.addr, 128, true);
  let new_fdt = newf.fdtab;
  yield* oldf.file_lock.lock(t);
  let old_fdt = files_fdtable(t, oldf);
  let open_files = count_open_files(t, old_fdt);
  while (open_files > new_fdt.max_fds) {
    oldf.file_lock.unlock(t);
    if (!new_fdt.embedded) __free_fdtable(k, t, new_fdt, t.cpu, t.now);
    new_fdt = alloc_fdtable(t, open_files - 1);
    if (new_fdt.max_fds < open_files) {
      __free_fdtable(k, t, new_fdt, t.cpu, t.now);
      k.slab.kfree(newf.addr, FILES_STRUCT_BYTES);
      t.leave();
      return -EMFILE;
    }
    yield* oldf.file_lock.lock(t);
    old_fdt = files_fdtable(t, oldf);
    open_files = count_open_files(t, old_fdt);
  }
  // copy_fd_bitmaps and the fd array's memcpy: string copies that stream (the per-file loop below is charged by get_file).
  k.streamRange(t, old_fdt.openAddr, open_files / 8, false);
  k.streamRange(t, old_fdt.cloexecAddr, open_files / 8, false);
  k.streamRange(t, new_fdt.openAddr, open_files / 8, true);
  k.streamRange(t, new_fdt.cloexecAddr, open_files / 8, true);
  k.streamRange(t, old_fdt.fdAddr, open_files * PTR_BYTES, false);
  k.streamRange(t, new_fdt.fdAddr, open_files * PTR_BYTES, true);
  for (let i = 0; i < open_files; i++) {
    const f = old_fdt.fd[i]!;
    if (f) {
      get_file(t, f);
      new_fdt.open_fds[i] = old_fdt.open_fds[i]!;
      new_fdt.close_on_exec[i] = old_fdt.close_on_exec[i]!;
    } else {
      // Claimed in the bitmap but not yet installed (a sibling mid-open): free in the child.
      new_fdt.open_fds[i] = 0;
      new_fdt.close_on_exec[i] = 0;
    }
    new_fdt.fd[i] = f;
  }
  oldf.file_lock.unlock(t);
  if (new_fdt.max_fds > open_files) {
    k.streamRange(t, new_fdt.fdAddr + open_files * PTR_BYTES, (new_fdt.max_fds - open_files) * PTR_BYTES, true);
  }
  newf.fdt = new_fdt;
  t.leave();
  return newf;
}

/** close_files(): close every fd of a files_struct nobody else uses. */
function* close_files(t: Task, files: FilesStruct): Blocking<void> {
  const k = t.k;
  const fdt = files.fdt;
  for (let i = 0; i < fdt.max_fds; i++) {
    if (!fdt.open_fds[i]) continue;
    const file = fdt.fd[i]!;
    fdt.fd[i] = null;
    fdt.open_fds[i] = 0;
    if (file) {
      k.touch(t, fdt.fdAddr + i * PTR_BYTES, true);
      yield* filp_close(t, file, files);
      if (t.shouldYield()) yield;
    }
  }
}

/** put_files_struct(): drop a reference; the last one closes every fd and frees the tables. */
export function* put_files_struct(t: Task, files: FilesStruct): Blocking<void> {
  const k = t.k;
  t.enter(CAT_PUT_FILES);
  k.touch(t, files.addr, true);
  t.charge(k.cfg.cost.atomic_rmw);
  if (--files.count === 0) {
    yield* close_files(t, files);
    // Nobody can see this table any more: no grace period needed.
    if (!files.fdt.embedded) __free_fdtable(k, t, files.fdt, t.cpu, t.now);
    t.charge(k.cfg.kernel.cost.kmalloc);
    k.slab.kfree(files.addr, FILES_STRUCT_BYTES);
  }
  t.leave();
}

/** exit_files(): the task lets go of its fd table. */
export function* exit_files(t: Task, ts: TaskStruct): Blocking<void> {
  const files = ts.files as FilesStruct | null;
  if (!files) return;
  ts.files = null;
  // A thread sharing the table through CLONE_FILES holds no count of its own here.
  for (const o of ts.group) if (o !== ts && o.files === files) return;
  yield* put_files_struct(t, files);
}

/** do_close_on_exec(): close every fd marked close-on-exec. */
export function* do_close_on_exec(t: Task, files: FilesStruct): Blocking<void> {
  const k = t.k;
  t.enter(CAT_CLOSE_ON_EXEC);
  yield* files.file_lock.lock(t);
  for (let fd = 0; ; fd++) {
    const fdt = files_fdtable(t, files);
    if (fd >= fdt.max_fds) break;
    if ((fd & 63) === 0) k.touch(t, fdt.cloexecAddr + (fd >> 3), false);
    if (!fdt.close_on_exec[fd]) continue;
    setBit(t, fdt.close_on_exec, fdt.cloexecAddr, fd, 0);
    const file = fdt.fd[fd]!;
    if (!file) continue;
    k.touch(t, fdt.fdAddr + fd * PTR_BYTES, true);
    fdt.fd[fd] = null;
    __put_unused_fd(t, files, fd);
    files.file_lock.unlock(t);
    yield* filp_close(t, file, files);
    if (t.shouldYield()) yield;
    yield* files.file_lock.lock(t);
  }
  files.file_lock.unlock(t);
  t.leave();
}

