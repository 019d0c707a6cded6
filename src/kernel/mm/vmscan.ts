/**
 * Page reclaim, after mm/vmscan.c (the classic two-list LRU, not MGLRU):
 * shrink_node -> shrink_lruvec -> shrink_list -> shrink_inactive_list /
 * shrink_active_list -> shrink_folio_list, for one node and one lruvec.
 *
 * - get_scan_count splits the work between anon and file from vm.swappiness
 *   and the recent cost of reclaiming each (lru_note_cost), at a priority
 *   that starts at DEF_PRIORITY (scan 1/4096 of each list) and falls toward
 *   0 (scan everything) while reclaim falls short.
 * - shrink_inactive_list isolates a batch from the tail, and
 *   shrink_folio_list decides per page: activate it if its PTEs were young
 *   (folio_check_references), give an anonymous page a swap slot
 *   (add_to_swap), unmap it everywhere (try_to_unmap), write it if dirty
 *   (pageout: swap_writepage, or the file's backing store; only kswapd
 *   writes file pages, direct reclaim marks them for immediate reclaim), and
 *   free it once clean and unmapped (__remove_mapping), after the TLB flush.
 *   Pages under writeback stay; their write's end rotates them to the tail.
 * - shrink_active_list moves pages from the active to the inactive list
 *   when the inactive one is too small (inactive_is_low), keeping referenced
 *   executable file pages active.
 *
 * Not modelled: memory cgroups, slab shrinkers, the workingset shadow
 * entries (refault detection), flusher threads (dirty file pages are
 * written only by kswapd's pageout), shmem swap-out (shmem pages are kept),
 * large folios and compaction. The throttles (reclaim_throttle) follow the
 * kernel: too many isolated pages, writeback cycling faster than it
 * completes, and no progress at the last priorities.
 */
import { PG_active, PG_head, PG_tail, PG_workingset } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { Completion } from '../../sim/wait.js';
import type { Kernel } from '../kernel.js';
import { MmCore, mmCore } from './core.js';
import { VM_EXEC } from './mm_types.js';
import { folio_referenced, TlbUnmapBatch } from './rmap_reclaim.js';
import {
  is_file_lru,
  LRU_ACTIVE_ANON,
  LRU_INACTIVE_ANON,
  LRU_INACTIVE_FILE,
  lru_add_drain,
  lru_lock,
  lru_note_cost,
  lru_unlock,
  lruvec_add_folio,
  lruvec_del_folio,
  lruvecOf,
  type Lruvec,
} from './swap.js';
import { nr_swap_pages } from './swapfile.js';
import { freePages, newReclaimStat, shrink_folio_list } from './vmscan_folio.js';

/** SWAP_CLUSTER_MAX: pages per isolation batch and the least a reclaim pass aims for. */
export const SWAP_CLUSTER_MAX = 32;
/** DEF_PRIORITY: the first pass scans list_size >> 12. */
export const DEF_PRIORITY = 12;
/** MAX_RECLAIM_RETRIES: kswapd failures before it gives up; allocator rounds without progress before OOM. */
export const MAX_RECLAIM_RETRIES = 16;
/** vm.swappiness's range: anon and file weights sum to this. */
const MAX_SWAPPINESS = 200;

const DEACTIVATE_ANON = 1;
const DEACTIVATE_FILE = 2;

const SCAN_EQUAL = 0;
const SCAN_FRACT = 1;
const SCAN_ANON = 2;
const SCAN_FILE = 3;

/** Why a reclaimer sleeps (enum vmscan_throttle_state). */
export const VMSCAN_THROTTLE_WRITEBACK = 0;
export const VMSCAN_THROTTLE_ISOLATED = 1;
export const VMSCAN_THROTTLE_NOPROGRESS = 2;
const THROTTLE_NAMES = ['writeback', 'isolated', 'noprogress'];

const CAT_SHRINK_NODE = intern('shrink_node');
const CAT_SHRINK_INACTIVE = intern('shrink_inactive_list');
const CAT_SHRINK_ACTIVE = intern('shrink_active_list');
const CAT_ISOLATE = intern('isolate_lru_folios');
const CAT_PUTBACK = intern('move_folios_to_lru');
const CAT_THROTTLE = intern('reclaim_throttle');

/** struct scan_control. */
export interface ScanControl {
  nrToReclaim: number;
  priority: number;
  kswapd: boolean;
  mayWritepage: boolean;
  maySwap: boolean;
  mayDeactivate: number;
  forceDeactivate: boolean;
  skippedDeactivate: boolean;
  fileIsTiny: boolean;
  cacheTrimMode: boolean;
  anonCost: number;
  fileCost: number;
  nrScanned: number;
  nrReclaimed: number;
  /** sc->nr: what shrink_node's batches saw, for the node flags and throttling. */
  nr: { dirty: number; unqueuedDirty: number; writeback: number; immediate: number; taken: number; fileTaken: number };
  /** current->tlb_ubc: the unmaps whose TLB flush is still pending. */
  batch: TlbUnmapBatch;
}

export function newScanControl(k: Kernel, kswapd: boolean, nrToReclaim: number): ScanControl {
  return {
    nrToReclaim: Math.max(nrToReclaim, SWAP_CLUSTER_MAX),
    priority: DEF_PRIORITY,
    kswapd,
    mayWritepage: true,
    maySwap: true,
    mayDeactivate: 0,
    forceDeactivate: false,
    skippedDeactivate: false,
    fileIsTiny: false,
    cacheTrimMode: false,
    anonCost: 0,
    fileCost: 0,
    nrScanned: 0,
    nrReclaimed: 0,
    nr: { dirty: 0, unqueuedDirty: 0, writeback: 0, immediate: 0, taken: 0, fileTaken: 0 },
    batch: new TlbUnmapBatch(k.cfg.cpus),
  };
}

/** The node's reclaim state (the parts of pg_data_t reclaim uses). */
export class Pgdat {
  /** PGDAT_DIRTY: kswapd found only dirty, unqueued file pages; it may write them. */
  dirty = false;
  /** PGDAT_WRITEBACK: kswapd found only pages under writeback. */
  writeback = false;
  kswapdFailures = 0;
  /** Pages under writeback now (NR_WRITEBACK), for skip_throttle_noprogress. */
  nrWriteback = 0;
  /** NR_THROTTLED_WRITTEN and the value when the first writeback throttle began. */
  nrThrottledWritten = 0;
  nrReclaimStart = 0;
  nrWritebackThrottled = 0;
  /** reclaim_wait[]: the sleepers of each throttle, each with its own timeout. */
  readonly throttled: Completion[][] = [[], [], []];
  /** High watermark in free pages (setup_per_zone_wmarks may recompute it). */
  highWmark: number;

  constructor(readonly k: Kernel) {
    const core = mmCore(k);
    this.highWmark = core.lowWmark + (core.lowWmark - core.minWmark);
  }
}

export function pgdatOf(k: Kernel): Pgdat {
  return k.pgdat;
}

export function pgdat_init(k: Kernel): Pgdat {
  const p = new Pgdat(k);
  k.pgdat = p;
  return p;
}

/** pgdat_balanced(): free memory above the high watermark. */
export function pgdat_balanced(k: Kernel): boolean {
  return k.mem_map.freeCount > pgdatOf(k).highWmark;
}

/** can_reclaim_anon_pages(): anonymous pages can go somewhere (free swap). */
export function can_reclaim_anon_pages(k: Kernel): boolean {
  return nr_swap_pages(k) > 0;
}

/** zone_reclaimable_pages(): file LRU pages, plus anon ones when there is swap to put them in. */
export function zone_reclaimable_pages(k: Kernel): number {
  const lv = lruvecOf(k);
  let n = lv.size[LRU_INACTIVE_FILE]! + lv.size[LRU_INACTIVE_FILE + 1]!;
  if (can_reclaim_anon_pages(k)) n += lv.size[LRU_INACTIVE_ANON]! + lv.size[LRU_ACTIVE_ANON]!;
  return n;
}

// ---- throttling ----

/**
 * reclaim_throttle(): sleep until the throttle's condition is likely gone or
 * its timeout passes (writeback HZ/10, isolated HZ/50, no progress one
 * jiffy). A no-progress throttle is skipped when kswapd has given up or
 * little is under writeback (skip_throttle_noprogress).
 */
export function* reclaim_throttle(t: Task, reason: number): Blocking<void> {
  const k = t.k;
  const pg = pgdatOf(k);
  const hz = k.cfg.kernel.hz;
  let jiffies: number;
  if (reason === VMSCAN_THROTTLE_WRITEBACK) {
    jiffies = Math.max(1, Math.floor(hz / 10));
    if (++pg.nrWritebackThrottled === 1) pg.nrReclaimStart = pg.nrThrottledWritten;
  } else if (reason === VMSCAN_THROTTLE_ISOLATED) {
    jiffies = Math.max(1, Math.floor(hz / 50));
  } else {
    if (pg.kswapdFailures >= MAX_RECLAIM_RETRIES || 2 * pg.nrWriteback <= zone_reclaimable_pages(k)) {
      if (t.shouldYield()) yield;
      return;
    }
    jiffies = 1;
  }
  const c = new Completion(k.engine, 1);
  pg.throttled[reason]!.push(c);
  k.engine.at(t.now + jiffies * k.engine.tickPeriod, (time) => c.complete(time));
  k.engine.counters.add(`vmscan_throttle_${THROTTLE_NAMES[reason]}`);
  t.enter(CAT_THROTTLE);
  yield t.sleepOn(c);
  t.leave();
  const list = pg.throttled[reason]!;
  const i = list.indexOf(c);
  if (i >= 0) list.splice(i, 1);
  if (reason === VMSCAN_THROTTLE_WRITEBACK) pg.nrWritebackThrottled--;
}

/** wake_up_all() on a throttle's sleepers. */
function wakeThrottled(pg: Pgdat, reason: number, time: number): void {
  const list = pg.throttled[reason]!;
  if (list.length === 0) return;
  pg.throttled[reason] = [];
  for (const c of list) c.complete(time);
}

/**
 * acct_reclaim_writeback(): `n` pages finished writeback at `time`; once
 * SWAP_CLUSTER_MAX pages per throttled reclaimer are written, they wake.
 */
export function acct_reclaim_writeback(k: Kernel, n: number, time: number): void {
  const pg = pgdatOf(k);
  pg.nrWriteback -= n;
  pg.nrThrottledWritten += n;
  if (pg.nrWritebackThrottled === 0) return;
  if (pg.nrThrottledWritten - pg.nrReclaimStart > SWAP_CLUSTER_MAX * pg.nrWritebackThrottled) wakeThrottled(pg, VMSCAN_THROTTLE_WRITEBACK, time);
}

/** consider_reclaim_throttle(): wake no-progress sleepers when reclaim is efficient; a direct reclaimer failing at priority 1 sleeps. */
export function* consider_reclaim_throttle(t: Task, sc: ScanControl): Blocking<void> {
  const k = t.k;
  const pg = pgdatOf(k);
  if (sc.nrReclaimed > Math.floor(sc.nrScanned / 8)) {
    wakeThrottled(pg, VMSCAN_THROTTLE_NOPROGRESS, t.now);
    return;
  }
  if (sc.kswapd) return;
  if (sc.priority === 1 && sc.nrReclaimed === 0) yield* reclaim_throttle(t, VMSCAN_THROTTLE_NOPROGRESS);
}

/** too_many_isolated(): direct reclaimers hold more isolated pages than an eighth of the list has left. */
function too_many_isolated(lv: Lruvec, file: boolean, sc: ScanControl): boolean {
  if (sc.kswapd) return false;
  const inactive = lv.size[file ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON]!;
  return lv.isolated[file ? 1 : 0]! > Math.floor(inactive / 8);
}

// ---- the lists ----

/** inactive_is_low(): the inactive list is smaller than the active one over the ratio sqrt(10 x GiB). */
export function inactive_is_low(lv: Lruvec, inactiveLru: number): boolean {
  const inactive = lv.size[inactiveLru]!;
  const active = lv.size[inactiveLru + 1]!;
  const gb = Math.floor((inactive + active) / 2 ** 18);
  const ratio = gb > 0 ? Math.floor(Math.sqrt(10 * gb)) : 1;
  return inactive * ratio < active;
}

/** isolate_lru_folios(): take up to nr pages from the list's tail, each with a reference; returns pages scanned. */
function isolate_lru_folios(t: Task, lv: Lruvec, nr: number, lru: number, out: number[]): number {
  const k = t.k;
  const memmap = k.mem_map;
  const caches = k.machine.caches;
  let scanned = 0;
  t.enter(CAT_ISOLATE);
  while (scanned < nr) {
    const pfn = lv.tail(lru);
    if (pfn < 0) break;
    scanned++;
    // folio_try_get: an atomic on the refcount.
    t.charge(caches.access(t.cpu, MmCore.pageKaddr(pfn), true) + k.cfg.cost.atomic_rmw);
    memmap.refcount[pfn]!++;
    lruvec_del_folio(t, lv, pfn);
    out.push(pfn);
  }
  t.leave();
  return scanned;
}

/**
 * move_folios_to_lru(): put isolated pages back on the lists their flags
 * name and drop the isolation reference; a page whose last reference that
 * was is freed instead. Takes lru_lock.
 */
function move_folios_to_lru(t: Task, lv: Lruvec, pages: readonly number[]): void {
  const k = t.k;
  const memmap = k.mem_map;
  const freeList: number[] = [];
  t.enter(CAT_PUTBACK);
  lru_lock(t, lv);
  for (const pfn of pages) {
    t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true) + k.cfg.cost.atomic_rmw);
    lv.onList[pfn] = -1;
    if (memmap.refcount[pfn] === 1) {
      freeList.push(pfn);
      continue;
    }
    memmap.refcount[pfn]!--;
    lruvec_add_folio(t, lv, pfn, false);
  }
  lru_unlock(t, lv);
  freePages(t, freeList);
  t.leave();
}

/**
 * shrink_inactive_list(): isolate up to nrToScan pages from an inactive
 * list's tail, try to reclaim them, put back the rest.
 */
function* shrink_inactive_list(t: Task, nrToScan: number, lru: number, sc: ScanControl): Blocking<number> {
  const k = t.k;
  const lv = lruvecOf(k);
  const file = is_file_lru(lru);
  const counters = k.engine.counters;
  let stalled = false;
  while (too_many_isolated(lv, file, sc)) {
    if (stalled) return 0;
    stalled = true;
    yield* reclaim_throttle(t, VMSCAN_THROTTLE_ISOLATED);
  }
  t.enter(CAT_SHRINK_INACTIVE);
  lru_add_drain(t);
  const list: number[] = [];
  lru_lock(t, lv);
  const scanned = isolate_lru_folios(t, lv, nrToScan, lru, list);
  lv.isolated[file ? 1 : 0]! += list.length;
  lru_unlock(t, lv);
  counters.add(sc.kswapd ? 'pgscan_kswapd' : 'pgscan_direct', scanned);
  counters.add(file ? 'pgscan_file' : 'pgscan_anon', scanned);
  if (list.length === 0) {
    t.leave();
    return 0;
  }
  const stat = newReclaimStat();
  const keep: number[] = [];
  const reclaimed = yield* shrink_folio_list(t, list, sc, stat, keep);
  lv.isolated[file ? 1 : 0]! -= list.length;
  move_folios_to_lru(t, lv, keep);
  lru_note_cost(lv, file, stat.nrPageout, scanned - reclaimed, SWAP_CLUSTER_MAX);
  counters.add(sc.kswapd ? 'pgsteal_kswapd' : 'pgsteal_direct', reclaimed);
  counters.add(file ? 'pgsteal_file' : 'pgsteal_anon', reclaimed);
  sc.nr.dirty += stat.nrDirty;
  sc.nr.unqueuedDirty += stat.nrUnqueuedDirty;
  sc.nr.writeback += stat.nrWriteback;
  sc.nr.immediate += stat.nrImmediate;
  sc.nr.taken += list.length;
  if (file) sc.nr.fileTaken += list.length;
  t.leave();
  return reclaimed;
}

/**
 * shrink_active_list(): move pages from an active list's tail to the
 * inactive list, clearing their accessed bits on the way; referenced
 * executable file pages stay active.
 */
function shrink_active_list(t: Task, nrToScan: number, lru: number, sc: ScanControl): void {
  const k = t.k;
  const lv = lruvecOf(k);
  const memmap = k.mem_map;
  const file = is_file_lru(lru);
  t.enter(CAT_SHRINK_ACTIVE);
  lru_add_drain(t);
  const hold: number[] = [];
  lru_lock(t, lv);
  const scanned = isolate_lru_folios(t, lv, nrToScan, lru, hold);
  lv.isolated[file ? 1 : 0]! += hold.length;
  lru_unlock(t, lv);
  k.engine.counters.add('pgrefill', scanned);
  let deactivated = 0;
  for (const pfn of hold) {
    // Huge pages stay where they are (their PMD mappings are not aged here).
    if ((memmap.flags[pfn]! & (PG_head | PG_tail)) !== 0) continue;
    const ref = folio_referenced(t, pfn);
    if (ref.ptes > 0 && (ref.vmFlags & VM_EXEC) !== 0 && file) continue;
    memmap.flags[pfn] = ((memmap.flags[pfn]! & ~PG_active) | PG_workingset) >>> 0;
    deactivated++;
  }
  lv.isolated[file ? 1 : 0]! -= hold.length;
  move_folios_to_lru(t, lv, hold);
  k.engine.counters.add('pgdeactivate', deactivated);
  t.leave();
}

/** shrink_list(): an active list is aged only when the node's balance allows it. */
function* shrink_list(t: Task, lru: number, nrToScan: number, sc: ScanControl): Blocking<number> {
  if (lru === LRU_ACTIVE_ANON || lru === LRU_INACTIVE_FILE + 1) {
    if ((sc.mayDeactivate & (is_file_lru(lru) ? DEACTIVATE_FILE : DEACTIVATE_ANON)) !== 0) shrink_active_list(t, nrToScan, lru, sc);
    else sc.skippedDeactivate = true;
    return 0;
  }
  return yield* shrink_inactive_list(t, nrToScan, lru, sc);
}

/**
 * get_scan_count(): how many pages of each list to scan at this priority:
 * list size >> priority, split between anon and file by swappiness and
 * the recent cost of reclaiming each side.
 */
export function get_scan_count(k: Kernel, sc: ScanControl): number[] {
  const lv = lruvecOf(k);
  const swappiness = k.cfg.kernel.swappiness;
  let balance: number;
  let ap = 0;
  let fp = 0;
  if (!sc.maySwap || !can_reclaim_anon_pages(k)) balance = SCAN_FILE;
  else if (sc.priority === 0 && swappiness > 0) balance = SCAN_EQUAL;
  else if (sc.fileIsTiny) balance = SCAN_ANON;
  else if (sc.cacheTrimMode) balance = SCAN_FILE;
  else {
    balance = SCAN_FRACT;
    let total = sc.anonCost + sc.fileCost;
    const anonCost = total + sc.anonCost;
    const fileCost = total + sc.fileCost;
    total = anonCost + fileCost;
    ap = Math.floor((swappiness * (total + 1)) / (anonCost + 1));
    fp = Math.floor(((MAX_SWAPPINESS - swappiness) * (total + 1)) / (fileCost + 1));
  }
  const nr = [0, 0, 0, 0];
  for (let lru = 0; lru < 4; lru++) {
    const file = is_file_lru(lru);
    let scan = Math.floor(lv.size[lru]! / 2 ** sc.priority);
    if (balance === SCAN_FRACT) scan = Math.floor((scan * (file ? fp : ap)) / (ap + fp));
    else if ((balance === SCAN_FILE && !file) || (balance === SCAN_ANON && file)) scan = 0;
    nr[lru] = scan;
  }
  return nr;
}

/**
 * shrink_lruvec(): scan the lists in SWAP_CLUSTER_MAX steps until their
 * targets are met; once enough is reclaimed (outside the first direct pass)
 * the smaller side stops and the other scans in proportion.
 */
function* shrink_lruvec(t: Task, sc: ScanControl): Blocking<void> {
  const k = t.k;
  const lv = lruvecOf(k);
  const nr = get_scan_count(k, sc);
  const targets = nr.slice();
  let reclaimed = 0;
  let proportional = !sc.kswapd && sc.priority === DEF_PRIORITY;
  while (nr[LRU_INACTIVE_ANON]! > 0 || nr[LRU_INACTIVE_FILE + 1]! > 0 || nr[LRU_INACTIVE_FILE]! > 0) {
    for (let lru = 0; lru < 4; lru++) {
      if (nr[lru]! === 0) continue;
      const n = Math.min(nr[lru]!, SWAP_CLUSTER_MAX);
      nr[lru]! -= n;
      reclaimed += yield* shrink_list(t, lru, n, sc);
    }
    // cond_resched()
    if (t.shouldYield()) yield;
    if (reclaimed < sc.nrToReclaim || proportional) continue;
    const nrFile = nr[LRU_INACTIVE_FILE]! + nr[LRU_INACTIVE_FILE + 1]!;
    const nrAnon = nr[LRU_INACTIVE_ANON]! + nr[LRU_ACTIVE_ANON]!;
    if (nrFile === 0 || nrAnon === 0) break;
    let small: number;
    let percentage: number;
    if (nrFile > nrAnon) {
      small = LRU_INACTIVE_ANON;
      percentage = Math.floor((nrAnon * 100) / (targets[LRU_INACTIVE_ANON]! + targets[LRU_ACTIVE_ANON]! + 1));
    } else {
      small = LRU_INACTIVE_FILE;
      percentage = Math.floor((nrFile * 100) / (targets[LRU_INACTIVE_FILE]! + targets[LRU_INACTIVE_FILE + 1]! + 1));
    }
    nr[small] = 0;
    nr[small + 1] = 0;
    const other = small === LRU_INACTIVE_FILE ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE;
    for (const lru of [other, other + 1]) {
      const scanned = targets[lru]! - nr[lru]!;
      let n = Math.floor((targets[lru]! * (100 - percentage)) / 100);
      n -= Math.min(n, scanned);
      nr[lru] = n;
    }
    proportional = true;
  }
  sc.nrReclaimed += reclaimed;
  if (can_reclaim_anon_pages(k) && inactive_is_low(lv, LRU_INACTIVE_ANON)) shrink_active_list(t, SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON, sc);
}

/** prepare_scan_control(): the node's balance at the start of a pass. */
function prepare_scan_control(k: Kernel, sc: ScanControl): void {
  const lv = lruvecOf(k);
  const pg = pgdatOf(k);
  sc.anonCost = lv.anonCost;
  sc.fileCost = lv.fileCost;
  if (sc.forceDeactivate) sc.mayDeactivate = DEACTIVATE_ANON | DEACTIVATE_FILE;
  else sc.mayDeactivate = (inactive_is_low(lv, LRU_INACTIVE_ANON) ? DEACTIVATE_ANON : 0) | (inactive_is_low(lv, LRU_INACTIVE_FILE) ? DEACTIVATE_FILE : 0);
  const inactiveFile = lv.size[LRU_INACTIVE_FILE]!;
  sc.cacheTrimMode = Math.floor(inactiveFile / 2 ** sc.priority) > 0 && (sc.mayDeactivate & DEACTIVATE_FILE) === 0;
  const file = inactiveFile + lv.size[LRU_INACTIVE_FILE + 1]!;
  const free = k.mem_map.freeCount;
  sc.fileIsTiny = file + free <= pg.highWmark && (sc.mayDeactivate & DEACTIVATE_ANON) === 0 && Math.floor(lv.size[LRU_INACTIVE_ANON]! / 2 ** sc.priority) > 0;
}

/**
 * shrink_node(): one reclaim pass over the node at sc.priority. kswapd
 * notes when its batches were all under writeback or all dirty (it may then
 * write file pages) and sleeps when writeback cannot keep up.
 */
export function* shrink_node(t: Task, sc: ScanControl): Blocking<void> {
  const k = t.k;
  const pg = pgdatOf(k);
  const before = sc.nrReclaimed;
  sc.nr = { dirty: 0, unqueuedDirty: 0, writeback: 0, immediate: 0, taken: 0, fileTaken: 0 };
  t.enter(CAT_SHRINK_NODE);
  prepare_scan_control(k, sc);
  yield* shrink_lruvec(t, sc);
  if (sc.kswapd) {
    if (sc.nr.writeback > 0 && sc.nr.writeback === sc.nr.taken) pg.writeback = true;
    if (sc.nr.unqueuedDirty > 0 && sc.nr.unqueuedDirty === sc.nr.fileTaken) pg.dirty = true;
    if (sc.nr.immediate > 0) yield* reclaim_throttle(t, VMSCAN_THROTTLE_WRITEBACK);
  }
  if (sc.nrReclaimed > before) pg.kswapdFailures = 0;
  t.leave();
}

/** kswapd_age_node(): keep the inactive anon list from running dry before the pass. */
export function kswapd_age_node(t: Task, sc: ScanControl): void {
  const k = t.k;
  if (!can_reclaim_anon_pages(k)) return;
  if (inactive_is_low(lruvecOf(k), LRU_INACTIVE_ANON)) shrink_active_list(t, SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON, sc);
}
