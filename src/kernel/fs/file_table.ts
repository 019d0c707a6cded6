/**
 * struct file and its reference count, after fs/file_table.c. Each file is a
 * slab object with a kernel address, so taking and dropping references
 * (atomics on f_count) costs what its cache line costs: a file shared by
 * threads on several CPUs bounces. The last fput releases the file through
 * its f_op and frees the object after an RCU grace period (file_free_rcu, as
 * in the seed's kernel), since fget finds files under rcu_read_lock only.
 *
 * File operations are generator functions so that a file system (the VFS,
 * inotify, procfs) can block in them; `private_data` and `f_inode` are theirs.
 */
import type { loff_t } from './loff.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { call_rcu } from '../rcu/tree.js';
import { FMODE_PATH } from './uapi_fcntl.js';
import { locks_remove_file } from './locks.js';

/** Where a read reports what it read (the script's `sum`). */
export interface IoBuf {
  sum: number;
  /**
   * When present, the bytes read are appended here as well: for a caller
   * that prints what came back whatever the file (the script's inotify_read
   * on any fd parses the bytes as inotify events, as the host runner does).
   */
  bytes?: number[];
}

/** Append `n` copies of `byte` to the buffer's bytes, when it wants them. */
export function io_push_fill(buf: IoBuf | null, byte: number, n: number): void {
  if (buf?.bytes) for (let i = 0; i < n; i++) buf.bytes.push(byte);
}

/** Append `src[start, end)` to the buffer's bytes, when it wants them. */
export function io_push_bytes(buf: IoBuf | null, src: ArrayLike<number>, start: number, end: number): void {
  if (buf?.bytes) for (let i = start; i < end; i++) buf.bytes.push(src[i]!);
}

/** struct file_operations: every method returns >= 0 or -errno. */
/** Where a read or write starts and what it advances (the kernel's loff_t *ppos): the file itself, or pread/pwrite's own position. */
export interface FilePos {
  f_pos: loff_t;
}

export interface FileOperations {
  readonly name?: string;
  read?(t: Task, file: File, len: number, buf: IoBuf | null, ppos?: FilePos): Blocking<number>;
  write?(t: Task, file: File, len: number, byte: number, ppos?: FilePos): Blocking<number>;
  llseek?(t: Task, file: File, offset: loff_t, whence: number): Blocking<loff_t>;
  poll?(t: Task, file: File): Blocking<number>;
  ioctl?(t: Task, file: File, cmd: number, arg: number): Blocking<number>;
  /** Called at every close of an fd naming the file (filp_close). */
  flush?(t: Task, file: File): Blocking<number>;
  /** Called when the last reference goes (__fput). */
  release?(t: Task, file: File): Blocking<number>;
  /** ->fsync: write back bytes [start, end] (absent: fsync is EINVAL, as for character devices without one). */
  fsync?(t: Task, file: File, start: number, end: number, datasync: boolean): Blocking<number>;
  /**
   * ->iterate_shared of a directory whose entries are not its dcache
   * children (procfs's generated directories): the entries after "." and
   * "..", in the order the kernel emits them, or -errno. Absent:
   * dcache_readdir over the children.
   */
  iterate_shared?(t: Task, file: File): OwnDirEntries | number;
  /** ->mmap makes the area anonymous memory (/dev/zero's mmap_zero). */
  readonly mmapAnonymous?: boolean;
  /** Whether F_SETFL may set O_DIRECT (FMODE_CAN_ODIRECT). */
  readonly directIo?: boolean;
  /**
   * Linux gives the file ->read (->write) but no ->read_iter (->write_iter),
   * so readv (writev) calls it once per segment (do_loop_readv_writev).
   */
  readonly noReadIter?: boolean;
  readonly noWriteIter?: boolean;
}

/** What a directory's own ->iterate_shared lists after "." and "..". */
export interface OwnDirEntries {
  names: string[];
  /** The file position each name is emitted at (ascending, from 2); absent: 2, 3, 4, ... */
  pos?: number[];
  /** The position once every name was emitted; absent: 2 plus the number of names. */
  end?: number;
}

/** sizeof(struct file), rounded to its slab's object size. */
export const FILE_BYTES = 256;

const CAT_FPUT = intern('fput');
const CAT_RELEASE = intern('__fput');
const CAT_ALLOC_FILE = intern('alloc_empty_file');

/** struct file. */
export class File {
  /** References: fds naming it plus transient fget references. */
  f_count = 1;
  f_pos: loff_t = 0;
  /** For the file system: its per-open state. */
  private_data: unknown = null;
  /** The inode, typed loosely until the VFS defines it. */
  f_inode: unknown = null;
  /** Owner uid of the inode (F_SETFL O_NOATIME checks it). */
  ownerUid = 0;
  /** Set once the object is back in the slab: any use after that is a bug. */
  freed = false;

  constructor(
    /** Per-kernel serial number (stable across runs). */
    readonly id: number,
    /** Kernel address of the object: its first cache line holds f_count. */
    readonly addr: number,
    public f_flags: number,
    public f_mode: number,
    public f_op: FileOperations,
    /** The path it was opened by, for /proc and reports. */
    public path: string,
  ) {}
}

export interface FileTableState {
  nextId: number;
  live: number;
}

/** The identity of each kernel's anon_inode_inode, as file_inode() sees it (fs/anon_inodes.c). */
const anonInodes = new WeakMap<Kernel, object>();

function anon_inode_of(k: Kernel): object {
  let inode = anonInodes.get(k);
  if (!inode) anonInodes.set(k, (inode = { anon_inode: true }));
  return inode;
}

function state(k: Kernel): FileTableState {
  return k.fileTable;
}

/** alloc_empty_file + the open path's initialisation; charged to `t` when given (process setup has no task). */
export function alloc_file(k: Kernel, t: Task | null, path: string, f_flags: number, f_mode: number, f_op: FileOperations): File {
  const s = state(k);
  const addr = k.slab.kmalloc(FILE_BYTES);
  const f = new File(s.nextId++, addr, f_flags, f_mode, f_op, path);
  // anon_inode_getfile(): every anonymous file (eventfd, inotify) has the one anon_inode_inode, and so one lock list.
  if (path.startsWith('anon_inode:')) f.f_inode = anon_inode_of(k);
  s.live++;
  k.engine.counters.max('nr_files_peak', s.live);
  if (t) t.chargeAs(CAT_ALLOC_FILE, k.cfg.kernel.cost.kmalloc + k.machine.caches.access(t.cpu, addr, true));
  return f;
}

/** Files allocated and not yet freed (/proc/sys/fs/file-nr's first figure). */
export function nr_files(k: Kernel): number {
  return state(k).live;
}

function atomicOnFile(t: Task, f: File): void {
  const k = t.k;
  t.charge(k.machine.caches.access(t.cpu, f.addr, true) + k.cfg.cost.atomic_rmw);
}

/** get_file(): take a reference the caller knows it may take. */
export function get_file(t: Task, f: File): void {
  if (f.freed) throw new Error(`get_file: file ${f.id} (${f.path}) used after free`);
  atomicOnFile(t, f);
  f.f_count++;
}

/** atomic_long_inc_not_zero(&f->f_count): fget's reference, which fails on a file being torn down. */
export function get_file_rcu(t: Task, f: File): boolean {
  if (f.freed) throw new Error(`fget: file ${f.id} (${f.path}) used after free`);
  atomicOnFile(t, f);
  if (f.f_count === 0) return false;
  f.f_count++;
  return true;
}

/** fput(): drop a reference; the last one releases the file. */
export function* fput(t: Task, f: File): Blocking<void> {
  t.enter(CAT_FPUT);
  if (f.freed || f.f_count <= 0) throw new Error(`fput: file ${f.id} (${f.path}) has no reference to drop`);
  atomicOnFile(t, f);
  if (--f.f_count === 0) yield* __fput(t, f);
  t.leave();
}

/** fput without the release path, for a reference known not to be the last (fput_light's fast case). */
export function fput_nolast(t: Task, f: File): void {
  atomicOnFile(t, f);
  if (--f.f_count === 0) throw new Error(`fput_nolast: file ${f.id} dropped its last reference`);
}

function* __fput(t: Task, f: File): Blocking<void> {
  const k = t.k;
  t.enter(CAT_RELEASE);
  if (f.f_mode & FMODE_PATH) {
    // O_PATH files never reach ->release.
  } else {
    // locks_remove_file(): the description's OFD locks go with it.
    yield* locks_remove_file(t, f);
    if (f.f_op.release) yield* f.f_op.release(t, f);
  }
  // file_free(): the object goes back after a grace period, as fget may still be looking at it.
  call_rcu(t, FILE_BYTES, () => {
    f.freed = true;
    k.slab.kfree(f.addr, FILE_BYTES);
    state(k).live--;
    return 0;
  }, f.addr);
  t.leave();
}
