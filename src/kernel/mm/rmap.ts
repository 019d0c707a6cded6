/**
 * Reverse mapping, after mm/rmap.c: anon_vma lifetime (anon_vma_prepare,
 * anon_vma_clone, anon_vma_fork, unlink_anon_vmas), the per-page mapcount
 * and owner updates when a PTE maps or unmaps a page, and rmap_walk, which
 * finds every area and address mapping a frame (for reclaim, KSM and the
 * invariant checks).
 *
 * A frame's owner is recorded as page->mapping and page->index are:
 * MemMap.owner holds the id of its anon_vma (PG_anon set) or address_space,
 * MemMap.index its linear page index (vm_pgoff + page offset in the area).
 */
import { PG_anon, PG_swapbacked } from './page_flags.js';
import type { Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { MmCore, mmCore } from './core.js';
import { mod_lruvec_state, NR_ANON_MAPPED, NR_FILE_MAPPED } from './vmstat.js';
import { AnonVma, PAGE_SIZE, VM_ACCESS_FLAGS, VM_SOFTDIRTY, type VmAreaStruct } from './mm_types.js';

/**
 * PageAnonExclusive: this anonymous page is mapped by exactly one process
 * and may be made writable without a copy. The bit position is our own
 * (the kernel keeps it in page->flags as PG_anon_exclusive too).
 */
export const PG_anon_exclusive = 1 << 30;

/** sizeof(struct anon_vma), for its slab object. */
const ANON_VMA_BYTES = 88;

/** linear_page_index(): the page index of `addr` in the area's file or anon_vma. */
export function linear_page_index(vma: VmAreaStruct, addr: number): number {
  // Shifted, as the kernel's: a fault address inside a page names that page.
  return Math.floor((addr - vma.vmStart) / PAGE_SIZE) + vma.vmPgoff;
}

/** vma_address(): where page `index` would be mapped in `vma`, or -1 if outside it. */
export function vma_address(vma: VmAreaStruct, index: number): number {
  const addr = vma.vmStart + (index - vma.vmPgoff) * PAGE_SIZE;
  return addr >= vma.vmStart && addr < vma.vmEnd ? addr : -1;
}

function newAnonVma(t: Task, parent: AnonVma | null): AnonVma {
  const k = t.k;
  const core = mmCore(k);
  const kaddr = k.slab.kmalloc(ANON_VMA_BYTES);
  t.charge(k.cfg.kernel.cost.kernel_op + k.machine.caches.access(t.cpu, kaddr, true));
  const av = new AnonVma(core.newOwnerId(), parent, kaddr);
  core.anonVmas.set(av.id, av);
  if (parent) parent.refcount++;
  return av;
}

/** anon_vma_chain_link(): link `vma` into `av`'s tree. */
function chainLink(t: Task, vma: VmAreaStruct, av: AnonVma): void {
  const k = t.k;
  vma.anonVmaChain.push(av);
  av.vmas.push(vma);
  av.refcount++;
  t.charge(k.cfg.kernel.cost.kernel_op + k.machine.caches.access(t.cpu, av.kaddr, true));
}

function putAnonVma(k: Kernel, av: AnonVma): void {
  if (--av.refcount > 0) return;
  const core = mmCore(k);
  if (av.parent) putAnonVma(k, av.parent);
  k.slab.kfree(av.kaddr, ANON_VMA_BYTES);
  // Pages may still name it as their owner (on their way out through a gather); keep it findable until they go.
  if (av.pages === 0) core.anonVmas.delete(av.id);
}

/** anon_vma_compatible(): a and b could share one anon_vma (adjacent, same flags but access bits, contiguous offsets). */
function anonVmaCompatible(a: VmAreaStruct, b: VmAreaStruct): boolean {
  return (
    a.vmEnd === b.vmStart &&
    ((a.vmFlags ^ b.vmFlags) & ~(VM_ACCESS_FLAGS | VM_SOFTDIRTY)) === 0 &&
    a.vmFile === b.vmFile &&
    b.vmPgoff === a.vmPgoff + (b.vmStart - a.vmStart) / PAGE_SIZE
  );
}

/** reusable_anon_vma(): old's anon_vma, if old was never forked and a/b are compatible. */
function reusableAnonVma(old: VmAreaStruct, a: VmAreaStruct, b: VmAreaStruct): AnonVma | null {
  if (anonVmaCompatible(a, b) && old.anonVma && old.anonVmaChain.length === 1) return old.anonVma;
  return null;
}

/**
 * anon_vma_prepare(): give the area an anon_vma before its first anonymous
 * page, sharing a neighbour's when the two could later merge
 * (find_mergeable_anon_vma).
 */
export function anon_vma_prepare(t: Task, vma: VmAreaStruct): AnonVma {
  if (vma.anonVma) return vma.anonVma;
  const vmas = vma.vmMm.vmas;
  const i = vmas.indexOf(vma);
  let av: AnonVma | null = null;
  const next = i >= 0 ? vmas[i + 1] : undefined;
  if (next) av = reusableAnonVma(next, vma, next);
  const prev = i > 0 ? vmas[i - 1] : undefined;
  if (!av && prev) av = reusableAnonVma(prev, prev, vma);
  if (!av) av = newAnonVma(t, null);
  chainLink(t, vma, av);
  vma.anonVma = av;
  return av;
}

/** anon_vma_clone(): link `dst` into every anon_vma `src` is linked into (split, merge of an unfaulted area). */
export function anon_vma_clone(t: Task, dst: VmAreaStruct, src: VmAreaStruct): void {
  for (const av of src.anonVmaChain) chainLink(t, dst, av);
}

/**
 * anon_vma_fork(): the child's area joins its parent's anon_vmas (so the
 * pages it shares copy-on-write are found from them) and gets one of its
 * own for the pages it will allocate.
 */
export function anon_vma_fork(t: Task, vma: VmAreaStruct, pvma: VmAreaStruct): void {
  vma.anonVma = null;
  vma.anonVmaChain = [];
  if (!pvma.anonVma) return;
  anon_vma_clone(t, vma, pvma);
  const av = newAnonVma(t, pvma.anonVma);
  chainLink(t, vma, av);
  vma.anonVma = av;
}

/** unlink_anon_vmas(): take the area out of every anon_vma it is linked into. */
export function unlink_anon_vmas(t: Task, vma: VmAreaStruct): void {
  const k = vma.vmMm.k;
  for (const av of vma.anonVmaChain) {
    const j = av.vmas.indexOf(vma);
    if (j >= 0) av.vmas.splice(j, 1);
    t.charge(k.cfg.kernel.cost.kernel_op + k.machine.caches.access(t.cpu, av.kaddr, true));
    putAnonVma(k, av);
  }
  vma.anonVmaChain = [];
  vma.anonVma = null;
}

function touchPage(t: Task, pfn: number, atomic: boolean): void {
  const k = t.k;
  t.charge(k.machine.caches.access(t.cpu, MmCore.pageKaddr(pfn), true) + (atomic ? k.cfg.cost.atomic_rmw : 0));
}

/** folio_add_new_anon_rmap(): a freshly allocated page becomes the area's, mapped once, exclusively. */
export function folio_add_new_anon_rmap(t: Task, vma: VmAreaStruct, pfn: number, addr: number): void {
  const k = vma.vmMm.k;
  const memmap = k.mem_map;
  const av = vma.anonVma!;
  memmap.flags[pfn] = (memmap.flags[pfn]! | PG_anon | PG_swapbacked | PG_anon_exclusive) >>> 0;
  memmap.owner[pfn] = av.id;
  memmap.index[pfn] = linear_page_index(vma, addr);
  memmap.mapcount[pfn] = 1;
  av.pages++;
  touchPage(t, pfn, false);
  // __folio_mod_stat: NR_ANON_MAPPED.
  mod_lruvec_state(t, NR_ANON_MAPPED, 1);
}

/** folio_add_anon_rmap_pte() / folio_add_file_rmap_pte(): one more PTE maps the page. */
export function folio_add_rmap_pte(t: Task, pfn: number): void {
  const k = t.k;
  const m = ++k.mem_map.mapcount[pfn]!;
  touchPage(t, pfn, true);
  // The page's first mapping: __folio_mod_stat (NR_ANON_MAPPED or NR_FILE_MAPPED).
  if (m === 1) mod_lruvec_state(t, (k.mem_map.flags[pfn]! & PG_anon) !== 0 ? NR_ANON_MAPPED : NR_FILE_MAPPED, 1);
}

/** folio_remove_rmap_pte(): one PTE less maps the page. */
export function folio_remove_rmap_pte(t: Task, pfn: number): void {
  const k = t.k;
  const memmap = k.mem_map;
  const m = --memmap.mapcount[pfn]!;
  if (m < 0) throw new Error(`folio_remove_rmap_pte: pfn ${pfn} mapcount went negative`);
  touchPage(t, pfn, true);
  // The page's last mapping went: __folio_mod_stat (NR_ANON_MAPPED or NR_FILE_MAPPED).
  if (m === 0) mod_lruvec_state(t, (memmap.flags[pfn]! & PG_anon) !== 0 ? NR_ANON_MAPPED : NR_FILE_MAPPED, -1);
}

/** Page cache ownership: set when a file page enters an address_space. */
export function set_page_mapping(k: Kernel, pfn: number, mappingId: number, index: number): void {
  const memmap = k.mem_map;
  memmap.owner[pfn] = mappingId;
  memmap.index[pfn] = index;
}

/**
 * rmap_walk(): call fn(vma, addr) for every area that may map the frame at
 * the address it would be mapped at (the caller checks the PTE there).
 */
export function rmap_walk(k: Kernel, pfn: number, fn: (vma: VmAreaStruct, addr: number) => void): void {
  const memmap = k.mem_map;
  const core = mmCore(k);
  const owner = memmap.owner[pfn]!;
  const index = memmap.index[pfn]!;
  if (owner === 0) return;
  if ((memmap.flags[pfn]! & PG_anon) !== 0) {
    const av = core.anonVmas.get(owner);
    if (!av) return;
    for (const vma of av.vmas) {
      const addr = vma_address(vma, index);
      if (addr >= 0) fn(vma, addr);
    }
    return;
  }
  const mapping = core.mappings.get(owner);
  if (!mapping) return;
  for (const vma of mapping.iMmap) {
    const addr = vma_address(vma, index);
    if (addr >= 0) fn(vma, addr);
  }
}
