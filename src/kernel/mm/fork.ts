/**
 * Address-space lifetime, after kernel/fork.c and dup_mmap: mm_alloc for a
 * new process, dup_mm for fork (the areas copied, private pages shared
 * copy-on-write), exit_mm/mmput when a task lets go of its mm, and mmdrop
 * when the last reference (a lazy-TLB borrower included) is gone.
 *
 * dup_mmap: areas marked VM_DONTCOPY are left out of the child; VM_WIPEONFORK
 * areas are copied empty (the child reads zeroes); other areas that have
 * anonymous pages (an anon_vma) get their PTEs copied, and writable private
 * PTEs are write-protected in parent and child alike. mlock is not
 * inherited. The parent's TLBs are flushed at the end (flush_tlb_mm), since
 * its writable translations are now stale.
 */
import { makePte, PTE_ACCESSED, PTE_DIRTY, PTE_RW, ptePfn, pteFlags, tableIndex } from '../../hw/pagetable.js';
import { isSwapPte, swapOffset, swapType } from './swapops.js';
import { PG_anon } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { ENOMEM } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { RwSemaphore } from '../locking/rwsem.js';
import type { TaskStruct } from '../sched/task_struct.js';
import { mmCore } from './core.js';
import { vma_link_file } from './filemap.js';
import { mm_counter, vm_normal_page } from './memory.js';
import { copy_huge_pmd } from './huge_memory.js';
import { copy_hugetlb_page_range, is_hugetlb_file } from './hugetlb.js';
import { walk_pte_tables } from './memory_zap.js';
import { exit_mmap, mmap_base, mmap_write_lock, mmap_write_unlock, vm_enough_memory, vm_stat_account } from './mmap.js';
import { MM_SWAPENTS, MmStruct, PAGE_SIZE, TASK_SIZE, VM_ACCOUNT, VM_DONTCOPY, VM_LOCKED_MASK, VM_MIXEDMAP, VM_NOHUGEPAGE, VM_PFNMAP, VM_SHARED, VM_WIPEONFORK, type VmAreaStruct } from './mm_types.js';
import { pte_alloc, pte_present_k, ptep_get, set_pte_at } from './pgtable.js';
import { anon_vma_fork, folio_add_rmap_pte, PG_anon_exclusive } from './rmap.js';
import { is_special_swap_pte } from './guard.js';
import { ksm_fork } from './ksm.js';
import { enter_lazy_tlb, flush_tlb_mm, cpuTlbState } from './tlbflush.js';
import { get_vma_file, MT_ARENA_BYTES, vm_area_dup, vma_start_write, vma_start_write_range, vma_tree_insert } from './vma.js';

/** sizeof(struct mm_struct) with its cpumask, for the slab object. */
const MM_BYTES = 1280;

const CAT_DUP_MMAP = intern('dup_mmap');
const CAT_COPY_PAGE_RANGE = intern('copy_page_range');

/**
 * mm_alloc(): an empty address space with its pgd (the PML4 frame). No
 * task context: used when a process is created. Returns null when memory is
 * exhausted.
 */
export function mm_alloc(k: Kernel): MmStruct | null {
  const core = mmCore(k);
  const pgd = k.machine.pt.allocTable();
  if (pgd < 0) return null;
  k.engine.counters.add('nr_page_table_pages');
  const kaddr = k.slab.kmalloc(MM_BYTES);
  const lock = new RwSemaphore(k, 'mmap_lock', kaddr);
  const mm = new MmStruct(k, core.nextCtxId++, pgd, mmap_base(), lock, kaddr, k.slab.kmalloc(MT_ARENA_BYTES));
  mm.pgtablesBytes = PAGE_SIZE;
  core.mms.set(mm.id, mm);
  return mm;
}

/** mmgrab(): one more reference to the struct (not to the address space's contents). */
export function mmgrab(mm: MmStruct): void {
  mm.count++;
}

/** mmdrop(): the last reference frees the pgd and the struct (__mmdrop). */
export function mmdrop(k: Kernel, mm: MmStruct): void {
  if (--mm.count > 0) return;
  for (let c = 0; c < k.cfg.cpus; c++) {
    if (cpuTlbState(k, c).loadedMm === mm) throw new Error(`__mmdrop: mm ${mm.id} is still loaded on CPU ${c}`);
  }
  k.machine.mmu.dropShadowRoot(mm.pgd);
  k.machine.pt.freeTable(mm.pgd);
  k.engine.counters.add('nr_page_table_pages', -1);
  mm.pgd = -1;
  mm.pgtablesBytes = 0;
  k.slab.kfree(mm.kaddr, MM_BYTES);
  k.slab.kfree(mm.mtKaddr, MT_ARENA_BYTES);
  mmCore(k).mms.delete(mm.id);
}

/** mmput(): a user of the address space is gone; the last one tears it down. */
export function* mmput(t: Task, mm: MmStruct): Blocking<void> {
  if (--mm.users > 0) return;
  yield* exit_mmap(t, mm);
  mmdrop(mm.k, mm);
}

/**
 * copy_pte_range(): copy one table's worth of PTEs from the parent's area
 * into the child's. Returns 0 or -ENOMEM.
 */
function* copyPteRange(t: Task, dst: VmAreaStruct, src: VmAreaStruct, srcTable: number, addr: number, end: number): Blocking<number> {
  const srcMm = src.vmMm;
  const dstMm = dst.vmMm;
  const k = srcMm.k;
  const memmap = k.mem_map;
  const dstTable = yield* pte_alloc(t, dstMm, addr);
  if (dstTable < 0) return -ENOMEM;
  const cow = src.isCow;
  const shared = (src.vmFlags & VM_SHARED) !== 0;
  const core = mmCore(k);
  for (; addr < end; addr += PAGE_SIZE) {
    const idx = tableIndex(addr, 1);
    let pte = ptep_get(t, srcMm, srcTable, idx);
    if (pte === 0) continue;
    if (is_special_swap_pte(pte)) {
      // copy_nonpresent_pte(): a marker (a guard page) is copied as it is.
      set_pte_at(t, dstMm, dstTable, idx, pte);
      continue;
    }
    if (isSwapPte(pte)) {
      core.hooks.swapDup?.(k, swapType(pte), swapOffset(pte));
      dstMm.rss[MM_SWAPENTS]!++;
      set_pte_at(t, dstMm, dstTable, idx, pte);
      continue;
    }
    if (!pte_present_k(pte)) {
      set_pte_at(t, dstMm, dstTable, idx, pte);
      continue;
    }
    const pfn = vm_normal_page(k, pte);
    if (pfn >= 0) {
      // folio_get + folio_try_dup_anon_rmap_pte / folio_dup_file_rmap_pte: shared now, so no longer exclusive.
      memmap.refcount[pfn]!++;
      folio_add_rmap_pte(t, pfn);
      if ((memmap.flags[pfn]! & PG_anon) !== 0) memmap.flags[pfn] = (memmap.flags[pfn]! & ~PG_anon_exclusive) >>> 0;
      dstMm.rss[mm_counter(k, pfn)]!++;
    }
    let flags = pteFlags(pte);
    if (cow && (flags & PTE_RW) !== 0) {
      // wrprotect_ptes on the parent: an atomic clear of RW.
      flags &= ~PTE_RW;
      t.charge(k.cfg.cost.atomic_rmw);
      set_pte_at(t, srcMm, srcTable, idx, makePte(ptePfn(pte), flags));
    }
    if (shared) flags &= ~PTE_DIRTY;
    flags &= ~PTE_ACCESSED;
    pte = makePte(ptePfn(pte), flags);
    set_pte_at(t, dstMm, dstTable, idx, pte);
  }
  return 0;
}

/** copy_page_range(): copy an area's page tables to the child's copy of it. Returns 0 or -ENOMEM. */
export function* copy_page_range(t: Task, dst: VmAreaStruct, src: VmAreaStruct): Blocking<number> {
  // vma_needs_copy(): areas whose pages a fault would fill the same way are left to fault.
  // Guard markers are not filled by a fault, so an area that may hold them is copied (the child then faults on them too).
  if (is_hugetlb_file(src.vmFile)) {
    // A shared hugetlb area is left to fault from the file; a private one's pages were faulted with an anon_vma.
    if (src.vmFlags & VM_SHARED) return 0;
    t.enter(CAT_COPY_PAGE_RANGE);
    const r = yield* copy_hugetlb_page_range(t, dst, src);
    t.leave();
    return r;
  }
  if (!(src.vmFlags & (VM_PFNMAP | VM_MIXEDMAP)) && !src.anonVma && !src.maybeGuard) return 0;
  t.enter(CAT_COPY_PAGE_RANGE);
  let err = 0;
  yield* walk_pte_tables(
    t,
    src.vmMm,
    src.vmStart,
    src.vmEnd,
    function* (table, a, n) {
      if (err) return;
      err = yield* copyPteRange(t, dst, src, table, a, n);
    },
    function* (pd, idx, haddr) {
      if (err) return;
      err = yield* copy_huge_pmd(t, dst, src, pd, idx, haddr);
    },
  );
  t.leave();
  return err;
}

/**
 * dup_mmap(): fill `mm` (fresh) with copies of `oldmm`'s areas. Returns 0 or
 * -ENOMEM (the partly built mm is then torn down by the caller).
 */
export function* dup_mmap(t: Task, mm: MmStruct, oldmm: MmStruct): Blocking<number> {
  t.enter(CAT_DUP_MMAP);
  yield* mmap_write_lock(t, oldmm);
  yield* vma_start_write_range(t, oldmm, 0, TASK_SIZE);
  yield* mmap_write_lock(t, mm);
  mm.totalVm = oldmm.totalVm;
  mm.dataVm = oldmm.dataVm;
  mm.execVm = oldmm.execVm;
  mm.stackVm = oldmm.stackVm;
  mm.mmapBase = oldmm.mmapBase;
  mm.startBrk = oldmm.startBrk;
  mm.brk = oldmm.brk;
  // mm_init(): only VM_INIT_DEF_MASK (VM_NOHUGEPAGE) of def_flags is inherited; mlockall(MCL_FUTURE) is not.
  mm.defFlags = oldmm.defFlags & VM_NOHUGEPAGE;
  mm.thpDisabled = oldmm.thpDisabled;
  ksm_fork(t, mm, oldmm);
  let ret = 0;
  for (const mpnt of oldmm.vmas.slice()) {
    vma_start_write(t, mpnt);
    if (mpnt.vmFlags & VM_DONTCOPY) {
      vm_stat_account(mm, mpnt.vmFlags, -mpnt.pages);
      continue;
    }
    if (mpnt.vmFlags & VM_ACCOUNT) {
      if (vm_enough_memory(null, oldmm, mpnt.pages)) {
        ret = -ENOMEM;
        break;
      }
    }
    const tmp = vm_area_dup(t, mpnt, mm);
    // reset_vma_resv_huge_pages(): a child's private hugetlb area owns no reservations and has no HPAGE_RESV_ flags.
    tmp.hugetlbResv = null;
    tmp.hugetlbUnmapped = false;
    if (tmp.vmFlags & VM_WIPEONFORK) {
      tmp.anonVma = null;
      tmp.anonVmaChain = [];
    } else anon_vma_fork(t, tmp, mpnt);
    tmp.vmFlags &= ~VM_LOCKED_MASK;
    if (tmp.vmFile) {
      get_vma_file(tmp.vmFile);
      vma_link_file(tmp);
    }
    vma_tree_insert(t, mm, tmp);
    if (!(tmp.vmFlags & VM_WIPEONFORK)) {
      ret = yield* copy_page_range(t, tmp, mpnt);
      if (ret) break;
    }
    if (t.shouldYield()) yield;
  }
  mmap_write_unlock(t, mm);
  yield* flush_tlb_mm(t, oldmm);
  mmap_write_unlock(t, oldmm);
  t.leave();
  return ret;
}

/** copy_mm()/dup_mm(): the child's address space for fork. Returns the mm or -errno. */
export function* dup_mm(t: Task, oldmm: MmStruct): Blocking<MmStruct | number> {
  const mm = mm_alloc(oldmm.k);
  if (!mm) return -ENOMEM;
  const r = yield* dup_mmap(t, mm, oldmm);
  if (r < 0) {
    yield* mmput(t, mm);
    return r;
  }
  return mm;
}

/** Tasks other than `ts` still using `mm` (threads of one process share it). */
function otherUsers(k: Kernel, ts: TaskStruct, mm: MmStruct): number {
  let n = 0;
  for (const o of k.tasks()) if (o !== ts && o.mm === mm) n++;
  return n;
}

/**
 * exit_mm(): the task lets go of its mm. Its CPU keeps the tables loaded in
 * lazy TLB mode (holding a reference) until it next switches; the last user
 * tears the address space down.
 */
export function* exit_mm(t: Task, ts: TaskStruct): Blocking<void> {
  const mm = ts.mm;
  if (!mm) return;
  const k = mm.k;
  ts.mm = null;
  const st = cpuTlbState(k, t.cpu);
  enter_lazy_tlb(k, t.cpu);
  if (st.loadedMm && !st.lazyRef) {
    st.lazyRef = st.loadedMm;
    mmgrab(st.loadedMm);
  }
  ts.activeMm = null;
  yield* mm_release_user(t, ts, mm);
}

/** mmput() on behalf of a task that no longer uses `mm` (exit, exec): the users are the tasks still on it. */
export function* mm_release_user(t: Task, ts: TaskStruct, mm: MmStruct): Blocking<void> {
  mm.users = otherUsers(mm.k, ts, mm) + 1;
  yield* mmput(t, mm);
}
