/**
 * memfs file and directory operations: read, write (with O_DIRECT alignment and
 * ext4's size limit), llseek with SEEK_DATA/SEEK_HOLE, fsync; split from memfs.ts,
 * which keeps the inodes, the namespace operations and the superblock.
 */
import { loffAdd, loffGap, loffIndex, loffInPage, loffMax, loffMin, loffOfPage, type loff_t } from './loff.js';
import { PAGE_SIZE } from '../../hw/physmem.js';
import { PMD_SIZE } from '../mm/mm_types.js';
import { PG_dirty, PG_uptodate } from '../mm/page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EFBIG, EINVAL, EISDIR, ENOMEM, ENOSPC, ENXIO, EPERM } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { filemap_add_page, filemap_write_and_wait_range, filemap_get_page, filemap_read_page, set_page_dirty, write_folio_order } from '../mm/filemap.js';
import { __GFP_USER, alloc_page, put_page_testzero_free } from '../mm/page_alloc.js';
import { io_push_bytes, io_push_fill, type File, type FileOperations, type FilePos, type IoBuf } from './file_table.js';
import {
  MAX_LFS_FILESIZE,
  S_DEAD,
} from './inode.js';
import { generic_file_llseek_size, vfs_setpos } from './read_write.js';
import { O_APPEND, O_DIRECT } from './uapi_fcntl.js';
import { file_vfs } from './vfs_file.js';
import { zero_eof_tail } from './memfs_truncate.js';
import { F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_WRITE, MemfsInode } from './memfs.js';

const CAT_READ = intern('shmem_file_read_iter');
const CAT_WRITE = intern('generic_perform_write');
const CAT_SEEK = intern('mapping_seek_hole_data');
const CAT_COPY = intern('copy_page_to_iter');

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
  // A direct read at or past the end reads nothing before any alignment test (__iomap_dio_rw); below ext4's size limit a position is a number.
  if (len > 0 && pos < inode.i_size && dio_misaligned(file, inode, Number(pos), len, false)) return -EINVAL;
  t.enter(CAT_READ);
  let done = 0;
  while (done < len) {
    const size = inode.i_size;
    if (pos >= size) break;
    const index = loffIndex(pos);
    const off = loffInPage(pos);
    const n = Math.min(PAGE_SIZE - off, len - done, loffGap(pos, size, PAGE_SIZE));
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
      if (buf?.bytes) {
        const b = new Uint8Array(n);
        mem.readInto(pfn, off, b, 0, n);
        io_push_bytes(buf, b, 0, n);
      }
      if (ref) put_page_testzero_free(t, pfn);
    } else io_push_fill(buf, 0, n);
    chargeCopy(t, n);
    pos = loffAdd(pos, n);
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
export const EXT4_MAX_BYTES = (2 ** 32 - 1) * 4096;

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
  let pos: loff_t = file.f_flags & O_APPEND ? inode.i_size : ppos.f_pos;
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
  len = loffGap(pos, maxBytes, len);
  // Below ext4's size limit a position is a number (a memfd has no alignment rule).
  if (dio_misaligned(file, inode, Number(pos), len, true)) {
    inode.i_rwsem.upWrite(t);
    t.leave();
    return -EINVAL;
  }
  if (pos > inode.i_size) zero_eof_tail(t, inode, inode.i_size, pos);
  let done = 0;
  let err = 0;
  // The large folio being filled: its first index and pages (recorded once all are in the cache).
  let folioFirst = -1;
  let folioNr = 0;
  while (done < len) {
    const index = loffIndex(pos);
    const off = loffInPage(pos);
    const n = Math.min(PAGE_SIZE - off, len - done);
    if (inode.seals & F_SEAL_GROW && loffAdd(pos, n) > inode.i_size) {
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
        folioFirst = -1;
      } else {
        if (folioFirst < 0 || index >= folioFirst + folioNr) {
          // A new folio: generic_perform_write's chunk runs to the next 2 MiB boundary (mapping_max_folio_size), at most what is left.
          const order = store_has_any(inode, index) ? 0 : write_folio_order(mapping, index, Math.min(PMD_SIZE - ((index % 512) * PAGE_SIZE + off), len - done));
          folioFirst = order > 0 ? index : -1;
          folioNr = 2 ** order;
        }
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
        if (folioFirst >= 0 && index === folioFirst + folioNr - 1) {
          mapping.pages.addFolio(folioFirst, folioNr);
          folioFirst = -1;
        }
      }
    } else folioFirst = -1;
    mem.fill(pfn, off, n, byte);
    set_page_dirty(k, pfn);
    inode.dataPages.add(index);
    chargeCopy(t, n);
    pos = loffAdd(pos, n);
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

/** Whether the store holds any page of the 2 MiB around index (a folio is then read back page by page, small). */
function store_has_any(inode: MemfsInode, index: number): boolean {
  const saved = inode.store!.saved;
  if (saved.size === 0) return false;
  const base = Math.floor(index / 512) * 512;
  for (let i = base; i < base + 512; i++) if (saved.has(i)) return true;
  return false;
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
function seek_hole_data(t: Task, inode: MemfsInode, start: loff_t, whence: number): loff_t {
  const k = t.k;
  t.enter(CAT_SEEK);
  const end = inode.i_size;
  if (end <= start) {
    t.leave();
    return -ENXIO;
  }
  const first = loffIndex(start);
  const data = data_pages_from(k, inode, first);
  let result: loff_t;
  if (whence === 3) {
    // SEEK_DATA: the first data page at or after start.
    const i = data[0];
    t.charge(k.cfg.kernel.cost.kernel_op);
    result = i === undefined || loffOfPage(i) >= end ? -ENXIO : loffMax(start, loffOfPage(i));
  } else {
    // SEEK_HOLE: the first page at or after start that holds no data (the end of the file counts as a hole).
    let hole = first;
    for (const i of data) {
      t.charge(k.cfg.kernel.cost.kernel_op);
      if (i !== hole) break;
      hole++;
    }
    result = loffMin(loffMax(start, loffOfPage(hole)), end);
  }
  t.leave();
  return result;
}

/** shmem_file_llseek(). */
function* memfs_llseek(t: Task, file: File, offset: loff_t, whence: number): Blocking<loff_t> {
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
function* dir_llseek(_t: Task, file: File, offset: loff_t, whence: number): Blocking<loff_t> {
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
