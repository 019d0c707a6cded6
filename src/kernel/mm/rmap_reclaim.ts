/**
 * The parts of mm/rmap.c that reclaim uses: folio_referenced (how many
 * mappings used the page since the last look, clearing their accessed bits)
 * and try_to_unmap (remove every mapping of a page chosen for eviction,
 * leaving swap entries behind for anonymous pages), with the batched TLB
 * flush of x86 (arch_tlbbatch_add_pending / arch_tlbbatch_flush).
 *
 * Both walk the page's reverse map (its anon_vma or address_space, under
 * that object's lock), and for each area the page tables from the pgd down
 * (page_vma_mapped_walk), every access going through the cache model.
 *
 * TLB: clearing an accessed bit is not flushed (ptep_clear_flush_young on
 * x86). Clearing a present PTE is: when other CPUs may cache the mm, the
 * flush is deferred into the reclaimer's batch (set_tlb_ubc_flush_pending,
 * which bumps the mm's TLB generation so a CPU switching back to it later
 * flushes too) and done once for the batch, before any page is written or
 * freed (try_to_unmap_flush_dirty / try_to_unmap_flush); otherwise the one
 * page is flushed locally at once (ptep_clear_flush).
 */
import { PTE_DIRTY, PTE_PRESENT, PTE_RW, ptePfn, tableIndex, PTE_ACCESSED } from '../../hw/pagetable.js';
import { makeSwapPte } from './swapops.js';
import { PG_anon, PG_dirty, PG_swapbacked } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { MmCore, mmCore } from './core.js';
import { mm_counter } from './memory.js';
import { MM_ANONPAGES, MM_SWAPENTS, VM_LOCKED, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { pte_lock, pte_present_k, pte_table, pte_unlock, ptep_get, ptep_get_and_clear, set_pte_at } from './pgtable.js';
import { folio_remove_rmap_pte, PG_anon_exclusive, rmap_walk } from './rmap.js';
import { folio_swap_slot } from './swap_state.js';
import { SWAP_TYPE, swap_duplicate } from './swapfile.js';
import { cpuTlbState, flush_tlb_func, flush_tlb_page, TLB_FLUSH_ALL, type FlushTlbInfo } from './tlbflush.js';
import { smp_call_function_many } from '../smp.js';

const CAT_FOLIO_REFERENCED = intern('folio_referenced');
const CAT_TRY_TO_UNMAP = intern('try_to_unmap');
const CAT_TLBBATCH_FLUSH = intern('arch_tlbbatch_flush');
const CAT_FLUSH_TLB_FUNC = intern('flush_tlb_func');
const CAT_CSD_WAIT = intern('csd_lock_wait');

/** Offsets of context.tlb_gen and mm_cpumask in struct mm_struct (as tlbflush.ts lays them out). */
const MM_TLB_GEN_OFF = 128;
const MM_CPUMASK_OFF = 192;

/** struct tlbflush_unmap_batch: the CPUs whose TLBs reclaim's unmaps have made stale. */
export class TlbUnmapBatch {
  readonly cpumask: Uint8Array;
  flushRequired = false;
  /** A writable translation was among them: flush before writing the page out. */
  writable = false;

  constructor(cpus: number) {
    this.cpumask = new Uint8Array(cpus);
  }
}

/** What folio_referenced saw: referencing PTEs (accessed bits cleared) and the flags of the areas mapping it. */
export interface Referenced {
  ptes: number;
  vmFlags: number;
}

/** anon_vma_lock_read / i_mmap_lock_read on the page's owner: the lock word's line. Returns the owner's kernel address or -1. */
function lockOwner(t: Task, pfn: number): number {
  const k = t.k;
  const core = mmCore(k);
  const memmap = k.mem_map;
  const owner = memmap.owner[pfn]!;
  if (owner === 0) return -1;
  const obj = (memmap.flags[pfn]! & PG_anon) !== 0 ? core.anonVmas.get(owner) : core.mappings.get(owner);
  if (!obj) return -1;
  t.charge(k.machine.caches.access(t.cpu, obj.kaddr, true) + k.cfg.cost.atomic_rmw);
  return obj.kaddr;
}

function unlockOwner(t: Task, kaddr: number): void {
  const k = t.k;
  if (kaddr >= 0) t.charge(k.machine.caches.access(t.cpu, kaddr, true) + k.cfg.cost.atomic_rmw);
}

/** The areas and addresses that may map the page (the interval-tree walk is charged per area visited). */
function mappingsOf(t: Task, pfn: number): { vmas: VmAreaStruct[]; addrs: number[] } {
  const k = t.k;
  const vmas: VmAreaStruct[] = [];
  const addrs: number[] = [];
  rmap_walk(k, pfn, (vma, addr) => {
    vmas.push(vma);
    addrs.push(addr);
  });
  const caches = k.machine.caches;
  for (const vma of vmas) t.charge(caches.access(t.cpu, vma.kaddr, false) + k.cfg.kernel.cost.kernel_op);
  return { vmas, addrs };
}

/**
 * folio_referenced(): count the PTEs mapping the page whose accessed bit
 * was set, clearing it (test_and_clear, no flush on x86). Stops at an
 * mlocked area (vmFlags then has VM_LOCKED: the page cannot be evicted).
 */
export function folio_referenced(t: Task, pfn: number): Referenced {
  const k = t.k;
  const memmap = k.mem_map;
  const out: Referenced = { ptes: 0, vmFlags: 0 };
  if (memmap.mapcount[pfn]! <= 0) return out;
  t.enter(CAT_FOLIO_REFERENCED);
  const lock = lockOwner(t, pfn);
  const { vmas, addrs } = mappingsOf(t, pfn);
  const pt = k.machine.pt;
  for (let i = 0; i < vmas.length; i++) {
    const vma = vmas[i]!;
    const mm = vma.vmMm;
    const table = pte_table(t, mm, addrs[i]!);
    if (table < 0) continue;
    const idx = tableIndex(addrs[i]!, 1);
    const pte = ptep_get(t, mm, table, idx);
    if (!pte_present_k(pte) || ptePfn(pte) !== pfn) continue;
    if ((vma.vmFlags & VM_LOCKED) !== 0) {
      out.vmFlags |= VM_LOCKED;
      break;
    }
    if ((pte & PTE_ACCESSED) !== 0) {
      // ptep_test_and_clear_young: a locked bit clear on the entry.
      t.charge(k.machine.caches.access(t.cpu, pt.entryPaddr(table, idx), true) + k.cfg.cost.atomic_rmw);
      pt.writeEntry(table, idx, pte - PTE_ACCESSED);
      out.ptes++;
    }
    out.vmFlags |= vma.vmFlags;
  }
  unlockOwner(t, lock);
  t.leave();
  return out;
}

/** should_defer_flush(): other CPUs may hold the mm's translations, so batch the flush. */
function shouldDeferFlush(t: Task, mm: MmStruct): boolean {
  const mask = mm.cpumask;
  for (let c = 0; c < mask.length; c++) if (mask[c] && c !== t.cpu) return true;
  return false;
}

/** set_tlb_ubc_flush_pending() / arch_tlbbatch_add_pending(): note the mm's CPUs for the batch flush and move its TLB generation on. */
function setTlbUbcFlushPending(t: Task, batch: TlbUnmapBatch, mm: MmStruct, pteval: number): void {
  const k = t.k;
  const caches = k.machine.caches;
  // inc_mm_tlb_gen: a CPU that switches back to the mm later sees the new generation and flushes.
  t.charge(caches.access(t.cpu, mm.kaddr + MM_TLB_GEN_OFF, true) + k.cfg.cost.atomic_rmw);
  mm.tlbGen++;
  t.charge(caches.access(t.cpu, mm.kaddr + MM_CPUMASK_OFF, false));
  for (let c = 0; c < mm.cpumask.length; c++) if (mm.cpumask[c]) batch.cpumask[c] = 1;
  batch.flushRequired = true;
  if ((pteval & (PTE_PRESENT | PTE_RW)) === (PTE_PRESENT | PTE_RW)) batch.writable = true;
}

/**
 * arch_tlbbatch_flush(): one full flush on every CPU of the batch (IPIs to
 * the others, skipping lazy ones, which catch up when they switch back),
 * waiting for their acknowledgements. No-op when nothing is pending.
 */
export function* try_to_unmap_flush(t: Task, batch: TlbUnmapBatch): Blocking<void> {
  const k = t.k;
  if (!batch.flushRequired) return;
  t.enter(CAT_TLBBATCH_FLUSH);
  t.charge(k.cfg.kernel.cost.flush_tlb_func);
  const info: FlushTlbInfo = { mm: null, start: 0, end: TLB_FLUSH_ALL, strideShift: 12, freedTables: false, newTlbGen: 0, initiatingCpu: t.cpu, trimCpumask: false };
  const targets: number[] = [];
  let self = false;
  for (let cpu = 0; cpu < batch.cpumask.length; cpu++) {
    if (!batch.cpumask[cpu]) continue;
    batch.cpumask[cpu] = 0;
    if (cpu === t.cpu) {
      self = true;
      continue;
    }
    // should_flush_tlb(): read the target's is_lazy.
    const st = cpuTlbState(k, cpu);
    t.charge(k.machine.caches.access(t.cpu, st.kaddr, false));
    if (!st.isLazy) targets.push(cpu);
  }
  batch.flushRequired = false;
  batch.writable = false;
  if (targets.length > 0) k.engine.counters.add('nr_tlb_remote_flush');
  // get_flush_tlb_info(): this CPU's flush_tlb_info, which the targets read.
  const infoKaddr = cpuTlbState(k, t.cpu).infoKaddr;
  t.charge(k.machine.caches.access(t.cpu, infoKaddr, true));
  const done = targets.length > 0 ? smp_call_function_many(t, targets, CAT_FLUSH_TLB_FUNC, (cpu) => flush_tlb_func(k, cpu, info), infoKaddr) : null;
  if (self) t.chargeAs(CAT_FLUSH_TLB_FUNC, flush_tlb_func(k, t.cpu, info));
  if (done) {
    t.enter(CAT_CSD_WAIT);
    yield t.spinOn(done);
    t.leave();
  }
  t.leave();
}

/** try_to_unmap_flush_dirty(): flush now if a writable translation was cleared (before the page is written out). */
export function* try_to_unmap_flush_dirty(t: Task, batch: TlbUnmapBatch): Blocking<void> {
  if (batch.writable) yield* try_to_unmap_flush(t, batch);
}

/**
 * try_to_unmap() with TTU_BATCH_FLUSH: take the page out of every PTE that
 * maps it. An anonymous page in the swap cache leaves a swap entry (one
 * more use of its slot); a clean MADV_FREE page is simply dropped; a file
 * page leaves nothing. A dirty PTE dirties the page. Gives up at an mlocked
 * area, or at a lazily freed page that was written again (which becomes
 * swap-backed once more). Returns true when no mapping is left.
 */
export function* try_to_unmap(t: Task, pfn: number, batch: TlbUnmapBatch): Blocking<boolean> {
  const k = t.k;
  const memmap = k.mem_map;
  if (memmap.mapcount[pfn]! <= 0) return true;
  t.enter(CAT_TRY_TO_UNMAP);
  const lock = lockOwner(t, pfn);
  const { vmas, addrs } = mappingsOf(t, pfn);
  let ok = true;
  for (let i = 0; i < vmas.length && ok; i++) {
    const vma = vmas[i]!;
    const addr = addrs[i]!;
    const mm = vma.vmMm;
    const table = pte_table(t, mm, addr);
    if (table < 0) continue;
    const idx = tableIndex(addr, 1);
    pte_lock(t, mm, table);
    const pte = ptep_get(t, mm, table, idx);
    if (!pte_present_k(pte) || ptePfn(pte) !== pfn) {
      pte_unlock(t, mm, table);
      continue;
    }
    if ((vma.vmFlags & VM_LOCKED) !== 0) {
      pte_unlock(t, mm, table);
      ok = false;
      break;
    }
    const pteval = ptep_get_and_clear(t, mm, table, idx);
    if (shouldDeferFlush(t, mm)) setTlbUbcFlushPending(t, batch, mm, pteval);
    else if ((pteval & PTE_PRESENT) !== 0) yield* flush_tlb_page(t, mm, addr);
    if ((pteval & PTE_DIRTY) !== 0) memmap.flags[pfn] = (memmap.flags[pfn]! | PG_dirty) >>> 0;
    const flags = memmap.flags[pfn]!;
    if ((flags & PG_anon) !== 0) {
      if ((flags & PG_swapbacked) === 0) {
        // MADV_FREE: drop it if clean and nobody else holds it (the caller's isolation reference plus the mappings).
        if (memmap.refcount[pfn] === 1 + memmap.mapcount[pfn]! && (flags & PG_dirty) === 0) {
          // pglazyfreed is counted once, when shrink_folio_list frees the page.
          mm.rss[MM_ANONPAGES]!--;
        } else {
          memmap.flags[pfn] = (flags | PG_swapbacked) >>> 0;
          set_pte_at(t, mm, table, idx, pteval);
          pte_unlock(t, mm, table);
          ok = false;
          break;
        }
      } else {
        const slot = folio_swap_slot(k, pfn);
        if (slot < 0 || swap_duplicate(k, t, slot) < 0) {
          set_pte_at(t, mm, table, idx, pteval);
          pte_unlock(t, mm, table);
          ok = false;
          break;
        }
        // The page may be shared from now on: whoever maps it next decides exclusivity again.
        memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_anon_exclusive) >>> 0;
        set_pte_at(t, mm, table, idx, makeSwapPte(SWAP_TYPE, slot));
        mm.rss[MM_ANONPAGES]!--;
        mm.rss[MM_SWAPENTS]!++;
      }
    } else {
      mm.rss[mm_counter(k, pfn)]!--;
    }
    folio_remove_rmap_pte(t, pfn);
    // folio_put of the mapping's reference: the caller's isolation reference keeps the page.
    memmap.refcount[pfn]!--;
    t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true) + k.cfg.cost.atomic_rmw);
    pte_unlock(t, mm, table);
  }
  unlockOwner(t, lock);
  t.leave();
  return memmap.mapcount[pfn] === 0;
}
