/**
 * struct mmu_gather, after mm/mmu_gather.c and include/asm-generic/tlb.h:
 * unmapping gathers the pages it took out of page tables and the range it
 * touched; the TLB flush comes first and the frames are freed only after
 * every CPU has flushed, so no CPU can reach a frame through a stale TLB
 * entry once it is reused.
 *
 * Batching as in the kernel: the first MMU_GATHER_BUNDLE pages go in the
 * gather itself, then batch pages of MAX_GATHER_BATCH pointers each are
 * allocated, up to MAX_GATHER_BATCH_COUNT of them; when that is full the
 * caller must flush (tlb_flush_mmu) before gathering more (a forced flush in
 * zap_pte_range). Page-table pages go on their own list and, as x86 frees
 * them with MMU_GATHER_RCU_TABLE_FREE, are freed after an RCU grace period
 * that follows the flush.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { call_rcu } from '../rcu/tree.js';
import { MmCore, mmCore } from './core.js';
import { type MmStruct, PAGE_SIZE } from './mm_types.js';
import { memcg_uncharge_begin, memcg_uncharge_end } from './memcontrol.js';
import { free_pgtable_page, put_page_testzero_free } from './page_alloc.js';
import { folios_release_lru, PAGEVEC_SIZE } from './swap.js';
import { flush_tlb_mm_range, TLB_FLUSH_ALL } from './tlbflush.js';

/** Pages held in the gather itself (MMU_GATHER_BUNDLE). */
export const MMU_GATHER_BUNDLE = 8;
/** Pointers per batch page: (PAGE_SIZE - sizeof(struct mmu_gather_batch)) / sizeof(void *). */
export const MAX_GATHER_BATCH = 510;
/** Batch pages before a forced flush: 10000 / MAX_GATHER_BATCH. */
export const MAX_GATHER_BATCH_COUNT = Math.floor(10000 / MAX_GATHER_BATCH);

/** Offset of tlb_flush_pending inside struct mm_struct. */
const MM_FLUSH_PENDING_OFF = 64;

const CAT_TLB_FINISH = intern('tlb_finish_mmu');
const CAT_TLB_FLUSH_MMU = intern('tlb_flush_mmu');
const CAT_FREE_PAGES = intern('free_pages_and_swap_cache');

export class MmuGather {
  /** Lowest and highest+1 address of cleared entries (start > end: nothing to flush). */
  start = Infinity;
  end = 0;
  freedTables = false;
  clearedPtes = false;
  /** Frames waiting for the flush, then for their last reference to drop. */
  readonly pages: number[] = [];
  /** Page-table frames waiting for the flush and a grace period. */
  readonly tables: number[] = [];
  /** Kernel address of the bundle, for the pointer stores. */
  readonly bundleKaddr: number;
  /** Batch pages allocated so far (kept across flushes, freed by tlb_finish_mmu, as tlb_batch_list_free does). */
  readonly batchKaddrs: number[] = [];

  constructor(
    readonly mm: MmStruct,
    /** Tearing down the whole address space (exit_mmap). */
    readonly fullmm: boolean,
  ) {
    this.bundleKaddr = mm.k.slab.kmalloc(MMU_GATHER_BUNDLE * 8);
  }

  /** Pages gathered since the last flush. */
  get nrPages(): number {
    return this.pages.length;
  }
}

/** tlb_gather_mmu(): start gathering for `mm`; TLB flushes are pending until tlb_finish_mmu. */
export function tlb_gather_mmu(t: Task, mm: MmStruct, fullmm = false): MmuGather {
  const tlb = new MmuGather(mm, fullmm);
  // inc_tlb_flush_pending: an atomic on the mm (its own line, apart from mmap_lock's).
  t.charge(mm.k.machine.caches.access(t.cpu, mm.kaddr + MM_FLUSH_PENDING_OFF, true) + mm.k.cfg.cost.atomic_rmw);
  mm.tlbFlushPending++;
  return tlb;
}

/** __tlb_adjust_range / tlb_flush_pte_range: the range the flush must cover. */
export function tlb_flush_pte_range(tlb: MmuGather, addr: number, size: number): void {
  if (addr < tlb.start) tlb.start = addr;
  if (addr + size > tlb.end) tlb.end = addr + size;
  tlb.clearedPtes = true;
}

/**
 * __tlb_remove_page(): gather a frame whose mapping was removed. Returns true
 * when the gather is full and the caller must flush (tlb_flush_mmu) before
 * removing more.
 */
export function tlb_remove_page(t: Task, tlb: MmuGather, pfn: number): boolean {
  const k = tlb.mm.k;
  const n = tlb.pages.length;
  let addr: number;
  if (n < MMU_GATHER_BUNDLE) addr = tlb.bundleKaddr + n * 8;
  else {
    const batch = Math.floor((n - MMU_GATHER_BUNDLE) / MAX_GATHER_BATCH);
    if (batch >= tlb.batchKaddrs.length) {
      // tlb_next_batch(): a new batch page (GFP_NOWAIT).
      t.charge(k.cfg.kernel.cost.page_alloc);
      tlb.batchKaddrs.push(k.slab.kmalloc(PAGE_SIZE));
    }
    addr = tlb.batchKaddrs[batch]! + ((n - MMU_GATHER_BUNDLE) % MAX_GATHER_BATCH) * 8;
  }
  t.charge(k.machine.caches.access(t.cpu, addr, true));
  tlb.pages.push(pfn);
  const cap = MMU_GATHER_BUNDLE + MAX_GATHER_BATCH_COUNT * MAX_GATHER_BATCH;
  return tlb.pages.length >= cap;
}

/** tlb_remove_table(): a page-table frame unlinked from the tree; the flush must also drop paging-structure caches. */
export function tlb_remove_table(tlb: MmuGather, pfn: number): void {
  tlb.tables.push(pfn);
  tlb.freedTables = true;
}

/**
 * tlb_flush_mmu_tlbonly(): the TLB flush for what was gathered, as x86's
 * tlb_flush() asks for it (everything for a full-mm teardown).
 */
function* tlbFlushMmuTlbonly(t: Task, tlb: MmuGather): Blocking<void> {
  if (!(tlb.freedTables || tlb.clearedPtes)) return;
  if (tlb.fullmm) yield* flush_tlb_mm_range(t, tlb.mm, 0, TLB_FLUSH_ALL, 12, tlb.freedTables);
  else yield* flush_tlb_mm_range(t, tlb.mm, tlb.start, tlb.end, 12, tlb.freedTables);
  tlb.start = Infinity;
  tlb.end = 0;
  tlb.clearedPtes = false;
}

/** tlb_flush_mmu_free(): after the flush, drop the gathered pages' references and queue the tables for RCU. */
function* tlbFlushMmuFree(t: Task, tlb: MmuGather): Blocking<void> {
  const k = tlb.mm.k;
  if (tlb.tables.length > 0) {
    const tables = tlb.tables.splice(0);
    // tlb_remove_table_free(): the whole batch goes to call_rcu as one head.
    call_rcu(t, tables.length * PAGE_SIZE, () => {
      for (const pfn of tables) free_pgtable_page(k, pfn);
      return tables.length * k.cfg.kernel.cost.page_free;
    });
    tlb.freedTables = false;
  }
  if (tlb.pages.length === 0) return;
  t.enter(CAT_FREE_PAGES);
  const core = mmCore(k);
  const pages = tlb.pages;
  // free_pages_and_swap_cache(): folio batches of PAGEVEC_SIZE through folios_put_refs, each dropping its
  // references, taking the pages whose last reference goes off their LRU list under one lru_lock hold, then
  // freeing them.
  for (let i = 0; i < pages.length; i += PAGEVEC_SIZE) {
    const end = Math.min(pages.length, i + PAGEVEC_SIZE);
    for (let j = i; j < end; j++) {
      const pfn = pages[j]!;
      t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true) + k.cfg.cost.atomic_rmw);
      core.hooks.freeSwapCache?.(t, pfn);
    }
    folios_release_lru(t, pages, i, end);
    // mem_cgroup_uncharge_folios: one uncharge_gather for the batch's freed folios.
    memcg_uncharge_begin(t);
    for (let j = i; j < end; j++) put_page_testzero_free(t, pages[j]!);
    memcg_uncharge_end(t);
    // release_pages frees in chunks and reschedules between them.
    if (t.shouldYield()) yield;
  }
  pages.length = 0;
  t.leave();
}

/** tlb_flush_mmu(): flush the TLBs, then free what was gathered. */
export function* tlb_flush_mmu(t: Task, tlb: MmuGather): Blocking<void> {
  t.enter(CAT_TLB_FLUSH_MMU);
  yield* tlbFlushMmuTlbonly(t, tlb);
  yield* tlbFlushMmuFree(t, tlb);
  t.leave();
}

/** tlb_finish_mmu(): the final flush and free; the mm has no flush pending afterwards. */
export function* tlb_finish_mmu(t: Task, tlb: MmuGather): Blocking<void> {
  t.enter(CAT_TLB_FINISH);
  yield* tlb_flush_mmu(t, tlb);
  const mm = tlb.mm;
  t.charge(mm.k.machine.caches.access(t.cpu, mm.kaddr + MM_FLUSH_PENDING_OFF, true) + mm.k.cfg.cost.atomic_rmw);
  mm.tlbFlushPending--;
  const slab = mm.k.slab;
  for (const b of tlb.batchKaddrs) {
    t.charge(mm.k.cfg.kernel.cost.page_free);
    slab.kfree(b, PAGE_SIZE);
  }
  tlb.batchKaddrs.length = 0;
  slab.kfree(tlb.bundleKaddr, MMU_GATHER_BUNDLE * 8);
  t.leave();
}
