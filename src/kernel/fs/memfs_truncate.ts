/**
 * memfs's page-cache ranges: truncation and hole punching (after
 * mm/truncate.c and shmem_undo_range, with ext4's answers where the two
 * differ, as memfs.ts explains). Split from memfs.ts so that file keeps the
 * inode, directory and read/write operations.
 */
import { loffBig, loffIndex, loffInPage, loffPages, type loff_t } from './loff.js';
import { PAGE_SIZE } from '../../hw/physmem.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EOPNOTSUPP } from '../errno.js';
import { truncate_inode_pages } from '../mm/filemap.js';
import { unmap_mapping_range } from '../mm/memory_zap.js';
import { free_unref_page } from '../mm/page_alloc.js';
import type { Inode } from './inode.js';
import { MemfsInode } from './memfs.js';

const CAT_TRUNCATE = intern('shmem_truncate_range');

/** Zero [from, to) of a cached page (the partial page at a truncation or hole edge). */
function zero_page_range(t: Task, inode: MemfsInode, index: number, from: number, to: number): void {
  const k = t.k;
  const pfn = inode.i_mapping!.pages.get(index);
  if (pfn !== undefined && to > from) {
    k.machine.mem.fill(pfn, from, to - from, 0);
    t.charge(Math.ceil((k.cfg.cost.zero_page * (to - from)) / PAGE_SIZE));
  }
  const saved = inode.store!.saved.get(index);
  if (saved && to > from) {
    // The stored copy gets the same zeroes, as the page would be written back with them.
    const bytes = 'bytes' in saved ? saved.bytes : new Uint8Array(PAGE_SIZE).fill(saved.uniform);
    bytes.fill(0, from, to);
    inode.store!.saved.set(index, { bytes });
  }
}

/**
 * Before the size grows past `oldsize`, zero the page that held the old end
 * of file from there up to `to` (at most the page's end): bytes a shared
 * mapping stored beyond EOF must not become file data. ext4, which the
 * conformance host runs, zeroes the rest of that block on truncate up
 * (ext4_block_truncate_page) and the gap a write past EOF leaves; tmpfs
 * would let them show.
 */
export function zero_eof_tail(t: Task, inode: MemfsInode, oldsize: loff_t, to: loff_t): void {
  const off = loffInPage(oldsize);
  if (!off) return;
  const index = loffIndex(oldsize);
  zero_page_range(t, inode, index, off, loffIndex(to) > index ? PAGE_SIZE : loffInPage(to));
}

/**
 * Drop whole pages [first, last] from the cache and the store (they must
 * already be unmapped): truncate_inode_pages_range for a range, as
 * shmem_undo_range does for a hole.
 */
function drop_pages(t: Task, inode: MemfsInode, first: number, last: number): void {
  const k = t.k;
  const mapping = inode.i_mapping!;
  const memmap = k.mem_map;
  const indices = [...mapping.pages.keys()].filter((i) => i >= first && i <= last).sort((a, b) => a - b);
  for (const index of indices) {
    const pfn = mapping.pages.get(index)!;
    if (memmap.mapcount[pfn]! > 0) throw new Error(`memfs: page ${index} (pfn ${pfn}) dropped while mapped`);
    mapping.pages.delete(index);
    t.charge(k.machine.caches.access(t.cpu, mapping.kaddr, true) + k.cfg.kernel.cost.kernel_op);
    memmap.owner[pfn] = 0;
    if (--memmap.refcount[pfn]! === 0) {
      free_unref_page(t, pfn);
    }
  }
  for (const i of [...inode.dataPages]) if (i >= first && i <= last) inode.dataPages.delete(i);
  for (const i of [...inode.store!.saved.keys()]) if (i >= first && i <= last) inode.store!.saved.delete(i);
}

/** truncate_pagecache(): unmap and drop what lies past the new size; zero the tail of the last page. */
export function* truncate_pagecache(t: Task, inode: MemfsInode, newsize: loff_t): Blocking<void> {
  t.enter(CAT_TRUNCATE);
  const mapping = inode.i_mapping!;
  const holebegin = loffPages(newsize);
  yield* unmap_mapping_range(t, mapping, holebegin, 0, true);
  const partial = loffInPage(newsize);
  if (partial) zero_page_range(t, inode, loffIndex(newsize), partial, PAGE_SIZE);
  truncate_inode_pages(t, mapping, holebegin);
  drop_pages(t, inode, holebegin, Infinity);
  t.leave();
}

/**
 * Punch a hole (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE): unmap and free
 * the whole pages in [offset, offset + len), zero the partial ones at its
 * edges; the size stays. What MADV_REMOVE does to a shared mapping. As
 * ext4_punch_hole (the conformance host's file system): nothing at or past
 * the end of file, and a hole running past it ends at the end of the page
 * holding the last byte.
 */
export function* vfs_fallocate_punch_hole(t: Task, inode: Inode, offset: loff_t, len: loff_t): Blocking<number> {
  if (!(inode instanceof MemfsInode) || !inode.i_mapping) return -EOPNOTSUPP;
  t.enter(CAT_TRUNCATE);
  yield* inode.i_rwsem.downWrite(t);
  const size = inode.i_size;
  if (offset < size) {
    // [offset, end) as page indices and offsets within the page (positions may pass 2^53).
    const sum = loffBig(offset) + loffBig(len);
    const cap = BigInt(loffPages(size)) * BigInt(PAGE_SIZE);
    const endB = sum < cap ? sum : cap;
    const endP = Number(endB / BigInt(PAGE_SIZE));
    const endOff = Number(endB % BigInt(PAGE_SIZE));
    const startP = loffIndex(offset);
    const startOff = loffInPage(offset);
    // The partial pages at the edges are zeroed; the whole pages between are dropped (only those present are visited).
    let first = startP;
    const last = endP - 1;
    if (startP === endP) {
      zero_page_range(t, inode, startP, startOff, endOff);
      first = endP;
    } else {
      if (startOff > 0) {
        zero_page_range(t, inode, startP, startOff, PAGE_SIZE);
        first = startP + 1;
      }
      if (endOff > 0) zero_page_range(t, inode, endP, 0, endOff);
    }
    if (last >= first) {
      yield* unmap_mapping_range(t, inode.i_mapping, first, last - first + 1, true);
      drop_pages(t, inode, first, last);
    }
  }
  inode.i_rwsem.upWrite(t);
  t.leave();
  return 0;
}

