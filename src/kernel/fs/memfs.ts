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
import { PAGE_SIZE } from '../../hw/physmem.js';
import { PG_dirty, PG_uptodate } from '../mm/page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EFBIG, EINVAL, EISDIR, ENAMETOOLONG, ENOMEM, ENOSPC, ENOTEMPTY, ENXIO, EPERM } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { AddressSpace, filemap_add_page, filemap_write_and_wait_range, filemap_get_page, filemap_read_page, set_page_dirty, truncate_inode_pages, type BackingStore } from '../mm/filemap.js';
import { __GFP_USER, alloc_page, put_page_testzero_free } from '../mm/page_alloc.js';
import { swap_readpage_contents, swap_writepage_contents, type SwapContents } from '../mm/swap_io.js';
import { current } from '../sched/task_struct.js';
import { d_add, d_alloc, d_instantiate, d_make_root, dget, dput, type Dentry } from './dcache.js';
import type { File, FileOperations, FilePos, IoBuf } from './file_table.js';
import {
  ATTR_MODE,
  ATTR_SIZE,
  cred_gid,
  Inode,
  MAX_LFS_FILESIZE,
  new_inode,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
  S_ISDIR,
  S_ISGID,
  S_ISREG,
  S_DEAD,
  SuperBlock,
  type Iattr,
  type InodeOperations,
} from './inode.js';
import { NAME_MAX } from './namei.js';
import { generic_file_llseek_size, vfs_setpos } from './read_write.js';
import { O_APPEND, O_DIRECT } from './uapi_fcntl.js';
import { file_vfs } from './vfs_file.js';
import { truncate_pagecache, zero_eof_tail } from './memfs_truncate.js';

export const MEMFS_MAGIC = 0x01021994;
/** sizeof(struct shmem_inode_info) rounded to its slab. */
const MEMFS_INODE_BYTES = 768;

const CAT_READ = intern('shmem_file_read_iter');
const CAT_WRITE = intern('generic_perform_write');
const CAT_SEEK = intern('mapping_seek_hole_data');
const CAT_COPY = intern('copy_page_to_iter');

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

  /** tmpfs allows MAX_LFS_FILESIZE; the tree's files have ext4's limit (the superblock's). */
  override get i_maxbytes(): number {
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
  if (newDentry.d_inode) {
    if (S_ISDIR(newDentry.d_inode.i_mode) && !simple_empty(newDentry)) return -ENOTEMPTY;
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

/** linux/fs.h RENAME_EXCHANGE. */
const RENAME_EXCHANGE = 2;

/** shmem_setattr(): a size change truncates or extends; a mode change is copied. */
function* memfs_setattr(t: Task, dentry: Dentry, attr: Iattr): Blocking<number> {
  const inode = dentry.d_inode!;
  const k = inode.k;
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

/** Charge the copy of `bytes` between a page and user memory. */
function chargeCopy(t: Task, bytes: number): void {
  const k = t.k;
  t.chargeAs(CAT_COPY, Math.ceil((k.cfg.cost.copy_page * bytes) / PAGE_SIZE));
}

/**
 * The logical block size of the disk under the conformance host's ext4 (512
 * bytes, /sys/block/DEV/queue/logical_block_size): iomap's direct I/O wants
 * each piece it sends to the disk to start and end on one.
 */
const DIO_ALIGN = 512;

/**
 * ext4's direct I/O (iomap_dio_rw -> iomap_dio_bio_iter): EINVAL when a piece
 * of the range that goes to the disk is not on logical-block boundaries. A
 * write goes to the disk whole; a read only where blocks are written (a hole
 * is zero-filled by iomap_dio_hole_iter with no such test), so each run of
 * written pages in the range is one piece. A memfd is tmpfs, whose O_DIRECT
 * is buffered I/O: no alignment. The memory side of the test (the
 * buffer's address against the queue's DMA alignment) is taken as met: a
 * script names no buffer address, and the host runner's are page-aligned.
 */
function dio_misaligned(file: File, inode: MemfsInode, pos: number, len: number, write: boolean): boolean {
  if (!(file.f_flags & O_DIRECT) || inode.memfd) return false;
  if (write) return pos % DIO_ALIGN !== 0 || len % DIO_ALIGN !== 0;
  const end = pos + len;
  for (let index = Math.floor(pos / PAGE_SIZE); index * PAGE_SIZE < end; index++) {
    if (!inode.dataPages.has(index) || (index * PAGE_SIZE > pos && inode.dataPages.has(index - 1))) continue;
    let last = index;
    while ((last + 1) * PAGE_SIZE < end && inode.dataPages.has(last + 1)) last++;
    const start = Math.max(pos, index * PAGE_SIZE);
    const stop = Math.min(end, (last + 1) * PAGE_SIZE);
    if (start % DIO_ALIGN !== 0 || stop % DIO_ALIGN !== 0) return true;
  }
  return false;
}

/**
 * filemap_read(): copy from the page cache; a missing page is read in (from
 * the store if it was written back, else as zeroes). No readahead: see
 * mm/readahead.ts.
 */
function* memfs_read(t: Task, file: File, len: number, buf: IoBuf | null, ppos: FilePos = file): Blocking<number> {
  const inode = file_vfs(file).inode as MemfsInode;
  const k = inode.k;
  const mem = k.machine.mem;
  const mapping = inode.i_mapping!;
  let pos = ppos.f_pos;
  // A direct read at or past the end reads nothing before any alignment test (__iomap_dio_rw).
  if (len > 0 && pos < inode.i_size && dio_misaligned(file, inode, pos, len, false)) return -EINVAL;
  t.enter(CAT_READ);
  let done = 0;
  while (done < len) {
    const size = inode.i_size;
    if (pos >= size) break;
    const index = Math.floor(pos / PAGE_SIZE);
    const off = pos % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, len - done, size - pos);
    let pfn = filemap_get_page(t, mapping, index);
    let ref = false;
    if (pfn < 0) {
      const r = yield* filemap_read_page(t, mapping, index);
      if (r.pfn < 0) {
        t.leave();
        return done > 0 ? done : -ENOMEM;
      }
      pfn = r.pfn;
      ref = true;
    }
    if (pfn >= 0) {
      if (buf) buf.sum += mem.sumBytes(pfn, off, n);
      if (ref) put_page_testzero_free(t, pfn);
    }
    chargeCopy(t, n);
    pos += n;
    done += n;
    if (t.shouldYield()) yield;
  }
  ppos.f_pos = pos;
  t.leave();
  return done;
}

/**
 * ext4's s_maxbytes for an extent-mapped file with 4 KiB blocks (ext4_max_size:
 * 2^32 - 1 blocks), 16 TiB less 4 KiB: a seek past it is EINVAL, a write at
 * it EFBIG, as on the conformance host.
 */
const EXT4_MAX_BYTES = (2 ** 32 - 1) * 4096;

/**
 * generic_perform_write() into the page cache: each page found, read back
 * from the store, or allocated (zeroed around a partial write), then
 * filled and marked dirty. O_APPEND writes at the end.
 */
function* memfs_write(t: Task, file: File, len: number, byte: number, ppos: FilePos = file): Blocking<number> {
  const inode = file_vfs(file).inode as MemfsInode;
  const k = inode.k;
  const mem = k.machine.mem;
  const memmap = k.mem_map;
  const mapping = inode.i_mapping!;
  // generic_write_checks(): nothing to write moves nothing, not even an O_APPEND position.
  if (len === 0) return 0;
  t.enter(CAT_WRITE);
  yield* inode.i_rwsem.downWrite(t);
  let pos = file.f_flags & O_APPEND ? inode.i_size : ppos.f_pos;
  // shmem_write_begin(): a write-sealed memfd takes no writes (a grow-sealed one none past its end: checked per page below).
  if (inode.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
    inode.i_rwsem.upWrite(t);
    t.leave();
    return -EPERM;
  }
  // generic_write_checks_count(): nothing at or past s_maxbytes; a write that would cross it is cut short there.
  const maxBytes = inode.i_maxbytes;
  if (len > 0 && pos >= maxBytes) {
    inode.i_rwsem.upWrite(t);
    t.leave();
    return -EFBIG;
  }
  len = Math.min(len, maxBytes - pos);
  if (dio_misaligned(file, inode, pos, len, true)) {
    inode.i_rwsem.upWrite(t);
    t.leave();
    return -EINVAL;
  }
  if (pos > inode.i_size) zero_eof_tail(t, inode, inode.i_size, pos);
  let done = 0;
  let err = 0;
  while (done < len) {
    const index = Math.floor(pos / PAGE_SIZE);
    const off = pos % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, len - done);
    if (inode.seals & F_SEAL_GROW && pos + n > inode.i_size) {
      err = -EPERM;
      break;
    }
    let pfn = filemap_get_page(t, mapping, index);
    if (pfn < 0) {
      if (inode.store!.saved.has(index)) {
        const r = yield* filemap_read_page(t, mapping, index);
        if (r.pfn < 0) {
          err = -ENOSPC;
          break;
        }
        pfn = r.pfn;
        memmap.refcount[pfn]!--;
      } else {
        pfn = yield* alloc_page(t, __GFP_USER);
        if (pfn < 0) {
          err = -ENOSPC;
          break;
        }
        if (n < PAGE_SIZE) {
          mem.zero(pfn);
          t.charge(k.cfg.cost.zero_page);
        }
        filemap_add_page(t, mapping, index, pfn);
        memmap.flags[pfn] = (memmap.flags[pfn]! | PG_uptodate) >>> 0;
      }
    }
    mem.fill(pfn, off, n, byte);
    set_page_dirty(k, pfn);
    inode.dataPages.add(index);
    chargeCopy(t, n);
    pos += n;
    done += n;
    if (pos > inode.i_size) inode.i_size = pos;
    if (t.shouldYield()) {
      inode.i_rwsem.upWrite(t);
      yield;
      yield* inode.i_rwsem.downWrite(t);
    }
  }
  ppos.f_pos = pos;
  inode.i_rwsem.upWrite(t);
  t.leave();
  return done > 0 ? done : err;
}

/** The indices of pages holding data at or after `from`, ascending. */
function data_pages_from(k: Kernel, inode: MemfsInode, from: number): number[] {
  const out = new Set<number>();
  for (const i of inode.dataPages) if (i >= from) out.add(i);
  const memmap = k.mem_map;
  for (const [i, pfn] of inode.i_mapping!.pages) if (i >= from && (memmap.flags[pfn]! & PG_dirty) !== 0) out.add(i);
  return [...out].sort((a, b) => a - b);
}

/** mapping_seek_hole_data(): page granular, data being pages that hold data; the walk visits each data page. */
function seek_hole_data(t: Task, inode: MemfsInode, start: number, whence: number): number {
  const k = t.k;
  t.enter(CAT_SEEK);
  const end = inode.i_size;
  if (end <= start) {
    t.leave();
    return -ENXIO;
  }
  const first = Math.floor(start / PAGE_SIZE);
  const data = data_pages_from(k, inode, first);
  let result: number;
  if (whence === 3) {
    // SEEK_DATA: the first data page at or after start.
    const i = data[0];
    t.charge(k.cfg.kernel.cost.kernel_op);
    result = i === undefined || i * PAGE_SIZE >= end ? -ENXIO : Math.max(start, i * PAGE_SIZE);
  } else {
    // SEEK_HOLE: the first page at or after start that holds no data (the end of the file counts as a hole).
    let hole = first;
    for (const i of data) {
      t.charge(k.cfg.kernel.cost.kernel_op);
      if (i !== hole) break;
      hole++;
    }
    result = Math.min(Math.max(start, hole * PAGE_SIZE), end);
  }
  t.leave();
  return result;
}

/** shmem_file_llseek(). */
function* memfs_llseek(t: Task, file: File, offset: number, whence: number): Blocking<number> {
  const inode = file_vfs(file).inode as MemfsInode;
  if (whence !== 3 && whence !== 4) return generic_file_llseek_size(file, offset, whence, inode.i_maxbytes, inode.i_size);
  if (offset < 0) return -ENXIO;
  yield* inode.i_rwsem.downRead(t);
  let r = seek_hole_data(t, inode, offset, whence);
  if (r >= 0) r = vfs_setpos(file, r, inode.i_maxbytes);
  inode.i_rwsem.upRead(t);
  return r;
}

/** generic_file_fsync(): the dirty pages of the range go to the store (metadata lives in memory, nothing else to write). */
function* memfs_fsync(t: Task, file: File, start: number, end: number): Blocking<number> {
  const inode = file_vfs(file).inode as MemfsInode;
  return yield* filemap_write_and_wait_range(t, inode.i_mapping!, start, end);
}

export const memfs_file_operations: FileOperations = {
  name: 'memfs_file',
  read: memfs_read,
  write: memfs_write,
  llseek: memfs_llseek,
  fsync: memfs_fsync,
  directIo: true,
};

/**
 * A directory's llseek. Directory offsets here behave as on ext4 with
 * hashed directories (ext4_dir_llseek), the file system the conformance
 * host runs scripts on: positions are hash values up to LLONG_MAX, which
 * is also where SEEK_END lands; SEEK_DATA stays put and SEEK_HOLE goes to
 * that end; a removed directory seeks as an empty file. (tmpfs's
 * dcache_dir_lseek would refuse SEEK_END, SEEK_DATA and SEEK_HOLE.)
 */
function* dir_llseek(_t: Task, file: File, offset: number, whence: number): Blocking<number> {
  // A removed directory has size 0 and seeks as an empty file (ext4_rmdir clears i_size).
  const eof = file_vfs(file).inode.i_flags & S_DEAD ? 0 : MAX_LFS_FILESIZE;
  return generic_file_llseek_size(file, offset, whence, MAX_LFS_FILESIZE, eof);
}

/** generic_read_dir(). */
function* dir_read(): Blocking<number> {
  return -EISDIR;
}

/** A directory's fsync: its entries live in memory, nothing to write. */
function* dir_fsync(): Blocking<number> {
  return 0;
}

export const memfs_dir_operations: FileOperations = {
  name: 'memfs_dir',
  read: dir_read,
  llseek: dir_llseek,
  fsync: dir_fsync,
};

// ---- the super block ----

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
