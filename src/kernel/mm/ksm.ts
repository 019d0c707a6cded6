/**
 * Kernel samepage merging, after mm/ksm.c. Areas marked MADV_MERGEABLE put
 * their mm on ksmd's list (__ksm_enter); ksmd, a kernel thread, wakes every
 * sleep_millisecs while run is set and looks at pages_to_scan present
 * anonymous pages, walking the listed mms area by area, address by address.
 * For each page (cmp_and_merge_page):
 *
 *   1. a page equal to a KSM page in the stable tree is merged into it
 *      (try_to_merge_with_ksm_page): its PTE is write-protected, then
 *      pointed at the KSM frame (replace_page) and the page freed;
 *   2. otherwise a page whose checksum changed since the last full scan is
 *      only noted (it is volatile, not worth merging yet);
 *   3. otherwise the unstable tree (pages seen unchanged this full scan) is
 *      searched: an equal page there and this one become one KSM page
 *      (try_to_merge_two_pages), which moves to the stable tree; without a
 *      match the page is inserted in the unstable tree.
 *
 * After the last mm a full scan ends, and with it ksmd's batch: full_scans
 * counts it and the next scan starts with an empty unstable tree. So two identical pages merge during the second
 * full scan that sees them unchanged.
 *
 * A KSM frame is PG_anon | PG_ksm, write-protected wherever it is mapped,
 * and never reused in place: do_wp_page always copies it (cow_ksm).
 * MADV_UNMERGEABLE breaks the KSM pages of the range (break_ksm: an
 * unsharing fault on each) before clearing VM_MERGEABLE.
 *
 * The trees are Maps keyed by a content hash, each bucket confirmed with
 * PhysMem.sameContents (the rb-trees order by memcmp; the cost charged is
 * the rb-tree's: a bookkeeping step per level, a full memcmp for the match).
 * Iteration order is insertion order: deterministic.
 *
 * Left out: reclaim and migration of KSM pages (a KSM frame is taken off
 * the LRU, as if unevictable, and has no rmap of its own: rmap_walk finds no
 * mapping of it), pages in the swap cache (skipped), run = 2 (unmerge all),
 * use_zero_pages, stable-node chains (max_page_sharing), huge pages (areas
 * mapped by a PMD are skipped, not split), and memory failure of a KSM page.
 */
import { makePte, PTE_DIRTY, PTE_PRESENT, PTE_PSE, PTE_RW, ptePfn, pteFlags, tableIndex } from '../../hw/pagetable.js';
import { nsToCycles } from '../../config/machine.js';
import { PG_anon, PG_ksm, PG_swapcache, PG_zero } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task, TaskBody } from '../../sim/task.js';
import { WaitQueue } from '../../sim/wait.js';
import type { Kernel } from '../kernel.js';
import { MmCore, mmCore } from './core.js';
import { set_page_dirty } from './filemap.js';
import { madviseBehaviours } from './madvise.js';
import { MADV_MERGEABLE, MADV_UNMERGEABLE, type MadviseVisit } from './madvise_uapi.js';
import { FAULT_FLAG_WRITE, handle_mm_fault, VM_FAULT_ERROR, VM_FAULT_OOM } from './memory.js';
import { PAGE_SIZE, VM_MERGEABLE, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { mmap_read_lock, mmap_read_unlock } from './mmap_lock.js';
import { put_page_testzero_free } from './page_alloc.js';
import { ptep_get, ptl_hold, ptl_release, pte_lock, pte_unlock, set_pte_at } from './pgtable.js';
import { folio_add_rmap_pte, folio_remove_rmap_pte, PG_anon_exclusive } from './rmap.js';
import { lru_on_free } from './swap.js';
import { flush_tlb_page } from './tlbflush.js';
import { find_vma } from './vma.js';
import { ENOMEM } from '../errno.js';

const CAT_KSMD = intern('ksmd');
const CAT_KSM_DO_SCAN = intern('ksm_do_scan');
const CAT_CALC_CHECKSUM = intern('calc_checksum');
const CAT_MEMCMP_PAGES = intern('memcmp_pages');
const CAT_WRITE_PROTECT_PAGE = intern('write_protect_page');
const CAT_REPLACE_PAGE = intern('replace_page');
const CAT_UNMERGE_KSM_PAGES = intern('unmerge_ksm_pages');

/** A KSM page in the stable tree (struct ksm_stable_node): its frame and the owner id the frame carries while it is this node's. */
interface StableNode {
  readonly id: number;
  readonly pfn: number;
}

/** A page in the unstable tree (struct ksm_rmap_item while unstable): where it is mapped. */
interface UnstableItem {
  readonly mm: MmStruct;
  readonly addr: number;
}

/** A present anonymous page ksmd looked up (follow_page under the PTE walk). */
interface Found {
  vma: VmAreaStruct;
  table: number;
  idx: number;
  pte: number;
  pfn: number;
}

export class KsmState {
  /** /sys/kernel/mm/ksm/run (0 or 1). */
  run: boolean;
  pagesToScan: number;
  sleepMs: number;
  /** ksm_mm_head: mms with mergeable areas, in the order they entered. */
  readonly slots: MmStruct[] = [];
  /** ksm_scan: the slot being scanned (-1: at the list head) and the next address in it. */
  slot = -1;
  addr = 0;
  /** rmap_item->oldchecksum by mm id and address (-1: never hashed). */
  readonly oldChecksum = new Map<number, Map<number, number>>();
  readonly stable = new Map<number, StableNode[]>();
  stableCount = 0;
  unstable = new Map<number, UnstableItem[]>();
  unstableCount = 0;
  fullScans = 0;
  readonly wait: WaitQueue;
  started = false;
  /** ksmd sleeps on `wait` (not on its timer): nothing to do until woken. */
  idle = false;

  constructor(k: Kernel) {
    this.run = k.cfg.kernel.ksm_run;
    this.pagesToScan = k.cfg.kernel.ksm_pages_to_scan;
    this.sleepMs = k.cfg.kernel.ksm_sleep_ms;
    this.wait = new WaitQueue(k.engine);
  }
}

function ksmState(k: Kernel): KsmState {
  return k.ksm;
}

/** Scratch for hashing a page's bytes (the host side of calc_checksum). */
const pageBytes = new Uint8Array(PAGE_SIZE);
const pageWords = new Uint32Array(pageBytes.buffer);

/** A 32-bit FNV-1a over the page's words: the key of both trees (equality is confirmed byte for byte). */
function contentKey(k: Kernel, pfn: number): number {
  k.machine.mem.readInto(pfn, 0, pageBytes, 0, PAGE_SIZE);
  let h = 0x811c9dc5;
  for (let i = 0; i < pageWords.length; i++) h = Math.imul(h ^ pageWords[i]!, 0x01000193);
  return h >>> 0;
}

/** ksmd_should_run(): merging is on and some mm has mergeable areas. */
function ksmd_should_run(s: KsmState): boolean {
  return s.run && s.slots.length > 0;
}

function wakeKsmd(k: Kernel, t: Task | null, s: KsmState): void {
  if (!ksmd_should_run(s)) return;
  const now = t ? t.now : 0;
  if (!s.started) {
    s.started = true;
    k.spawnKernelThread('ksmd', ksmdBody(k), { at: now });
    return;
  }
  if (s.idle) {
    s.idle = false;
    s.wait.wakeOne(now);
  }
}

/** __ksm_enter(): put the mm on ksmd's list (once). */
export function ksm_enter(t: Task | null, mm: MmStruct): void {
  const k = mm.k;
  const s = ksmState(k);
  if (s.slots.includes(mm)) return;
  if (t) t.charge(k.cfg.kernel.cost.kmalloc + k.cfg.kernel.cost.kernel_op);
  s.slots.push(mm);
  wakeKsmd(k, t, s);
}

/** /sys/kernel/mm/ksm/run: 1 starts merging, 0 stops it (merged pages stay merged). */
export function ksm_set_run(k: Kernel, t: Task | null, run: boolean): void {
  const s = ksmState(k);
  s.run = run;
  wakeKsmd(k, t, s);
}

/** /sys/kernel/mm/ksm/pages_to_scan and sleep_millisecs. */
export function ksm_set_tunables(k: Kernel, pagesToScan: number, sleepMs: number): void {
  const s = ksmState(k);
  s.pagesToScan = pagesToScan;
  s.sleepMs = sleepMs;
}

/** get_ksm_page(): the node's frame if it is still this node's KSM page (a freed one is stale and pruned lazily), else -1. */
function stableFrame(k: Kernel, node: StableNode): number {
  const memmap = k.mem_map;
  const pfn = node.pfn;
  if (memmap.isFree(pfn) || (memmap.flags[pfn]! & PG_ksm) === 0 || memmap.owner[pfn] !== node.id) return -1;
  return pfn;
}

/** The figures of /sys/kernel/mm/ksm: KSM pages in use, the extra mappings sharing them, pages waiting in the unstable tree, full scans. */
export function ksm_stats(k: Kernel): { pages_shared: number; pages_sharing: number; pages_unshared: number; full_scans: number } {
  const s = ksmState(k);
  const memmap = k.mem_map;
  let shared = 0;
  let sharing = 0;
  for (const bucket of s.stable.values()) {
    for (const node of bucket) {
      const pfn = stableFrame(k, node);
      if (pfn < 0 || memmap.mapcount[pfn]! === 0) continue;
      shared++;
      sharing += memmap.mapcount[pfn]! - 1;
    }
  }
  return { pages_shared: shared, pages_sharing: sharing, pages_unshared: s.unstableCount, full_scans: s.fullScans };
}

function publishStats(k: Kernel, s: KsmState): void {
  // Drop stale stable nodes (their frame was freed by the last unmap or COW).
  for (const [key, bucket] of s.stable) {
    const live = bucket.filter((n) => stableFrame(k, n) >= 0);
    s.stableCount -= bucket.length - live.length;
    if (live.length === 0) s.stable.delete(key);
    else if (live.length !== bucket.length) s.stable.set(key, live);
  }
  const st = ksm_stats(k);
  const c = k.engine.counters;
  c.set('pages_shared', st.pages_shared);
  c.set('pages_sharing', st.pages_sharing);
  c.set('pages_unshared', st.pages_unshared);
  c.set('full_scans', st.full_scans);
}

/**
 * The PTE table covering addr, read through the caches; -1 when a level is
 * missing or a huge mapping covers it (KSM would split a THP first; here it
 * is skipped).
 */
function pteTableOrSkip(t: Task, mm: MmStruct, addr: number): number {
  const k = mm.k;
  const pt = k.machine.pt;
  let table = mm.pgd;
  for (let level = 4; level >= 2; level--) {
    const idx = tableIndex(addr, level);
    t.charge(k.machine.caches.access(t.cpu, pt.entryPaddr(table, idx), false));
    const e = pt.readEntry(table, idx);
    if ((e & PTE_PRESENT) === 0 || (e & PTE_PSE) !== 0) return -1;
    table = ptePfn(e);
  }
  return table;
}

/** The present anonymous page at addr in a mergeable area of mm, or null (follow_page and the checks of get_mergeable_page). */
function mergeablePage(t: Task, mm: MmStruct, addr: number): Found | null {
  const k = mm.k;
  const vma = find_vma(t, mm, addr);
  if (!vma || addr < vma.vmStart || (vma.vmFlags & VM_MERGEABLE) === 0 || !vma.anonVma) return null;
  const table = pteTableOrSkip(t, mm, addr);
  if (table < 0) return null;
  const idx = tableIndex(addr, 1);
  const pte = ptep_get(t, mm, table, idx);
  if ((pte & PTE_PRESENT) === 0) return null;
  const pfn = ptePfn(pte);
  const f = k.mem_map.flags[pfn]!;
  if ((f & PG_zero) !== 0 || (f & PG_anon) === 0) return null;
  return { vma, table, idx, pte, pfn };
}

/** An mm ksmd may still scan: alive and not being torn down (ksm_test_exit). */
function mmLive(k: Kernel, mm: MmStruct): boolean {
  return mmCore(k).mms.get(mm.id) === mm && !mm.exiting && mm.pgd >= 0;
}

/**
 * scan_get_next_rmap_item(): the next present anonymous page of a mergeable
 * area, moving to the next mm (and past the end of the list, ending a full
 * scan) as needed. Returns null when the list is empty. Takes the mm's
 * mmap_lock for reading; the caller drops it.
 */
function* scan_get_next_rmap_item(t: Task, s: KsmState): Blocking<{ mm: MmStruct; addr: number; page: Found } | null> {
  const k = t.k;
  for (;;) {
    if (s.slots.length === 0) return null;
    if (s.slot < 0) {
      // At the list head: a new full scan builds its unstable tree from scratch.
      s.slot = 0;
      s.addr = 0;
      s.unstable = new Map();
      s.unstableCount = 0;
    }
    if (s.slot >= s.slots.length) {
      // Past the last mm: the full scan is over and this batch ends with it.
      s.slot = -1;
      s.fullScans++;
      return null;
    }
    const mm = s.slots[s.slot]!;
    if (!mmLive(k, mm)) {
      // The mm exited: its slot and rmap items go (ksm_exit, remove_trailing_rmap_items).
      s.slots.splice(s.slot, 1);
      s.oldChecksum.delete(mm.id);
      s.addr = 0;
      continue;
    }
    yield* mmap_read_lock(t, mm);
    for (const vma of mm.vmas) {
      if (vma.vmEnd <= s.addr || (vma.vmFlags & VM_MERGEABLE) === 0 || !vma.anonVma) continue;
      for (let addr = Math.max(s.addr, vma.vmStart); addr < vma.vmEnd; addr += PAGE_SIZE) {
        const page = mergeablePage(t, mm, addr);
        if (!page) continue;
        s.addr = addr + PAGE_SIZE;
        return { mm, addr, page };
      }
    }
    mmap_read_unlock(t, mm);
    s.slot++;
    s.addr = 0;
  }
}

/** memcmp_pages(): byte-for-byte comparison, charged as a full compare when equal and as an early mismatch otherwise. */
function memcmp_pages(t: Task, a: number, b: number): boolean {
  const k = t.k;
  const same = k.machine.mem.sameContents(a, b);
  if (same) t.chargeAs(CAT_MEMCMP_PAGES, k.cfg.kernel.cost.ksm_memcmp_page);
  else t.charge(k.cfg.kernel.cost.kernel_op);
  return same;
}

/** A tree descent: one bookkeeping step per level of an rb-tree holding n nodes. */
function chargeTreeWalk(t: Task, n: number): void {
  const k = t.k;
  t.charge(k.cfg.kernel.cost.kernel_op * Math.max(1, Math.ceil(Math.log2(n + 1))));
}

/**
 * write_protect_page(): make the page's PTE read-only and clean (the dirty
 * bit moves to the page), flushing the old translation from every CPU.
 * Fails (false) if the PTE changed or someone holds a reference beyond the
 * mappings (a pin: the page could be written behind KSM's back).
 */
function* write_protect_page(t: Task, mm: MmStruct, addr: number, p: Found): Blocking<boolean> {
  const k = mm.k;
  const memmap = k.mem_map;
  t.enter(CAT_WRITE_PROTECT_PAGE);
  pte_lock(t, mm, p.table);
  let ok = k.machine.pt.readEntry(p.table, p.idx) === p.pte;
  if (ok && memmap.refcount[p.pfn] !== memmap.mapcount[p.pfn]) ok = false;
  if (ok && (p.pte & (PTE_RW | PTE_DIRTY)) !== 0) {
    if ((p.pte & PTE_DIRTY) !== 0) set_page_dirty(k, p.pfn);
    p.pte = makePte(p.pfn, pteFlags(p.pte) & ~(PTE_RW | PTE_DIRTY));
    ptl_hold(mm, p.table);
    set_pte_at(t, mm, p.table, p.idx, p.pte);
    yield* flush_tlb_page(t, mm, addr);
    ptl_release(t, mm, p.table);
  }
  pte_unlock(t, mm, p.table);
  t.leave();
  return ok;
}

/** The frame becomes a KSM page: the stable node owns it, it leaves the LRU (KSM pages are not reclaimed here) and its anon_vma. */
function makeKsmPage(t: Task, pfn: number): StableNode {
  const k = t.k;
  const memmap = k.mem_map;
  const core = mmCore(k);
  const av = core.anonVmas.get(memmap.owner[pfn]!);
  if (av) {
    av.pages--;
    if (av.pages === 0 && av.refcount === 0) core.anonVmas.delete(av.id);
  }
  const node: StableNode = { id: core.newOwnerId(), pfn };
  memmap.owner[pfn] = node.id;
  memmap.flags[pfn] = ((memmap.flags[pfn]! | PG_ksm) & ~PG_anon_exclusive) >>> 0;
  lru_on_free(k, pfn);
  t.charge(k.cfg.kernel.cost.kmalloc + k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true));
  return node;
}

/**
 * replace_page(): point the write-protected PTE at the KSM frame instead of
 * its own page, which loses this mapping (and is freed if that was its last
 * reference).
 */
function* replace_page(t: Task, mm: MmStruct, addr: number, p: Found, kpfn: number): Blocking<boolean> {
  const k = mm.k;
  t.enter(CAT_REPLACE_PAGE);
  pte_lock(t, mm, p.table);
  if (k.machine.pt.readEntry(p.table, p.idx) !== p.pte) {
    pte_unlock(t, mm, p.table);
    t.leave();
    return false;
  }
  k.mem_map.refcount[kpfn]!++;
  folio_add_rmap_pte(t, kpfn);
  // ptep_clear_flush, then the new read-only entry.
  ptl_hold(mm, p.table);
  set_pte_at(t, mm, p.table, p.idx, 0);
  yield* flush_tlb_page(t, mm, addr);
  set_pte_at(t, mm, p.table, p.idx, makePte(kpfn, pteFlags(makePte(0, p.vma.vmPageProt)) & ~(PTE_RW | PTE_DIRTY)));
  ptl_release(t, mm, p.table);
  pte_unlock(t, mm, p.table);
  folio_remove_rmap_pte(t, p.pfn);
  put_page_testzero_free(t, p.pfn);
  t.leave();
  return true;
}

/**
 * try_to_merge_one_page(): write-protect the page and, if it still equals
 * the KSM frame `kpfn`, replace it with that frame; with kpfn < 0 the page
 * itself becomes the KSM page (the first half of try_to_merge_two_pages).
 * Returns the KSM frame's node, or null.
 */
function* try_to_merge_one_page(t: Task, mm: MmStruct, addr: number, p: Found, knode: StableNode | null): Blocking<StableNode | null> {
  const k = mm.k;
  const f = k.mem_map.flags[p.pfn]!;
  if ((f & (PG_ksm | PG_swapcache)) !== 0) return null;
  if (!(yield* write_protect_page(t, mm, addr, p))) return null;
  if (!knode) return makeKsmPage(t, p.pfn);
  const kpfn = stableFrame(k, knode);
  if (kpfn < 0 || !memcmp_pages(t, p.pfn, kpfn)) return null;
  return (yield* replace_page(t, mm, addr, p, kpfn)) ? knode : null;
}

function bucketPush<T>(m: Map<number, T[]>, key: number, v: T): void {
  const b = m.get(key);
  if (b) b.push(v);
  else m.set(key, [v]);
}

/** stable_tree_search(): the KSM page equal to pfn, or null. */
function stable_tree_search(t: Task, s: KsmState, key: number, pfn: number): StableNode | null {
  const k = t.k;
  chargeTreeWalk(t, s.stableCount);
  for (const node of s.stable.get(key) ?? []) {
    const kpfn = stableFrame(k, node);
    if (kpfn >= 0 && memcmp_pages(t, pfn, kpfn)) return node;
  }
  return null;
}

/**
 * unstable_tree_search_insert(): a page of this full scan equal to pfn
 * (looked up again where it is mapped: it may have changed or gone), or
 * null after inserting this page. The page itself (mapped twice after a
 * fork) is no match and not inserted again.
 */
function unstable_tree_search_insert(t: Task, s: KsmState, key: number, mm: MmStruct, addr: number, pfn: number): { mm: MmStruct; addr: number; page: Found } | null {
  const k = t.k;
  chargeTreeWalk(t, s.unstableCount);
  for (const item of s.unstable.get(key) ?? []) {
    if (!mmLive(k, item.mm)) continue;
    const tree = mergeablePage(t, item.mm, item.addr);
    if (!tree || (k.mem_map.flags[tree.pfn]! & PG_ksm) !== 0) continue;
    if (tree.pfn === pfn) return null;
    if (memcmp_pages(t, pfn, tree.pfn)) return { mm: item.mm, addr: item.addr, page: tree };
  }
  bucketPush(s.unstable, key, { mm, addr });
  s.unstableCount++;
  return null;
}

/** calc_checksum(): hash the page, charged as reading and hashing 4 KiB. */
function calc_checksum(t: Task, pfn: number): number {
  const k = t.k;
  t.chargeAs(CAT_CALC_CHECKSUM, k.cfg.kernel.cost.ksm_checksum_page);
  return contentKey(k, pfn);
}

/** cmp_and_merge_page(): what ksmd does with one page (see the file header). The caller holds mm's mmap_lock for reading. */
function* cmp_and_merge_page(t: Task, s: KsmState, mm: MmStruct, addr: number, p: Found): Blocking<void> {
  const k = t.k;
  const memmap = k.mem_map;
  if ((memmap.flags[p.pfn]! & PG_ksm) !== 0) return;
  const key = contentKey(k, p.pfn);
  const knode = stable_tree_search(t, s, key, p.pfn);
  if (knode) {
    yield* try_to_merge_one_page(t, mm, addr, p, knode);
    return;
  }
  const checksum = calc_checksum(t, p.pfn);
  let byAddr = s.oldChecksum.get(mm.id);
  if (!byAddr) s.oldChecksum.set(mm.id, (byAddr = new Map()));
  if (byAddr.get(addr) !== checksum) {
    byAddr.set(addr, checksum);
    return;
  }
  const other = unstable_tree_search_insert(t, s, key, mm, addr, p.pfn);
  if (!other) return;
  // try_to_merge_two_pages(): the tree page becomes the KSM page, then this one merges into it.
  const om = other.mm;
  const lockOther = om !== mm;
  if (lockOther) yield* mmap_read_lock(t, om);
  const node = mmLive(k, om) ? yield* try_to_merge_one_page(t, om, other.addr, other.page, null) : null;
  if (lockOther) mmap_read_unlock(t, om);
  if (!node) return;
  // stable_tree_insert(): the new KSM page is in the stable tree even if this page fails to join it.
  bucketPush(s.stable, key, node);
  s.stableCount++;
  // The tree page left the unstable tree (remove_rmap_item_from_tree).
  const bucket = s.unstable.get(key);
  const i = bucket ? bucket.findIndex((it) => it.mm === om && it.addr === other.addr) : -1;
  if (i >= 0) {
    bucket!.splice(i, 1);
    s.unstableCount--;
  }
  const again = mergeablePage(t, mm, addr);
  if (again && again.pfn === p.pfn) yield* try_to_merge_one_page(t, mm, addr, again, node);
}

/** ksm_do_scan(): look at up to `scanNpages` pages. */
function* ksm_do_scan(t: Task, s: KsmState, scanNpages: number): Blocking<void> {
  const k = t.k;
  t.enter(CAT_KSM_DO_SCAN);
  while (scanNpages-- > 0) {
    const item = yield* scan_get_next_rmap_item(t, s);
    if (!item) break;
    yield* cmp_and_merge_page(t, s, item.mm, item.addr, item.page);
    mmap_read_unlock(t, item.mm);
    if (t.shouldYield()) yield;
  }
  publishStats(k, s);
  t.leave();
}

/** ksm_scan_thread(): ksmd. */
function ksmdBody(k: Kernel) {
  return function* (t: Task): TaskBody {
    const s = ksmState(k);
    t.enter(CAT_KSMD);
    for (;;) {
      if (!ksmd_should_run(s)) {
        s.idle = true;
        yield t.sleepOn(s.wait);
        continue;
      }
      yield* ksm_do_scan(t, s, s.pagesToScan);
      // An empty list (every mm exited) sends ksmd to wait for the next one, with no timer pending.
      if (!ksmd_should_run(s)) continue;
      yield t.sleepFor(nsToCycles(k.cfg, s.sleepMs * 1e6));
    }
  };
}

/**
 * break_ksm() over [start, end): an unsharing write fault on every KSM page
 * mapped there, so each address gets a private copy (unmerge_ksm_pages).
 */
export function* unmerge_ksm_pages(t: Task, vma: VmAreaStruct, start: number, end: number): Blocking<number> {
  const mm = vma.vmMm;
  const k = mm.k;
  const memmap = k.mem_map;
  t.enter(CAT_UNMERGE_KSM_PAGES);
  let r = 0;
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    const table = pteTableOrSkip(t, mm, addr);
    if (table < 0) {
      // Nothing mapped below this PMD entry: skip to its end.
      addr = Math.min(end, (Math.floor(addr / 2 ** 21) + 1) * 2 ** 21) - PAGE_SIZE;
      continue;
    }
    const pte = ptep_get(t, mm, table, tableIndex(addr, 1));
    if ((pte & PTE_PRESENT) === 0 || (memmap.flags[ptePfn(pte)]! & PG_ksm) === 0) continue;
    const ret = yield* handle_mm_fault(t, vma, addr, FAULT_FLAG_WRITE);
    if (ret & VM_FAULT_ERROR) {
      // Only running out of memory is an error (a SIGBUS/SIGSEGV result leaves the page to a later attempt).
      if (ret & VM_FAULT_OOM) {
        r = -ENOMEM;
        break;
      }
    }
    if (t.shouldYield()) yield;
  }
  t.leave();
  return r;
}

/** The flag behaviours madvise.ts registers, which the KSM ones wrap (set once, at the first ksm_init). */
let setMergeableFlag: MadviseVisit | null = null;
let clearMergeableFlag: MadviseVisit | null = null;

/** ksm_madvise(MADV_MERGEABLE): set the flag as madvise does and put the mm on ksmd's list (__ksm_enter). */
const ksm_madvise_mergeable: MadviseVisit = function* (t, mb, vma, prev, start, end) {
  const r = yield* setMergeableFlag!(t, mb, vma, prev, start, end);
  if (typeof r !== 'number' && (r.vmFlags & VM_MERGEABLE) !== 0) ksm_enter(t, mb.mm);
  return r;
};

/** ksm_madvise(MADV_UNMERGEABLE): break the range's KSM pages, then clear the flag. */
const ksm_madvise_unmergeable: MadviseVisit = function* (t, mb, vma, prev, start, end) {
  if ((vma.vmFlags & VM_MERGEABLE) !== 0 && vma.anonVma) {
    const e = yield* unmerge_ksm_pages(t, vma, start, end);
    if (e < 0) return e;
  }
  return yield* clearMergeableFlag!(t, mb, vma, prev, start, end);
};

/** ksm_init(): state from the settings and the madvise behaviours. After mm_init. */
export function ksm_init(k: Kernel): void {
  const s = new KsmState(k);
  k.ksm = s;
  if (!setMergeableFlag) {
    setMergeableFlag = madviseBehaviours.get(MADV_MERGEABLE)!;
    clearMergeableFlag = madviseBehaviours.get(MADV_UNMERGEABLE)!;
    madviseBehaviours.set(MADV_MERGEABLE, ksm_madvise_mergeable);
    madviseBehaviours.set(MADV_UNMERGEABLE, ksm_madvise_unmergeable);
  }
}

/** ksm_fork(): a child of an address space KSM scans is scanned too (dup_mmap calls it before copying the areas). */
export function ksm_fork(t: Task, mm: MmStruct, oldmm: MmStruct): void {
  if (ksmState(mm.k).slots.includes(oldmm)) ksm_enter(t, mm);
}
