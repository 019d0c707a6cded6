/**
 * Areas of an address space, after mm/vma.c and the lookup half of
 * mm/mmap.c: finding an area (find_vma, vma_lookup), allocating and freeing
 * vm_area_structs, splitting one in two (__split_vma), and merging as the
 * kernel does, both when a new range is mapped next to compatible areas
 * (vma_merge_new_range) and when part of an area changes its flags and can
 * join a neighbour (vma_merge_existing_range, via vma_modify).
 *
 * The maple tree is an array sorted by address; its cost is charged as the
 * tree's would be: a walk reads one node per level (16-slot nodes, about two
 * thirds full, counting gaps as ranges), a store also writes a new leaf node
 * (the tree copies nodes on write), all through the cache model at
 * addresses inside the mm's tree arena.
 */
import { hugetlb_vm_op_close } from './hugetlb.js';
import type { Blocking, Task } from '../../sim/task.js';
import { WaitQueue } from '../../sim/wait.js';
import { vma_link_file, vma_unlink_file } from './filemap.js';
import { mmCore } from './core.js';
import { split_huge_pmd_if_needed } from './huge_memory.js';
import { PAGE_SIZE, VM_IGNORE_MERGE, VM_SPECIAL, VmAreaStruct, type MmStruct, type VmFile } from './mm_types.js';
import { vma_set_page_prot } from './pgtable.js';
import { anon_vma_clone, unlink_anon_vmas } from './rmap.js';

/** sizeof(struct vm_area_struct) on x86-64, for its slab object. */
export const VMA_BYTES = 184;
/** Bytes of the mm's maple-tree arena (node addresses wrap inside it). */
export const MT_ARENA_BYTES = 65536;
const MT_NODE_BYTES = 256;
const MT_SLOTS = 16;
/** Typical ranges per node: nodes split when full and are about two thirds full. */
const MT_FILL = 10;

// ---- the tree ----

/** Index in mm.vmas of the first area ending above addr (vmas.length if none). */
export function vma_index(mm: MmStruct, addr: number): number {
  const v = mm.vmas;
  let lo = 0;
  let hi = v.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v[mid]!.vmEnd > addr) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Charges a maple-tree descent to the slot of position `pos` (and, for a store, the new leaf). */
export function mt_charge(t: Task, mm: MmStruct, pos: number, store: boolean): void {
  const k = mm.k;
  const caches = k.machine.caches;
  const ranges = 2 * mm.mapCount + 1;
  let leaves = Math.max(1, Math.ceil(ranges / MT_FILL));
  let height = 1;
  while (leaves > 1) {
    leaves = Math.ceil(leaves / MT_SLOTS);
    height++;
  }
  const slot = Math.floor((2 * pos) / MT_FILL);
  let cyc = 0;
  const nodes = MT_ARENA_BYTES / MT_NODE_BYTES;
  for (let level = 0; level < height; level++) {
    const node = Math.floor(slot / MT_SLOTS ** (height - 1 - level));
    cyc += caches.access(t.cpu, mm.mtKaddr + ((level * 97 + node) % nodes) * MT_NODE_BYTES, false);
  }
  if (store) {
    const leaf = mm.mtKaddr + (((height - 1) * 97 + slot) % nodes) * MT_NODE_BYTES;
    for (let off = 0; off < MT_NODE_BYTES; off += caches.lineBytes) cyc += caches.access(t.cpu, leaf + off, true);
    cyc += k.cfg.kernel.cost.kernel_op;
  }
  t.charge(cyc);
}

/** find_vma(): the first area ending above addr, or null. */
export function find_vma(t: Task, mm: MmStruct, addr: number): VmAreaStruct | null {
  const i = vma_index(mm, addr);
  mt_charge(t, mm, i, false);
  return mm.vmas[i] ?? null;
}

/** vma_lookup(): the area containing addr, or null. */
export function vma_lookup(t: Task, mm: MmStruct, addr: number): VmAreaStruct | null {
  const vma = find_vma(t, mm, addr);
  return vma && vma.vmStart <= addr ? vma : null;
}

/** find_vma_intersection(): the first area overlapping [start, end), or null. */
export function find_vma_intersection(t: Task, mm: MmStruct, start: number, end: number): VmAreaStruct | null {
  const vma = find_vma(t, mm, start);
  return vma && vma.vmStart < end ? vma : null;
}

/** find_vma_prev(): the first area ending above addr and the one before it. */
export function find_vma_prev(t: Task, mm: MmStruct, addr: number): { vma: VmAreaStruct | null; prev: VmAreaStruct | null } {
  const i = vma_index(mm, addr);
  mt_charge(t, mm, i, false);
  return { vma: mm.vmas[i] ?? null, prev: i > 0 ? mm.vmas[i - 1]! : null };
}

/** The area after `vma` in the tree (vma_next), or null. */
export function vma_next(mm: MmStruct, vma: VmAreaStruct): VmAreaStruct | null {
  const i = vma_index(mm, vma.vmStart);
  return mm.vmas[i + 1] ?? null;
}

/** The area before `vma` (vma_prev), or null. */
export function vma_prev(mm: MmStruct, vma: VmAreaStruct): VmAreaStruct | null {
  const i = vma_index(mm, vma.vmStart);
  return i > 0 ? mm.vmas[i - 1]! : null;
}

/** vma_iter_store_new + map_count++: put a new area in the tree. */
export function vma_tree_insert(t: Task, mm: MmStruct, vma: VmAreaStruct): void {
  const i = vma_index(mm, vma.vmStart);
  const at = mm.vmas[i];
  if (at && at.vmStart < vma.vmEnd) throw new Error(`vma_tree_insert: ${vma} overlaps ${at}`);
  mm.vmas.splice(i, 0, vma);
  mm.mapCount++;
  mt_charge(t, mm, i, true);
}

/** Take an area out of the tree (vma_iter_clear) and count it gone. */
export function vma_tree_remove(t: Task, mm: MmStruct, vma: VmAreaStruct): void {
  const i = vma_index(mm, vma.vmStart);
  if (mm.vmas[i] !== vma) throw new Error(`vma_tree_remove: ${vma} is not in the tree`);
  mm.vmas.splice(i, 1);
  mm.mapCount--;
  mt_charge(t, mm, i, true);
}

// ---- allocation ----

/** get_file(): another area holds the file. */
export function get_vma_file(f: VmFile): void {
  f.get?.();
}

/** fput(): an area let go of the file. */
export function fput_vma_file(t: Task, f: VmFile): void {
  f.put?.(t);
}

/** vm_area_alloc(): a new, unlinked area. */
export function vm_area_alloc(t: Task, mm: MmStruct, start: number, end: number, flags: number, pgoff: number, file: VmFile | null): VmAreaStruct {
  const k = mm.k;
  const kaddr = k.slab.kmalloc(VMA_BYTES);
  t.charge(k.cfg.kernel.cost.kernel_op);
  k.touchRange(t, kaddr, VMA_BYTES, true);
  const vma = new VmAreaStruct(mm, start, end, flags, pgoff, file, kaddr);
  vma_set_page_prot(vma);
  return vma;
}

/** vm_area_dup(): a copy of an area (split, fork), not yet linked to anything. */
export function vm_area_dup(t: Task, src: VmAreaStruct, mm: MmStruct = src.vmMm): VmAreaStruct {
  const k = mm.k;
  const kaddr = k.slab.kmalloc(VMA_BYTES);
  t.charge(k.cfg.kernel.cost.kernel_op);
  k.touchRange(t, src.kaddr, VMA_BYTES, false);
  k.touchRange(t, kaddr, VMA_BYTES, true);
  const vma = new VmAreaStruct(mm, src.vmStart, src.vmEnd, src.vmFlags, src.vmPgoff, src.vmFile, kaddr);
  vma.vmPageProt = src.vmPageProt;
  vma.anonVma = src.anonVma;
  vma.droppable = src.droppable;
  vma.maybeGuard = src.maybeGuard;
  vma.sealed = src.sealed;
  vma.hugetlbResv = src.hugetlbResv;
  vma.hugetlbUnmapped = src.hugetlbUnmapped;
  return vma;
}

/** vm_area_free(). */
export function vm_area_free(vma: VmAreaStruct): void {
  vma.detached = true;
  vma.vmMm.k.slab.kfree(vma.kaddr, VMA_BYTES);
}

/** remove_vma(): drop the file reference and free an area already out of the tree and rmap. */
export function remove_vma(t: Task, vma: VmAreaStruct): void {
  // vma_close(): hugetlb_vm_op_close gives back the area's unused reservations.
  if (vma.hugetlbResv) hugetlb_vm_op_close(vma.vmMm.k, vma);
  if (vma.vmFile) fput_vma_file(t, vma.vmFile);
  vm_area_free(vma);
}

/** vma_start_write(): write-lock the area against per-VMA-lock faults until mmap_lock is released. */
export function vma_start_write(t: Task, vma: VmAreaStruct): void {
  const mm = vma.vmMm;
  if (vma.vmLockSeq === mm.mmLockSeq) return;
  vma.vmLockSeq = mm.mmLockSeq;
  t.charge(mm.k.machine.caches.access(t.cpu, vma.kaddr, true) + mm.k.cfg.cost.atomic_rmw);
}

/**
 * vma_start_write() for every area touching [start, end) and its two
 * neighbours (which a merge may change), then the wait __vma_start_write
 * does: until the faults already holding those areas' per-VMA locks leave.
 * New faults on them fall back to mmap_lock and wait for the writer.
 */
export function* vma_start_write_range(t: Task, mm: MmStruct, start: number, end: number): Blocking<void> {
  const v = mm.vmas;
  let i = vma_index(mm, start);
  if (i > 0) i--;
  const locked: VmAreaStruct[] = [];
  for (; i < v.length; i++) {
    const vma = v[i]!;
    vma_start_write(t, vma);
    locked.push(vma);
    if (vma.vmStart >= end) break;
  }
  for (;;) {
    const busy = locked.find((x) => x.vmReaders > 0);
    if (!busy) return;
    mm.vmaWaitq ??= new WaitQueue(mm.k.engine);
    yield t.sleepOn(mm.vmaWaitq);
  }
}

/** vma_end_read(): a fault leaves the area; the last one out wakes waiting writers. */
export function vma_end_read(t: Task, vma: VmAreaStruct): void {
  const mm = vma.vmMm;
  t.charge(mm.k.machine.caches.access(t.cpu, vma.kaddr, true) + mm.k.cfg.cost.atomic_rmw);
  if (--vma.vmReaders === 0 && mm.vmaWaitq && mm.vmaWaitq.length > 0) mm.vmaWaitq.wakeAll(t.now);
}

/** vma_start_read(): a fault takes the area's per-VMA lock, unless a writer has it. Returns false on failure. */
export function vma_start_read(t: Task, vma: VmAreaStruct): boolean {
  const mm = vma.vmMm;
  t.charge(mm.k.machine.caches.access(t.cpu, vma.kaddr, true) + mm.k.cfg.cost.atomic_rmw);
  if (vma_write_locked(vma)) return false;
  vma.vmReaders++;
  return true;
}

/** Is the area write-locked by the current holder of mmap_lock (vma_start_read would fail)? */
export function vma_write_locked(vma: VmAreaStruct): boolean {
  return vma.vmLockSeq === vma.vmMm.mmLockSeq && vma.vmMm.mmapLock.writer !== null;
}

// ---- split ----

/**
 * __split_vma(): split at addr; the new area takes the part below addr
 * (newBelow) or from addr up. Returns the new area.
 */
export function __split_vma(t: Task, vma: VmAreaStruct, addr: number, newBelow: boolean): VmAreaStruct {
  const mm = vma.vmMm;
  if (!(vma.vmStart < addr && addr < vma.vmEnd)) throw new Error(`__split_vma: 0x${addr.toString(16)} not inside ${vma}`);
  split_huge_pmd_if_needed(t, vma, addr);
  const nw = vm_area_dup(t, vma);
  if (newBelow) nw.vmEnd = addr;
  else {
    nw.vmStart = addr;
    nw.vmPgoff += (addr - vma.vmStart) / PAGE_SIZE;
  }
  anon_vma_clone(t, nw, vma);
  if (nw.vmFile) get_vma_file(nw.vmFile);
  vma_start_write(t, vma);
  vma_start_write(t, nw);
  if (newBelow) {
    vma.vmPgoff += (addr - vma.vmStart) / PAGE_SIZE;
    vma.vmStart = addr;
  } else vma.vmEnd = addr;
  vma_link_file(nw);
  vma_tree_insert(t, mm, nw);
  return nw;
}

/** split_vma(): __split_vma unless the mm is at vm.max_map_count (then -ENOMEM as null). */
export function split_vma(t: Task, vma: VmAreaStruct, addr: number, newBelow: boolean): VmAreaStruct | null {
  if (vma.vmMm.mapCount >= mmCore(vma.vmMm.k).maxMapCount) return null;
  return __split_vma(t, vma, addr, newBelow);
}

// ---- merge ----

/** struct vma_merge_struct: the range being mapped or changed and its would-be attributes. */
export interface VmaMerge {
  mm: MmStruct;
  prev: VmAreaStruct | null;
  /** The area being changed (existing-range merges only). */
  middle: VmAreaStruct | null;
  next: VmAreaStruct | null;
  start: number;
  end: number;
  pgoff: number;
  flags: number;
  file: VmFile | null;
  anonVma: VmAreaStruct['anonVma'];
}

/** vma_is_fork_child(): was the area cloned from a parent's (its pages may be shared COW)? */
function isForkChild(vma: VmAreaStruct | null): boolean {
  return vma !== null && vma.anonVma !== null && vma.anonVmaChain.length !== 1;
}

function isMergeableVma(g: VmaMerge, vma: VmAreaStruct): boolean {
  // VM_SEALED is part of vm_flags in Linux: a sealed area merges with none of the unsealed ranges the callers bring.
  return ((vma.vmFlags ^ g.flags) & ~VM_IGNORE_MERGE) === 0 && vma.vmFile === g.file && !vma.sealed;
}

function isMergeableAnonVma(g: VmaMerge, tgt: VmAreaStruct): boolean {
  const tgtAnon = tgt.anonVma;
  const srcAnon = g.anonVma;
  if (!tgtAnon && srcAnon) return !isForkChild(g.middle);
  if (tgtAnon && !srcAnon) return !isForkChild(tgt);
  return srcAnon === tgtAnon;
}

/** can_vma_merge_left(): prev ends at start and the range could join it. */
function canMergeLeft(g: VmaMerge): boolean {
  const prev = g.prev;
  if (!prev || prev.vmEnd !== g.start) return false;
  return isMergeableVma(g, prev) && isMergeableAnonVma(g, prev) && prev.vmPgoff + prev.pages === g.pgoff;
}

/** can_vma_merge_right(): next starts at end and the range could join it (and prev with it, if both). */
function canMergeRight(g: VmaMerge, left: boolean): boolean {
  const next = g.next;
  if (!next || g.end !== next.vmStart) return false;
  const pglen = (g.end - g.start) / PAGE_SIZE;
  if (!(isMergeableVma(g, next) && isMergeableAnonVma(g, next) && next.vmPgoff === g.pgoff + pglen)) return false;
  if (!left) return true;
  const prev = g.prev!;
  return !prev.anonVma || !next.anonVma || prev.anonVma === next.anonVma;
}

/** dup_anon_vma(): dst takes src's anon_vma if it has none. */
function dupAnonVma(t: Task, dst: VmAreaStruct, src: VmAreaStruct): void {
  if (src.anonVma && !dst.anonVma) {
    dst.anonVma = src.anonVma;
    anon_vma_clone(t, dst, src);
  }
}

/** Takes a merged-away area out of everything and frees it (vma_complete's remove). */
function removeMerged(t: Task, vma: VmAreaStruct): void {
  vma_tree_remove(t, vma.vmMm, vma);
  vma_unlink_file(vma);
  if (vma.anonVma || vma.anonVmaChain.length > 0) unlink_anon_vmas(t, vma);
  remove_vma(t, vma);
}

/**
 * vma_merge_new_range(): a new mapping [start, end) with these attributes
 * joins prev and/or next when compatible. Returns the expanded area, or null
 * when a new area is needed.
 */
export function vma_merge_new_range(t: Task, g: VmaMerge): VmAreaStruct | null {
  if ((g.flags & VM_SPECIAL) !== 0 || (!g.prev && !g.next)) return null;
  const left = canMergeLeft(g);
  const right = canMergeRight(g, left);
  if (!left && !right) return null;
  const prev = g.prev;
  const next = g.next;
  if (left && right) {
    // prev grows over the range and next; next goes.
    vma_start_write(t, prev!);
    vma_start_write(t, next!);
    dupAnonVma(t, prev!, next!);
    const end = next!.vmEnd;
    removeMerged(t, next!);
    prev!.vmEnd = end;
    mt_charge(t, g.mm, vma_index(g.mm, prev!.vmStart), true);
    return prev;
  }
  if (left) {
    vma_start_write(t, prev!);
    prev!.vmEnd = g.end;
    mt_charge(t, g.mm, vma_index(g.mm, prev!.vmStart), true);
    return prev;
  }
  vma_start_write(t, next!);
  next!.vmStart = g.start;
  next!.vmPgoff = g.pgoff;
  mt_charge(t, g.mm, vma_index(g.mm, next!.vmStart), true);
  return next;
}

/**
 * vma_merge_existing_range(): [start, end) of `middle` is getting `flags`;
 * if that part then matches prev and/or next, merge instead of splitting.
 * Returns the area that now holds the range, or null (no merge).
 */
export function vma_merge_existing_range(t: Task, g: VmaMerge): VmAreaStruct | null {
  const middle = g.middle!;
  const prev = g.prev;
  const start = g.start;
  const end = g.end;
  const leftSide = start === middle.vmStart;
  const rightSide = end === middle.vmEnd;
  if ((g.flags & VM_SPECIAL) !== 0 || (!leftSide && !rightSide)) return null;
  const left = leftSide ? canMergeLeft(g) : false;
  let next: VmAreaStruct | null = null;
  let right = false;
  if (rightSide) {
    next = g.next = vma_next(g.mm, middle);
    right = canMergeRight(g, left);
  }
  if (!left && !right) return null;
  const removeMiddle = leftSide && rightSide;
  vma_start_write(t, middle);
  const mm = g.mm;
  if (left && right) {
    vma_start_write(t, next!);
    vma_start_write(t, prev!);
    dupAnonVma(t, prev!, next!.anonVma ? next! : middle);
    const newEnd = next!.vmEnd;
    removeMerged(t, middle);
    removeMerged(t, next!);
    prev!.vmEnd = newEnd;
    mt_charge(t, mm, vma_index(mm, prev!.vmStart), true);
    return prev;
  }
  if (left) {
    vma_start_write(t, prev!);
    dupAnonVma(t, prev!, middle);
    if (removeMiddle) removeMerged(t, middle);
    else {
      middle.vmPgoff += (end - middle.vmStart) / PAGE_SIZE;
      middle.vmStart = end;
    }
    prev!.vmEnd = end;
    mt_charge(t, mm, vma_index(mm, prev!.vmStart), true);
    return prev;
  }
  vma_start_write(t, next!);
  dupAnonVma(t, next!, middle);
  const pglen = (end - start) / PAGE_SIZE;
  if (removeMiddle) {
    const newPgoff = next!.vmPgoff - pglen;
    removeMerged(t, middle);
    next!.vmStart = start;
    next!.vmPgoff = newPgoff;
  } else {
    middle.vmEnd = start;
    next!.vmPgoff -= (next!.vmStart - start) / PAGE_SIZE;
    next!.vmStart = start;
  }
  mt_charge(t, mm, vma_index(mm, next!.vmStart), true);
  return next;
}

/**
 * vma_modify_flags(): make [start, end) of `vma` an area of its own with
 * `flags`, merging with a neighbour when possible, else splitting. Returns
 * the area now covering exactly [start, end) (flags not yet applied when it
 * was split off), or null for -ENOMEM (vm.max_map_count reached).
 */
export function vma_modify_flags(t: Task, prev: VmAreaStruct | null, vma: VmAreaStruct, start: number, end: number, flags: number): VmAreaStruct | null {
  const g: VmaMerge = {
    mm: vma.vmMm,
    prev,
    middle: vma,
    next: null,
    start,
    end,
    pgoff: vma.vmPgoff + (start - vma.vmStart) / PAGE_SIZE,
    flags,
    file: vma.vmFile,
    anonVma: vma.anonVma,
  };
  const merged = vma_merge_existing_range(t, g);
  if (merged) return merged;
  if (vma.vmStart < start && !split_vma(t, vma, start, true)) return null;
  if (vma.vmEnd > end && !split_vma(t, vma, end, false)) return null;
  return vma;
}

/** vm_flags_reset(): set an area's flags and recompute its page protection. */
export function vm_flags_reset(t: Task, vma: VmAreaStruct, flags: number): void {
  vma_start_write(t, vma);
  vma.vmFlags = flags;
  vma_set_page_prot(vma);
}
