/**
 * struct inode, struct super_block and the inode cache, after fs/inode.c
 * and include/linux/fs.h.
 *
 * An inode is a slab object: reading its mode for a permission check or
 * bumping its count goes through the cache model at `addr`. Inodes are
 * reference counted (i_count): dentries, watches (fsnotify marks pin the
 * inode) and lookups in flight hold references; the last iput of an inode
 * with no links, or of one its file system does not cache (procfs:
 * generic_delete_inode), evicts it and hands it to the super block's
 * destroy_inode (procfs defers the free with call_rcu).
 *
 * Regular files keep their size in their page cache (AddressSpace.size), so
 * the size a fault checks and the size read() checks are one number.
 */
import { LLONG_MAX, type loff_t } from './loff.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EACCES } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { RwSemaphore } from '../locking/rwsem.js';
import type { AddressSpace } from '../mm/filemap.js';
import { current, type Cred } from '../sched/task_struct.js';
import type { Dentry, Path } from './dcache.js';
import type { FileOperations } from './file_table.js';
import type { FsnotifyMark } from './notify/mark.js';

// ---- include/uapi/linux/stat.h ----
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;
export const S_IALLUGO = 0o7777;
export const S_IRWXUGO = 0o777;

export function S_ISDIR(m: number): boolean {
  return (m & S_IFMT) === S_IFDIR;
}
export function S_ISREG(m: number): boolean {
  return (m & S_IFMT) === S_IFREG;
}
export function S_ISLNK(m: number): boolean {
  return (m & S_IFMT) === S_IFLNK;
}
export function S_ISCHR(m: number): boolean {
  return (m & S_IFMT) === S_IFCHR;
}

// ---- include/linux/fs.h ----
export const MAY_EXEC = 0x1;
export const MAY_WRITE = 0x2;
export const MAY_READ = 0x4;
export const MAY_APPEND = 0x8;
export const MAY_OPEN = 0x20;
/** i_state: being set up by iget_locked's caller. */
export const I_NEW = 1 << 3;
/** i_state: an O_TMPFILE file that linkat may still give a name (I_LINKABLE). */
export const I_LINKABLE = 1 << 10;
/** i_state: on its way out (evict). */
export const I_FREEING = 1 << 5;
/** i_flags: a removed directory (rmdir done; lookups in it find nothing, creations fail). */
export const S_DEAD = 1 << 4;
/** MAX_LFS_FILESIZE on 64-bit: LLONG_MAX. */
export const MAX_LFS_FILESIZE: loff_t = LLONG_MAX;

/** sizeof(struct inode) in today's kernel, rounded to its slab. */
export const INODE_BYTES = 640;

const CAT_IPUT = intern('iput');
const CAT_EVICT = intern('evict');
const CAT_ALLOC_INODE = intern('alloc_inode');
const CAT_PERMISSION = intern('inode_permission');

/** struct iattr (the fields this kernel changes). */
export interface Iattr {
  ia_valid: number;
  ia_mode: number;
  ia_size: loff_t;
}
export const ATTR_MODE = 1 << 0;
export const ATTR_UID = 1 << 1;
export const ATTR_GID = 1 << 2;
export const ATTR_SIZE = 1 << 3;
export const ATTR_ATIME = 1 << 4;
export const ATTR_MTIME = 1 << 5;
export const ATTR_CTIME = 1 << 6;
export const ATTR_FILE = 1 << 13;
export const ATTR_OPEN = 1 << 15;

/** struct inode_operations: generator methods returning 0 or -errno. */
export interface InodeOperations {
  /** Find `dentry`'s name in `dir`; a found entry is attached with d_add, a missing one left negative. */
  lookup?(t: Task, dir: Inode, dentry: Dentry): Blocking<number>;
  create?(t: Task, dir: Inode, dentry: Dentry, mode: number): Blocking<number>;
  mkdir?(t: Task, dir: Inode, dentry: Dentry, mode: number): Blocking<number>;
  unlink?(t: Task, dir: Inode, dentry: Dentry): Blocking<number>;
  rmdir?(t: Task, dir: Inode, dentry: Dentry): Blocking<number>;
  /** flags: RENAME_NOREPLACE (checked by the VFS), RENAME_EXCHANGE (swap the two names). */
  rename?(t: Task, oldDir: Inode, oldDentry: Dentry, newDir: Inode, newDentry: Dentry, flags: number): Blocking<number>;
  setattr?(t: Task, dentry: Dentry, attr: Iattr): Blocking<number>;
  /** Make `dentry` (negative) a symbolic link to `target` (vfs_symlink). */
  symlink?(t: Task, dir: Inode, dentry: Dentry, target: string): Blocking<number>;
  /** Give `oldDentry`'s inode the further name `newDentry` (negative) in `dir` (vfs_link). */
  link?(t: Task, oldDentry: Dentry, dir: Inode, newDentry: Dentry): Blocking<number>;
  /**
   * A symbolic link's body (->get_link): a string the walk goes on with,
   * or a path it jumps to (procfs's magic links, nd_jump_link), or -errno.
   * Links whose body is in the inode (i_link, ext4's fast symlinks) need none.
   */
  get_link?(t: Task, dentry: Dentry, inode: Inode): string | Path | number;
  /** readlink(2)'s answer when it is not the body (procfs: the path of an fd's file). */
  readlink?(t: Task, dentry: Dentry): string | number;
  /** ->getattr after generic_fillattr: attributes computed when asked (procfs: a task directory's links, fd/'s size). */
  getattr?(t: Task, inode: Inode, stat: { mode: number; nlink: number; size: loff_t }): void;
}

/** struct super_operations. */
export interface SuperOperations {
  /** A file system's own inode object (proc_inode, shmem_inode_info). */
  alloc_inode?(k: Kernel, sb: SuperBlock): Inode;
  /** Free the inode object (procfs: after an RCU grace period). */
  destroy_inode?(t: Task, inode: Inode): void;
  /** Release what the inode holds (its page cache, procfs: its proc_dir_entry). */
  evict_inode?(t: Task, inode: Inode): void;
  /** True to evict at the last iput even with links left (generic_delete_inode). */
  drop_inode?(inode: Inode): boolean;
}

/** struct super_block. */
export class SuperBlock {
  s_root: Dentry | null = null;
  /** The inode hash (iget_locked looks inodes up by number here). */
  readonly s_inodes = new Map<number, Inode>();
  /** get_next_ino(). */
  nextIno = 1;
  /** Inodes of this super block with fsnotify marks: none means fsnotify returns at once. */
  s_fsnotify_connectors = 0;
  /**
   * s_dev, the kernel's dev_t (major << 20 | minor): the root file system
   * stands for ext4 on the first virtio disk (254:0, the development host's
   * /dev/vda); the others are anonymous (set_anon_super: 0:N, N from 1 in
   * the order they are made, where a host has many more mounts before).
   */
  readonly s_dev: number;

  constructor(
    readonly k: Kernel,
    /** The file system type's name ("memfs", "proc"). */
    readonly s_type: string,
    readonly s_op: SuperOperations,
    readonly s_magic: number,
    readonly s_maxbytes: loff_t,
  ) {
    this.s_dev = s_type === 'memfs' ? ROOT_DEV : get_anon_bdev(k);
  }
}

/** MKDEV(254, 0) in the kernel's dev_t: the root file system's disk. */
const ROOT_DEV = 254 << 20;
/** unnamed_dev_ida's next number per kernel (anonymous super blocks are never freed here). */
const anonDevs = new WeakMap<Kernel, number>();

/** get_anon_bdev(): the lowest free minor of major 0, from 1. */
function get_anon_bdev(k: Kernel): number {
  if (typeof k !== 'object' || k === null) return 1;
  const n = (anonDevs.get(k) ?? 0) + 1;
  anonDevs.set(k, n);
  return n;
}

export class Inode {
  i_ino = 0;
  i_mode = 0;
  i_uid = 0;
  i_gid = 0;
  i_nlink = 1;
  /** References (iget/ihold/iput). */
  i_count = 1;
  i_state = 0;
  i_flags = 0;
  i_op: InodeOperations = {};
  i_fop: FileOperations | null = null;
  /** The page cache of a regular file; null for directories and devices. */
  i_mapping: AddressSpace | null = null;
  /** For the file system (procfs: the proc_dir_entry). */
  i_private: unknown = null;
  /** A symbolic link's body kept in the inode (inode->i_link: ext4 fast symlinks, tmpfs). */
  i_link: string | null = null;
  /** fsnotify marks on this inode (the mark connector's list) and the union of their masks. */
  i_fsnotify_marks: FsnotifyMark[] | null = null;
  i_fsnotify_mask = 0;
  /** Opens for writing (get_write_access). */
  i_writecount = 0;
  /** Size of an inode without a page cache (directories, devices). */
  private sizeNoMapping: loff_t = 0;
  /** inode_lock(): i_rwsem, embedded in the inode's second cache line. */
  readonly i_rwsem: RwSemaphore;

  constructor(
    readonly k: Kernel,
    readonly i_sb: SuperBlock,
    /** Kernel address of the object. */
    readonly addr: number,
    /** Bytes of the slab object (the fs's inode type). */
    readonly objBytes: number,
  ) {
    this.i_rwsem = new RwSemaphore(k, `${i_sb.s_type}.i_rwsem`, addr + 64);
  }

  /** The largest file this inode may hold: its file system's s_maxbytes. */
  get i_maxbytes(): loff_t {
    return this.i_sb.s_maxbytes;
  }

  /** i_size_read(). */
  get i_size(): loff_t {
    return this.i_mapping ? this.i_mapping.size : this.sizeNoMapping;
  }

  /** i_size_write(). */
  set i_size(v: loff_t) {
    if (this.i_mapping) this.i_mapping.size = v;
    else this.sizeNoMapping = v;
  }
}


/** alloc_inode(): the file system's object, or a plain inode from the slab. */
function alloc_inode(k: Kernel, t: Task | null, sb: SuperBlock): Inode {
  const inode = sb.s_op.alloc_inode ? sb.s_op.alloc_inode(k, sb) : new Inode(k, sb, k.slab.kmalloc(INODE_BYTES), INODE_BYTES);
  if (t) {
    t.enter(CAT_ALLOC_INODE);
    t.charge(k.cfg.kernel.cost.kmalloc + k.cfg.kernel.cost.kernel_op);
    k.touchRange(t, inode.addr, 128, true);
    t.leave();
  }
  return inode;
}

/** new_inode(): a fresh inode with the next inode number, hashed so iget finds it. */
export function new_inode(k: Kernel, t: Task | null, sb: SuperBlock): Inode {
  const inode = alloc_inode(k, t, sb);
  inode.i_ino = sb.nextIno++;
  sb.s_inodes.set(inode.i_ino, inode);
  return inode;
}

/**
 * iget_locked(): the cached inode `ino` of `sb` with a reference, or a new
 * one marked I_NEW for the caller to fill in and unlock_new_inode().
 */
export function iget_locked(t: Task, sb: SuperBlock, ino: number): Inode {
  const k = t.k;
  const found = sb.s_inodes.get(ino);
  if (found && !(found.i_state & I_FREEING)) {
    k.touch(t, found.addr, true);
    t.charge(k.cfg.cost.atomic_rmw);
    found.i_count++;
    return found;
  }
  const inode = alloc_inode(k, t, sb);
  inode.i_ino = ino;
  inode.i_state |= I_NEW;
  sb.s_inodes.set(ino, inode);
  return inode;
}

export function unlock_new_inode(inode: Inode): void {
  inode.i_state &= ~I_NEW;
}

/** ihold(): another reference to an inode the caller already holds. */
export function ihold(t: Task, inode: Inode): void {
  const k = t.k;
  k.touch(t, inode.addr, true);
  t.charge(k.cfg.cost.atomic_rmw);
  inode.i_count++;
}

/** iput(): drop a reference; the last one evicts an unlinked or uncached inode. */
export function iput(t: Task, inode: Inode): void {
  const k = t.k;
  t.enter(CAT_IPUT);
  k.touch(t, inode.addr, true);
  t.charge(k.cfg.cost.atomic_rmw);
  if (inode.i_count <= 0) throw new Error(`iput: inode ${inode.i_ino} of ${inode.i_sb.s_type} has no reference to drop`);
  if (--inode.i_count === 0) {
    const drop = inode.i_nlink === 0 || (inode.i_sb.s_op.drop_inode?.(inode) ?? false);
    if (drop) evict(t, inode);
  }
  t.leave();
}

/** evict(): the inode's last reference is gone and it is not kept: release it and destroy it. */
function evict(t: Task, inode: Inode): void {
  const k = t.k;
  t.enter(CAT_EVICT);
  inode.i_state |= I_FREEING;
  const sb = inode.i_sb;
  if (sb.s_op.evict_inode) sb.s_op.evict_inode(t, inode);
  if (sb.s_inodes.get(inode.i_ino) === inode) sb.s_inodes.delete(inode.i_ino);
  t.charge(k.cfg.kernel.cost.kernel_op);
  if (sb.s_op.destroy_inode) sb.s_op.destroy_inode(t, inode);
  else {
    t.charge(k.cfg.kernel.cost.kmalloc);
    k.slab.kfree(inode.addr, inode.objBytes);
  }
  t.leave();
}

/** Whether the caller acts as root for permission checks (CAP_DAC_OVERRIDE, CAP_FOWNER). */
export function capable_dac(cred: Cred): boolean {
  return cred.uid === 0;
}

/** The caller's fsgid: tasks carry one id, and each user has a group of its own. */
export function cred_gid(cred: Cred): number {
  return cred.uid;
}

/**
 * generic_permission(): the owner, group or other bits that apply, with
 * CAP_DAC_OVERRIDE letting root read and write anything and search any
 * directory (execute only when some execute bit is set).
 */
export function generic_permission(cred: Cred, inode: Inode, mask: number): number {
  mask &= MAY_READ | MAY_WRITE | MAY_EXEC;
  let mode = inode.i_mode;
  if (cred.uid === inode.i_uid) mode >>= 6;
  else if (cred_gid(cred) === inode.i_gid) mode >>= 3;
  if ((mask & ~mode & 0o7) === 0) return 0;
  if (capable_dac(cred)) {
    if (S_ISDIR(inode.i_mode)) return 0;
    if (!(mask & MAY_EXEC) || inode.i_mode & 0o111) return 0;
  }
  return -EACCES;
}

/** inode_permission(): reads the inode's mode and owner through the caches. */
export function inode_permission(t: Task, inode: Inode, mask: number): number {
  const k = t.k;
  t.enter(CAT_PERMISSION);
  k.touch(t, inode.addr, false);
  t.charge(k.cfg.kernel.cost.kernel_op);
  const r = generic_permission(current(t).cred, inode, mask);
  t.leave();
  return r;
}

/** inode_owner_or_capable(): the caller owns the inode, or has CAP_FOWNER. */
export function inode_owner_or_capable(cred: Cred, inode: Inode): boolean {
  return cred.uid === inode.i_uid || capable_dac(cred);
}
