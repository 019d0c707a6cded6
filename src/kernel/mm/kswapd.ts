/**
 * Who reclaims and when, after mm/vmscan.c (kswapd, balance_pgdat,
 * try_to_free_pages) and the reclaim part of the page allocator's slow path
 * (mm/page_alloc.c: __alloc_pages_direct_reclaim, should_reclaim_retry,
 * __alloc_pages_may_oom), and reclaim_init, which attaches all of reclaim
 * and swap to the MM core's hooks.
 *
 * Watermarks (in free pages): min = vm.min_free_kbytes / 4, low = min +
 * min/4, high = low + min/4. An allocation that leaves free memory at or
 * below low wakes kswapd; one that would go below min reclaims directly.
 *
 * - kswapd0, a kernel thread (started at its first wake-up), sleeps until
 *   woken, then runs balance_pgdat:
 *   passes over the node from DEF_PRIORITY down until free memory is above
 *   the high watermark. A run that frees nothing counts a failure; after
 *   MAX_RECLAIM_RETRIES of them kswapd is no longer woken until some
 *   reclaim succeeds again.
 * - Direct reclaim (try_to_free_pages) runs in the allocating task until it
 *   has freed SWAP_CLUSTER_MAX pages or tried every priority. Without
 *   progress the allocator retries while reclaimable plus free pages could
 *   satisfy the min watermark, at most MAX_RECLAIM_RETRIES times, and then
 *   calls the OOM killer.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task, TaskBody } from '../../sim/task.js';
import { WaitQueue } from '../../sim/wait.js';
import type { Kernel } from '../kernel.js';
import { current } from '../sched/task_struct.js';
import { mmCore } from './core.js';
import { fatal_signal_pending, out_of_memory } from './oom_kill.js';
import { TlbUnmapBatch } from './rmap_reclaim.js';
import { folio_add_lru, lru_on_free, lruvec_init } from './swap.js';
import { lookup_swap_cache, swap_cache_init, swapin_readahead } from './swap_state.js';
import { free_swap_and_cache, free_swap_cache, swap_duplicate, swap_setup, swapSlots, try_free_swap_after_fault } from './swapfile.js';
import {
  consider_reclaim_throttle,
  DEF_PRIORITY,
  kswapd_age_node,
  MAX_RECLAIM_RETRIES,
  newScanControl,
  pgdat_balanced,
  pgdat_init,
  pgdatOf,
  shrink_node,
  SWAP_CLUSTER_MAX,
  zone_reclaimable_pages,
  type ScanControl,
} from './vmscan.js';

const CAT_KSWAPD = intern('kswapd');
const CAT_BALANCE_PGDAT = intern('balance_pgdat');
const CAT_TRY_TO_FREE_PAGES = intern('try_to_free_pages');

export class KswapdState {
  readonly wait: WaitQueue;
  sleeping = false;
  /** kswapd0 exists (it is started at its first wake-up: asleep until then, it would only cost a context switch at boot). */
  started = false;

  constructor(k: Kernel) {
    this.wait = new WaitQueue(k.engine);
  }
}

function kswapdState(k: Kernel): KswapdState {
  return k.kswapd;
}

/**
 * wakeup_kswapd(): free memory fell to the low watermark. Wakes kswapd
 * unless it is already running, the node is balanced, or it has failed too
 * often. Never blocks.
 */
export function wakeup_kswapd(t: Task): void {
  const k = t.k;
  const s = k.kswapd;
  if (s.started && !s.sleeping) return;
  if (pgdatOf(k).kswapdFailures >= MAX_RECLAIM_RETRIES || pgdat_balanced(k)) return;
  if (!s.started) {
    s.started = true;
    k.spawnKernelThread('kswapd0', kswapdBody(k), { at: t.now });
    return;
  }
  s.sleeping = false;
  s.wait.wakeOne(t.now);
}

/** kswapd_shrink_node(): one pass aiming at the high watermark; true when it scanned at least that much (the priority need not rise). */
function* kswapd_shrink_node(t: Task, sc: ScanControl): Blocking<boolean> {
  const k = t.k;
  sc.nrToReclaim = Math.max(pgdatOf(k).highWmark, SWAP_CLUSTER_MAX);
  yield* shrink_node(t, sc);
  return sc.nrScanned >= sc.nrToReclaim;
}

/**
 * balance_pgdat(): reclaim until the node is above its high watermark,
 * raising the priority (scanning more) after passes that freed nothing or
 * scanned less than their target.
 */
function* balance_pgdat(t: Task): Blocking<void> {
  const k = t.k;
  const pg = pgdatOf(k);
  k.engine.counters.add('pageoutrun');
  t.enter(CAT_BALANCE_PGDAT);
  const sc = newScanControl(k, true, SWAP_CLUSTER_MAX);
  sc.priority = DEF_PRIORITY;
  do {
    if (pgdat_balanced(k)) break;
    const before = sc.nrReclaimed;
    kswapd_age_node(t, sc);
    sc.nrScanned = 0;
    const raise = !(yield* kswapd_shrink_node(t, sc));
    if (raise || sc.nrReclaimed === before) sc.priority--;
  } while (sc.priority >= 1);
  if (sc.nrReclaimed === 0) pg.kswapdFailures++;
  t.leave();
}

/** kswapd(): the background reclaim thread of the node. */
function kswapdBody(k: Kernel) {
  return function* (t: Task): TaskBody {
    const s = kswapdState(k);
    const pg = pgdatOf(k);
    t.enter(CAT_KSWAPD);
    for (;;) {
      // kswapd_try_to_sleep(): sleep while balanced (or hopeless); the node's congestion flags clear.
      if (pgdat_balanced(k) || pg.kswapdFailures >= MAX_RECLAIM_RETRIES) {
        pg.dirty = false;
        pg.writeback = false;
        s.sleeping = true;
        yield t.sleepOn(s.wait);
        s.sleeping = false;
        continue;
      }
      yield* balance_pgdat(t);
      if (t.shouldYield()) yield;
    }
  };
}

/**
 * do_try_to_free_pages(): passes at rising priority until nrToReclaim pages
 * are freed; if nothing was freed because the active lists were never
 * aged, once more forcing deactivation.
 */
function* do_try_to_free_pages(t: Task, sc: ScanControl): Blocking<number> {
  for (;;) {
    do {
      sc.nrScanned = 0;
      yield* shrink_node(t, sc);
      yield* consider_reclaim_throttle(t, sc);
      if (sc.nrReclaimed >= sc.nrToReclaim) break;
      if (sc.priority < DEF_PRIORITY - 2) sc.mayWritepage = true;
    } while (--sc.priority >= 0);
    if (sc.nrReclaimed > 0) return sc.nrReclaimed;
    if (!sc.skippedDeactivate) return 0;
    sc.priority = DEF_PRIORITY;
    sc.forceDeactivate = true;
    sc.skippedDeactivate = false;
  }
}

/** try_to_free_pages(): direct reclaim by the allocating task; returns pages freed. */
export function* try_to_free_pages(t: Task, nrToReclaim: number): Blocking<number> {
  const k = t.k;
  t.enter(CAT_TRY_TO_FREE_PAGES);
  const sc = newScanControl(k, false, nrToReclaim);
  const r = yield* do_try_to_free_pages(t, sc);
  t.leave();
  return r;
}

/**
 * The directReclaim hook: __alloc_pages_direct_reclaim, retried as
 * should_reclaim_retry allows, then __alloc_pages_may_oom. Returns the
 * frames freed (by reclaim, or by the OOM kill); 0 sends the allocation to
 * its last attempt.
 */
export function* alloc_pages_direct_reclaim(t: Task, nr: number): Blocking<number> {
  const k = t.k;
  const memmap = k.mem_map;
  const core = mmCore(k);
  for (let noProgress = 0; ; ) {
    const progress = yield* try_to_free_pages(t, nr);
    if (progress > 0) {
      pgdatOf(k).kswapdFailures = 0;
      return progress;
    }
    if (fatal_signal_pending(current(t))) return 0;
    // Someone else freed memory meanwhile: let the allocation try.
    if (memmap.freeCount > core.minWmark) return 0;
    if (++noProgress > MAX_RECLAIM_RETRIES) break;
    if (zone_reclaimable_pages(k) + memmap.freeCount <= core.minWmark) break;
    if (t.shouldYield()) yield;
  }
  return yield* out_of_memory(t);
}

/**
 * reclaim_init(): LRU lists, the swap area and swap cache, the reclaim
 * state, and the MM core's hooks pointing at them. After mm_init.
 */
export function reclaim_init(k: Kernel): void {
  const core = mmCore(k);
  swap_setup(k);
  swap_cache_init(k);
  lruvec_init(k);
  pgdat_init(k);
  const s = new KswapdState(k);
  k.kswapd = s;
  core.hooks.wakeupKswapd = wakeup_kswapd;
  core.hooks.directReclaim = alloc_pages_direct_reclaim;
  core.hooks.onFree = lru_on_free;
  core.hooks.onNewPage = (kk, pfn, t?: Task) => folio_add_lru(kk, t ?? null, pfn);
  if (swapSlots(k) > 0) {
    core.hooks.swapCacheLookup = (kk, _type, offset) => lookup_swap_cache(kk, offset);
    core.hooks.swapIn = (t, _type, offset) => swapin_readahead(t, offset);
    core.hooks.swapFree = (t, _type, offset) => free_swap_and_cache(t, offset);
    core.hooks.swapFreeFolio = try_free_swap_after_fault;
    core.hooks.freeSwapCache = free_swap_cache;
    core.hooks.swapDup = (kk, _type, offset) => {
      swap_duplicate(kk, null, offset);
    };
  }
}

/** A fresh TLB batch for code outside reclaim that unmaps through try_to_unmap. */
export function newTlbBatch(k: Kernel): TlbUnmapBatch {
  return new TlbUnmapBatch(k.cfg.cpus);
}
