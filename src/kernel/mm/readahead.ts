/**
 * Readahead for file faults, after mm/readahead.c and filemap.c's
 * do_sync_mmap_readahead: when a fault on a file mapping misses the page
 * cache, how much of the file is read with the faulting page depends on the
 * area's advice:
 *
 *   VM_RAND_READ (MADV_RANDOM)      nothing more: one page per miss
 *   VM_SEQ_READ (MADV_SEQUENTIAL)   ra_pages from the faulting page on
 *                                   (page_cache_sync_ra)
 *   neither (MADV_NORMAL)           read-around: ra_pages centred on the
 *                                   faulting page, unless the file's
 *                                   mmap_miss count says read-around is not
 *                                   paying off (over MMAP_LOTSAMISS)
 *
 * Pages already cached are skipped; the rest go to the backing store as one
 * request (read_pages submits one bio) and the faulting task waits for it.
 *
 * Left out: the asynchronous half (PG_readahead markers and
 * do_async_mmap_readahead, so a sequential scan here takes a major fault at
 * each window instead of overlapping the next window with its use), the
 * window ramp-up of read(2) readahead, and drop-behind of VM_SEQ_READ pages.
 */
import { loffPages } from '../fs/loff.js';
import { PG_uptodate } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { Completion } from '../../sim/wait.js';
import type { AddressSpace } from './filemap.js';
import { filemap_add_page } from './filemap.js';
import { PAGE_SIZE, VM_RAND_READ, VM_SEQ_READ, type VmAreaStruct } from './mm_types.js';
import { __GFP_NOWAIT, __GFP_USER, alloc_page_nowait } from './page_alloc.js';

/** Misses after which read-around stops (MMAP_LOTSAMISS). */
export const MMAP_LOTSAMISS = 100;

const CAT_SYNC_MMAP_RA = intern('do_sync_mmap_readahead');
const CAT_IO_WAIT = intern('io_schedule');

/** The per-file readahead state (struct file_ra_state), kept per page cache here. */
interface RaState {
  mmapMiss: number;
}

const raStates = new WeakMap<AddressSpace, RaState>();

function raState(mapping: AddressSpace): RaState {
  let s = raStates.get(mapping);
  if (!s) raStates.set(mapping, (s = { mmapMiss: 0 }));
  return s;
}

/** ra_pages: the readahead window in pages. */
export function ra_pages(mapping: AddressSpace): number {
  return Math.floor((mapping.k.cfg.kernel.read_ahead_kb * 1024) / PAGE_SIZE);
}

/**
 * page_cache_ra_unbounded(): read pages [start, start + nr) that are not
 * cached (stopping at the end of the file or when no frame is free without
 * reclaim, as readahead allocations do not wait), then wait for the one
 * request. Returns whether the task had to wait for it.
 */
function* page_cache_ra_unbounded(t: Task, mapping: AddressSpace, start: number, nr: number): Blocking<boolean> {
  const k = mapping.k;
  const memmap = k.mem_map;
  const eof = loffPages(mapping.size);
  const end = Math.min(start + nr, eof);
  let done = t.now;
  const pfns: number[] = [];
  for (let index = start; index < end; index++) {
    if (mapping.pages.has(index)) continue;
    const pfn = alloc_page_nowait(t, __GFP_USER | __GFP_NOWAIT);
    if (pfn < 0) break;
    done = Math.max(done, mapping.backing!.readPage(index, pfn, t.now));
    filemap_add_page(t, mapping, index, pfn);
    pfns.push(pfn);
  }
  const wait = done > t.now;
  if (wait) {
    const c = new Completion(k.engine, 1);
    k.engine.at(done, (time) => c.complete(time));
    t.enter(CAT_IO_WAIT);
    yield t.sleepOn(c);
    t.leave();
  }
  for (const pfn of pfns) {
    k.machine.caches.invalidateFrame(pfn);
    memmap.flags[pfn] = (memmap.flags[pfn]! | PG_uptodate) >>> 0;
  }
  return wait;
}

/**
 * do_sync_mmap_readahead(): the fault at page `index` of the area's file
 * missed the cache; read what the advice asks for around it (the faulting
 * page included). Returns whether the task waited for the read; false also
 * when nothing was read ahead and the caller reads the one page itself.
 */
export function* do_sync_mmap_readahead(t: Task, vma: VmAreaStruct, index: number): Blocking<boolean> {
  const mapping = vma.vmFile!.mapping;
  if (!mapping.backing?.readahead || mapping.shmem) return false;
  if ((vma.vmFlags & VM_RAND_READ) !== 0) return false;
  const ra = ra_pages(mapping);
  if (ra === 0) return false;
  t.enter(CAT_SYNC_MMAP_RA);
  t.charge(mapping.k.cfg.kernel.cost.kernel_op);
  let r = false;
  if ((vma.vmFlags & VM_SEQ_READ) !== 0) {
    r = yield* page_cache_ra_unbounded(t, mapping, index, ra);
  } else {
    const s = raState(mapping);
    if (s.mmapMiss < MMAP_LOTSAMISS * 10) s.mmapMiss++;
    if (s.mmapMiss <= MMAP_LOTSAMISS) r = yield* page_cache_ra_unbounded(t, mapping, Math.max(0, index - Math.floor(ra / 2)), ra);
  }
  t.leave();
  return r;
}
