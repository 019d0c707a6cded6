/**
 * Invariant checks for memory management, switched on with cfg.sim.checks
 * (the interpreter runs them after every op; tests call them directly).
 * checkInvariants walks every live address space, the frame metadata and
 * every CPU's TLB, without charging cycles, and throws an Error naming the
 * first violation:
 *
 * - areas: sorted, disjoint, page-aligned, map_count and locked_vm agree;
 * - every present PTE lies inside an area (or one a munmap has detached and
 *   is still zapping) and points to an allocated frame
 *   (never a free one); page-table frames are allocated and PG_pagetable;
 * - mapcounts balance: a frame's mapcount equals the PTEs that map it, and
 *   no frame is mapped that no PTE maps; refcount >= mapcount (plus the page
 *   cache's reference); rss counters equal what the tables hold;
 * - TLBs: an entry the CPU can still use (its PCID's ASID slot holds a live
 *   mm and has caught up with the mm's tlb_gen, no flush pending) never maps
 *   a free frame and translates to what the page table says. Entries of a
 *   slot that fell behind are unreachable: the slot is flushed before it is
 *   loaded again (choose_new_asid, switch_mm_irqs_off), as on Linux, where
 *   they linger in the hardware too.
 */
import { PTE_PRESENT, PTE_PSE, ptePfn, PTRS_PER_TABLE } from '../../hw/pagetable.js';
import { HPAGE_NR, PG_anon, PG_head, PG_pagetable, PG_reserved, PG_swapbacked, PG_tail, PG_zero } from './page_flags.js';
import { thp_entire_mapcount } from './huge_memory.js';
import type { Kernel } from '../kernel.js';
import { mmCore } from './core.js';
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS, PAGE_SIZE, VM_HUGETLB, VM_LOCKED, type MmStruct } from './mm_types.js';
import { pte_present_k } from './pgtable.js';
import { kernPcid, TLB_NR_DYN_ASIDS, cpuTlbState } from './tlbflush.js';
import { is_real_swap_pte } from './guard.js';

const LEVEL_SPAN = [0, PAGE_SIZE, 2 ** 21, 2 ** 30, 2 ** 39];

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function checkVmas(mm: MmStruct): void {
  let prevEnd = 0;
  let locked = 0;
  for (const v of mm.vmas) {
    if (v.vmStart % PAGE_SIZE || v.vmEnd % PAGE_SIZE || v.vmStart >= v.vmEnd) throw new Error(`mm ${mm.id}: malformed ${v}`);
    if (v.vmStart < prevEnd) throw new Error(`mm ${mm.id}: ${v} overlaps or is out of order`);
    if (v.detached) throw new Error(`mm ${mm.id}: ${v} is in the tree but marked detached`);
    if (v.vmMm !== mm) throw new Error(`mm ${mm.id}: ${v} belongs to another mm`);
    if (v.vmFlags & VM_LOCKED) locked += v.pages;
    prevEnd = v.vmEnd;
  }
  if (mm.mapCount !== mm.vmas.length) throw new Error(`mm ${mm.id}: map_count ${mm.mapCount} but ${mm.vmas.length} areas`);
  // Linux leaves an mremap(MREMAP_DONTUNMAP) source's pages counted (MmStruct.lockedVmUnlocked).
  if (mm.lockedVm !== locked + mm.lockedVmUnlocked) {
    throw new Error(`mm ${mm.id}: locked_vm ${mm.lockedVm} but ${locked} pages in VM_LOCKED areas and ${mm.lockedVmUnlocked} left by MREMAP_DONTUNMAP`);
  }
}

/** The area containing addr (binary search), or one being zapped after its detach (MmStruct.zapping), or undefined. */
function areaAt(mm: MmStruct, addr: number) {
  const v = mm.vmas;
  let lo = 0;
  let hi = v.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v[mid]!.vmEnd > addr) hi = mid;
    else lo = mid + 1;
  }
  const a = v[lo];
  if (a && a.vmStart <= addr) return a;
  // An area a munmap has detached but not finished zapping (MmStruct.zapping) still covers its PTEs.
  for (const z of mm.zapping) if (z.vmStart <= addr && addr < z.vmEnd) return z;
  return undefined;
}

/**
 * Walks one mm's tables: checks each entry and adds each mapped frame to
 * `maps` (pfn -> PTEs mapping it). Returns the rss the tables hold.
 */
function walkTables(k: Kernel, mm: MmStruct, maps: Map<number, number>): Float64Array {
  const pt = k.machine.pt;
  const memmap = k.mem_map;
  const rss = new Float64Array(4);
  const walk = (table: number, level: number, base: number): void => {
    if (memmap.isFree(table) || (memmap.flags[table]! & PG_pagetable) === 0) {
      throw new Error(`mm ${mm.id}: level-${level} table at pfn ${table} (for ${hex(base)}) is not an allocated page table`);
    }
    // The user half of the pgd only: kernel mappings are not modelled.
    const n = level === 4 ? PTRS_PER_TABLE / 2 : PTRS_PER_TABLE;
    for (let i = 0; i < n; i++) {
      const e = pt.readEntry(table, i);
      if (e === 0) continue;
      const addr = base + i * LEVEL_SPAN[level]!;
      if (level > 1) {
        if ((e & PTE_PRESENT) === 0) throw new Error(`mm ${mm.id}: non-present level-${level} entry ${e} at ${hex(addr)}`);
        if (e & PTE_PSE) {
          checkHugePmd(k, mm, e, addr, level, maps, rss);
          continue;
        }
        walk(ptePfn(e), level - 1, addr);
        continue;
      }
      const vma = areaAt(mm, addr);
      if (!vma) throw new Error(`mm ${mm.id}: PTE ${e} at ${hex(addr)} lies outside every area`);
      if (is_real_swap_pte(e)) {
        rss[MM_SWAPENTS]!++;
        continue;
      }
      if (!pte_present_k(e)) continue;
      const pfn = ptePfn(e);
      if (memmap.isFree(pfn)) throw new Error(`mm ${mm.id}: PTE at ${hex(addr)} maps pfn ${pfn}, which is free`);
      const f = memmap.flags[pfn]!;
      if (f & PG_zero) continue;
      if (f & PG_pagetable) throw new Error(`mm ${mm.id}: PTE at ${hex(addr)} maps page table pfn ${pfn}`);
      maps.set(pfn, (maps.get(pfn) ?? 0) + 1);
      rss[f & PG_anon ? MM_ANONPAGES : f & PG_swapbacked ? MM_SHMEMPAGES : MM_FILEPAGES]!++;
    }
  };
  walk(mm.pgd, 4, 0);
  return rss;
}

/** A PMD leaf: inside one anonymous area, 512 allocated, aligned frames of one compound page; each frame counts as mapped once. */
function checkHugePmd(k: Kernel, mm: MmStruct, e: number, addr: number, level: number, maps: Map<number, number>, rss: Float64Array): void {
  const memmap = k.mem_map;
  if (level !== 2) throw new Error(`mm ${mm.id}: level-${level} leaf at ${hex(addr)} (only 2 MiB leaves are modelled)`);
  const vma = areaAt(mm, addr);
  if (!vma || vma.vmEnd < addr + LEVEL_SPAN[2]!) throw new Error(`mm ${mm.id}: PMD leaf at ${hex(addr)} is not inside one area`);
  const head = ptePfn(e);
  if (head % HPAGE_NR !== 0) throw new Error(`mm ${mm.id}: PMD leaf at ${hex(addr)} maps unaligned pfn ${head}`);
  if (vma.vmFlags & VM_HUGETLB) {
    // A hugetlb page: one mapcount on its head, not in rss, never free to the buddy allocator while in the pool.
    if ((memmap.flags[head]! & PG_head) === 0 || memmap.isFree(head)) throw new Error(`mm ${mm.id}: hugetlb leaf at ${hex(addr)} maps pfn ${head}, not a pool page`);
    maps.set(head, (maps.get(head) ?? 0) + 1);
    return;
  }
  if ((memmap.flags[head]! & PG_head) === 0 || thp_entire_mapcount(k, head) <= 0) throw new Error(`mm ${mm.id}: PMD leaf at ${hex(addr)} maps pfn ${head}, not a mapped compound page`);
  for (let i = 0; i < HPAGE_NR; i++) {
    const pfn = head + i;
    if (memmap.isFree(pfn)) throw new Error(`mm ${mm.id}: PMD leaf at ${hex(addr)} maps pfn ${pfn}, which is free`);
    if (i > 0 && (memmap.flags[pfn]! & PG_tail) === 0) throw new Error(`mm ${mm.id}: pfn ${pfn} of the huge page at ${hex(addr)} is not a tail`);
    maps.set(pfn, (maps.get(pfn) ?? 0) + 1);
  }
  rss[MM_ANONPAGES]! += HPAGE_NR;
}

function checkTlbs(k: Kernel): void {
  const memmap = k.mem_map;
  const core = mmCore(k);
  const pt = k.machine.pt;
  for (let cpu = 0; cpu < k.cfg.cpus; cpu++) {
    const st = cpuTlbState(k, cpu);
    // PCID -> the mm an up-to-date ASID slot holds (stale slots are flushed before they are used again).
    const current = new Map<number, MmStruct>();
    for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) {
      const mm = core.mms.get(st.ctxId[asid]!);
      if (mm && st.ctxGen[asid] === mm.tlbGen && mm.tlbFlushPending === 0 && mm.pgd >= 0) current.set(kernPcid(k, asid), mm);
    }
    k.machine.tlb.forEachEntry(cpu, (pcid, vpn, pfn, huge) => {
      const mm = current.get(pcid);
      if (!mm) return;
      if (memmap.isFree(pfn)) throw new Error(`CPU ${cpu}: TLB entry (PCID ${pcid}, ${hex(vpn * PAGE_SIZE)}) of mm ${mm.id} maps pfn ${pfn}, which is free`);
      if (huge) return;
      const want = pt.translateFunctional(mm.pgd, vpn * PAGE_SIZE);
      if (want !== pfn) {
        throw new Error(`CPU ${cpu}: TLB entry (PCID ${pcid}, ${hex(vpn * PAGE_SIZE)}) maps pfn ${pfn} but mm ${mm.id}'s table says ${want} and the CPU is up to date`);
      }
    });
  }
}

/** Runs every check; throws an Error describing the first violation. */
export function checkInvariants(k: Kernel): void {
  const core = mmCore(k);
  const memmap = k.mem_map;
  const maps = new Map<number, number>();
  // A task that holds a page-table lock across a wait (ptl_hold: ksmd's replace_page or a COW break between
  // ptep_clear_flush and the new entry, waiting for the flush's IPIs) is mid-update: its mm's rss and the mapcounts
  // are right again when it lets go, as Linux's are by the time anyone can look under that lock.
  let updating = false;
  for (const mm of core.mms.values()) {
    if (mm.pgd < 0) continue;
    checkVmas(mm);
    const rss = walkTables(k, mm, maps);
    if (mm.ptlHeld.size > 0) {
      updating = true;
      continue;
    }
    for (const c of [MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS]) {
      if (rss[c] !== mm.rss[c]) throw new Error(`mm ${mm.id}: rss counter ${c} is ${mm.rss[c]} but the tables hold ${rss[c]}`);
    }
  }
  if (!updating) {
    for (const [pfn, n] of maps) {
      if (memmap.mapcount[pfn] !== n) throw new Error(`pfn ${pfn}: mapcount ${memmap.mapcount[pfn]} but ${n} PTEs map it`);
    }
  }
  const cached = new Set<number>();
  for (const m of core.mappings.values()) for (const pfn of m.pages.values()) cached.add(pfn);
  for (let pfn = 0; pfn < memmap.mapcount.length; pfn++) {
    if (memmap.isFree(pfn)) {
      if (memmap.mapcount[pfn] !== 0 || memmap.refcount[pfn] !== 0) throw new Error(`pfn ${pfn} is free with refcount ${memmap.refcount[pfn]} mapcount ${memmap.mapcount[pfn]}`);
      continue;
    }
    const f = memmap.flags[pfn]!;
    if (f & (PG_zero | PG_reserved | PG_pagetable)) continue;
    const m = memmap.mapcount[pfn]!;
    if (m > 0 && !maps.has(pfn) && !updating) throw new Error(`pfn ${pfn}: mapcount ${m} but no PTE maps it`);
    const need = m + (cached.has(pfn) ? 1 : 0);
    if (memmap.refcount[pfn]! < need) throw new Error(`pfn ${pfn}: refcount ${memmap.refcount[pfn]} below its ${m} mappings${cached.has(pfn) ? ' and the page cache' : ''}`);
  }
  checkTlbs(k);
}
