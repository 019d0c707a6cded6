/**
 * Page faults, after mm/memory.c: handle_mm_fault walks (and fills in) the
 * tables down to the PTE and dispatches on what it finds:
 *
 *   PTE none, anonymous area    do_anonymous_page: a read maps the shared
 *                               zero page, a write a new zeroed page
 *   PTE none, file area         do_fault: do_read_fault (with fault-around),
 *                               do_cow_fault (private write: a private copy),
 *                               do_shared_fault (shared write: dirty the page)
 *   swap entry                  do_swap_page: read it back (a major fault)
 *   present, write to a         do_wp_page: reuse an exclusive anonymous
 *   read-only PTE               page, copy a shared one (COW), or make a
 *                               shared file page writable after page_mkwrite
 *
 * Results are VM_FAULT_* bits as in the kernel. Every PTE and struct page
 * access is charged through the caches; fixed costs are cost.fault_handler
 * (charged by the arch fault path), page_alloc, zero_page and copy_page.
 */
import { loffPages } from '../fs/loff.js';
import { makePte, PTE_ACCESSED, PTE_DIRTY, PTE_RW, ptePfn, pteFlags, tableIndex } from '../../hw/pagetable.js';
import { isSwapPte, swapOffset, swapType } from './swapops.js';
import { PG_anon, PG_ksm, PG_mlocked, PG_swapbacked, PG_zero } from './page_flags.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { MmCore, mmCore } from './core.js';
import { filemap_fault, filemap_page_under_read, set_page_dirty } from './filemap.js';
import { is_guard_pte_marker } from './guard.js';
import { handle_huge_pmd_fault, thp_fault_wanted, VM_FAULT_FALLBACK } from './huge_memory.js';
import { hugetlb_fault } from './hugetlb.js';
import { is_hwpoison_pte } from './memory-failure.js';
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS, PAGE_SIZE, PMD_SIZE, VM_HUGETLB, VM_LOCKED, VM_SHARED, VM_WRITE, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { __GFP_USER, __GFP_ZERO, alloc_page, put_page_testzero_free } from './page_alloc.js';
import { ptl_hold, ptl_release, ptl_wait, pte_alloc, pte_lock, pte_present_k, pte_protnone, pte_unlock, ptep_get, set_pte_at } from './pgtable.js';
import { anon_vma_prepare, folio_add_new_anon_rmap, folio_add_rmap_pte, folio_remove_rmap_pte, linear_page_index, PG_anon_exclusive } from './rmap.js';
import { swap_readpage_contents } from './swap_io.js';
import { flush_tlb_page } from './tlbflush.js';
import { TaskStruct } from '../sched/task_struct.js';

// VM_FAULT_* (include/linux/mm_types.h).
export const VM_FAULT_OOM = 0x000001;
export const VM_FAULT_SIGBUS = 0x000002;
export const VM_FAULT_MAJOR = 0x000004;
export const VM_FAULT_HWPOISON = 0x000010;
export const VM_FAULT_SIGSEGV = 0x000040;
export const VM_FAULT_NOPAGE = 0x000100;
export const VM_FAULT_RETRY = 0x000400;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON;

// FAULT_FLAG_* (include/linux/mm_types.h).
export const FAULT_FLAG_WRITE = 0x01;
export const FAULT_FLAG_USER = 0x40;

/** fault_around_bytes: do_read_fault maps cached neighbours within this aligned window. */
const FAULT_AROUND_BYTES = 65536;

const CAT_HANDLE_MM_FAULT = intern('handle_mm_fault');
const CAT_DO_ANONYMOUS_PAGE = intern('do_anonymous_page');
const CAT_DO_WP_PAGE = intern('do_wp_page');
const CAT_WP_PAGE_COPY = intern('wp_page_copy');
const CAT_DO_FAULT = intern('do_fault');
const CAT_DO_SWAP_PAGE = intern('do_swap_page');
const CAT_COPY_PAGE = intern('copy_page');
const CAT_FAULT_AROUND = intern('do_fault_around');
const CAT_SWAP_WAIT = intern('swap_read_wait');

/** The fault being handled (struct vm_fault). */
interface VmFault {
  vma: VmAreaStruct;
  mm: MmStruct;
  address: number;
  flags: number;
  /** PT frame and index of the PTE. */
  table: number;
  idx: number;
  origPte: number;
}

function isWrite(vmf: VmFault): boolean {
  return (vmf.flags & FAULT_FLAG_WRITE) !== 0;
}

/** vm_normal_page(): the frame a present PTE maps, or -1 for the zero page (a special mapping with no struct page to count). */
export function vm_normal_page(k: Kernel, pte: number): number {
  const pfn = ptePfn(pte);
  return (k.mem_map.flags[pfn]! & PG_zero) !== 0 ? -1 : pfn;
}

/** mm_counter(): which rss counter a page counts in. */
export function mm_counter(k: Kernel, pfn: number): number {
  const f = k.mem_map.flags[pfn]!;
  if ((f & PG_anon) !== 0) return MM_ANONPAGES;
  return (f & PG_swapbacked) !== 0 ? MM_SHMEMPAGES : MM_FILEPAGES;
}

/** maybe_mkwrite(): writable only in a VM_WRITE area. */
function maybeMkwrite(pte: number, vma: VmAreaStruct): number {
  return (vma.vmFlags & VM_WRITE) !== 0 ? pte | PTE_RW : pte;
}

/** mlock_new_folio / folio_add_lru_vma: a page new to a VM_LOCKED area goes unevictable. */
function addNewPage(t: Task, vma: VmAreaStruct, pfn: number): void {
  const k = t.k;
  if ((vma.vmFlags & VM_LOCKED) !== 0) {
    k.mem_map.flags[pfn] = (k.mem_map.flags[pfn]! | PG_mlocked) >>> 0;
    k.engine.counters.add('unevictable_pgs_mlocked');
  }
  mmCore(k).hooks.onNewPage?.(k, pfn, t);
}

/** do_anonymous_page(): a first touch of private anonymous memory. */
function* doAnonymousPage(t: Task, vmf: VmFault): Blocking<number> {
  const { vma, mm } = vmf;
  const k = mm.k;
  t.enter(CAT_DO_ANONYMOUS_PAGE);
  let pte: number;
  if (!isWrite(vmf) && k.cfg.kernel.zero_page) {
    // The zero page for reads: no allocation, no rmap, read-only whatever the area allows.
    pte = makePte(mmCore(k).zeroPfn, vma.vmPageProt & ~PTE_RW);
  } else {
    anon_vma_prepare(t, vma);
    const pfn = yield* alloc_page(t, __GFP_USER | __GFP_ZERO);
    if (pfn < 0) {
      t.leave();
      return VM_FAULT_OOM;
    }
    pte = makePte(pfn, vma.vmPageProt);
    if ((vma.vmFlags & VM_WRITE) !== 0) pte = makePte(pfn, pteFlags(pte) | PTE_RW | PTE_DIRTY);
    // The PTE may have been filled while allocation slept (vmf_pte_changed).
    if (k.machine.pt.readEntry(vmf.table, vmf.idx) !== 0) {
      k.mem_map.refcount[pfn] = 1;
      put_page_testzero_free(t, pfn);
      t.leave();
      return 0;
    }
    mm.rss[MM_ANONPAGES]!++;
    folio_add_new_anon_rmap(t, vma, pfn, vmf.address);
    addNewPage(t, vma, pfn);
  }
  pte_lock(t, mm, vmf.table);
  if (k.machine.pt.readEntry(vmf.table, vmf.idx) === 0) set_pte_at(t, mm, vmf.table, vmf.idx, pte);
  pte_unlock(t, mm, vmf.table);
  t.leave();
  return 0;
}

/** Maps `pfn` (a reference already held for this mapping) at the fault's PTE: finish_fault / set_pte_range. */
function finishFault(t: Task, vmf: VmFault, pfn: number, anonCopy: boolean): void {
  const { vma, mm } = vmf;
  const k = mm.k;
  let flags = pteFlags(makePte(0, vma.vmPageProt));
  if (isWrite(vmf)) flags = maybeMkwrite(makePte(0, flags | PTE_DIRTY), vma);
  pte_lock(t, mm, vmf.table);
  set_pte_at(t, mm, vmf.table, vmf.idx, makePte(pfn, pteFlags(flags)));
  pte_unlock(t, mm, vmf.table);
  if (anonCopy) {
    mm.rss[MM_ANONPAGES]!++;
    folio_add_new_anon_rmap(t, vma, pfn, vmf.address);
    addNewPage(t, vma, pfn);
  } else {
    mm.rss[mm_counter(k, pfn)]!++;
    folio_add_rmap_pte(t, pfn);
    if ((vma.vmFlags & VM_LOCKED) !== 0) k.mem_map.flags[pfn] = (k.mem_map.flags[pfn]! | PG_mlocked) >>> 0;
  }
}

/**
 * do_fault_around(): map the file's already-cached pages around the fault
 * (a fault_around_bytes window inside the area and its PMD) with no I/O.
 * Returns true if the faulting page itself got mapped.
 */
function doFaultAround(t: Task, vmf: VmFault): boolean {
  const { vma, mm } = vmf;
  const k = mm.k;
  const mapping = vma.vmFile!.mapping;
  const memmap = k.mem_map;
  const win = Math.floor(vmf.address / FAULT_AROUND_BYTES) * FAULT_AROUND_BYTES;
  const pmdStart = Math.floor(vmf.address / PMD_SIZE) * PMD_SIZE;
  const start = Math.max(win, vma.vmStart, pmdStart);
  const end = Math.min(win + FAULT_AROUND_BYTES, vma.vmEnd, pmdStart + PMD_SIZE);
  const lastIndex = loffPages(mapping.size) - 1;
  let mapped = false;
  t.enter(CAT_FAULT_AROUND);
  pte_lock(t, mm, vmf.table);
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    const idx = tableIndex(addr, 1);
    if (ptep_get(t, mm, vmf.table, idx) !== 0) continue;
    const index = linear_page_index(vma, addr);
    if (index > lastIndex) break;
    const pfn = mapping.pages.get(index);
    // As filemap_map_pages, a page still being read is left for the fault proper, which waits for it.
    if (pfn === undefined || filemap_page_under_read(mapping, index)) continue;
    memmap.refcount[pfn]!++;
    const prot = pteFlags(makePte(0, vma.vmPageProt));
    set_pte_at(t, mm, vmf.table, idx, makePte(pfn, prot));
    mm.rss[mm_counter(k, pfn)]!++;
    folio_add_rmap_pte(t, pfn);
    if ((vma.vmFlags & VM_LOCKED) !== 0) memmap.flags[pfn] = (memmap.flags[pfn]! | PG_mlocked) >>> 0;
    if (addr === Math.floor(vmf.address / PAGE_SIZE) * PAGE_SIZE) mapped = true;
  }
  pte_unlock(t, mm, vmf.table);
  t.leave();
  return mapped;
}

/** do_fault(): a file-backed (or shmem) page at a PTE that is none. */
function* doFault(t: Task, vmf: VmFault): Blocking<number> {
  const { vma, mm } = vmf;
  const k = mm.k;
  t.enter(CAT_DO_FAULT);
  const index = linear_page_index(vma, vmf.address);
  const write = isWrite(vmf);
  if (!write && doFaultAround(t, vmf)) {
    t.leave();
    return VM_FAULT_NOPAGE;
  }
  let copy = -1;
  if (write && (vma.vmFlags & VM_SHARED) === 0) {
    // do_cow_fault: the private copy is allocated first.
    anon_vma_prepare(t, vma);
    copy = yield* alloc_page(t, __GFP_USER);
    if (copy < 0) {
      t.leave();
      return VM_FAULT_OOM;
    }
  }
  const r = yield* filemap_fault(t, vma, index);
  if (r.pfn < 0) {
    if (copy >= 0) put_page_testzero_free(t, copy);
    t.leave();
    return r.pfn === -1 ? VM_FAULT_SIGBUS : VM_FAULT_OOM;
  }
  let ret = r.major ? VM_FAULT_MAJOR : 0;
  if (k.machine.pt.readEntry(vmf.table, vmf.idx) !== 0) {
    // Raced with another fault on the same page while reading it.
    put_page_testzero_free(t, r.pfn);
    if (copy >= 0) put_page_testzero_free(t, copy);
    t.leave();
    return ret;
  }
  if (copy >= 0) {
    k.machine.mem.copy(copy, r.pfn);
    t.chargeAs(CAT_COPY_PAGE, k.cfg.cost.copy_page + k.dramStream(t, 2 * PAGE_SIZE, k.cfg.cost.copy_page));
    finishFault(t, vmf, copy, true);
    put_page_testzero_free(t, r.pfn);
  } else {
    if (write) set_page_dirty(k, r.pfn);
    finishFault(t, vmf, r.pfn, false);
  }
  t.leave();
  return ret;
}

/**
 * do_wp_page(): a write to a present, read-only PTE in a writable area.
 * Shared areas make the page writable (and dirty); private ones reuse an
 * exclusive anonymous page or copy (wp_page_copy), flushing the old
 * translation from every CPU before the new one is installed.
 */
function* doWpPage(t: Task, vmf: VmFault): Blocking<number> {
  const { vma, mm } = vmf;
  const k = mm.k;
  const memmap = k.mem_map;
  const pfn = vm_normal_page(k, vmf.origPte);
  t.enter(CAT_DO_WP_PAGE);
  if ((vma.vmFlags & VM_SHARED) !== 0 && pfn >= 0) {
    // wp_page_shared: page_mkwrite dirties the page, then the PTE is reused.
    set_page_dirty(k, pfn);
    set_pte_at(t, mm, vmf.table, vmf.idx, makePte(pfn, pteFlags(vmf.origPte) | PTE_RW | PTE_DIRTY | PTE_ACCESSED));
    t.leave();
    return 0;
  }
  // A KSM page is never reused in place, however few map it (wp_can_reuse_anon_folio).
  if (pfn >= 0 && (memmap.flags[pfn]! & (PG_anon | PG_ksm)) === PG_anon) {
    const exclusive = (memmap.flags[pfn]! & PG_anon_exclusive) !== 0;
    // wp_can_reuse_anon_folio: no other reference, so no other mapper.
    if (exclusive || memmap.refcount[pfn] === 1) {
      memmap.flags[pfn] = (memmap.flags[pfn]! | PG_anon_exclusive) >>> 0;
      t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), false));
      set_pte_at(t, mm, vmf.table, vmf.idx, makePte(pfn, pteFlags(vmf.origPte) | PTE_RW | PTE_DIRTY | PTE_ACCESSED));
      t.leave();
      return 0;
    }
  }
  const r = yield* wpPageCopy(t, vmf, pfn);
  t.leave();
  return r;
}

/** wp_page_copy(): break COW (or the zero page) with a private copy. */
function* wpPageCopy(t: Task, vmf: VmFault, oldPfn: number): Blocking<number> {
  const { vma, mm } = vmf;
  const k = mm.k;
  const mem = k.machine.mem;
  const memmap = k.mem_map;
  t.enter(CAT_WP_PAGE_COPY);
  anon_vma_prepare(t, vma);
  if (oldPfn >= 0) memmap.refcount[oldPfn]!++;
  const zero = oldPfn < 0;
  const pfn = yield* alloc_page(t, __GFP_USER | (zero ? __GFP_ZERO : 0));
  if (pfn < 0) {
    if (oldPfn >= 0) put_page_testzero_free(t, oldPfn);
    t.leave();
    return VM_FAULT_OOM;
  }
  if (!zero) {
    mem.copy(pfn, oldPfn);
    t.chargeAs(CAT_COPY_PAGE, k.cfg.cost.copy_page + k.dramStream(t, 2 * PAGE_SIZE, k.cfg.cost.copy_page));
  }
  pte_lock(t, mm, vmf.table);
  if (k.machine.pt.readEntry(vmf.table, vmf.idx) !== vmf.origPte) {
    // Someone else changed the PTE while this task slept: drop the copy, retry the access.
    pte_unlock(t, mm, vmf.table);
    put_page_testzero_free(t, pfn);
    if (oldPfn >= 0) put_page_testzero_free(t, oldPfn);
    t.leave();
    return 0;
  }
  if (oldPfn >= 0) {
    if ((memmap.flags[oldPfn]! & PG_anon) === 0) {
      mm.rss[mm_counter(k, oldPfn)]!--;
      mm.rss[MM_ANONPAGES]!++;
    }
  } else mm.rss[MM_ANONPAGES]!++;
  // ptep_clear_flush: every CPU drops the old translation before the new one appears; the
  // PTE lock stays held while the flush waits, so a fault elsewhere cannot fill the hole.
  ptl_hold(mm, vmf.table);
  set_pte_at(t, mm, vmf.table, vmf.idx, 0);
  yield* flush_tlb_page(t, mm, Math.floor(vmf.address / PAGE_SIZE) * PAGE_SIZE);
  folio_add_new_anon_rmap(t, vma, pfn, vmf.address);
  addNewPage(t, vma, pfn);
  set_pte_at(t, mm, vmf.table, vmf.idx, makePte(pfn, maybeMkwrite(makePte(0, pteFlags(makePte(0, vma.vmPageProt)) | PTE_DIRTY), vma)));
  ptl_release(t, mm, vmf.table);
  pte_unlock(t, mm, vmf.table);
  if (oldPfn >= 0) {
    if ((memmap.flags[oldPfn]! & PG_ksm) !== 0) k.engine.counters.add('cow_ksm');
    folio_remove_rmap_pte(t, oldPfn);
    if (memmap.mapcount[oldPfn] === 0) memmap.flags[oldPfn] = (memmap.flags[oldPfn]! & ~PG_mlocked) >>> 0;
    // The reference taken above and the old mapping's.
    put_page_testzero_free(t, oldPfn);
    put_page_testzero_free(t, oldPfn);
  }
  k.engine.counters.add('cow_faults');
  t.leave();
  return 0;
}

/**
 * do_swap_page(): the PTE holds a swap entry. The page comes from the swap
 * cache if it is there; otherwise it is read from the device and the task
 * sleeps until the read completes (a major fault). A write fault on a page
 * only this mapping uses maps it writable at once.
 */
function* doSwapPage(t: Task, vmf: VmFault): Blocking<number> {
  const { vma, mm } = vmf;
  const k = mm.k;
  const memmap = k.mem_map;
  const core = mmCore(k);
  const type = swapType(vmf.origPte);
  const offset = swapOffset(vmf.origPte);
  let ret = 0;
  t.enter(CAT_DO_SWAP_PAGE);
  let pfn = core.hooks.swapCacheLookup ? core.hooks.swapCacheLookup(k, type, offset) : -1;
  let fresh = false;
  if (pfn >= 0) memmap.refcount[pfn]!++;
  else if (core.hooks.swapIn) {
    pfn = yield* core.hooks.swapIn(t, type, offset);
    ret = VM_FAULT_MAJOR;
    fresh = pfn >= 0 && memmap.mapcount[pfn] === 0 && memmap.owner[pfn] === 0;
  } else {
    // No swap cache: read the slot into a private frame.
    anon_vma_prepare(t, vma);
    pfn = yield* alloc_page(t, __GFP_USER);
    if (pfn >= 0) {
      const done = k.swap.submit(t.now, false);
      t.enter(CAT_SWAP_WAIT);
      yield t.sleepFor(Math.max(0, done - t.now));
      t.leave();
      k.machine.caches.invalidateFrame(pfn);
      swap_readpage_contents(k, pfn, k.swap.load(offset));
      ret = VM_FAULT_MAJOR;
      fresh = true;
    }
  }
  if (pfn < 0) {
    t.leave();
    return VM_FAULT_OOM;
  }
  // With swapIn the swap code counts its device reads (readahead included).
  if (ret & VM_FAULT_MAJOR && !core.hooks.swapIn) k.engine.counters.add('pswpin');
  pte_lock(t, mm, vmf.table);
  if (k.machine.pt.readEntry(vmf.table, vmf.idx) !== vmf.origPte) {
    pte_unlock(t, mm, vmf.table);
    put_page_testzero_free(t, pfn);
    t.leave();
    return ret;
  }
  // A swap cache page no PTE has mapped yet (read ahead) is not anonymous until now: it gets its rmap here.
  if ((memmap.flags[pfn]! & PG_anon) === 0) fresh = true;
  if (fresh) {
    anon_vma_prepare(t, vma);
    folio_add_new_anon_rmap(t, vma, pfn, vmf.address);
    addNewPage(t, vma, pfn);
  } else folio_add_rmap_pte(t, pfn);
  mm.rss[MM_SWAPENTS]!--;
  mm.rss[MM_ANONPAGES]!++;
  if (core.hooks.swapFree) core.hooks.swapFree(t, type, offset);
  else if (!core.hooks.swapIn && k.swap.isUsed(offset)) k.swap.freeSlot(offset);
  core.hooks.swapFreeFolio?.(t, pfn, isWrite(vmf));
  const exclusive = memmap.refcount[pfn] === 1;
  let flags = pteFlags(makePte(0, vma.vmPageProt));
  // folio_add_new_anon_rmap marked it exclusive; a page the swap slot or another mapper still shares is not (RMAP_EXCLUSIVE only when exclusive).
  memmap.flags[pfn] = (exclusive ? memmap.flags[pfn]! | PG_anon_exclusive : memmap.flags[pfn]! & ~PG_anon_exclusive) >>> 0;
  if (isWrite(vmf) && exclusive) flags = pteFlags(maybeMkwrite(makePte(0, flags | PTE_DIRTY), vma));
  set_pte_at(t, mm, vmf.table, vmf.idx, makePte(pfn, flags));
  pte_unlock(t, mm, vmf.table);
  if (isWrite(vmf) && (flags & PTE_RW) === 0) {
    vmf.origPte = makePte(pfn, flags);
    ret |= yield* doWpPage(t, vmf);
  }
  t.leave();
  return ret;
}

/**
 * handle_mm_fault(): resolve a fault at `address` in `vma` (the caller has
 * checked the access against the area). Returns VM_FAULT_* bits.
 */
export function* handle_mm_fault(t: Task, vma: VmAreaStruct, address: number, flags: number): Blocking<number> {
  const mm = vma.vmMm;
  const k = mm.k;
  t.enter(CAT_HANDLE_MM_FAULT);
  k.engine.counters.add('pgfault');
  if (vma.vmFlags & VM_HUGETLB) {
    const hr = yield* hugetlb_fault(t, vma, address, (flags & FAULT_FLAG_WRITE) !== 0);
    t.leave();
    return mm_account_fault(t, hr);
  }
  if (thp_fault_wanted(vma, address)) {
    // The PMD step: a new huge page, a write to a write-protected one, or a spurious fault on one.
    const hr = yield* handle_huge_pmd_fault(t, vma, address, (flags & FAULT_FLAG_WRITE) !== 0);
    if (hr !== VM_FAULT_FALLBACK) {
      t.leave();
      return mm_account_fault(t, hr);
    }
  }
  const table = yield* pte_alloc(t, mm, address);
  if (table < 0) {
    t.leave();
    return VM_FAULT_OOM;
  }
  const idx = tableIndex(address, 1);
  yield* ptl_wait(t, mm, table);
  const orig = ptep_get(t, mm, table, idx);
  const vmf: VmFault = { vma, mm, address, flags, table, idx, origPte: orig };
  let ret: number;
  if (orig === 0) {
    ret = vma.isAnonymous ? yield* doAnonymousPage(t, vmf) : yield* doFault(t, vmf);
  } else if (is_guard_pte_marker(orig)) {
    // handle_pte_marker(): a guard page (MADV_GUARD_INSTALL) is never mapped.
    ret = VM_FAULT_SIGSEGV;
  } else if (is_hwpoison_pte(orig)) {
    // A poisoned frame (memory_failure): the access gets SIGBUS.
    ret = VM_FAULT_HWPOISON;
  } else if (isSwapPte(orig)) {
    ret = yield* doSwapPage(t, vmf);
  } else if (pte_protnone(orig)) {
    // A PROT_NONE PTE in an accessible area would be a NUMA hint; the arch code refused inaccessible areas already.
    ret = VM_FAULT_SIGSEGV;
  } else if ((flags & FAULT_FLAG_WRITE) !== 0 && (orig & PTE_RW) === 0) {
    ret = yield* doWpPage(t, vmf);
  } else {
    // Spurious (another CPU fixed it first, or an A/D update): mark young/dirty, nothing to flush.
    let e = orig | PTE_ACCESSED;
    if ((flags & FAULT_FLAG_WRITE) !== 0) e |= PTE_DIRTY;
    if (e !== orig && pte_present_k(orig)) set_pte_at(t, mm, table, idx, makePte(ptePfn(orig), pteFlags(e)));
    ret = 0;
  }
  if (ret & VM_FAULT_MAJOR) k.engine.counters.add('pgmajfault');
  t.leave();
  return mm_account_fault(t, ret);
}

/**
 * mm_account_fault(): a fault that neither failed nor is to be retried
 * counts as the faulting thread's major (VM_FAULT_MAJOR) or minor fault,
 * GUP's faults (populate, mlock) included: /proc/PID/stat's min_flt, maj_flt.
 */
function mm_account_fault(t: Task, ret: number): number {
  if (ret & (VM_FAULT_RETRY | VM_FAULT_ERROR)) return ret;
  const ts = t.data;
  if (ts instanceof TaskStruct) {
    if (ret & VM_FAULT_MAJOR) ts.majFlt++;
    else ts.minFlt++;
  }
  return ret;
}
