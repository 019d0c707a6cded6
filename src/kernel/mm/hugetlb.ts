/**
 * hugetlb pages, after mm/hugetlb.c and fs/hugetlbfs/inode.c: a pool of
 * 2 MiB pages set aside at boot (vm.nr_hugepages, `kernel.nr_hugepages`),
 * reserved by mmap(MAP_HUGETLB), handed out by faults and given back when
 * the last mapping of a page goes.
 *
 * - The pool (struct hstate, default size 2 MiB): `nr` pages in all, a free
 *   list, `resv` free pages promised to mappings (HugePages_Rsvd). No
 *   surplus pages (nr_overcommit_hugepages = 0) and no other page size: a
 *   MAP_HUGE_ size other than 2 MiB is EINVAL, as on a host without 1 GiB
 *   pages registered.
 * - mmap(MAP_ANONYMOUS | MAP_HUGETLB): the length is rounded up to 2 MiB
 *   and the area is backed by an unlinked hugetlbfs file
 *   (hugetlb_file_setup); hugetlbfs_file_mmap marks it VM_HUGETLB |
 *   VM_DONTEXPAND and reserves one page per 2 MiB (hugetlb_reserve_pages):
 *   ENOMEM when the free pages not yet promised are fewer. MAP_NORESERVE
 *   reserves nothing, and a fault then takes a page only if one is free
 *   and unpromised, else SIGBUS. A private mapping's reservations belong to
 *   its areas (a fork child has none); a shared one's to the file.
 * - A fault maps a zeroed page with a PMD leaf (make_huge_pte): a shared
 *   page goes into the file's cache, writable at once in a writable area; a
 *   private one is anonymous, writable on a write fault. After fork a
 *   private page is mapped read-only by both; a write copies it
 *   (hugetlb_wp), or makes it writable when the writer maps it alone.
 * - Unmapping drops each page's mapping; a private page goes back to the
 *   pool with its last mapping, a shared one when the file goes (the last
 *   area of an anonymous shared mapping). Closing an area returns its
 *   unused reservations.
 * - Areas split only at 2 MiB boundaries (hugetlb_vm_op_split: EINVAL).
 *
 * Pages are not on the LRU, not counted in rss (the kernel's hugetlb_usage
 * is not shown) and never swapped. Costs: zeroing a page is clear_huge_page
 * (512 x cost.zero_page), a copy 512 x cost.copy_page, each PMD write goes
 * through the caches, a free or allocation from the pool is a kernel_op.
 */
import { makePte, pteFlags, ptePfn, PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_PSE, PTE_RW, tableIndex } from '../../hw/pagetable.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EINVAL } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { AddressSpace } from './filemap.js';
import { pmd_alloc } from './huge_memory.js';
import { HPAGE_NR, PG_anon, PG_head, PG_tail } from './page_flags.js';
import { PAGE_SIZE, PMD_SIZE, VM_SHARED, VM_WRITE, type MmStruct, type VmAreaStruct, type VmFile } from './mm_types.js';
import { ptep_get, set_pte_at } from './pgtable.js';
import { tlb_flush_pte_range, type MmuGather } from './mmu_gather.js';
import { flush_tlb_page } from './tlbflush.js';

const CAT_HUGETLB_FAULT = intern('hugetlb_fault');
const CAT_CLEAR_HUGE = intern('clear_huge_page');
const CAT_COPY_HUGE = intern('copy_user_large_folio');

/** VM_FAULT_* values the fault returns (memory.ts's, repeated to keep this module below it). */
const VM_FAULT_SIGBUS = 0x000002;
const VM_FAULT_OOM = 0x000001;

/** MAP_HUGE_SHIFT and MAP_HUGE_MASK: the page size's log2 in mmap's flags. */
export const MAP_HUGE_SHIFT = 26;
export const MAP_HUGE_MASK = 0x3f;

/** struct hstate for 2 MiB pages. */
export class Hstate {
  /** nr_huge_pages. */
  nr = 0;
  /** free_huge_pages: head pfns. */
  readonly free: number[] = [];
  /** resv_huge_pages. */
  resv = 0;
  /** Pages with HPageRestoreReserve: freeing one gives its reservation back (resv_huge_pages++). */
  readonly restoreReserve = new Set<number>();
}

/** The pool, made at boot (hugetlb_init); empty when vm.nr_hugepages is 0. */
export function hstate(k: Kernel): Hstate {
  return (k.hugetlb ??= new Hstate());
}

/**
 * hugetlb_init() / set_max_huge_pages(): take `kernel.nr_hugepages` 2 MiB
 * pages out of the buddy allocator at boot. Fewer when memory runs short,
 * as the kernel's pool then stays smaller.
 */
export function hugetlb_init(k: Kernel): void {
  const want = k.cfg.kernel.nr_hugepages;
  if (want <= 0) return;
  const h = hstate(k);
  const memmap = k.mem_map;
  for (let i = 0; i < want; i++) {
    const head = memmap.allocAligned(HPAGE_NR);
    if (head < 0) break;
    for (let j = 0; j < HPAGE_NR; j++) {
      memmap.refcount[head + j] = 0;
      memmap.mapcount[head + j] = 0;
      memmap.flags[head + j] = j === 0 ? PG_head : PG_tail;
    }
    h.free.push(head);
    h.nr++;
  }
}

/** The hugetlbfs file behind an anonymous MAP_HUGETLB mapping (hugetlb_file_setup). */
export class HugetlbFile implements VmFile {
  readonly mapping: AddressSpace;
  readonly readable = true;
  readonly writable = true;
  readonly hugetlb = true;
  /** The file's cached pages by huge page index (a shared mapping's). */
  readonly pages = new Map<number, number>();
  /** Indices reserved for a shared mapping and not yet faulted (the inode's resv_map). */
  readonly resv = new Set<number>();
  private refs = 1;

  constructor(readonly k: Kernel, size: number) {
    this.mapping = new AddressSpace(k, size, null, true);
  }

  get(): void {
    this.refs++;
  }

  /** fput: the last reference frees the cached pages and the unused reservations (hugetlbfs_evict_inode). */
  put(t: Task): void {
    if (--this.refs > 0) return;
    const h = hstate(this.k);
    for (const head of this.pages.values()) putHugePage(t, head);
    this.pages.clear();
    h.resv -= this.resv.size;
    this.resv.clear();
    this.mapping.release();
  }
}

/** remove_inode_hugepages() for a hole [first, last) of huge page indices: the cached pages and reservations go (mappings elsewhere keep theirs until unmapped). */
export function hugetlb_punch_hole(t: Task, file: HugetlbFile, first: number, last: number): void {
  const h = hstate(t.k);
  for (let i = first; i < last; i++) {
    const head = file.pages.get(i);
    if (head !== undefined) {
      file.pages.delete(i);
      putHugePage(t, head);
    }
    if (file.resv.delete(i)) h.resv--;
  }
}

/** Is this an area of hugetlb pages? */
export function is_hugetlb_file(f: VmFile | null): f is HugetlbFile {
  return f !== null && (f as HugetlbFile).hugetlb === true;
}

/** A private area's reservations (its resv_map), shared by the pieces a split makes of it. */
export interface HugetlbResv {
  readonly pending: Set<number>;
}

/** vma_hugecache_offset(): the huge page index of addr in the area's file. */
function hugeIndex(vma: VmAreaStruct, addr: number): number {
  return Math.floor((addr - vma.vmStart) / PMD_SIZE) + Math.floor(vma.vmPgoff / HPAGE_NR);
}

/** hugetlb_acct_memory(): promise `n` free pages, or false when fewer are free and unpromised. */
function acct(h: Hstate, n: number): boolean {
  if (h.free.length - h.resv < n) return false;
  h.resv += n;
  return true;
}

/**
 * hugetlb_reserve_pages() at mmap: one page per 2 MiB of the range at
 * `pgoff` not yet reserved (a shared file's earlier reservations and cached
 * pages count). Returns false for ENOMEM, else a private area's
 * reservations (null for a shared area or VM_NORESERVE, which reserves
 * nothing).
 */
export function hugetlb_reserve_pages(k: Kernel, file: HugetlbFile, pgoff: number, len: number, shared: boolean, noreserve: boolean): HugetlbResv | null | false {
  if (noreserve) return null;
  const h = hstate(k);
  const first = Math.floor(pgoff / HPAGE_NR);
  const n = Math.ceil(len / PMD_SIZE);
  if (shared) {
    const need: number[] = [];
    for (let i = first; i < first + n; i++) if (!file.resv.has(i) && !file.pages.has(i)) need.push(i);
    if (!acct(h, need.length)) return false;
    for (const i of need) file.resv.add(i);
    return null;
  }
  if (!acct(h, n)) return false;
  const pending = new Set<number>();
  for (let i = first; i < first + n; i++) pending.add(i);
  return { pending };
}

/** hugetlb_vm_op_close(): a private area gives back the reservations of its range it never used. */
export function hugetlb_vm_op_close(k: Kernel, vma: VmAreaStruct): void {
  const r = vma.hugetlbResv;
  if (!r) return;
  const h = hstate(k);
  const first = Math.floor(vma.vmPgoff / HPAGE_NR);
  const n = (vma.vmEnd - vma.vmStart) / PMD_SIZE;
  for (let i = first; i < first + n; i++) if (r.pending.delete(i)) h.resv--;
}

/** hugetlb_vm_op_split(): an area of huge pages splits only at a huge page boundary. */
export function hugetlb_may_split(vma: VmAreaStruct, addr: number): number {
  return is_hugetlb_file(vma.vmFile) && addr % PMD_SIZE !== 0 ? -EINVAL : 0;
}

/** alloc_hugetlb_folio(): a page for index idx of the area, from its reservation or the unpromised free pages; -1 when none. */
function allocHugetlbPage(t: Task, vma: VmAreaStruct, idx: number, file: HugetlbFile): number {
  const k = t.k;
  const h = hstate(k);
  let reserved = false;
  if (vma.vmFlags & VM_SHARED) reserved = file.resv.delete(idx);
  else if (vma.hugetlbResv) reserved = vma.hugetlbResv.pending.delete(idx);
  if (reserved) h.resv--;
  else if (h.free.length - h.resv <= 0) return -1;
  const head = h.free.pop();
  if (head === undefined) return -1;
  t.charge(k.cfg.kernel.cost.kernel_op);
  k.mem_map.refcount[head] = 1;
  return head;
}

/** alloc_hugetlb_folio() with the area's reservation not to be used: an unpromised free page, or -1. */
function allocUnreserved(t: Task): number {
  const k = t.k;
  const h = hstate(k);
  if (h.free.length - h.resv <= 0) return -1;
  const head = h.free.pop()!;
  t.charge(k.cfg.kernel.cost.kernel_op);
  k.mem_map.refcount[head] = 1;
  return head;
}

/**
 * unmap_ref_private(): the owner of a private mapping must copy page `head`
 * at haddr but the pool has no page for it: the page is unmapped from every
 * other private area of the same file at that address that owns no
 * reservations (the fork children's), each marked HPAGE_RESV_UNMAPPED so
 * that its next no-page fault is SIGBUS rather than a zeroed page where
 * the data was. The owner then maps the page alone and writes it in place.
 */
function* unmap_ref_private(t: Task, vma: VmAreaStruct, head: number, haddr: number): Blocking<void> {
  const k = t.k;
  const pt = k.machine.pt;
  const mapping = vma.vmFile!.mapping;
  // i_mmap_lock_write and the interval tree walk: one look at each area of the file.
  k.touch(t, mapping.kaddr, true);
  for (const iter of [...mapping.iMmap]) {
    t.charge(k.cfg.kernel.cost.kernel_op);
    if (iter === vma || iter.vmFlags & VM_SHARED || iter.hugetlbResv !== null) continue;
    if (haddr < iter.vmStart || haddr >= iter.vmEnd) continue;
    const mm = iter.vmMm;
    const e = pt.walkFunctional(mm.pgd, haddr);
    if (pt.walkLevel !== 2 || !(e & PTE_PRESENT) || !(e & PTE_PSE) || ptePfn(e) !== head) continue;
    const pd = pmdTableOf(mm, haddr);
    const pidx = tableIndex(haddr, 2);
    ptep_get(t, mm, pd, pidx);
    set_pte_at(t, mm, pd, pidx, 0);
    yield* flush_tlb_page(t, mm, haddr);
    iter.hugetlbUnmapped = true;
    k.mem_map.mapcount[head]!--;
    putHugePage(t, head);
  }
}

/** free_huge_folio(): back to the pool's free list. */
function putHugePage(t: Task, head: number): void {
  const k = t.k;
  const memmap = k.mem_map;
  if (--memmap.refcount[head]! > 0) return;
  memmap.mapcount[head] = 0;
  memmap.flags[head] = PG_head;
  t.charge(k.cfg.kernel.cost.kernel_op);
  const h = hstate(k);
  // free_huge_folio(): a page whose unmap restored its area's reservation takes the promise back.
  if (h.restoreReserve.delete(head)) h.resv++;
  h.free.push(head);
}

function clearHugePage(t: Task, head: number): void {
  const k = t.k;
  for (let i = 0; i < HPAGE_NR; i++) k.machine.mem.zero(head + i);
  t.chargeAs(CAT_CLEAR_HUGE, HPAGE_NR * k.cfg.cost.zero_page + k.dramStream(t, HPAGE_NR * PAGE_SIZE, HPAGE_NR * k.cfg.cost.zero_page));
  k.engine.counters.add('pages_cleared', HPAGE_NR);
}

/** make_huge_pte(): a PMD leaf for head, writable when asked, young and (if writable) dirty. */
function makeHugePte(vma: VmAreaStruct, head: number, writable: boolean): number {
  let f = (pteFlags(makePte(0, vma.vmPageProt)) | PTE_PSE | PTE_ACCESSED) & ~PTE_RW;
  if (writable) f |= PTE_RW | PTE_DIRTY;
  return makePte(head, f);
}

/**
 * hugetlb_fault(): the PMD leaf for address, made from the file's cache
 * (shared), a new zeroed page (hugetlb_no_page), or a copy of a page
 * shared since fork (hugetlb_wp). Returns 0 or VM_FAULT_SIGBUS / OOM.
 */
export function* hugetlb_fault(t: Task, vma: VmAreaStruct, address: number, write: boolean): Blocking<number> {
  const mm = vma.vmMm;
  const k = mm.k;
  const file = vma.vmFile as HugetlbFile;
  t.enter(CAT_HUGETLB_FAULT);
  const haddr = Math.floor(address / PMD_SIZE) * PMD_SIZE;
  const pd = yield* pmd_alloc(t, mm, haddr);
  if (pd < 0) {
    t.leave();
    return VM_FAULT_OOM;
  }
  const pidx = tableIndex(haddr, 2);
  const e = ptep_get(t, mm, pd, pidx);
  const shared = (vma.vmFlags & VM_SHARED) !== 0;
  const memmap = k.mem_map;
  if (e & PTE_PRESENT) {
    if (write && !(e & PTE_RW)) {
      const old = ptePfn(e);
      // hugetlb_wp(): the owner of the area's reservations copies without them (cow_from_owner, MAP_CHG_ENFORCED).
      const owner = !shared && vma.hugetlbResv !== null;
      if (owner && memmap.mapcount[old]! > 1 && hstate(k).free.length - hstate(k).resv <= 0) {
        // No page to copy into: unmap the page from the other processes instead, and take it (retry_avoidcopy).
        yield* unmap_ref_private(t, vma, old, haddr);
      }
      if (memmap.mapcount[old]! > 1 && !shared) {
        // hugetlb_wp(): copy the page shared since fork.
        const head = owner ? allocUnreserved(t) : allocHugetlbPage(t, vma, hugeIndex(vma, haddr), file);
        if (head < 0) {
          t.leave();
          return VM_FAULT_SIGBUS;
        }
        for (let i = 0; i < HPAGE_NR; i++) k.machine.mem.copy(head + i, old + i);
        t.chargeAs(CAT_COPY_HUGE, HPAGE_NR * k.cfg.cost.copy_page + k.dramStream(t, 2 * HPAGE_NR * PAGE_SIZE, HPAGE_NR * k.cfg.cost.copy_page));
        memmap.flags[head] = (PG_head | PG_anon) >>> 0;
        memmap.mapcount[head] = 1;
        memmap.mapcount[old]!--;
        putHugePage(t, old);
        set_pte_at(t, mm, pd, pidx, makeHugePte(vma, head, true));
        yield* flush_tlb_page(t, mm, haddr);
      } else set_pte_at(t, mm, pd, pidx, e | PTE_RW | PTE_DIRTY | PTE_ACCESSED);
    }
    t.leave();
    return 0;
  }
  // hugetlb_no_page(): an area whose page the owner took back (unmap_ref_private) faults no page in again.
  if (vma.hugetlbUnmapped) {
    t.leave();
    return VM_FAULT_SIGBUS;
  }
  const idx = hugeIndex(vma, haddr);
  let head = shared ? (file.pages.get(idx) ?? -1) : -1;
  if (head >= 0) memmap.refcount[head]!++;
  else {
    head = allocHugetlbPage(t, vma, idx, file);
    if (head < 0) {
      t.leave();
      return VM_FAULT_SIGBUS;
    }
    clearHugePage(t, head);
    memmap.flags[head] = (PG_head | (shared ? 0 : PG_anon)) >>> 0;
    if (shared) {
      // The page cache holds one reference, the mapping another.
      file.pages.set(idx, head);
      memmap.refcount[head]!++;
    }
  }
  memmap.mapcount[head]!++;
  const writable = (vma.vmFlags & VM_WRITE) !== 0 && (shared || write);
  set_pte_at(t, mm, pd, pidx, makeHugePte(vma, head, writable));
  t.leave();
  return 0;
}

/** __unmap_hugepage_range(): clear the leaves of [start, end) (2 MiB aligned) and drop their pages. */
export function unmap_hugepage_range(t: Task, tlb: MmuGather, vma: VmAreaStruct, start: number, end: number): void {
  const mm = vma.vmMm;
  const k = mm.k;
  const pt = k.machine.pt;
  for (let a = Math.floor(start / PMD_SIZE) * PMD_SIZE; a < end; a += PMD_SIZE) {
    const e = pt.walkFunctional(mm.pgd, a);
    if (pt.walkLevel !== 2 || !(e & PTE_PRESENT) || !(e & PTE_PSE)) continue;
    const pd = pmdTableOf(mm, a);
    const pidx = tableIndex(a, 2);
    ptep_get(t, mm, pd, pidx);
    set_pte_at(t, mm, pd, pidx, 0);
    tlb_flush_pte_range(tlb, a, PMD_SIZE);
    const head = ptePfn(e);
    // The area that owns the reservations gets back the one its anonymous page used (the page carries
    // HPageRestoreReserve until it is freed), so a later fault there is served from it again.
    const r = vma.hugetlbResv;
    if (r && !(vma.vmFlags & VM_SHARED) && k.mem_map.flags[head]! & PG_anon) {
      hstate(k).restoreReserve.add(head);
      r.pending.add(hugeIndex(vma, a));
    }
    k.mem_map.mapcount[head]!--;
    putHugePage(t, head);
  }
}

/** The PD table covering addr (known present). */
function pmdTableOf(mm: MmStruct, addr: number): number {
  const pt = mm.k.machine.pt;
  let table = mm.pgd;
  for (let level = 4; level > 2; level--) table = ptePfn(pt.readEntry(table, tableIndex(addr, level)));
  return table;
}

/**
 * copy_hugetlb_page_range() at fork: the child maps the parent's pages; a
 * private (COW) area's leaves become read-only on both sides.
 */
export function* copy_hugetlb_page_range(t: Task, dst: VmAreaStruct, src: VmAreaStruct): Blocking<number> {
  const k = src.vmMm.k;
  const pt = k.machine.pt;
  const cow = (src.vmFlags & (VM_SHARED | 0x20)) === 0x20; // is_cow_mapping: VM_MAYWRITE without VM_SHARED
  for (let a = src.vmStart; a < src.vmEnd; a += PMD_SIZE) {
    let e = pt.walkFunctional(src.vmMm.pgd, a);
    if (pt.walkLevel !== 2 || !(e & PTE_PRESENT) || !(e & PTE_PSE)) continue;
    const spd = pmdTableOf(src.vmMm, a);
    const pidx = tableIndex(a, 2);
    ptep_get(t, src.vmMm, spd, pidx);
    const dpd = yield* pmd_alloc(t, dst.vmMm, a);
    if (dpd < 0) return -12;
    if (cow && e & PTE_RW) {
      e &= ~PTE_RW;
      set_pte_at(t, src.vmMm, spd, pidx, e);
      yield* flush_tlb_page(t, src.vmMm, a);
    }
    set_pte_at(t, dst.vmMm, dpd, pidx, e);
    const head = ptePfn(e);
    k.mem_map.refcount[head]!++;
    k.mem_map.mapcount[head]!++;
  }
  return 0;
}

/** hugetlb_change_protection(): the leaves of [start, end) get the area's new protection. */
export function hugetlb_change_protection(t: Task, tlb: MmuGather, vma: VmAreaStruct, start: number, end: number): void {
  const mm = vma.vmMm;
  const pt = mm.k.machine.pt;
  for (let a = start; a < end; a += PMD_SIZE) {
    const e = pt.walkFunctional(mm.pgd, a);
    if (pt.walkLevel !== 2 || !(e & PTE_PRESENT) || !(e & PTE_PSE)) continue;
    const pd = pmdTableOf(mm, a);
    const pidx = tableIndex(a, 2);
    const shared = (vma.vmFlags & VM_SHARED) !== 0;
    const head = ptePfn(e);
    // Writable again only where no COW is pending: a shared area, or a private page mapped once.
    const writable = (vma.vmFlags & VM_WRITE) !== 0 && (shared || ((e & PTE_DIRTY) !== 0 && mm.k.mem_map.mapcount[head] === 1));
    const n = makeHugePte(vma, head, writable) | (e & (PTE_ACCESSED | PTE_DIRTY));
    ptep_get(t, mm, pd, pidx);
    if (n !== e) {
      set_pte_at(t, mm, pd, pidx, n);
      tlb_flush_pte_range(tlb, a, PMD_SIZE);
    }
  }
}

/** The /proc/meminfo lines of the pool (hugetlb_report_meminfo). */
export function hugetlb_meminfo(k: Kernel): string[] {
  const h = k.hugetlb;
  const nr = h?.nr ?? 0;
  const pad = (name: string, v: number): string => `${(name + ':').padEnd(16)}${String(v).padStart(8)}`;
  return [
    pad('HugePages_Total', nr),
    pad('HugePages_Free', h?.free.length ?? 0),
    pad('HugePages_Rsvd', h?.resv ?? 0),
    pad('HugePages_Surp', 0),
    `${'Hugepagesize:'.padEnd(16)}${String(PMD_SIZE / 1024).padStart(8)} kB`,
    `${'Hugetlb:'.padEnd(16)}${String((nr * PMD_SIZE) / 1024).padStart(8)} kB`,
  ];
}

