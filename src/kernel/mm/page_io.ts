/**
 * Swap I/O, after mm/page_io.c: swap_writepage sends a swap cache page to
 * its slot, swap_read_folio reads a slot into a locked swap cache page. Both
 * are requests to the SwapDevice that complete in simulated time; the CPU
 * pays cost.swap_io for building and submitting the request and taking its
 * completion interrupt, and the task that started the I/O does not wait for
 * it here (reclaim goes on; a fault waits in folio_wait_locked).
 *
 * Completion runs at the device's completion time with no task (the bio
 * end_io in interrupt context): it ends writeback (rotating a page written
 * for reclaim to the inactive tail, to be freed by the next scan) or
 * unlocks the page read, whose data is in memory from then on.
 */
import { PG_dirty, PG_locked, PG_uptodate, PG_writeback } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Task } from '../../sim/task.js';
import { Completion } from '../../sim/wait.js';
import type { Kernel } from '../kernel.js';
import { folio_rotate_reclaimable } from './swap.js';
import { swap_readpage_contents, swap_writepage_contents } from './swap_io.js';
import { folio_swap_slot, PG_reclaim, swapCache } from './swap_state.js';
import { folio_free_swap } from './swapfile.js';
import { acct_reclaim_writeback } from './vmscan.js';

const CAT_SWAP_WRITEPAGE = intern('swap_writepage');
const CAT_SWAP_READ_FOLIO = intern('swap_read_folio');

/**
 * folio_end_writeback(): the write of a page ended at `time`. A page written
 * for reclaim (PG_reclaim) is queued for the inactive tail
 * (folio_rotate_reclaimable) and counts toward waking throttled reclaimers.
 */
export function folio_end_writeback(k: Kernel, pfn: number, time: number, c: Completion | null): void {
  const memmap = k.mem_map;
  const f = memmap.flags[pfn]!;
  memmap.flags[pfn] = (f & ~(PG_writeback | PG_reclaim)) >>> 0;
  if ((f & PG_reclaim) !== 0 && (f & (PG_dirty | PG_locked)) === 0) folio_rotate_reclaimable(k, pfn);
  acct_reclaim_writeback(k, 1, time);
  k.engine.counters.add('nr_written');
  c?.complete(time);
}

/**
 * swap_writepage(): write a dirty swap cache page to its slot. Returns false
 * without any I/O when no swap PTE names the slot any more (folio_free_swap
 * dropped it from the cache: nobody will read the slot). The caller
 * (pageout) has cleared PG_dirty and set PG_reclaim.
 */
export function swap_writepage(t: Task, pfn: number): boolean {
  const k = t.k;
  if (folio_free_swap(t, pfn)) return false;
  const memmap = k.mem_map;
  const c = swapCache(k);
  const slot = folio_swap_slot(k, pfn);
  t.enter(CAT_SWAP_WRITEPAGE);
  memmap.flags[pfn] = (memmap.flags[pfn]! | PG_writeback) >>> 0;
  // The device reads the page now: what is in memory at submission is what the slot holds.
  k.swap.store(slot, swap_writepage_contents(k, pfn));
  t.charge(k.cfg.kernel.cost.swap_io);
  const done = k.swap.submit(t.now, true);
  const wait = new Completion(k.engine, 1);
  c.writing.set(pfn, wait);
  k.engine.at(done, (time) => {
    c.writing.delete(pfn);
    folio_end_writeback(k, pfn, time, wait);
  });
  k.engine.counters.add('pswpout');
  t.leave();
  return true;
}

/**
 * swap_read_folio(): start reading `slot` into the locked swap cache page
 * `pfn`. At completion the page holds the slot's data, is up to date and is
 * unlocked; its cache lines are dropped (the device wrote memory behind the
 * caches).
 */
export function swap_read_folio(t: Task, pfn: number, slot: number): void {
  const k = t.k;
  const c = swapCache(k);
  t.enter(CAT_SWAP_READ_FOLIO);
  t.charge(k.cfg.kernel.cost.swap_io);
  const done = k.swap.submit(t.now, false);
  const wait = new Completion(k.engine, 1);
  c.reading.set(pfn, wait);
  k.engine.at(done, (time) => {
    const memmap = k.mem_map;
    swap_readpage_contents(k, pfn, k.swap.load(slot));
    k.machine.caches.invalidateFrame(pfn);
    memmap.flags[pfn] = ((memmap.flags[pfn]! | PG_uptodate) & ~PG_locked) >>> 0;
    c.reading.delete(pfn);
    wait.complete(time);
  });
  k.engine.counters.add('pswpin');
  t.leave();
}
