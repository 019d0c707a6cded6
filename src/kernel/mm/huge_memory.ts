/**
 * Transparent huge pages for anonymous memory, after mm/huge_memory.c: a
 * fault in a 2 MiB-aligned range that lies wholly inside an area THP may use
 * maps a 2 MiB page with one PMD leaf (PTE_PSE at the PD level), so the MMU
 * caches it in one 2 MiB TLB entry.
 *
 *   do_huge_pmd_anonymous_page  512 contiguous frames (PG_head + 511 PG_tail),
 *                               cleared, mapped writable and dirty; a page
 *                               table is deposited for a later split
 *   do_huge_pmd_wp_page         a write to a write-protected PMD (after fork):
 *                               reuse an exclusive page, else split the PMD
 *                               and let the PTE path copy (as Linux does)
 *   __split_huge_pmd            the PMD becomes the deposited table of 512 PTEs
 *                               with the same rights (thp_split_pmd)
 *   zap_huge_pmd                munmap/DONTNEED of the whole 2 MiB
 *   copy_huge_pmd               fork: both PMDs write-protected, nothing copied
 *
 * Accounting model: a PMD mapping holds one reference and one mapcount on
 * each of its 512 frames, and each frame keeps its own anon rmap index, so
 * a split changes no counts and the frames can be reclaimed, zapped and
 * freed one by one afterwards (where Linux keeps a folio whose refcount
 * lives in the head until the deferred split). The compound flags go when
 * the last PMD mapping does (thp_split_page). Costs are charged per folio as
 * Linux pays them (one struct-page access), not per frame, except clearing
 * (512 x cost.zero_page) and the 512 PTE stores of a split.
 */
import { makePte, PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_PSE, PTE_RW, PTE_TABLE, ptePfn, pteFlags, tableIndex } from '../../hw/pagetable.js';
import { HPAGE_NR, PG_anon, PG_head, PG_mlocked, PG_swapbacked, PG_tail } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { MmCore, mmCore } from './core.js';
import { MM_ANONPAGES, PAGE_SIZE, PMD_SIZE, VM_HUGEPAGE, VM_HUGETLB, VM_LOCKED, VM_NOHUGEPAGE, VM_SPECIAL, VM_WRITE, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { alloc_pgtable_page, free_pgtable_page } from './page_alloc.js';
import { ptep_get, set_pte_at } from './pgtable.js';
import { anon_vma_prepare, linear_page_index, PG_anon_exclusive } from './rmap.js';
import { flush_tlb_mm_range } from './tlbflush.js';

/** VM_FAULT_FALLBACK: the huge path declined; the caller goes on with PTEs. */
export const VM_FAULT_FALLBACK = 0x000800;
/** HPAGE_PMD_SHIFT: the stride of a PMD flush. */
export const HPAGE_PMD_SHIFT = 21;

const CAT_HUGE_ANON = intern('do_huge_pmd_anonymous_page');
const CAT_HUGE_WP = intern('do_huge_pmd_wp_page');
const CAT_SPLIT_PMD = intern('split_huge_pmd');
const CAT_ZAP_HUGE = intern('zap_huge_pmd');
const CAT_COPY_HUGE = intern('copy_huge_pmd');
const CAT_CLEAR_HUGE = intern('clear_huge_page');

/** Per-kernel THP state: deposited tables and the PMD mappings of each compound page. */
class ThpState {
  /** pgtable_trans_huge_deposit: PD table frame * 512 + index -> the PT frame kept for its split. */
  readonly deposits = new Map<number, number>();
  /** Head pfn -> PMDs mapping the compound page (folio_entire_mapcount). */
  readonly entireMap = new Map<number, number>();
}

const states = new WeakMap<Kernel, ThpState>();

function thp(k: Kernel): ThpState {
  let s = states.get(k);
  if (!s) {
    s = new ThpState();
    states.set(k, s);
  }
  return s;
}

function depositKey(pdTable: number, idx: number): number {
  return pdTable * 512 + idx;
}

/** Head pfns with a live PMD mapping (for the invariant checks). */
export function thp_entire_mapcount(k: Kernel, head: number): number {
  return thp(k).entireMap.get(head) ?? 0;
}

/** Deposited page tables of the kernel (for the invariant checks and tests). */
export function thp_deposited(k: Kernel): number {
  return thp(k).deposits.size;
}

/**
 * thp_vma_allowable_order() for a PMD: may this area get huge pages?
 * `collapse` ignores the sysfs `enabled` setting, as MADV_COLLAPSE does.
 */
export function thp_vma_allowable(vma: VmAreaStruct, collapse = false): boolean {
  const f = vma.vmFlags;
  if (!vma.isAnonymous) return false;
  if (f & (VM_NOHUGEPAGE | VM_HUGETLB | VM_SPECIAL)) return false;
  if (vma.vmMm.thpDisabled) return false;
  if (collapse) return true;
  const mode = vma.vmMm.k.cfg.kernel.thp;
  return mode === 'always' || (mode === 'madvise' && (f & VM_HUGEPAGE) !== 0);
}

/** thp_vma_suitable_order(): the aligned 2 MiB around addr lies inside the area, at a matching page offset. */
export function thp_vma_suitable(vma: VmAreaStruct, haddr: number): boolean {
  if ((vma.vmStart / PAGE_SIZE - vma.vmPgoff) % HPAGE_NR !== 0) return false;
  return haddr >= vma.vmStart && haddr + PMD_SIZE <= vma.vmEnd;
}

/** A 2 MiB leaf at the PD level, as the MMU sees it (no cycles). */
export function pmd_trans_huge(pmd: number): boolean {
  return (pmd & (PTE_PRESENT | PTE_PSE)) === (PTE_PRESENT | PTE_PSE);
}

/** Does a PMD leaf map addr in mm? Functional (no cycles), for callers deciding whether to take the huge path. */
export function huge_pmd_at(mm: MmStruct, addr: number): boolean {
  const pt = mm.k.machine.pt;
  const e = pt.walkFunctional(mm.pgd, addr);
  return pt.walkLevel === 2 && pmd_trans_huge(e);
}

/**
 * pmd_alloc(): the PD table covering addr, creating the PML4 and PDPT
 * entries as needed; -1 when out of memory.
 */
export function* pmd_alloc(t: Task, mm: MmStruct, addr: number): Blocking<number> {
  const k = mm.k;
  const pt = k.machine.pt;
  let table = mm.pgd;
  for (let level = 4; level >= 3; level--) {
    const idx = tableIndex(addr, level);
    let e = ptep_get(t, mm, table, idx);
    if ((e & PTE_PRESENT) === 0) {
      const child = yield* alloc_pgtable_page(t);
      if (child < 0) return -1;
      e = pt.readEntry(table, idx);
      if ((e & PTE_PRESENT) !== 0) free_pgtable_page(k, child);
      else {
        e = makePte(child, PTE_TABLE);
        set_pte_at(t, mm, table, idx, e);
        mm.pgtablesBytes += PAGE_SIZE;
      }
    }
    table = ptePfn(e);
  }
  return table;
}

/** pmd_offset() without allocating: the PD table covering addr, or -1 (charged). */
export function pmd_table(t: Task, mm: MmStruct, addr: number): number {
  let table = mm.pgd;
  for (let level = 4; level >= 3; level--) {
    const e = ptep_get(t, mm, table, tableIndex(addr, level));
    if ((e & PTE_PRESENT) === 0) return -1;
    table = ptePfn(e);
  }
  return table;
}

/**
 * Allocates a compound page of 512 frames (__folio_alloc with order 9, no
 * direct compaction): the head pfn with every frame's refcount 1, or -1.
 */
export function allocHugePage(t: Task): number {
  const k = t.k;
  const memmap = k.mem_map;
  const core = mmCore(k);
  if (memmap.freeCount - HPAGE_NR <= core.lowWmark) {
    core.hooks.wakeupKswapd?.(t);
    return -1;
  }
  const head = memmap.allocAligned(HPAGE_NR);
  if (head < 0) return -1;
  for (let i = 0; i < HPAGE_NR; i++) {
    memmap.refcount[head + i] = 1;
    memmap.mapcount[head + i] = 0;
    memmap.flags[head + i] = i === 0 ? PG_head : PG_tail;
  }
  t.charge(k.cfg.kernel.cost.page_alloc + k.machine.caches.access(t.cpu, MmCore.pageKaddr(head), true));
  k.engine.counters.add('pgalloc_normal', HPAGE_NR);
  return head;
}

/** Frees a compound page that was never mapped (a lost race, a failed collapse). */
function freeHugePage(t: Task, head: number): void {
  const k = t.k;
  const memmap = k.mem_map;
  const core = mmCore(k);
  for (let i = 0; i < HPAGE_NR; i++) {
    core.hooks.onFree?.(k, head + i);
    memmap.refcount[head + i] = 0;
    memmap.mapcount[head + i] = 0;
    memmap.free(head + i);
  }
  t.charge(k.cfg.kernel.cost.page_free);
  k.engine.counters.add('pgfree', HPAGE_NR);
}

/** clear_huge_page(): 512 x clear_page. */
function clearHugePage(t: Task, head: number): void {
  const k = t.k;
  const mem = k.machine.mem;
  for (let i = 0; i < HPAGE_NR; i++) mem.zero(head + i);
  t.chargeAs(CAT_CLEAR_HUGE, HPAGE_NR * k.cfg.cost.zero_page + k.dramStream(t, HPAGE_NR * PAGE_SIZE, HPAGE_NR * k.cfg.cost.zero_page));
  k.engine.counters.add('pages_cleared', HPAGE_NR);
}

/**
 * folio_add_new_anon_rmap() for a compound page mapped by one PMD at haddr,
 * and folio_add_lru_vma(): each frame is the area's, exclusively, at its
 * own page index.
 */
function hugeAddNewAnonRmap(t: Task, vma: VmAreaStruct, head: number, haddr: number): void {
  const k = vma.vmMm.k;
  const memmap = k.mem_map;
  const av = vma.anonVma!;
  const first = linear_page_index(vma, haddr);
  const locked = (vma.vmFlags & VM_LOCKED) !== 0;
  const core = mmCore(k);
  for (let i = 0; i < HPAGE_NR; i++) {
    const pfn = head + i;
    memmap.flags[pfn] = (memmap.flags[pfn]! | PG_anon | PG_swapbacked | PG_anon_exclusive | (locked ? PG_mlocked : 0)) >>> 0;
    memmap.owner[pfn] = av.id;
    memmap.index[pfn] = first + i;
    memmap.mapcount[pfn] = 1;
    // One LRU entry per frame; the head's insertion is the one charged (a folio goes on the list once).
    core.hooks.onNewPage?.(k, pfn, i === 0 ? t : undefined);
  }
  av.pages += HPAGE_NR;
  if (locked) k.engine.counters.add('unevictable_pgs_mlocked', HPAGE_NR);
  thp(k).entireMap.set(head, 1);
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(head), true));
}

/** The PMD a new huge mapping in `vma` gets: mk_huge_pmd, pmd_mkdirty, maybe_pmd_mkwrite. */
function mkHugePmd(vma: VmAreaStruct, head: number): number {
  let f = pteFlags(makePte(0, vma.vmPageProt)) | PTE_PSE | PTE_DIRTY | PTE_ACCESSED;
  if ((vma.vmFlags & VM_WRITE) !== 0) f |= PTE_RW;
  return makePte(head, f);
}

/**
 * do_huge_pmd_anonymous_page(): map a new zeroed 2 MiB page at the PMD for
 * address. Returns 0, VM_FAULT_FALLBACK (no 512 frames: thp_fault_fallback)
 * or VM_FAULT_OOM. The huge zero page is not modelled: a read fault
 * allocates too, as with use_zero_page off.
 */
export function* do_huge_pmd_anonymous_page(t: Task, vma: VmAreaStruct, address: number, pdTable: number): Blocking<number> {
  const mm = vma.vmMm;
  const k = mm.k;
  const haddr = Math.floor(address / PMD_SIZE) * PMD_SIZE;
  const idx = tableIndex(haddr, 2);
  t.enter(CAT_HUGE_ANON);
  anon_vma_prepare(t, vma);
  const head = allocHugePage(t);
  if (head < 0) {
    k.engine.counters.add('thp_fault_fallback');
    t.leave();
    return VM_FAULT_FALLBACK;
  }
  clearHugePage(t, head);
  // pte_alloc_one for the deposit, before the PMD lock.
  const pgtable = yield* alloc_pgtable_page(t);
  if (pgtable < 0) {
    freeHugePage(t, head);
    k.engine.counters.add('thp_fault_fallback');
    t.leave();
    return VM_FAULT_FALLBACK;
  }
  // pmd_lock: the split PMD lock lives in the PD table's struct page.
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pdTable), true) + k.cfg.cost.atomic_rmw);
  if (ptep_get(t, mm, pdTable, idx) !== 0) {
    // Another fault filled the PMD while this one slept.
    free_pgtable_page(k, pgtable);
    freeHugePage(t, head);
    t.leave();
    return 0;
  }
  hugeAddNewAnonRmap(t, vma, head, haddr);
  thp(k).deposits.set(depositKey(pdTable, idx), pgtable);
  mm.pgtablesBytes += PAGE_SIZE;
  set_pte_at(t, mm, pdTable, idx, mkHugePmd(vma, head));
  mm.rss[MM_ANONPAGES]! += HPAGE_NR;
  k.engine.counters.add('thp_fault_alloc');
  t.leave();
  return 0;
}

/**
 * Maps a compound page (every frame's contents set, refcount 1) at the none
 * PMD (pdTable, idx) for haddr, depositing `pgtable` for a later split:
 * collapse_huge_page's tail. The caller accounts rss.
 */
export function huge_pmd_install(t: Task, vma: VmAreaStruct, pdTable: number, idx: number, haddr: number, head: number, pgtable: number): void {
  hugeAddNewAnonRmap(t, vma, head, haddr);
  thp(vma.vmMm.k).deposits.set(depositKey(pdTable, idx), pgtable);
  set_pte_at(t, vma.vmMm, pdTable, idx, mkHugePmd(vma, head));
}

/**
 * The compound page's last PMD mapping went: it becomes 512 order-0 pages
 * (what the deferred split queue's split_huge_page does in Linux).
 */
function dropEntireMapping(k: Kernel, head: number): void {
  const st = thp(k);
  const n = (st.entireMap.get(head) ?? 0) - 1;
  if (n > 0) {
    st.entireMap.set(head, n);
    return;
  }
  st.entireMap.delete(head);
  const memmap = k.mem_map;
  if ((memmap.flags[head]! & PG_head) === 0) return;
  for (let i = 0; i < HPAGE_NR; i++) memmap.flags[head + i] = (memmap.flags[head + i]! & ~(PG_head | PG_tail)) >>> 0;
  k.engine.counters.add('thp_split_page');
}

/**
 * __split_huge_pmd_locked(): replace the PMD leaf at (pdTable, idx) by the
 * deposited table holding 512 PTEs with the leaf's rights, A and D bits.
 * No TLB flush here: the stale 2 MiB entry maps the same frames with the
 * same rights, and every later flush of a page in the range drops it
 * (INVLPG removes the 2 MiB entry covering the address).
 */
export function split_huge_pmd_locked(t: Task, mm: MmStruct, pdTable: number, idx: number): void {
  const k = mm.k;
  const pmd = ptep_get(t, mm, pdTable, idx);
  if (!pmd_trans_huge(pmd)) return;
  t.enter(CAT_SPLIT_PMD);
  const st = thp(k);
  const key = depositKey(pdTable, idx);
  const pgtable = st.deposits.get(key);
  if (pgtable === undefined) throw new Error(`split_huge_pmd: no deposited table for PD ${pdTable} index ${idx}`);
  st.deposits.delete(key);
  const head = ptePfn(pmd);
  const flags = pteFlags(pmd) & ~PTE_PSE;
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pdTable), true) + k.cfg.cost.atomic_rmw);
  for (let i = 0; i < HPAGE_NR; i++) set_pte_at(t, mm, pgtable, i, makePte(head + i, flags));
  set_pte_at(t, mm, pdTable, idx, makePte(pgtable, PTE_TABLE));
  dropEntireMapping(k, head);
  k.engine.counters.add('thp_split_pmd');
  t.leave();
}

/**
 * split_huge_pmd_if_needed() (vma_adjust_trans_huge): an area boundary about
 * to be placed at `addr` must not cut a PMD leaf, so a leaf covering a
 * boundary that is not 2 MiB aligned is split into PTEs first. (No flush, as
 * for split_huge_pmd_locked: the same frames stay mapped.)
 */
export function split_huge_pmd_if_needed(t: Task, vma: VmAreaStruct, addr: number): void {
  if (addr % PMD_SIZE === 0) return;
  const haddr = addr - (addr % PMD_SIZE);
  if (haddr < vma.vmStart || haddr + PMD_SIZE > vma.vmEnd) return;
  const mm = vma.vmMm;
  if (!huge_pmd_at(mm, addr)) return;
  split_huge_pmd_locked(t, mm, pmd_table(t, mm, addr), tableIndex(addr, 2));
}

/**
 * move_huge_pmd(): mremap moves a whole PMD leaf: the entry goes to the
 * destination's PD table (pmdp_huge_get_and_clear + set_pmd_at) with its
 * deposited table (pgtable_trans_huge_withdraw/deposit). The caller
 * flushes the old range.
 */
export function move_huge_pmd(t: Task, mm: MmStruct, oldPd: number, oldIdx: number, newPd: number, newIdx: number): void {
  const pmd = ptep_get(t, mm, oldPd, oldIdx);
  set_pte_at(t, mm, oldPd, oldIdx, 0);
  t.charge(mm.k.cfg.cost.atomic_rmw);
  const st = thp(mm.k);
  const key = depositKey(oldPd, oldIdx);
  const pgtable = st.deposits.get(key);
  if (pgtable !== undefined) {
    st.deposits.delete(key);
    st.deposits.set(depositKey(newPd, newIdx), pgtable);
  }
  set_pte_at(t, mm, newPd, newIdx, pmd);
}

/**
 * split_huge_pmd(): as split_huge_pmd_locked, with the flush of the range
 * pmdp_invalidate does (one INVLPG of the 2 MiB entry per CPU).
 */
export function* split_huge_pmd(t: Task, mm: MmStruct, pdTable: number, idx: number, haddr: number): Blocking<void> {
  split_huge_pmd_locked(t, mm, pdTable, idx);
  yield* flush_tlb_mm_range(t, mm, haddr, haddr + PMD_SIZE, HPAGE_PMD_SHIFT, false);
}

/**
 * zap_huge_pmd(): clear a whole PMD leaf; the frames go to the gather (freed
 * after its flush) and the deposited table is freed at once (it was never
 * reachable by a walker). `removePage` is tlb_remove_page.
 */
export function zap_huge_pmd(t: Task, mm: MmStruct, pdTable: number, idx: number, removePages: (head: number) => void): void {
  const k = mm.k;
  const memmap = k.mem_map;
  t.enter(CAT_ZAP_HUGE);
  const pmd = ptep_get(t, mm, pdTable, idx);
  // pmdp_huge_get_and_clear_full: an xchg.
  set_pte_at(t, mm, pdTable, idx, 0);
  t.charge(k.cfg.cost.atomic_rmw);
  const head = ptePfn(pmd);
  const st = thp(k);
  const key = depositKey(pdTable, idx);
  const pgtable = st.deposits.get(key);
  if (pgtable !== undefined) {
    st.deposits.delete(key);
    free_pgtable_page(k, pgtable);
    mm.pgtablesBytes -= PAGE_SIZE;
  }
  for (let i = 0; i < HPAGE_NR; i++) {
    const pfn = head + i;
    const m = --memmap.mapcount[pfn]!;
    if (m < 0) throw new Error(`zap_huge_pmd: pfn ${pfn} mapcount went negative`);
    if (m === 0) memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_mlocked) >>> 0;
  }
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(head), true) + k.cfg.cost.atomic_rmw);
  mm.rss[MM_ANONPAGES]! -= HPAGE_NR;
  dropEntireMapping(k, head);
  removePages(head);
  t.leave();
}

/**
 * copy_huge_pmd(): fork of a PMD leaf. The child gets the same 2 MiB page,
 * both PMDs write-protected (a write then faults into do_huge_pmd_wp_page);
 * every frame gains a reference and a mapping and stops being exclusive.
 * Returns 0 or -ENOMEM.
 */
export function* copy_huge_pmd(t: Task, dst: VmAreaStruct, src: VmAreaStruct, srcPd: number, idx: number, addr: number): Blocking<number> {
  const dstMm = dst.vmMm;
  const srcMm = src.vmMm;
  const k = srcMm.k;
  const memmap = k.mem_map;
  t.enter(CAT_COPY_HUGE);
  const pgtable = yield* alloc_pgtable_page(t);
  if (pgtable < 0) {
    t.leave();
    return -12;
  }
  const dstPd = yield* pmd_alloc(t, dstMm, addr);
  if (dstPd < 0) {
    free_pgtable_page(k, pgtable);
    t.leave();
    return -12;
  }
  let pmd = ptep_get(t, srcMm, srcPd, idx);
  const head = ptePfn(pmd);
  for (let i = 0; i < HPAGE_NR; i++) {
    const pfn = head + i;
    memmap.refcount[pfn]!++;
    memmap.mapcount[pfn]!++;
    memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_anon_exclusive) >>> 0;
  }
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(head), true) + k.cfg.cost.atomic_rmw);
  const st = thp(k);
  st.entireMap.set(head, (st.entireMap.get(head) ?? 0) + 1);
  st.deposits.set(depositKey(dstPd, idx), pgtable);
  dstMm.pgtablesBytes += PAGE_SIZE;
  dstMm.rss[MM_ANONPAGES]! += HPAGE_NR;
  if (src.isCow && (pmd & PTE_RW) !== 0) {
    // pmdp_set_wrprotect on the parent.
    pmd = makePte(head, pteFlags(pmd) & ~PTE_RW);
    t.charge(k.cfg.cost.atomic_rmw);
    set_pte_at(t, srcMm, srcPd, idx, pmd);
  }
  set_pte_at(t, dstMm, dstPd, idx, makePte(head, pteFlags(pmd) & ~PTE_ACCESSED));
  t.leave();
  return 0;
}

/**
 * do_huge_pmd_wp_page(): a write to a write-protected PMD leaf. A page only
 * this mapping uses is made writable in place; otherwise the PMD is split
 * and the caller retries with PTEs, where do_wp_page copies the one 4 KiB
 * page (Linux no longer copies 2 MiB on COW).
 */
export function* do_huge_pmd_wp_page(t: Task, vma: VmAreaStruct, address: number, pdTable: number): Blocking<number> {
  const mm = vma.vmMm;
  const k = mm.k;
  const memmap = k.mem_map;
  const haddr = Math.floor(address / PMD_SIZE) * PMD_SIZE;
  const idx = tableIndex(haddr, 2);
  t.enter(CAT_HUGE_WP);
  const pmd = ptep_get(t, mm, pdTable, idx);
  const head = ptePfn(pmd);
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(head), false));
  let exclusive = true;
  for (let i = 0; i < HPAGE_NR && exclusive; i++) {
    const pfn = head + i;
    exclusive = (memmap.flags[pfn]! & PG_anon_exclusive) !== 0 || memmap.refcount[pfn] === 1;
  }
  if (exclusive && (memmap.flags[head]! & PG_head) !== 0) {
    for (let i = 0; i < HPAGE_NR; i++) memmap.flags[head + i] = (memmap.flags[head + i]! | PG_anon_exclusive) >>> 0;
    set_pte_at(t, mm, pdTable, idx, makePte(head, pteFlags(pmd) | PTE_RW | PTE_DIRTY | PTE_ACCESSED));
    t.leave();
    return 0;
  }
  yield* split_huge_pmd(t, mm, pdTable, idx, haddr);
  t.leave();
  return VM_FAULT_FALLBACK;
}

/**
 * The PMD step of __handle_mm_fault for an address whose PMD is none in an
 * area THP may use, or is a leaf already. Returns VM_FAULT_FALLBACK when
 * the fault is for the PTE level.
 */
export function* handle_huge_pmd_fault(t: Task, vma: VmAreaStruct, address: number, write: boolean): Blocking<number> {
  const mm = vma.vmMm;
  const pdTable = yield* pmd_alloc(t, mm, address);
  if (pdTable < 0) return 0x000001; // VM_FAULT_OOM
  const idx = tableIndex(address, 2);
  const pmd = ptep_get(t, mm, pdTable, idx);
  if (pmd === 0) {
    const haddr = Math.floor(address / PMD_SIZE) * PMD_SIZE;
    if (!thp_vma_allowable(vma) || !thp_vma_suitable(vma, haddr)) return VM_FAULT_FALLBACK;
    return yield* do_huge_pmd_anonymous_page(t, vma, address, pdTable);
  }
  if (!pmd_trans_huge(pmd)) return VM_FAULT_FALLBACK;
  if (write && (pmd & PTE_RW) === 0) return yield* do_huge_pmd_wp_page(t, vma, address, pdTable);
  // huge_pmd_set_accessed(): a spurious fault (another CPU mapped it, or an A/D update).
  const want = pmd | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
  if (want !== pmd) set_pte_at(t, mm, pdTable, idx, makePte(ptePfn(pmd), pteFlags(want)));
  return 0;
}

/**
 * Does handle_mm_fault need the PMD step at all? Functional (no cycles), so
 * faults in areas without THP cost what they did.
 */
export function thp_fault_wanted(vma: VmAreaStruct, address: number): boolean {
  const mm = vma.vmMm;
  const pt = mm.k.machine.pt;
  const e = pt.walkFunctional(mm.pgd, address);
  if (pt.walkLevel === 2 && pmd_trans_huge(e)) return true;
  if (pt.walkLevel === 1) return false;
  if (!vma.isAnonymous || !thp_vma_allowable(vma)) return false;
  return thp_vma_suitable(vma, Math.floor(address / PMD_SIZE) * PMD_SIZE);
}

/**
 * follow_huge_pmd() for get_user_pages: when a PMD leaf maps addr, returns
 * 1 if it grants the access (marking it young, and dirty for a write, with
 * FOLL_TOUCH), 0 if a fault is needed (a write to a write-protected leaf),
 * and -1 when no leaf maps addr (the caller walks the PTEs).
 */
export function follow_huge_pmd(t: Task, mm: MmStruct, addr: number, write: boolean, touch: boolean): number {
  if (!huge_pmd_at(mm, addr)) return -1;
  const pdTable = pmd_table(t, mm, addr);
  const idx = tableIndex(addr, 2);
  const pmd = ptep_get(t, mm, pdTable, idx);
  if (write && (pmd & PTE_RW) === 0) return 0;
  if (touch) {
    const want = pmd | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
    if (want !== pmd) set_pte_at(t, mm, pdTable, idx, makePte(ptePfn(pmd), pteFlags(want)));
  }
  return 1;
}
