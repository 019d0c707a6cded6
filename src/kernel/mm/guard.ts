/**
 * Guard regions (MADV_GUARD_INSTALL / MADV_GUARD_REMOVE, Linux 6.13 and
 * later, after mm/madvise.c): a guard page is a PTE marker, a non-present
 * entry that names no swap slot and no page. Any access to it faults with
 * SIGSEGV (handle_pte_marker); MADV_DONTNEED, MADV_FREE and truncation leave
 * it in place (only munmap and exit drop markers); fork copies it to the
 * child; mprotect leaves it alone. Installing costs a zap of what was mapped
 * there plus a PTE store per page; no TLB flush is needed for entries that
 * were none.
 *
 * Encoding: a swap-format entry of type SWP_PTE_MARKER, which sits above
 * the types real swap areas use (as the kernel's special swap types sit
 * above MAX_SWAPFILES), with the marker bits in the offset field.
 */
import { tableIndex } from '../../hw/pagetable.js';
import { isSwapPte, makeSwapPte, swapOffset, swapType } from './swapops.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EINVAL, ENOMEM } from '../errno.js';
import type { MadviseBehavior } from './madvise_uapi.js';
import { walk_pte_tables, zap_page_range_single } from './memory_zap.js';
import { PAGE_SIZE, PMD_SIZE, VM_HUGETLB, VM_LOCKED, VM_SHARED, VM_SPECIAL, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { pte_alloc, pte_lock, pte_unlock, ptep_get, set_pte_at } from './pgtable.js';
import { anon_vma_prepare } from './rmap.js';

/** Swap types from here up are special entries, not slots of a swap area (the swap area is type 0). */
export const FIRST_SPECIAL_SWAP_TYPE = 28;
/** SWP_PTE_MARKER. */
export const SWP_PTE_MARKER = 31;
/** PTE_MARKER_GUARD (include/linux/swapops.h). */
export const PTE_MARKER_GUARD = 1 << 2;

const CAT_GUARD_INSTALL = intern('madvise_guard_install');
const CAT_GUARD_REMOVE = intern('madvise_guard_remove');

/** A swap-format entry that names no swap slot (non_swap_entry). */
export function is_special_swap_pte(pte: number): boolean {
  return isSwapPte(pte) && swapType(pte) >= FIRST_SPECIAL_SWAP_TYPE;
}

/** A swap PTE naming a real swap slot (is_swap_pte && !non_swap_entry). */
export function is_real_swap_pte(pte: number): boolean {
  return isSwapPte(pte) && swapType(pte) < FIRST_SPECIAL_SWAP_TYPE;
}

/** is_pte_marker(). */
export function is_pte_marker(pte: number): boolean {
  return isSwapPte(pte) && swapType(pte) === SWP_PTE_MARKER;
}

/** is_guard_pte_marker(). */
export function is_guard_pte_marker(pte: number): boolean {
  return is_pte_marker(pte) && (swapOffset(pte) & PTE_MARKER_GUARD) !== 0;
}

/** make_pte_marker(PTE_MARKER_GUARD). */
export function make_guard_pte(): number {
  return makeSwapPte(SWP_PTE_MARKER, PTE_MARKER_GUARD);
}

/** is_valid_guard_vma(): not special or huge-TLB; not locked unless removing. */
function is_valid_guard_vma(vma: VmAreaStruct, allowLocked: boolean): boolean {
  let disallowed = VM_SPECIAL | VM_HUGETLB;
  if (!allowLocked) disallowed |= VM_LOCKED;
  return (vma.vmFlags & disallowed) === 0;
}

/**
 * madvise_guard_install(): zap [start, end) and put a guard marker in every
 * PTE, allocating page tables as needed. A private area gets its anon_vma
 * now, so fork copies its page tables (and with them the markers).
 */
export function* madvise_guard_install(t: Task, _mb: MadviseBehavior, vma: VmAreaStruct, _prev: VmAreaStruct | null, start: number, end: number): Blocking<VmAreaStruct | number> {
  if (!is_valid_guard_vma(vma, false)) return -EINVAL;
  const mm = vma.vmMm;
  t.enter(CAT_GUARD_INSTALL);
  if ((vma.vmFlags & VM_SHARED) === 0) anon_vma_prepare(t, vma);
  // The markers must reach a fork child, which copies a shared area's page tables only when told.
  vma.maybeGuard = true;
  for (;;) {
    yield* zap_page_range_single(t, vma, start, end - start, { mapping: null, evenCows: true });
    let raced = false;
    for (let addr = start; addr < end && !raced; ) {
      const table = yield* pte_alloc(t, mm, addr);
      if (table < 0) {
        t.leave();
        return -ENOMEM;
      }
      const stop = Math.min(end, Math.floor(addr / PMD_SIZE) * PMD_SIZE + PMD_SIZE);
      pte_lock(t, mm, table);
      for (; addr < stop; addr += PAGE_SIZE) {
        const idx = tableIndex(addr, 1);
        const pte = ptep_get(t, mm, table, idx);
        if (pte === 0) set_pte_at(t, mm, table, idx, make_guard_pte());
        else if (!is_guard_pte_marker(pte)) {
          // A fault filled it after the zap: zap again and retry, as the kernel does.
          raced = true;
          break;
        }
      }
      pte_unlock(t, mm, table);
      if (t.shouldYield()) yield;
    }
    if (!raced) break;
  }
  t.leave();
  return vma;
}

/** One page table's part of madvise_guard_remove (a module-level generator: one made per call costs the host microseconds). */
function* guardRemovePteRange(t: Task, mm: MmStruct, table: number, addr: number, next: number): Blocking<void> {
  pte_lock(t, mm, table);
  for (; addr < next; addr += PAGE_SIZE) {
    const idx = tableIndex(addr, 1);
    if (is_guard_pte_marker(ptep_get(t, mm, table, idx))) set_pte_at(t, mm, table, idx, 0);
  }
  pte_unlock(t, mm, table);
}

/** madvise_guard_remove(): clear the guard markers in [start, end); other entries are left as they are. */
export function* madvise_guard_remove(t: Task, _mb: MadviseBehavior, vma: VmAreaStruct, _prev: VmAreaStruct | null, start: number, end: number): Blocking<VmAreaStruct | number> {
  if (!is_valid_guard_vma(vma, true)) return -EINVAL;
  const mm = vma.vmMm;
  t.enter(CAT_GUARD_REMOVE);
  yield* walk_pte_tables(t, mm, start, end, (table, addr, next) => guardRemovePteRange(t, mm, table, addr, next));
  t.leave();
  return vma;
}
