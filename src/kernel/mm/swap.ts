/**
 * The LRU lists and the per-CPU batches that feed them, after mm/swap.c and
 * include/linux/mm_inline.h (one node, one memory cgroup: one lruvec).
 *
 * Four evictable lists: inactive/active x anon/file. A page is "file" when
 * it is not swap-backed (folio_is_file_lru), so shmem pages sit on the anon
 * lists and MADV_FREE'd (lazily freed) anonymous pages on the file lists, as
 * in the kernel. New pages go to the head of the inactive list; reclaim
 * scans from the tail. Mlocked pages are activated when reclaim meets them
 * (there is no separate unevictable list).
 *
 * The lists are doubly linked through typed arrays indexed by pfn (the
 * kernel's folio->lru). Every link update touches the struct pages (or the
 * lruvec's list heads) it writes, through the cache model, and list changes
 * happen under the lruvec's lru_lock. New pages reach the lists through a
 * per-CPU batch of PAGEVEC_SIZE (folio_add_lru -> lru_add), so the lock is
 * taken once per batch; writeback completions queue rotations that the next
 * drain performs (lru_move_tail).
 */
import { PG_active, PG_lru, PG_referenced, PG_swapbacked } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { SpinLock } from '../locking/spinlock.js';
import { MmCore } from './core.js';
import { update_lru_size } from './vmstat.js';

export const LRU_INACTIVE_ANON = 0;
export const LRU_ACTIVE_ANON = 1;
export const LRU_INACTIVE_FILE = 2;
export const LRU_ACTIVE_FILE = 3;
export const NR_LRU_LISTS = 4;
export const LRU_NAMES = ['inactive_anon', 'active_anon', 'inactive_file', 'active_file'] as const;

/** include/linux/pagevec.h PAGEVEC_SIZE: pages a per-CPU LRU batch holds before it is moved under the lock. */
export const PAGEVEC_SIZE = 31;
/** Lruvec.onList of a page reclaim has isolated (off every list, PG_lru clear, owned by the isolating task). */
export const LRU_ISOLATED = -2;
/** Offset of the lru list_head inside struct page (after flags). */
const PAGE_LRU_OFF = 8;

const CAT_LRU_ADD_DRAIN = intern('lru_add_drain');

/** folio_lru_list(): the list a page belongs on from its flags. */
export function folio_lru_list(flags: number): number {
  return ((flags & PG_swapbacked) === 0 ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON) + ((flags & PG_active) !== 0 ? 1 : 0);
}

/** is_file_lru(). */
export function is_file_lru(lru: number): boolean {
  return lru >= LRU_INACTIVE_FILE;
}

/** The lruvec of the one node: the lists, their lock and the reclaim cost balance. */
export class Lruvec {
  /** Links: node ids 0..3 are the list heads, pfn + 4 a page. */
  next: Int32Array;
  prev: Int32Array;
  /** The list a pfn is on, -1 for none, LRU_ISOLATED while reclaim holds it. */
  onList: Int8Array;
  /** Pages per list (lruvec_page_state NR_*_ANON/FILE). */
  readonly size = new Float64Array(NR_LRU_LISTS);
  /** Pages isolated from the anon and file lists by reclaimers (NR_ISOLATED_ANON/FILE). */
  readonly isolated = new Float64Array(2);
  /** lruvec->anon_cost / file_cost: recent reclaim work on each side (get_scan_count balances by it). */
  anonCost = 0;
  fileCost = 0;
  readonly lock: SpinLock;
  /** Kernel address of the lruvec (its list heads). */
  readonly kaddr: number;
  /** Per-CPU lru_add batches and their fill. */
  readonly addBatch: Int32Array[];
  readonly addCount: Int32Array;
  /** CPU + 1 whose lru_add batch holds the pfn, 0 for none. */
  inBatch: Uint16Array;
  /** Pages whose writeback ended with PG_reclaim: rotated to the inactive tail at the next drain. */
  rotate: number[] = [];
  /** Per-CPU lru_lazyfree batches: pages MADV_FREE moved whose lock and list work is still to be charged, and their fill. */
  readonly lazyBatch: Int32Array[];
  readonly lazyCount: Int32Array;
  private readonly totalFrames: number;

  constructor(readonly k: Kernel) {
    this.totalFrames = k.machine.mem.totalFrames;
    const cap = Math.min(1024, this.totalFrames);
    this.next = new Int32Array(cap + NR_LRU_LISTS);
    this.prev = new Int32Array(cap + NR_LRU_LISTS);
    this.onList = new Int8Array(cap).fill(-1);
    this.inBatch = new Uint16Array(cap);
    for (let l = 0; l < NR_LRU_LISTS; l++) {
      this.next[l] = l;
      this.prev[l] = l;
    }
    this.kaddr = k.slab.kmalloc(128);
    // lruvec->lru_lock is taken with interrupts off (folio_lruvec_lock_irq, lruvec_lock_irqsave): a flush IPI waits for its unlock.
    this.lock = new SpinLock(k, 'lru_lock', undefined, true);
    this.addBatch = Array.from({ length: k.cfg.cpus }, () => new Int32Array(PAGEVEC_SIZE));
    this.addCount = new Int32Array(k.cfg.cpus);
    this.lazyBatch = Array.from({ length: k.cfg.cpus }, () => new Int32Array(PAGEVEC_SIZE));
    this.lazyCount = new Int32Array(k.cfg.cpus);
  }

  /** Grows the per-pfn arrays to cover pfn. */
  cover(pfn: number): void {
    if (pfn < this.onList.length) return;
    let cap = this.onList.length;
    while (cap <= pfn) cap *= 2;
    cap = Math.min(cap, this.totalFrames);
    const n = new Int32Array(cap + NR_LRU_LISTS);
    n.set(this.next);
    this.next = n;
    const p = new Int32Array(cap + NR_LRU_LISTS);
    p.set(this.prev);
    this.prev = p;
    const o = new Int8Array(cap).fill(-1);
    o.set(this.onList);
    this.onList = o;
    const b = new Uint16Array(cap);
    b.set(this.inBatch);
    this.inBatch = b;
  }

  /** The list of pfn, or a negative value (-1 not on a list, LRU_ISOLATED isolated). */
  listOf(pfn: number): number {
    return pfn < this.onList.length ? this.onList[pfn]! : -1;
  }

  /** The page at the tail of a list (lru_to_folio), or -1 when the list is empty. */
  tail(lru: number): number {
    const n = this.prev[lru]!;
    return n < NR_LRU_LISTS ? -1 : n - NR_LRU_LISTS;
  }

  /** The page before pfn toward the head, or -1 at the head. */
  prevOf(pfn: number): number {
    const n = this.prev[pfn + NR_LRU_LISTS]!;
    return n < NR_LRU_LISTS ? -1 : n - NR_LRU_LISTS;
  }

  /** Pages from head to tail (tests and invariant checks). */
  pages(lru: number): number[] {
    const out: number[] = [];
    for (let n = this.next[lru]!; n !== lru; n = this.next[n]!) out.push(n - NR_LRU_LISTS);
    return out;
  }

  /** lruvec_lru_size() of every list. */
  total(): number {
    return this.size[0]! + this.size[1]! + this.size[2]! + this.size[3]!;
  }
}

export function lruvecOf(k: Kernel): Lruvec {
  return k.lruvec;
}

export function lruvec_init(k: Kernel): Lruvec {
  const lv = new Lruvec(k);
  k.lruvec = lv;
  return lv;
}

/** Kernel address of a list node: a list head in the lruvec, or the page's lru field. */
function nodeKaddr(lv: Lruvec, node: number): number {
  return node < NR_LRU_LISTS ? lv.kaddr + node * 16 : MmCore.pageKaddr(node - NR_LRU_LISTS) + PAGE_LRU_OFF;
}

/** Stores to the nodes a link change writes. */
function touchNodes(t: Task | null, lv: Lruvec, a: number, b: number, c: number): void {
  if (!t) return;
  const caches = lv.k.machine.caches;
  t.charge(caches.access(t.cpu, nodeKaddr(lv, a), true) + caches.access(t.cpu, nodeKaddr(lv, b), true) + caches.access(t.cpu, nodeKaddr(lv, c), true));
}

/** spin_lock on a path that cannot yield: lru_lock is never held across a yield, so only a time-overlapping holder is waited for. */
export function lru_lock(t: Task, lv: Lruvec): void {
  const g = lv.lock.lock(t);
  if (!g.next().done) throw new Error('lru_lock: held across a yield');
}

export function lru_unlock(t: Task, lv: Lruvec): void {
  lv.lock.unlock(t);
}

/** lruvec_add_folio() (head) or lruvec_add_folio_tail(): link pfn into its list from its flags; sets PG_lru. */
export function lruvec_add_folio(t: Task | null, lv: Lruvec, pfn: number, tail: boolean): void {
  const memmap = lv.k.mem_map;
  lv.cover(pfn);
  if (lv.onList[pfn]! >= 0) throw new Error(`lruvec_add_folio: pfn ${pfn} is already on list ${lv.onList[pfn]}`);
  if (lv.inBatch[pfn] !== 0) throw new Error(`lruvec_add_folio: pfn ${pfn} is still in CPU ${lv.inBatch[pfn]! - 1}'s batch`);
  const lru = folio_lru_list(memmap.flags[pfn]!);
  const node = pfn + NR_LRU_LISTS;
  let before: number;
  let after: number;
  if (tail) {
    before = lv.prev[lru]!;
    after = lru;
  } else {
    before = lru;
    after = lv.next[lru]!;
  }
  lv.next[before] = node;
  lv.prev[node] = before;
  lv.next[node] = after;
  lv.prev[after] = node;
  lv.onList[pfn] = lru;
  lv.size[lru]!++;
  memmap.flags[pfn] = (memmap.flags[pfn]! | PG_lru) >>> 0;
  touchNodes(t, lv, before, node, after);
  if (t) update_lru_size(t, lru, 1);
}

/**
 * lruvec_del_folio(): unlink pfn from its list; clears PG_lru. The page is
 * then LRU_ISOLATED: whoever took it off puts it back (or frees it), and
 * folio_add_lru leaves it alone meanwhile.
 */
export function lruvec_del_folio(t: Task | null, lv: Lruvec, pfn: number): void {
  const lru = lv.listOf(pfn);
  if (lru < 0) throw new Error(`lruvec_del_folio: pfn ${pfn} is on no list`);
  const node = pfn + NR_LRU_LISTS;
  const before = lv.prev[node]!;
  const after = lv.next[node]!;
  lv.next[before] = after;
  lv.prev[after] = before;
  lv.onList[pfn] = LRU_ISOLATED;
  lv.size[lru]!--;
  const memmap = lv.k.mem_map;
  memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_lru) >>> 0;
  touchNodes(t, lv, before, node, after);
  if (t) update_lru_size(t, lru, -1);
}

/**
 * Moves every page of one CPU's lru_add batch onto its list
 * (folio_batch_move_lru with lru_add); the caller holds lru_lock. A slot
 * whose page was freed while the batch held it (a negative entry, see
 * lru_on_free) costs what Linux does for it under this hold: the page goes
 * onto the list (lruvec_add_folio's stores to the list head, the page's lru
 * node and the head's next). Returns those pages (their release under a
 * second hold is the caller's: releaseFreedInBatch).
 */
function moveAddBatch(t: Task | null, lv: Lruvec, cpu: number): number[] {
  const n = lv.addCount[cpu]!;
  const batch = lv.addBatch[cpu]!;
  let freed: number[] = NO_PAGES;
  for (let i = 0; i < n; i++) {
    const e = batch[i]!;
    if (e < 0) {
      const pfn = -e - 1;
      if (freed === NO_PAGES) freed = [];
      freed.push(pfn);
      if (t) touchNodes(t, lv, LRU_INACTIVE_ANON, pfn + NR_LRU_LISTS, lv.next[LRU_INACTIVE_ANON]!);
      continue;
    }
    lv.inBatch[e] = 0;
    lruvec_add_folio(t, lv, e, false);
  }
  lv.addCount[cpu] = 0;
  return freed;
}

const NO_PAGES: number[] = [];

/**
 * folios_put(fbatch) after folio_batch_move_lru: the batch's references
 * were the last ones of the pages freed while it held them, so
 * __page_cache_release takes lru_lock again and takes each off its list
 * (lruvec_del_folio's stores: its neighbours and its own lru node) before
 * free_unref_folios (whose cost the model charged when the page was freed).
 */
function releaseFreedInBatch(t: Task, lv: Lruvec, freed: readonly number[]): void {
  if (freed.length === 0) return;
  lru_lock(t, lv);
  for (const pfn of freed) touchNodes(t, lv, LRU_INACTIVE_ANON, pfn + NR_LRU_LISTS, lv.next[LRU_INACTIVE_ANON]!);
  lru_unlock(t, lv);
}

/** lru_move_tail: writeback-completed PG_reclaim pages go to the tail of their inactive list; the caller holds lru_lock. */
function moveRotated(t: Task | null, lv: Lruvec): void {
  if (lv.rotate.length === 0) return;
  const memmap = lv.k.mem_map;
  const pending = lv.rotate;
  lv.rotate = [];
  let n = 0;
  for (const pfn of pending) {
    if (lv.listOf(pfn) < 0) continue;
    lruvec_del_folio(t, lv, pfn);
    memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_active) >>> 0;
    lruvec_add_folio(t, lv, pfn, true);
    n++;
  }
  if (n > 0) lv.k.engine.counters.add('pgrotated', n);
}

/**
 * folio_add_lru(): a new page (a fault, a page-cache insertion, a swap-in)
 * joins the inactive list through this CPU's batch. Idempotent: a page
 * already on a list, in a batch or isolated by reclaim (which puts it back
 * itself) is left alone. Without a task (a caller that has none to charge)
 * the page goes straight onto its list.
 */
export function folio_add_lru(k: Kernel, t: Task | null, pfn: number): void {
  const lv = lruvecOf(k);
  lv.cover(pfn);
  if (lv.onList[pfn] !== -1 || lv.inBatch[pfn] !== 0) return;
  if (!t) {
    lruvec_add_folio(null, lv, pfn, false);
    return;
  }
  const cpu = t.cpu;
  // folio_get + folio_batch_add: the batch slot and the page's refcount line.
  t.charge(k.machine.caches.access(cpu, MmCore.pageKaddr(pfn), true) + k.cfg.kernel.cost.kernel_op);
  lv.addBatch[cpu]![lv.addCount[cpu]!] = pfn;
  lv.addCount[cpu]!++;
  lv.inBatch[pfn] = cpu + 1;
  if (lv.addCount[cpu]! >= PAGEVEC_SIZE) {
    lru_lock(t, lv);
    const freed = moveAddBatch(t, lv, cpu);
    lru_unlock(t, lv);
    releaseFreedInBatch(t, lv, freed);
  }
}

/**
 * A page is freed while a CPU's lru_add batch holds it. In Linux it cannot
 * be: __folio_batch_add_and_move takes a reference (folio_get) that
 * folio_batch_move_lru drops only after putting the page on its list
 * (folios_put), so the page lives until the batch drains, then goes onto
 * the list and off it again under lru_lock (mm/swap.c). The model frees the
 * frame now (its state is what it would be after the drain) and leaves its
 * slot taken, as a negative entry, so the batch drains when Linux's would
 * and pays the two lock holds and list stores Linux pays for the page.
 */
function removeFromBatch(lv: Lruvec, pfn: number): void {
  const cpu = lv.inBatch[pfn]! - 1;
  lv.inBatch[pfn] = 0;
  const batch = lv.addBatch[cpu]!;
  const n = lv.addCount[cpu]!;
  for (let i = 0; i < n; i++) {
    if (batch[i] !== pfn) continue;
    batch[i] = -pfn - 1;
    return;
  }
}

/**
 * lru_add_drain(): move this CPU's batch and the pending rotations onto the
 * lists (reclaim does this before it isolates pages, so it sees them).
 */
export function lru_add_drain(t: Task): void {
  const k = t.k;
  const lv = lruvecOf(k);
  if (lv.lazyCount[t.cpu] !== 0) moveLazyfreeBatch(t, lv);
  if (lv.addCount[t.cpu] === 0 && lv.rotate.length === 0) return;
  t.enter(CAT_LRU_ADD_DRAIN);
  lru_lock(t, lv);
  const freed = moveAddBatch(t, lv, t.cpu);
  moveRotated(t, lv);
  lru_unlock(t, lv);
  releaseFreedInBatch(t, lv, freed);
  t.leave();
}

/**
 * lru_add_drain_all(): every CPU's batch (the kernel queues work on each
 * CPU; here the caller moves them, paying for the list updates).
 */
export function lru_add_drain_all(t: Task): void {
  const k = t.k;
  const lv = lruvecOf(k);
  t.enter(CAT_LRU_ADD_DRAIN);
  lru_lock(t, lv);
  const freed: number[] = [];
  for (let cpu = 0; cpu < k.cfg.cpus; cpu++) for (const pfn of moveAddBatch(t, lv, cpu)) freed.push(pfn);
  moveRotated(t, lv);
  lru_unlock(t, lv);
  releaseFreedInBatch(t, lv, freed);
  t.leave();
}

/**
 * A frame is being freed: take it off its list or out of its batch
 * (__page_cache_release). Runs from the free path, whose caller charges the
 * free itself.
 */
export function lru_on_free(k: Kernel, pfn: number): void {
  const lv = k.lruvec;
  if (pfn >= lv.onList.length) return;
  if (lv.onList[pfn]! >= 0) lruvec_del_folio(null, lv, pfn);
  else if (lv.inBatch[pfn] !== 0) removeFromBatch(lv, pfn);
  lv.onList[pfn] = -1;
}

/** folio_rotate_reclaimable(): queue a page whose writeback for reclaim ended for the inactive tail (from I/O completion, no task). */
export function folio_rotate_reclaimable(k: Kernel, pfn: number): void {
  const lv = lruvecOf(k);
  if (lv.listOf(pfn) < 0) return;
  lv.rotate.push(pfn);
}

/**
 * lru_note_cost(): reclaim work done on one side (pages written plus pages
 * rotated); halves both sides once they outgrow a quarter of the LRU, so the
 * balance follows recent behaviour.
 */
export function lru_note_cost(lv: Lruvec, file: boolean, nrIo: number, nrRotated: number, swapClusterMax: number): void {
  const cost = nrIo * swapClusterMax + nrRotated;
  if (file) lv.fileCost += cost;
  else lv.anonCost += cost;
  if (lv.fileCost + lv.anonCost > lv.total() / 4) {
    lv.fileCost = Math.floor(lv.fileCost / 2);
    lv.anonCost = Math.floor(lv.anonCost / 2);
  }
}

/**
 * folio_mark_lazyfree() / lru_lazyfree: MADV_FREE on a clean anonymous
 * page. It stops being swap-backed (reclaim may drop it instead of writing
 * it) and moves to the inactive file list, where reclaim finds it early.
 */
export function folio_mark_lazyfree(t: Task, pfn: number): void {
  const k = t.k;
  const lv = lruvecOf(k);
  const memmap = k.mem_map;
  lv.cover(pfn);
  // folio_batch_add_and_move(lru_lazyfree): the page joins this CPU's batch (folio_get on its struct page), and
  // the batch's list moves run under one lru_lock hold when it fills (or at lru_add_drain). The flags and the list
  // change here, at once, so reclaim and the checks see a lazily freed page as soon as madvise returns; the lock
  // and the list writes are charged when the batch moves, as Linux takes them.
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true) + k.cfg.cost.atomic_rmw);
  const listed = lv.onList[pfn]! >= 0;
  if (listed) lruvec_del_folio(null, lv, pfn);
  memmap.flags[pfn] = (memmap.flags[pfn]! & ~(PG_active | PG_referenced | PG_swapbacked)) >>> 0;
  if (listed) lruvec_add_folio(null, lv, pfn, false);
  k.engine.counters.add('pglazyfree');
  if (!listed) return;
  const cpu = t.cpu;
  lv.lazyBatch[cpu]![lv.lazyCount[cpu]!] = pfn;
  if (++lv.lazyCount[cpu]! >= PAGEVEC_SIZE) moveLazyfreeBatch(t, lv);
}

/**
 * folio_batch_move_lru(lru_lazyfree) for t's CPU: one lru_lock hold for the
 * batch, and for each page the list writes of lruvec_del_folio and
 * lruvec_add_folio (the page's lru node and the file list's head).
 */
function moveLazyfreeBatch(t: Task, lv: Lruvec): void {
  const cpu = t.cpu;
  const n = lv.lazyCount[cpu]!;
  const batch = lv.lazyBatch[cpu]!;
  const caches = lv.k.machine.caches;
  lru_lock(t, lv);
  let cycles = 0;
  for (let i = 0; i < n; i++) {
    const node = MmCore.pageKaddr(batch[i]!) + PAGE_LRU_OFF;
    cycles += 2 * caches.access(cpu, node, true) + caches.access(cpu, lv.kaddr + LRU_INACTIVE_FILE * 16, true);
  }
  t.charge(cycles);
  lru_unlock(t, lv);
  lv.lazyCount[cpu] = 0;
}

/**
 * __page_cache_release() for the folios of one folios_put_refs batch whose
 * last reference is going (pfns[from, to) with refcount 1): those on an LRU
 * list come off it under one lru_lock hold for the batch, as
 * folio_lruvec_relock_irqsave keeps it across a batch of one lruvec.
 */
export function folios_release_lru(t: Task, pfns: readonly number[], from: number, to: number): void {
  const k = t.k;
  const lv = k.lruvec;
  const memmap = k.mem_map;
  let locked = false;
  for (let i = from; i < to; i++) {
    const pfn = pfns[i]!;
    if (memmap.refcount[pfn] !== 1 || lv.listOf(pfn) < 0) continue;
    if (!locked) {
      lru_lock(t, lv);
      locked = true;
    }
    lruvec_del_folio(t, lv, pfn);
  }
  if (locked) lru_unlock(t, lv);
}

/**
 * folio_mark_accessed(): a page used through a path the PTE accessed bit
 * does not see (read(), a lookup): the first use sets PG_referenced, a
 * second activates an inactive page.
 */
export function folio_mark_accessed(t: Task, pfn: number): void {
  const k = t.k;
  const lv = lruvecOf(k);
  const memmap = k.mem_map;
  const f = memmap.flags[pfn]!;
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true));
  if ((f & PG_referenced) === 0) {
    memmap.flags[pfn] = (f | PG_referenced) >>> 0;
    return;
  }
  if ((f & PG_active) !== 0 || lv.listOf(pfn) < 0) return;
  lru_lock(t, lv);
  lruvec_del_folio(t, lv, pfn);
  memmap.flags[pfn] = ((memmap.flags[pfn]! | PG_active) & ~PG_referenced) >>> 0;
  lruvec_add_folio(t, lv, pfn, false);
  lru_unlock(t, lv);
  k.engine.counters.add('pgactivate');
}

/**
 * Checks the lists against the frame flags (for tests): every listed page
 * has PG_lru and sits on the list its flags name; the sizes match.
 */
export function lru_check(k: Kernel): string[] {
  const lv = lruvecOf(k);
  const memmap = k.mem_map;
  const out: string[] = [];
  for (let l = 0; l < NR_LRU_LISTS; l++) {
    const pages = lv.pages(l);
    if (pages.length !== lv.size[l]) out.push(`${LRU_NAMES[l]}: ${pages.length} linked, size says ${lv.size[l]}`);
    for (const pfn of pages) {
      if (memmap.isFree(pfn)) out.push(`${LRU_NAMES[l]}: free pfn ${pfn} is listed`);
      if ((memmap.flags[pfn]! & PG_lru) === 0) out.push(`${LRU_NAMES[l]}: pfn ${pfn} lacks PG_lru`);
      if (lv.inBatch[pfn] !== 0) out.push(`${LRU_NAMES[l]}: pfn ${pfn} is also in CPU ${lv.inBatch[pfn]! - 1}'s batch`);
      if (folio_lru_list(memmap.flags[pfn]!) !== l) out.push(`${LRU_NAMES[l]}: pfn ${pfn} belongs on ${LRU_NAMES[folio_lru_list(memmap.flags[pfn]!)]}`);
    }
  }
  return out;
}
