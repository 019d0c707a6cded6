/**
 * memfs: the in-memory file system at the root, modelled on tmpfs
 * (mm/shmem.c) and fs/libfs.c for its directory operations, except that a
 * regular file's pages are backed by a RAM store of the file system's own
 * (as a RAM disk backs a disk file system) rather than by swap. Reclaim may
 * drop a clean page, and must write a dirty one to the store first; a later
 * read or fault reads it back (a major fault), and faults read around as on
 * a block device. Where tmpfs and ext4 answer differently, memfs answers as
 * ext4 does, since the conformance host runs its scripts on ext4: reading a
 * hole, growing a file past bytes a mapping stored beyond its end, punching
 * a hole past the end, and seeking in a directory.
 *
 * Directories live in the dcache: every name is a hashed dentry pinned by
 * an extra reference (shmem_mknod's dget) until unlink or rmdir, so
 * ->lookup only ever says "no such name". Regular files keep their data in
 * their page cache, the same pages mmap maps. What counts as data for
 * SEEK_DATA is what was written: pages written by write() or dirtied
 * through a mapping, or held by the store. Reading a hole brings a zeroed,
 * clean page into the cache, as a disk file system's read does (ext4 on
 * the conformance host; tmpfs would hand out the zero page instead), and
 * the range stays a hole.
 */
import { setattr_prepare } from './attr.js';
import type { loff_t } from './loff.js';
import type { Blocking, Task } from '../../sim/task.js';
import { ENAMETOOLONG, ENOTEMPTY, EPERM } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { AddressSpace, truncate_inode_pages, type BackingStore } from '../mm/filemap.js';
import { __GFP_USER } from '../mm/page_alloc.js';
import { swap_readpage_contents, swap_writepage_contents, type SwapContents } from '../mm/swap_io.js';
import { current } from '../sched/task_struct.js';
import { d_add, d_alloc, d_instantiate, d_make_root, dget, dput, type Dentry } from './dcache.js';
import type { FileOperations } from './file_table.js';
import {
  ATTR_MODE,
  ATTR_SIZE,
  cred_gid,
  ihold,
  Inode,
  MAX_LFS_FILESIZE,
  new_inode,
  S_IFCHR,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_ISDIR,
  S_ISGID,
  S_ISREG,
  SuperBlock,
  type Iattr,
  type InodeOperations,
} from './inode.js';
import { NAME_MAX } from './namei.js';
import { truncate_pagecache, zero_eof_tail } from './memfs_truncate.js';

export const MEMFS_MAGIC = 0x01021994;
/** sizeof(struct shmem_inode_info) rounded to its slab. */
const MEMFS_INODE_BYTES = 768;


/** The RAM store behind a file's page cache: what a dropped page reads back as. */
export class MemfsStore implements BackingStore {
  /** Page contents written back, by index. */
  readonly saved = new Map<number, SwapContents>();
  /** Faults read ahead: the store stands for a block device (a RAM disk has the default ra_pages). */
  readonly readahead = true;

  constructor(
    private readonly k: Kernel,
    private readonly owner: MemfsInode,
  ) {}

  /** A page reads back what was written to the store, or zeroes for a hole; the copy takes copy_page. */
  readPage(index: number, pfn: number, now: number): number {
    const c = this.saved.get(index);
    if (!c) {
      this.k.machine.mem.zero(pfn);
      return 0;
    }
    swap_readpage_contents(this.k, pfn, c);
    this.k.engine.counters.add('memfs_page_read');
    return now + this.k.cfg.cost.copy_page;
  }

  writePage(index: number, pfn: number, now: number): number {
    this.saved.set(index, swap_writepage_contents(this.k, pfn));
    this.owner.dataPages.add(index);
    this.k.engine.counters.add('memfs_page_written');
    return now + this.k.cfg.cost.copy_page;
  }
}

/** shmem_inode_info: the inode with its store and the pages that hold data. */
export class MemfsInode extends Inode {
  store: MemfsStore | null = null;
  /** F_SEAL_* of a memfd (shmem_inode_info.seals); 0 for other files, which have none to add. */
  seals = 0;
  /** A memfd: F_ADD_SEALS/F_GET_SEALS work on it. */
  memfd = false;
  /** Pages written (by write(), or written back from a mapping's stores). */
  readonly dataPages = new Set<number>();
  /** A tmpfs file (a memfd, shared anonymous memory) rather than one of the ext4-like tree's. */
  shmem = false;
  /** /dev or a node in it: devtmpfs's (a tmpfs) on the host, so its file handle is shmem's (shmem_encode_fh). */
  devtmpfs = false;

  /** tmpfs allows MAX_LFS_FILESIZE; the tree's files have ext4's limit (the superblock's). */
  override get i_maxbytes(): loff_t {
    return this.shmem ? MAX_LFS_FILESIZE : this.i_sb.s_maxbytes;
  }
}

function memfsOf(dir: Inode): Kernel {
  return dir.k;
}

/** shmem_get_inode(): a new inode of `mode` owned by the caller (group from a setgid directory). */
function memfs_get_inode(k: Kernel, t: Task | null, sb: SuperBlock, dir: Inode | null, mode: number, uid: number, gid: number, shmem = false): MemfsInode {
  const inode = new_inode(k, t, sb) as MemfsInode;
  inode.i_mode = mode;
  inode.i_uid = uid;
  inode.i_gid = dir && dir.i_mode & S_ISGID ? dir.i_gid : gid;
  if (dir && dir.i_mode & S_ISGID && S_ISDIR(mode)) inode.i_mode |= S_ISGID;
  switch (mode & S_IFMT) {
    case S_IFREG:
      inode.i_op = memfs_file_inode_operations;
      inode.i_fop = memfs_file_operations;
      inode.store = new MemfsStore(k, inode);
      inode.i_mapping = new AddressSpace(k, 0, inode.store, shmem);
      inode.shmem = shmem;
      break;
    case S_IFDIR:
      inode.i_nlink = 2;
      // ext4 gives a new directory one block for its entries.
      inode.i_size = 4096;
      inode.i_op = memfs_dir_inode_operations;
      inode.i_fop = memfs_dir_operations;
      break;
    case S_IFLNK:
      inode.i_op = memfs_symlink_inode_operations;
      break;
    default:
      inode.i_op = {};
  }
  return inode;
}

/**
 * shmem_file_setup() for memfd_create: a regular file on no directory (an
 * unhashed dentry `name`, i_nlink 0) whose pages are shmem's: swap-backed,
 * never written to the store. Returns its dentry.
 */
export function memfs_new_unlinked_shmem(t: Task, parent: Dentry, name: string, mode: number, uid: number, gid: number): Dentry {
  const k = t.k;
  const inode = memfs_get_inode(k, t, parent.d_sb, null, S_IFREG | mode, uid, gid, true);
  inode.i_nlink = 0;
  const d = d_alloc(k, t, parent, name);
  d_instantiate(d, inode);
  return d;
}

/** shmem_tmpfile()/ext4_tmpfile(): a regular file in `dir` with no name (an unhashed dentry, i_nlink 0). */
export function memfs_tmpfile(t: Task, dir: Dentry, mode: number, uid: number, gid: number): Dentry {
  const k = t.k;
  const inode = memfs_get_inode(k, t, dir.d_sb, dir.d_inode, S_IFREG | mode, uid, gid);
  inode.i_nlink = 0;
  const d = d_alloc(k, t, dir, '#' + inode.i_ino);
  d_instantiate(d, inode);
  return d;
}

/** A device or other special inode (for /dev): `fops` serves its opens. */
export function memfs_make_node(k: Kernel, parent: Dentry, name: string, mode: number, fops: FileOperations): Dentry {
  const sb = parent.d_sb;
  const inode = memfs_get_inode(k, null, sb, parent.d_inode, mode, 0, 0);
  inode.i_fop = fops;
  inode.devtmpfs = true;
  return memfs_link_untimed(parent, name, inode);
}

/** A directory made at boot (no task to charge). */
export function memfs_make_dir(k: Kernel, parent: Dentry, name: string, mode: number, uid: number): Dentry {
  const inode = memfs_get_inode(k, null, parent.d_sb, parent.d_inode, S_IFDIR | mode, uid, uid);
  parent.d_inode!.i_nlink++;
  return memfs_link_untimed(parent, name, inode);
}

function memfs_link_untimed(parent: Dentry, name: string, inode: Inode): Dentry {
  const d = d_alloc(inode.k, null, parent, name);
  d_add(d, inode);
  return d;
}

// ---- inode operations ----

/** simple_lookup(): every name that exists is in the dcache; a lookup only rejects names that are too long. */
function* memfs_lookup(_t: Task, _dir: Inode, dentry: Dentry): Blocking<number> {
  if (Buffer.byteLength(dentry.d_name, 'utf8') > NAME_MAX) return -ENAMETOOLONG;
  return 0;
}

/** shmem_mknod(): instantiate and pin the new dentry. */
function* memfs_mknod(t: Task, dir: Inode, dentry: Dentry, mode: number): Blocking<number> {
  const k = memfsOf(dir);
  const cred = current(t).cred;
  const inode = memfs_get_inode(k, t, dir.i_sb, dir, mode, cred.uid, cred_gid(cred));
  k.touch(t, dir.addr, true);
  d_add(dentry, inode);
  dget(t, dentry);
  return 0;
}

function* memfs_create(t: Task, dir: Inode, dentry: Dentry, mode: number): Blocking<number> {
  return yield* memfs_mknod(t, dir, dentry, (mode & 0o7777) | S_IFREG);
}

function* memfs_mkdir(t: Task, dir: Inode, dentry: Dentry, mode: number): Blocking<number> {
  const r = yield* memfs_mknod(t, dir, dentry, (mode & 0o7777) | S_IFDIR);
  if (r === 0) dir.i_nlink++;
  return r;
}

/** shmem_unlink(): one link fewer, and the pin goes. */
function* memfs_unlink(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  const k = memfsOf(dir);
  const inode = dentry.d_inode!;
  k.touch(t, dir.addr, true);
  k.touch(t, inode.addr, true);
  inode.i_nlink--;
  yield* dput(t, dentry);
  return 0;
}

/**
 * shmem_symlink() / ext4_symlink(): a new inode of mode S_IFLNK|0777 whose
 * body (its size in bytes) is kept in the inode; ext4 stores a body under
 * 60 bytes in the inode itself and a longer one in a block of its own.
 */
function* memfs_symlink(t: Task, dir: Inode, dentry: Dentry, target: string): Blocking<number> {
  const k = memfsOf(dir);
  const len = Buffer.byteLength(target, 'utf8') + 1;
  // ext4: a body (with its NUL) larger than the block is ENAMETOOLONG; PATH_MAX bounds it first.
  if (len > 4096) return -ENAMETOOLONG;
  const cred = current(t).cred;
  const inode = memfs_get_inode(k, t, dir.i_sb, dir, S_IFLNK | 0o777, cred.uid, cred_gid(cred));
  inode.i_link = target;
  inode.i_size = len - 1;
  // The body's copy into the inode (or its block).
  t.charge(Math.ceil((k.cfg.cost.copy_page * len) / 4096));
  k.touch(t, dir.addr, true);
  d_add(dentry, inode);
  dget(t, dentry);
  return 0;
}

/** shmem_link() / ext4_link(): the inode gains a name (and a link); the new dentry is pinned as every name is. */
function* memfs_link(t: Task, oldDentry: Dentry, dir: Inode, dentry: Dentry): Blocking<number> {
  const k = memfsOf(dir);
  const inode = oldDentry.d_inode!;
  k.touch(t, dir.addr, true);
  k.touch(t, inode.addr, true);
  inode.i_nlink++;
  ihold(t, inode);
  d_add(dentry, inode);
  dget(t, dentry);
  return 0;
}

/** simple_empty(): no children. */
function simple_empty(d: Dentry): boolean {
  return d.d_children.size === 0;
}

function* memfs_rmdir(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  if (!simple_empty(dentry)) return -ENOTEMPTY;
  dentry.d_inode!.i_nlink--;
  dir.i_nlink--;
  return yield* memfs_unlink(t, dir, dentry);
}

/**
 * shmem_rename2(): a replaced target is unlinked first; RENAME_EXCHANGE
 * swaps the names (simple_rename_exchange: a directory changing parent
 * takes its ".." link with it).
 */
function* memfs_rename(t: Task, oldDir: Inode, oldDentry: Dentry, newDir: Inode, newDentry: Dentry, flags: number): Blocking<number> {
  const k = memfsOf(oldDir);
  const source = oldDentry.d_inode!;
  const isDir = S_ISDIR(source.i_mode);
  if (flags & RENAME_EXCHANGE) {
    const newIsDir = S_ISDIR(newDentry.d_inode!.i_mode);
    if (oldDir !== newDir && isDir !== newIsDir) {
      if (isDir) {
        oldDir.i_nlink--;
        newDir.i_nlink++;
      } else {
        newDir.i_nlink--;
        oldDir.i_nlink++;
      }
    }
    k.touch(t, oldDir.addr, true);
    k.touch(t, newDir.addr, true);
    return 0;
  }
  if (newDentry.d_inode && S_ISDIR(newDentry.d_inode.i_mode) && !simple_empty(newDentry)) return -ENOTEMPTY;
  if (flags & RENAME_WHITEOUT) {
    // shmem_whiteout(): a character device 0:0 of mode 0, the caller's, at the old name, pinned and hashed while the old
    // dentry is still there (which the rename then moves away).
    const cred = current(t).cred;
    const w = d_alloc(k, t, oldDentry.d_parent, oldDentry.d_name);
    const inode = memfs_get_inode(k, t, oldDir.i_sb, oldDir, S_IFCHR | WHITEOUT_MODE, cred.uid, cred_gid(cred));
    k.touch(t, oldDir.addr, true);
    d_add(w, inode);
  }
  if (newDentry.d_inode) {
    const target = newDentry.d_inode;
    yield* memfs_unlink(t, newDir, newDentry);
    if (isDir) {
      target.i_nlink--;
      oldDir.i_nlink--;
    }
  } else if (isDir) {
    oldDir.i_nlink--;
    newDir.i_nlink++;
  }
  k.touch(t, oldDir.addr, true);
  k.touch(t, newDir.addr, true);
  return 0;
}

/** linux/fs.h RENAME_EXCHANGE, RENAME_WHITEOUT; WHITEOUT_MODE (a whiteout is S_IFCHR with no permission bits, device 0:0). */
const RENAME_EXCHANGE = 2;
const RENAME_WHITEOUT = 4;
const WHITEOUT_MODE = 0;

/** shmem_setattr(): a size change truncates or extends; a mode change is copied. */
function* memfs_setattr(t: Task, dentry: Dentry, attr: Iattr): Blocking<number> {
  const inode = dentry.d_inode!;
  const k = inode.k;
  const err = setattr_prepare(t, dentry, attr);
  if (err) return err;
  const seals = (inode as MemfsInode).seals;
  if (attr.ia_valid & ATTR_SIZE && S_ISREG(inode.i_mode)) {
    // shmem_setattr(): a sealed memfd may not shrink or grow.
    if ((attr.ia_size < inode.i_size && seals & F_SEAL_SHRINK) || (attr.ia_size > inode.i_size && seals & F_SEAL_GROW)) return -EPERM;
  }
  if (attr.ia_valid & ATTR_MODE && seals & F_SEAL_EXEC && (inode.i_mode ^ attr.ia_mode) & 0o111) return -EPERM;
  if (attr.ia_valid & ATTR_SIZE && S_ISREG(inode.i_mode)) {
    const oldsize = inode.i_size;
    const newsize = attr.ia_size;
    if (newsize !== oldsize) {
      if (newsize > oldsize) zero_eof_tail(t, inode as MemfsInode, oldsize, Infinity);
      inode.i_size = newsize;
      if (newsize < oldsize) yield* truncate_pagecache(t, inode as MemfsInode, newsize);
    }
  }
  if (attr.ia_valid & ATTR_MODE) inode.i_mode = (inode.i_mode & S_IFMT) | (attr.ia_mode & 0o7777);
  k.touch(t, inode.addr, true);
  t.charge(k.cfg.kernel.cost.kernel_op);
  return 0;
}

const memfs_dir_inode_operations: InodeOperations = {
  lookup: memfs_lookup,
  create: memfs_create,
  mkdir: memfs_mkdir,
  unlink: memfs_unlink,
  rmdir: memfs_rmdir,
  rename: memfs_rename,
  setattr: memfs_setattr,
  symlink: memfs_symlink,
  link: memfs_link,
};

/** A symbolic link's: its body is i_link (simple_get_link), which the walk reads without a ->get_link. */
const memfs_symlink_inode_operations: InodeOperations = {
  setattr: memfs_setattr,
};

const memfs_file_inode_operations: InodeOperations = {
  setattr: memfs_setattr,
};

// ---- file operations ----

/** include/uapi/linux/fcntl.h: F_SEAL_*. */
export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;
export const F_SEAL_FUTURE_WRITE = 0x10;
export const F_SEAL_EXEC = 0x20;

export { memfs_file_operations, memfs_dir_operations } from './memfs_file.js';
import { EXT4_MAX_BYTES, memfs_file_operations, memfs_dir_operations } from './memfs_file.js';

/** shmem_fill_super(): a memfs instance with its root directory (mode 0755, owned by root). */
export function memfs_fill_super(k: Kernel): SuperBlock {
  const sb = new SuperBlock(
    k,
    'memfs',
    {
      alloc_inode: (kk, s) => new MemfsInode(kk, s, kk.slab.kmalloc(MEMFS_INODE_BYTES), MEMFS_INODE_BYTES),
      evict_inode: (t, inode) => {
        const m = inode as MemfsInode;
        if (m.i_mapping) {
          truncate_inode_pages(t, m.i_mapping, 0);
          m.store?.saved.clear();
          m.dataPages.clear();
          m.i_mapping.release();
        }
      },
    },
    MEMFS_MAGIC,
    EXT4_MAX_BYTES,
  );
  const root = memfs_get_inode(k, null, sb, null, S_IFDIR | 0o755, 0, 0);
  sb.s_root = d_make_root(k, root);
  return sb;
}
