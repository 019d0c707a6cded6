/**
 * The kernel's side of the page tables: reaching and allocating the table
 * that holds an address's PTE (pgd -> pud -> pmd -> pte, with the p4d level
 * folded as on 4-level x86-64), reading and writing entries through the
 * cache model, the protection bits an area's PTEs get (vm_get_page_prot),
 * and the x86 rule for which PTE changes need a TLB flush.
 *
 * Entries are read and written at their physical address (the kernel
 * reaches page tables through the direct map), so a table another CPU's
 * walker just touched costs a transfer here too.
 */
import { makePte, PTE_ACCESSED, PTE_DIRTY, PTE_GLOBAL, PTE_NX, PTE_PCD, PTE_PRESENT, PTE_PSE, PTE_PWT, PTE_RW, PTE_SOFT1, PTE_SOFT2, PTE_SOFT3, PTE_TABLE, PTE_USER, ptePfn, pteFlags, tableIndex } from '../../hw/pagetable.js';
import { PTE_PROTNONE } from './swapops.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { Completion } from '../../sim/wait.js';
import { MmCore } from './core.js';
import { split_huge_pmd_locked } from './huge_memory.js';
import { PAGE_SIZE, VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { alloc_pgtable_page, free_pgtable_page } from './page_alloc.js';

export const PAGE_NONE = PTE_PROTNONE | PTE_ACCESSED;
export const PAGE_READONLY = PTE_PRESENT | PTE_USER | PTE_ACCESSED | PTE_NX;
export const PAGE_READONLY_EXEC = PTE_PRESENT | PTE_USER | PTE_ACCESSED;
export const PAGE_COPY = PAGE_READONLY;
export const PAGE_COPY_EXEC = PAGE_READONLY_EXEC;
export const PAGE_SHARED = PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_NX;
export const PAGE_SHARED_EXEC = PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED;

/** x86's protection_map, indexed by VM_READ|VM_WRITE|VM_EXEC|VM_SHARED. */
const PROTECTION_MAP = [
  PAGE_NONE, PAGE_READONLY, PAGE_COPY, PAGE_COPY, PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_COPY_EXEC, PAGE_COPY_EXEC,
  PAGE_NONE, PAGE_READONLY, PAGE_SHARED, PAGE_SHARED, PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_SHARED_EXEC, PAGE_SHARED_EXEC,
];

/** vm_get_page_prot(): the PTE flags of an area with these vm_flags. */
export function vm_get_page_prot(vmFlags: number): number {
  return PROTECTION_MAP[vmFlags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED)]!;
}

/**
 * vma_wants_writenotify(): a shared writable file area whose pages need dirty
 * tracking maps them read-only so the first write faults (page_mkwrite).
 */
export function vma_wants_writenotify(vma: VmAreaStruct): boolean {
  if ((vma.vmFlags & (VM_WRITE | VM_SHARED)) !== (VM_WRITE | VM_SHARED)) return false;
  return vma.vmFile !== null && vma.vmFile.mapping.canWriteback;
}

/** vma_set_page_prot(): recompute vm_page_prot from the flags. */
export function vma_set_page_prot(vma: VmAreaStruct): void {
  let flags = vma.vmFlags;
  if (vma_wants_writenotify(vma)) flags &= ~VM_SHARED;
  vma.vmPageProt = vm_get_page_prot(flags);
}

/** _PAGE_CHG_MASK without the pfn: what pte_modify keeps from the old entry. */
const PAGE_CHG_MASK = PTE_PCD | PTE_PWT | PTE_ACCESSED | PTE_DIRTY | PTE_SOFT1 | PTE_SOFT2 | PTE_SOFT3;

/** pte_modify(): keep the frame, A/D, caching and software bits; take the protection from `prot`. */
export function pte_modify(pte: number, prot: number): number {
  return makePte(ptePfn(pte), (pteFlags(pte) & PAGE_CHG_MASK) | (prot & ~PAGE_CHG_MASK));
}

/** pte_protnone(): a PROT_NONE mapping of a frame (not present to the MMU, but not a swap entry). */
export function pte_protnone(pte: number): boolean {
  return (pte & (PTE_PRESENT | PTE_PROTNONE)) === PTE_PROTNONE;
}

/** pte_present() as the kernel means it: the MMU's present bit, or PROT_NONE. */
export function pte_present_k(pte: number): boolean {
  return (pte & (PTE_PRESENT | PTE_PROTNONE)) !== 0;
}

/** pte_needs_flush() (arch/x86/include/asm/tlbflush.h): does replacing oldpte by newpte need a TLB flush? */
export function pte_needs_flush(oldpte: number, newpte: number): boolean {
  if ((oldpte & PTE_PRESENT) === 0) return false;
  if (ptePfn(oldpte) !== ptePfn(newpte)) return true;
  const oldf = pteFlags(oldpte);
  const newf = pteFlags(newpte);
  const flushOnClear = PTE_DIRTY | PTE_PRESENT | PTE_ACCESSED;
  const flushOnChange = PTE_RW | PTE_USER | PTE_PWT | PTE_PCD | PTE_PSE | PTE_GLOBAL | PTE_NX | PTE_SOFT1 | PTE_SOFT2 | PTE_SOFT3;
  const diff = (oldf ^ newf) & ~PTE_ACCESSED;
  if ((diff & oldf & flushOnClear) !== 0) return true;
  return (diff & flushOnChange) !== 0;
}

/** Reads an entry, charging the kernel's load through the caches. */
export function ptep_get(t: Task, mm: MmStruct, table: number, idx: number): number {
  const pt = mm.k.machine.pt;
  t.charge(mm.k.machine.caches.access(t.cpu, pt.entryPaddr(table, idx), false));
  return pt.readEntry(table, idx);
}

/** Writes an entry (set_pte_at / pte_clear), charging the store through the caches. */
export function set_pte_at(t: Task, mm: MmStruct, table: number, idx: number, pte: number): void {
  const pt = mm.k.machine.pt;
  t.charge(mm.k.machine.caches.access(t.cpu, pt.entryPaddr(table, idx), true));
  pt.writeEntry(table, idx, pte);
}

/** ptep_get_and_clear(): an xchg on the entry (atomic, so a concurrent A/D update is not lost). */
export function ptep_get_and_clear(t: Task, mm: MmStruct, table: number, idx: number): number {
  const pt = mm.k.machine.pt;
  t.charge(mm.k.machine.caches.access(t.cpu, pt.entryPaddr(table, idx), true) + mm.k.cfg.cost.atomic_rmw);
  const old = pt.readEntry(table, idx);
  pt.writeEntry(table, idx, 0);
  return old;
}

/**
 * The last hold of each PT table's split lock, in simulated time: [from,
 * until) and the CPU. CPUs run up to a quantum apart, so a path that takes
 * and drops the lock within one engine step is never seen holding it in
 * host order; an attempt from another CPU whose clock falls inside the
 * hold waits (spins) until its end, as on the lock word (lockstat.ts does
 * the same for spinlock_t).
 */
const ptlHolds = new WeakMap<MmStruct, Map<number, Float64Array>>();
const CAT_PTL_SPIN = intern('spin_wait');

function ptlHold(mm: MmStruct, table: number): Float64Array {
  let m = ptlHolds.get(mm);
  if (!m) {
    m = new Map();
    ptlHolds.set(mm, m);
  }
  let h = m.get(table);
  if (!h) {
    h = new Float64Array([0, 0, -1]);
    m.set(table, h);
  }
  return h;
}

/** pte_offset_map_lock / spin_lock(ptl): the split PTE lock lives in the table's struct page; a hold by another CPU overlapping this attempt is waited out. */
export function pte_lock(t: Task, mm: MmStruct, table: number): void {
  const k = mm.k;
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(table), true) + k.cfg.cost.atomic_rmw);
  const h = ptlHold(mm, table);
  const gap = h[1]! - t.now;
  // A hold still open in host order (held across a wait, see ptl_hold) is ptl_wait's to wait for.
  if (gap > 0 && gap !== Infinity && t.now >= h[0]! && h[2] !== t.cpu) {
    k.engine.counters.add('lock_contended:ptl');
    k.engine.samples.record('lock_wait:ptl', gap);
    t.chargeAs(CAT_PTL_SPIN, gap);
    // The wait shows in a trace as every other lock's does (lockstat's noteWait).
    if (k.engine.tracing) k.engine.traceSpan('lock', 'ptl', t.cpu, t.now - gap, gap);
  }
  h[0] = t.now;
  h[1] = Infinity;
  h[2] = t.cpu;
}

/**
 * Waits (spinning, as on a spinlock) while another path holds the table's
 * PTE lock across a wait of its own (ptl_hold). Paths that take the lock and
 * never wait while holding it need no more than pte_lock: the engine runs
 * them without interruption.
 */
export function* ptl_wait(t: Task, mm: MmStruct, table: number): Blocking<void> {
  for (;;) {
    const c = mm.ptlHeld.get(table);
    if (!c) return;
    yield t.spinOn(c);
  }
}

/** Keep the table's PTE lock held across a wait (ptep_clear_flush's IPI wait). */
export function ptl_hold(mm: MmStruct, table: number): void {
  mm.ptlHeld.set(table, new Completion(mm.k.engine, 1));
}

/** Release what ptl_hold kept: the spinners go on. */
export function ptl_release(t: Task, mm: MmStruct, table: number): void {
  const c = mm.ptlHeld.get(table);
  mm.ptlHeld.delete(table);
  c?.complete(t.now);
}

/** pte_unmap_unlock: the release store. */
export function pte_unlock(t: Task, mm: MmStruct, table: number): void {
  t.charge(mm.k.machine.caches.access(t.cpu, MmCore.pageKaddr(table), true));
  ptlHold(mm, table)[1] = t.now;
}

/**
 * Descends from the pgd to the PT table covering addr, reading each upper
 * entry through the caches. Returns the PT frame, or -1 when a level is
 * missing (pmd_none and friends); walkLevel says which level was missing.
 */
export function pte_table(t: Task, mm: MmStruct, addr: number): number {
  const k = mm.k;
  const pt = k.machine.pt;
  const caches = k.machine.caches;
  let table = mm.pgd;
  for (let level = 4; level >= 2; level--) {
    const idx = tableIndex(addr, level);
    t.charge(caches.access(t.cpu, pt.entryPaddr(table, idx), false));
    let e = pt.readEntry(table, idx);
    if ((e & PTE_PRESENT) === 0) return -1;
    if ((e & PTE_PSE) !== 0) {
      // A path that works on PTEs (reclaim's rmap walk, memory failure) meets a huge page: split its PMD first.
      if (level !== 2) throw new Error(`pte_table: a 1 GiB mapping at 0x${addr.toString(16)}`);
      split_huge_pmd_locked(t, mm, table, idx);
      e = pt.readEntry(table, idx);
    }
    table = ptePfn(e);
  }
  return table;
}

/**
 * __pte_alloc and the upper-level allocations of __handle_mm_fault: the PT
 * table for addr, creating missing levels. Returns -1 when out of memory.
 */
export function* pte_alloc(t: Task, mm: MmStruct, addr: number): Blocking<number> {
  const k = mm.k;
  const pt = k.machine.pt;
  let table = mm.pgd;
  for (let level = 4; level >= 2; level--) {
    const idx = tableIndex(addr, level);
    let e = ptep_get(t, mm, table, idx);
    if ((e & PTE_PRESENT) === 0) {
      const child = yield* alloc_pgtable_page(t);
      if (child < 0) return -1;
      // Another task may have installed the table while this one slept in reclaim (pmd_populate under the lock).
      e = pt.readEntry(table, idx);
      if ((e & PTE_PRESENT) !== 0) {
        free_pgtable_page(k, child);
      } else {
        e = makePte(child, PTE_TABLE);
        set_pte_at(t, mm, table, idx, e);
        mm.pgtablesBytes += PAGE_SIZE;
      }
    }
    table = ptePfn(e);
  }
  return table;
}
