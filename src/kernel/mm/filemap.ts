/**
 * The page cache of one file, after struct address_space and mm/filemap.c:
 * page index -> frame, the file size, the areas mapping the file (i_mmap)
 * and the backing store reads come from. filemap_fault finds a page or
 * reads it in (a major fault: the task sleeps until the read completes).
 *
 * A shmem mapping (shared anonymous memory, tmpfs) has no backing store:
 * a missing page is allocated zeroed, and its pages are swap-backed.
 *
 * The VFS implements BackingStore for its inodes; tests may use a trivial one.
 */
import { loffPages } from '../fs/loff.js';
import type { loff_t } from '../fs/loff.js';
import { PG_dirty, PG_swapbacked, PG_uptodate } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { Completion } from '../../sim/wait.js';
import type { Kernel } from '../kernel.js';
import { mmCore } from './core.js';
import type { VmAreaStruct } from './mm_types.js';
import { PAGE_SIZE } from './mm_types.js';
import { __GFP_USER, __GFP_ZERO, alloc_page, free_frame, free_unref_page } from './page_alloc.js';
import { do_sync_mmap_readahead } from './readahead.js';
import { set_page_mapping } from './rmap.js';

/**
 * Where a file's pages come from and go to. readPage fills frame `pfn` with
 * page `index` (through PhysMem) and returns the simulated time the read
 * completes, or 0 when the data is there at once (a hole, a RAM-backed fs).
 */
export interface BackingStore {
  readPage(index: number, pfn: number, now: number): number;
  writePage(index: number, pfn: number, now: number): number;
  /** A block device's store: faults read ahead (its bdi's ra_pages is read_ahead_kb). Absent: a RAM fs, whose bdi has ra_pages 0. */
  readonly readahead?: boolean;
}

const CAT_FILEMAP_FAULT = intern('filemap_fault');
const CAT_SHMEM_FAULT = intern('shmem_fault');
const CAT_IO_WAIT = intern('io_schedule');

/** sizeof(struct address_space) plus its inode, for the slab object carrying its lines. */
const MAPPING_BYTES = 256;

/**
 * i_pages: page index -> frame, with the large folios some of them form
 * (a file system with mapping_large_folio_support, ext4 since 6.16: a
 * write allocates folios as large as it covers). Each page keeps its own
 * frame; a large folio is the record of which indices belong together, so
 * that what works on whole folios (invalidate_mapping_pages) sees them.
 * Removing one page of a large folio splits it, as truncation and hole
 * punching do (truncate_inode_partial_folio, split_folio).
 */
export class PageCache extends Map<number, number> {
  /** Index -> [first index, pages] of the large folio holding it (order > 0 only). */
  private readonly folios = new Map<number, readonly [number, number]>();

  /** Records [first, first + nr) as one folio (its pages are cached). */
  addFolio(first: number, nr: number): void {
    if (nr <= 1) return;
    const f = [first, nr] as const;
    for (let i = first; i < first + nr; i++) this.folios.set(i, f);
  }

  /** The folio holding index: [first index, pages] ([index, 1] for a small one). */
  folioOf(index: number): readonly [number, number] {
    return this.folios.get(index) ?? [index, 1];
  }

  /** A page leaves the cache: its large folio, if any, is split first. */
  override delete(index: number): boolean {
    const f = this.folios.get(index);
    if (f) for (let i = f[0]; i < f[0] + f[1]; i++) this.folios.delete(i);
    return super.delete(index);
  }

  override clear(): void {
    this.folios.clear();
    super.clear();
  }
}

export class AddressSpace {
  readonly id: number;
  /** i_pages: page index -> frame, and its large folios. */
  readonly pages = new PageCache();
  /** i_mmap: the areas mapping this file. */
  readonly iMmap: VmAreaStruct[] = [];
  /** Areas mapping it shared and writable (i_mmap_writable). */
  mmapWritable = 0;
  readonly kaddr: number;
  /** Pages whose read from the backing store has not completed yet (PG_locked, not uptodate): readers wait on these. */
  readonly readsInFlight = new Map<number, Completion>();

  constructor(
    readonly k: Kernel,
    /** i_size in bytes. */
    public size: loff_t,
    readonly backing: BackingStore | null,
    /** shmem/tmpfs: pages are swap-backed and a missing one is zero-filled. */
    readonly shmem: boolean,
  ) {
    const core = mmCore(k);
    this.id = core.newOwnerId();
    core.mappings.set(this.id, this);
    this.kaddr = k.slab.kmalloc(MAPPING_BYTES);
  }

  /** mapping_can_writeback(): shared writable mappings must be write-protected until first written (dirty tracking). */
  get canWriteback(): boolean {
    return !this.shmem && this.backing !== null;
  }

  /** mapping_large_folio_support(): ext4 (a file with a store) since 6.16; tmpfs and memfds (huge=never) keep small folios. */
  get largeFolios(): boolean {
    return !this.shmem && this.backing !== null;
  }

  /** Pages in the cache (nrpages). */
  get nrpages(): number {
    return this.pages.size;
  }

  /** Drops the mapping from the kernel's registry once the inode is gone. */
  release(): void {
    if (this.pages.size > 0) throw new Error(`address_space ${this.id}: released with ${this.pages.size} pages cached`);
    mmCore(this.k).mappings.delete(this.id);
    this.k.slab.kfree(this.kaddr, MAPPING_BYTES);
  }
}

/** filemap_get_folio(): the cached frame of page `index`, or -1 (charges the xarray lookup). */
export function filemap_get_page(t: Task, mapping: AddressSpace, index: number): number {
  const k = mapping.k;
  t.charge(k.machine.caches.access(t.cpu, mapping.kaddr, false) + k.cfg.kernel.cost.kernel_op);
  return mapping.pages.get(index) ?? -1;
}

/** MAX_PAGECACHE_ORDER on x86-64: PMD order. */
const MAX_PAGECACHE_ORDER = 9;

/**
 * The order of the folio a write of `bytes` at page `index` allocates
 * (ext4_write_begin's fgf_set_order(len) in __filemap_get_folio): as large
 * as the write covers, no larger than its alignment in the file allows,
 * and small enough to cover only pages not cached yet.
 */
export function write_folio_order(mapping: AddressSpace, index: number, bytes: number): number {
  if (!mapping.largeFolios || bytes < 2 * PAGE_SIZE) return 0;
  let order = Math.min(Math.floor(Math.log2(bytes)) - 12, MAX_PAGECACHE_ORDER);
  // "If we're not aligned, allocate a smaller folio": the lowest set bit of index.
  if (index % 2 ** order !== 0) order = Math.log2(index & -index);
  for (; order > 0; order--) {
    let free = true;
    for (let i = index; free && i < index + 2 ** order; i++) if (mapping.pages.has(i)) free = false;
    if (free) break;
  }
  return order;
}

/** filemap_add_folio(): a new frame enters the cache with the cache's own reference. */
export function filemap_add_page(t: Task, mapping: AddressSpace, index: number, pfn: number): void {
  const k = mapping.k;
  mapping.pages.set(index, pfn);
  set_page_mapping(k, pfn, mapping.id, index);
  if (mapping.shmem) k.mem_map.flags[pfn] = (k.mem_map.flags[pfn]! | PG_swapbacked) >>> 0;
  t.charge(k.machine.caches.access(t.cpu, mapping.kaddr, true) + k.cfg.kernel.cost.kernel_op);
  mmCore(k).hooks.onNewPage?.(k, pfn, t);
}

/**
 * The frame holding page `index`, read in or allocated if missing, with a
 * reference for the caller; -1 when out of memory. `major` tells whether
 * the task had to wait for the backing store.
 */
export function* filemap_read_page(t: Task, mapping: AddressSpace, index: number): Blocking<{ pfn: number; major: boolean }> {
  const k = mapping.k;
  const memmap = k.mem_map;
  let pfn = filemap_get_page(t, mapping, index);
  if (pfn >= 0) {
    memmap.refcount[pfn]!++;
    // Cached but still being read (started by readahead or another task): wait for the I/O, as folio_wait_locked does.
    if (filemap_page_under_read(mapping, index)) {
      t.enter(CAT_IO_WAIT);
      yield t.sleepOn(mapping.readsInFlight.get(index)!);
      t.leave();
      return { pfn, major: true };
    }
    return { pfn, major: false };
  }
  pfn = yield* alloc_page(t, __GFP_USER | (mapping.backing ? 0 : __GFP_ZERO));
  if (pfn < 0) return { pfn: -1, major: false };
  // Another task may have filled the slot while this one slept in reclaim.
  const raced = mapping.pages.get(index);
  if (raced !== undefined) {
    memmap.refcount[pfn] = 0;
    free_frame(k, pfn);
    memmap.refcount[raced]!++;
    return { pfn: raced, major: false };
  }
  let major = false;
  if (mapping.backing) {
    const done = mapping.backing.readPage(index, pfn, t.now);
    if (done > t.now) {
      major = true;
      const c = new Completion(k.engine, 1);
      k.engine.at(done, (time) => c.complete(time));
      filemap_add_page(t, mapping, index, pfn);
      mapping.readsInFlight.set(index, c);
      t.enter(CAT_IO_WAIT);
      yield t.sleepOn(c);
      t.leave();
      if (mapping.readsInFlight.get(index) === c) mapping.readsInFlight.delete(index);
      k.machine.caches.invalidateFrame(pfn);
    } else filemap_add_page(t, mapping, index, pfn);
  } else filemap_add_page(t, mapping, index, pfn);
  memmap.flags[pfn] = (memmap.flags[pfn]! | PG_uptodate) >>> 0;
  // One reference for the cache (from the allocation), one for the caller.
  memmap.refcount[pfn]!++;
  return { pfn, major };
}

/** The page is in the cache but its read has not completed (locked, not uptodate). */
export function filemap_page_under_read(mapping: AddressSpace, index: number): boolean {
  const c = mapping.readsInFlight.get(index);
  return c !== undefined && !c.done;
}

/**
 * Start reading page `index` into the page cache without waiting for it
 * (the asynchronous part of page_cache_ra_unbounded, as MADV_WILLNEED and
 * fadvise use it): the page is added to the cache at once, locked and not
 * uptodate until the store's read completes; a reader meanwhile waits for
 * it in filemap_read_page. Returns false when no frame could be had.
 */
export function* filemap_start_read(t: Task, mapping: AddressSpace, index: number): Blocking<boolean> {
  const k = mapping.k;
  const memmap = k.mem_map;
  if (filemap_get_page(t, mapping, index) >= 0) return true;
  const pfn = yield* alloc_page(t, __GFP_USER | (mapping.backing ? 0 : __GFP_ZERO));
  if (pfn < 0) return false;
  if (mapping.pages.has(index)) {
    memmap.refcount[pfn] = 0;
    free_frame(k, pfn);
    return true;
  }
  const done = mapping.backing ? mapping.backing.readPage(index, pfn, t.now) : t.now;
  // The allocation's reference is the cache's.
  filemap_add_page(t, mapping, index, pfn);
  if (done <= t.now) {
    memmap.flags[pfn] = (memmap.flags[pfn]! | PG_uptodate) >>> 0;
    return true;
  }
  const c = new Completion(k.engine, 1);
  mapping.readsInFlight.set(index, c);
  k.engine.at(done, (time) => {
    if (mapping.readsInFlight.get(index) === c) mapping.readsInFlight.delete(index);
    if (mapping.pages.get(index) === pfn) {
      memmap.flags[pfn] = (memmap.flags[pfn]! | PG_uptodate) >>> 0;
      k.machine.caches.invalidateFrame(pfn);
    }
    c.complete(time);
  });
  return true;
}

/**
 * filemap_fault() / shmem_fault(): the page for a fault at page `index` of
 * the area's file. Returns the frame with a reference for the new mapping,
 * -1 past the end of the file (SIGBUS), -2 when out of memory.
 */
export function* filemap_fault(t: Task, vma: VmAreaStruct, index: number): Blocking<{ pfn: number; major: boolean }> {
  const mapping = vma.vmFile!.mapping;
  t.enter(mapping.shmem ? CAT_SHMEM_FAULT : CAT_FILEMAP_FAULT);
  if (index >= loffPages(mapping.size)) {
    t.leave();
    return { pfn: -1, major: false };
  }
  // A miss reads ahead around the page as the area's advice says (do_sync_mmap_readahead); waiting for that read is the major fault.
  const waited = !mapping.pages.has(index) && (yield* do_sync_mmap_readahead(t, vma, index));
  const r = yield* filemap_read_page(t, mapping, index);
  t.leave();
  if (r.pfn < 0) return { pfn: -2, major: false };
  return waited ? { pfn: r.pfn, major: true } : r;
}

/** folio_mark_dirty(): the page has data the file does not. */
export function set_page_dirty(k: Kernel, pfn: number): void {
  k.mem_map.flags[pfn] = (k.mem_map.flags[pfn]! | PG_dirty) >>> 0;
}

/** vma_interval_tree_insert / __vma_link_file: the area maps this file. */
export function vma_link_file(vma: VmAreaStruct): void {
  const f = vma.vmFile;
  if (!f) return;
  f.mapping.iMmap.push(vma);
}

/** __remove_shared_vm_struct: the area no longer maps the file. */
export function vma_unlink_file(vma: VmAreaStruct): void {
  const f = vma.vmFile;
  if (!f) return;
  const list = f.mapping.iMmap;
  const i = list.indexOf(vma);
  if (i >= 0) list.splice(i, 1);
}

/**
 * truncate_inode_pages_range(): drop the cached pages from index `from` on.
 * They must no longer be mapped (truncate_pagecache unmaps them first); the
 * cache's reference goes, and a page nobody else holds is freed.
 */
export function truncate_inode_pages(t: Task, mapping: AddressSpace, from: number): void {
  const k = mapping.k;
  const memmap = k.mem_map;
  const indices = [...mapping.pages.keys()].filter((i) => i >= from).sort((a, b) => a - b);
  for (const index of indices) {
    const pfn = mapping.pages.get(index)!;
    if (memmap.mapcount[pfn]! > 0) throw new Error(`truncate_inode_pages: page ${index} (pfn ${pfn}) is still mapped`);
    mapping.pages.delete(index);
    t.charge(k.machine.caches.access(t.cpu, mapping.kaddr, true) + k.cfg.kernel.cost.kernel_op);
    memmap.owner[pfn] = 0;
    memmap.flags[pfn] = (memmap.flags[pfn]! & ~(PG_dirty | PG_uptodate)) >>> 0;
    if (--memmap.refcount[pfn]! === 0) {
      free_unref_page(t, pfn);
    }
  }
}

/**
 * The shmem file of a shared anonymous area (shmem_zero_setup): `size`
 * bytes, zero-filled on demand, read-write. Areas and forked children hold
 * references; the last put drops its pages (by then nothing maps them).
 */
export class ShmemFile {
  readonly mapping: AddressSpace;
  readonly readable = true;
  readonly writable = true;
  /** Pages charged to vm_committed_as for it (shmem_acct_size), returned when it goes. */
  accountedPages = 0;
  private refs = 1;

  constructor(k: Kernel, size: number) {
    this.mapping = new AddressSpace(k, size, null, true);
  }

  get(): void {
    this.refs++;
  }

  put(t: Task): void {
    if (--this.refs > 0) return;
    truncate_inode_pages(t, this.mapping, 0);
    mmCore(this.mapping.k).committedPages -= this.accountedPages;
    this.mapping.release();
  }
}

const CAT_WRITEBACK = intern('filemap_write_and_wait_range');

/**
 * filemap_write_and_wait_range(): every dirty cached page of bytes
 * [start, end] goes to the backing store, and the caller waits for the
 * last write to complete. Pages stay cached, clean. A mapping without a
 * store (shmem) has nothing to write.
 */
export function* filemap_write_and_wait_range(t: Task, mapping: AddressSpace, start: number, end: number): Blocking<number> {
  const k = mapping.k;
  const memmap = k.mem_map;
  if (!mapping.backing || mapping.shmem) return 0;
  t.enter(CAT_WRITEBACK);
  const first = Math.floor(start / PAGE_SIZE);
  const last = Math.floor(end / PAGE_SIZE);
  const indices = [...mapping.pages.keys()].filter((i) => i >= first && i <= last).sort((a, b) => a - b);
  let done = t.now;
  for (const index of indices) {
    const pfn = mapping.pages.get(index)!;
    t.charge(k.machine.caches.access(t.cpu, mapping.kaddr, false) + k.cfg.kernel.cost.kernel_op);
    if ((memmap.flags[pfn]! & PG_dirty) === 0) continue;
    memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_dirty) >>> 0;
    done = Math.max(done, mapping.backing.writePage(index, pfn, t.now));
  }
  if (done > t.now) {
    t.enter(CAT_IO_WAIT);
    yield t.sleepFor(done - t.now);
    t.leave();
  }
  t.leave();
  return 0;
}

const CAT_INVALIDATE = intern('invalidate_mapping_pages');

/**
 * invalidate_mapping_pages() (mapping_try_invalidate): drop the cached
 * pages of indices [start, end] that nobody maps or holds, that are clean
 * and not under read; the rest stay. Returns how many went.
 */
export function invalidate_mapping_pages(t: Task, mapping: AddressSpace, start: number, end: number): number {
  const k = mapping.k;
  const memmap = k.mem_map;
  t.enter(CAT_INVALIDATE);
  let count = 0;
  const indices = [...mapping.pages.keys()].filter((i) => i >= start && i <= end).sort((a, b) => a - b);
  const busy = (index: number): boolean => {
    const pfn = mapping.pages.get(index)!;
    return memmap.mapcount[pfn]! > 0 || memmap.refcount[pfn]! !== 1 || (memmap.flags[pfn]! & PG_dirty) !== 0 || filemap_page_under_read(mapping, index);
  };
  for (let n = 0; n < indices.length; n++) {
    const index = indices[n]!;
    t.charge(k.machine.caches.access(t.cpu, mapping.kaddr, false) + k.cfg.kernel.cost.kernel_op);
    if (!mapping.pages.has(index)) continue;
    // A large folio goes whole or not at all: one reaching outside [start, end] stays (mapping_evict_folio works on folios).
    const [first, nr] = mapping.pages.folioOf(index);
    if (nr > 1) {
      let evictable = first >= start && first + nr - 1 <= end;
      for (let i = first; evictable && i < first + nr; i++) if (!mapping.pages.has(i) || busy(i)) evictable = false;
      if (!evictable) continue;
    } else if (busy(index)) continue;
    const pfn = mapping.pages.get(index)!;
    mapping.pages.delete(index);
    memmap.owner[pfn] = 0;
    memmap.flags[pfn] = (memmap.flags[pfn]! & ~(PG_dirty | PG_uptodate)) >>> 0;
    memmap.refcount[pfn] = 0;
    free_unref_page(t, pfn);
    count++;
  }
  t.leave();
  return count;
}
