/**
 * Faulting pages in from the kernel, after mm/gup.c: populate_vma_page_range
 * and __get_user_pages as mlock, MAP_POPULATE and MADV_POPULATE_* use them.
 * Each page is looked up by a walk from the pgd (follow_page_mask); a page
 * that is missing, or read-only when a write is wanted, is faulted in with
 * handle_mm_fault (no exception entry: the kernel calls it directly).
 */
import { PTE_DIRTY, PTE_PRESENT, PTE_RW, ptePfn, tableIndex } from '../../hw/pagetable.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EFAULT, EINTR, ENOMEM } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { fatal_signal_pending } from './oom_kill.js';
import { FAULT_FLAG_WRITE, handle_mm_fault, VM_FAULT_ERROR, VM_FAULT_OOM } from './memory.js';
import { PAGE_SIZE, VM_ACCESS_FLAGS, VM_IO, VM_LOCKONFAULT, VM_MAYREAD, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE, type VmAreaStruct } from './mm_types.js';
import { follow_huge_pmd } from './huge_memory.js';
import { pte_table, ptep_get } from './pgtable.js';
import { set_page_dirty } from './filemap.js';
import { folio_mark_accessed } from './swap.js';

/** FOLL_* (include/linux/mm_types.h). */
export const FOLL_WRITE = 0x01;
export const FOLL_TOUCH = 0x02;
export const FOLL_FORCE = 0x10;

const CAT_POPULATE = intern('populate_vma_page_range');
const CAT_GUP = intern('__get_user_pages');

/** check_vma_flags(): may GUP with these flags touch this area? Returns 0 or -EFAULT. */
export function check_vma_flags(vma: VmAreaStruct, gupFlags: number): number {
  const f = vma.vmFlags;
  if (f & (VM_IO | VM_PFNMAP)) return -EFAULT;
  if (gupFlags & FOLL_WRITE) {
    if (!(f & VM_WRITE)) {
      if (!(gupFlags & FOLL_FORCE)) return -EFAULT;
      if (!vma.isCow) return -EFAULT;
    }
  } else if (!(f & VM_READ)) {
    if (!(gupFlags & FOLL_FORCE)) return -EFAULT;
    if (!(f & VM_MAYREAD)) return -EFAULT;
  }
  return 0;
}

/**
 * __get_user_pages() without returning the pages: make [start, end) of the
 * area present (and writable for FOLL_WRITE). Returns the pages done or
 * -errno (-EFAULT for SIGBUS/SIGSEGV, -ENOMEM for OOM).
 */
export function* get_user_pages_range(t: Task, vma: VmAreaStruct, start: number, end: number, gupFlags: number): Blocking<number> {
  const mm = vma.vmMm;
  const k = mm.k;
  t.enter(CAT_GUP);
  const err = check_vma_flags(vma, gupFlags);
  if (err) {
    t.leave();
    return err;
  }
  const write = (gupFlags & FOLL_WRITE) !== 0;
  let done = 0;
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    // A task the OOM killer chose stops here (-EINTR) instead of faulting in the rest of a huge range.
    if (fatal_signal_pending(current(t))) {
      t.leave();
      return done > 0 ? done : -EINTR;
    }
    for (let tries = 0; ; tries++) {
      // follow_page_mask(): a fresh walk from the pgd each page; a PMD leaf answers for its 2 MiB (follow_huge_pmd).
      const huge = follow_huge_pmd(t, mm, addr, write, (gupFlags & FOLL_TOUCH) !== 0);
      if (huge === 1) break;
      const table = huge === 0 ? -1 : pte_table(t, mm, addr);
      const idx = tableIndex(addr, 1);
      const pte = table >= 0 ? ptep_get(t, mm, table, idx) : 0;
      if ((pte & PTE_PRESENT) !== 0 && (!write || (pte & PTE_RW) !== 0)) {
        if (gupFlags & FOLL_TOUCH) {
          // follow_page_pte(): the folio, not the PTE (whose dirty bit a racing hardware update could lose), is marked:
          // dirty for a write, and accessed (PG_referenced, a second time activated), so a fork child's old PTE
          // still counts as Referenced in smaps.
          const pfn = ptePfn(pte);
          if (write && (pte & PTE_DIRTY) === 0) set_page_dirty(k, pfn);
          folio_mark_accessed(t, pfn);
        }
        break;
      }
      if (tries > 2) {
        t.leave();
        return done > 0 ? done : -EFAULT;
      }
      t.charge(k.cfg.kernel.cost.fault_handler);
      const r = yield* handle_mm_fault(t, vma, addr, write ? FAULT_FLAG_WRITE : 0);
      if (r & VM_FAULT_ERROR) {
        t.leave();
        if (done > 0) return done;
        return r & VM_FAULT_OOM ? -ENOMEM : -EFAULT;
      }
    }
    done++;
    if (t.shouldYield()) yield;
  }
  t.leave();
  return done;
}

/**
 * populate_vma_page_range(): fault in [start, end) of one area as mlock and
 * MAP_POPULATE do: writes for private writable areas (to break COW now),
 * reads otherwise; any access but PROT_NONE is forced. Returns the pages
 * done (fewer than asked when a later one failed) or -errno.
 */
export function* populate_range(t: Task, vma: VmAreaStruct, start: number, end: number): Blocking<number> {
  const n = (end - start) / PAGE_SIZE;
  if (vma.vmFlags & VM_LOCKONFAULT) return n;
  t.enter(CAT_POPULATE);
  let gup = FOLL_TOUCH;
  if ((vma.vmFlags & (VM_WRITE | VM_SHARED)) === VM_WRITE) gup |= FOLL_WRITE;
  if (vma.vmFlags & VM_ACCESS_FLAGS) gup |= FOLL_FORCE;
  const r = yield* get_user_pages_range(t, vma, start, end, gup);
  t.leave();
  return r;
}
