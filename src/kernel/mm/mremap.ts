/**
 * mremap(2), after mm/mremap.c as Linux 6.17 restructured it (struct
 * vma_remap_struct): check_mremap_params, check_prep_vma, mremap_at
 * (no resize, shrink, expand in place or by a move), mremap_to
 * (MREMAP_FIXED, MREMAP_DONTUNMAP) and remap_move (a MREMAP_FIXED move of
 * the same length may span several areas, keeping the gaps between them).
 *
 * A move copies the area (copy_vma: a merge with the destination's
 * neighbours or a new area sharing the anon_vma, so the pages' rmap
 * indices stay valid) and moves its page tables (move_page_tables): whole
 * PT tables when source and destination PMDs are aligned and the extent
 * covers one (move_normal_pmd), a THP's PMD leaf likewise (move_huge_pmd),
 * and otherwise entry by entry (move_ptes), each followed by the TLB flush
 * of the old range. Then the source is unmapped (its page tables are empty
 * by then, so only the tables and the area go), or with MREMAP_DONTUNMAP
 * kept empty.
 */
import { PTE_PRESENT, PTE_PSE, tableIndex } from '../../hw/pagetable.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EAGAIN, EFAULT, EINVAL, ENOMEM, EPERM } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { RLIMIT_AS, RLIMIT_DATA, task_rlimits } from '../sys.js';
import { syscall } from '../syscalls.js';
import { mmCore } from './core.js';
import { vma_link_file } from './filemap.js';
import { move_huge_pmd, pmd_alloc, pmd_table } from './huge_memory.js';
import { unmerge_ksm_pages } from './ksm.js';
import {
  PAGE_SIZE, PMD_SIZE, TASK_SIZE, VM_ACCOUNT, VM_DONTEXPAND, VM_GROWSDOWN, VM_HUGETLB, VM_LOCKED, VM_LOCKED_MASK, VM_MAYSHARE, VM_MERGEABLE, VM_PFNMAP,
  VM_SHARED, VM_WRITE, type MmStruct, type VmAreaStruct,
} from './mm_types.js';
import { get_unmapped_area, mm_populate } from './mmap.js';
import { mmap_write_lock, mmap_write_unlock } from './mmap_lock.js';
import { do_vmi_munmap } from './munmap.js';
import { ptep_get, ptep_get_and_clear, pte_alloc, pte_lock, pte_table, pte_unlock, set_pte_at } from './pgtable.js';
import { anon_vma_clone, unlink_anon_vmas } from './rmap.js';
import { flush_tlb_mm_range } from './tlbflush.js';
import { MAP_FIXED, MAP_SHARED, u64 } from './uapi.js';
import { mlock_future_ok, vm_enough_memory, vm_stat_account, vm_unacct_memory } from './util.js';
import {
  find_vma_intersection, get_vma_file, mt_charge, vm_area_dup, vma_index, vma_lookup, vma_merge_new_range, vma_start_write, vma_tree_insert,
  type VmaMerge,
} from './vma.js';

export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;

const CAT_MOVE_PAGE_TABLES = intern('move_page_tables');
const CAT_MOVE_VMA = intern('move_vma');

const BPAGE = 4096n;
const BTASK_SIZE = BigInt(TASK_SIZE);

const enum RemapType {
  NoResize,
  Shrink,
  Expand,
}

/** struct vma_remap_struct: the call's arguments as they are refined. */
interface Vrm {
  mm: MmStruct;
  addr: number;
  oldLen: number;
  newLen: number;
  flags: number;
  newAddr: number;
  vma: VmAreaStruct | null;
  delta: number;
  type: RemapType;
  charged: number;
  populateExpand: boolean;
}

/** vrm_implies_new_addr(): the caller names the destination (MREMAP_FIXED) or a hint for it (MREMAP_DONTUNMAP). */
function impliesNewAddr(v: Vrm): boolean {
  return (v.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
}

/**
 * may_expand_vm(): would `npages` more stay within RLIMIT_AS, and for a
 * data mapping (private, writable, not a stack) within RLIMIT_DATA?
 */
export function may_expand_vm(t: Task, mm: MmStruct, flags: number, npages: number): boolean {
  const lim = task_rlimits(mm.k, current(t));
  const as = lim[RLIMIT_AS]!.cur;
  if (as !== Infinity && mm.totalVm + npages > Math.floor(as / PAGE_SIZE)) return false;
  const isData = (flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) === VM_WRITE;
  const data = lim[RLIMIT_DATA]!.cur;
  if (isData && data !== Infinity && mm.dataVm + npages > Math.floor(data / PAGE_SIZE)) return false;
  return true;
}

/** check_mremap_params(): what can be refused before taking the lock. Lengths are page-aligned already. */
function checkParams(v: Vrm, newAddrIn: bigint, newLenIn: bigint): number {
  if (v.flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) return -EINVAL;
  if (v.addr % PAGE_SIZE) return -EINVAL;
  if (newLenIn === 0n) return -EINVAL;
  if (newLenIn > BTASK_SIZE) return -EINVAL;
  if (!impliesNewAddr(v)) return 0;
  if (newAddrIn > BTASK_SIZE - newLenIn) return -EINVAL;
  if (newAddrIn & (BPAGE - 1n)) return -EINVAL;
  if (!(v.flags & MREMAP_MAYMOVE)) return -EINVAL;
  if (v.flags & MREMAP_DONTUNMAP && v.oldLen !== v.newLen) return -EINVAL;
  // vrm_overlaps(): source and destination may not overlap.
  if (v.addr + v.oldLen > v.newAddr && v.newAddr + v.newLen > v.addr) return -EINVAL;
  // Room for both areas to split in three, four below vm.max_map_count.
  if (v.mm.mapCount + 2 >= mmCore(v.mm.k).maxMapCount - 3) return -ENOMEM;
  return 0;
}

/** check_prep_vma(): the area at addr, and whether it may be resized or moved as asked. */
function checkPrepVma(t: Task, v: Vrm): number {
  const vma = v.vma;
  if (!vma) return -EFAULT;
  // mseal()'d: not to be moved or resized.
  if (vma.sealed) return -EPERM;
  // align_hugetlb(): lengths rounded up to 2 MiB, addresses on a boundary, never larger (reservations cannot follow).
  if (vma.vmFlags & VM_HUGETLB) {
    v.oldLen = Math.ceil(v.oldLen / PMD_SIZE) * PMD_SIZE;
    v.newLen = Math.ceil(v.newLen / PMD_SIZE) * PMD_SIZE;
    if (v.addr % PMD_SIZE !== 0 || v.newAddr % PMD_SIZE !== 0 || v.newLen > v.oldLen) return -EINVAL;
  }
  v.delta = Math.abs(v.newLen - v.oldLen);
  v.type = v.newLen === v.oldLen ? RemapType.NoResize : v.newLen < v.oldLen ? RemapType.Shrink : RemapType.Expand;
  if (!impliesNewAddr(v)) v.newAddr = v.addr;
  // vrm_will_map_new(): only an expansion or a move looks further.
  if (v.type !== RemapType.Expand && !impliesNewAddr(v)) return 0;
  let oldLen = v.oldLen;
  const newLen = v.newLen;
  // A zero old_len "duplicates" a shared mapping; a private one cannot be.
  if (oldLen === 0 && !(vma.vmFlags & (VM_SHARED | VM_MAYSHARE))) return -EINVAL;
  if (v.flags & MREMAP_DONTUNMAP && vma.vmFlags & (VM_DONTEXPAND | VM_PFNMAP)) return -EINVAL;
  // A shrink may cross area ends: the part unmapped may span several.
  if (v.type === RemapType.Shrink) oldLen = newLen;
  if (oldLen > vma.vmEnd - v.addr) return -EFAULT;
  if (newLen === oldLen) return 0;
  if (vma.vmFlags & VM_LOCKED) v.populateExpand = true;
  if (vma.vmFlags & (VM_DONTEXPAND | VM_PFNMAP)) return -EFAULT;
  const ts = current(t);
  if (!mlock_future_ok(ts, v.mm, vma.vmFlags, v.delta)) return -EAGAIN;
  if (!may_expand_vm(t, v.mm, vma.vmFlags, v.delta / PAGE_SIZE)) return -ENOMEM;
  return 0;
}

/** vrm_calc_charge(): an accounted area charges the pages it gains (all of them with DONTUNMAP, which keeps the source). */
function calcCharge(t: Task, v: Vrm): boolean {
  const vma = v.vma!;
  if (!(vma.vmFlags & VM_ACCOUNT)) return true;
  const pages = (v.flags & MREMAP_DONTUNMAP ? v.newLen : v.type === RemapType.Expand ? v.delta : 0) / PAGE_SIZE;
  if (pages && vm_enough_memory(current(t), v.mm, pages)) return false;
  v.charged = pages;
  return true;
}

/** vrm_stat_account(). */
function statAccount(v: Vrm, bytes: number): void {
  const pages = bytes / PAGE_SIZE;
  vm_stat_account(v.mm, v.vma!.vmFlags, pages);
  if (v.vma!.vmFlags & VM_LOCKED) v.mm.lockedVm += pages;
}

/**
 * vma_expandable() + expand_vma_in_place(): nothing is mapped in the delta
 * above the area and the address space has room: the area grows (merging
 * with the next one when it now touches it).
 */
function* expandInPlace(t: Task, v: Vrm): Blocking<number | null> {
  const vma = v.vma!;
  const mm = v.mm;
  if (v.addr + v.oldLen !== vma.vmEnd) return null;
  const end = vma.vmEnd + v.delta;
  if (find_vma_intersection(t, mm, vma.vmEnd, end)) return null;
  if (get_unmapped_area(t, mm, null, vma.vmStart, end - vma.vmStart, MAP_FIXED) < 0) return null;
  if (!calcCharge(t, v)) return -ENOMEM;
  // vma_merge_extend(): the area grows over the delta, taking in the next area if it now adjoins and matches.
  const i = vma_index(mm, vma.vmStart);
  const g: VmaMerge = {
    mm, prev: vma, middle: null, next: mm.vmas[i + 1] ?? null, start: vma.vmEnd, end, pgoff: vma.vmPgoff + vma.pages,
    flags: vma.vmFlags, file: vma.vmFile, anonVma: vma.anonVma,
  };
  vma_start_write(t, vma);
  if (!vma_merge_new_range(t, g)) {
    vma.vmEnd = end;
    mt_charge(t, mm, i, true);
  }
  statAccount(v, v.delta);
  yield* [];
  return v.addr;
}

/**
 * copy_vma(): the area that will hold the moved range: a neighbour of the
 * destination grown over it when compatible, else a copy of the source
 * sharing its anon_vma and file.
 */
function copyVma(t: Task, v: Vrm, pgoffIn: number): VmAreaStruct {
  const vma = v.vma!;
  const mm = v.mm;
  const addr = v.newAddr;
  const end = addr + v.newLen;
  // An anonymous area never faulted takes the offset of its new place (better chances to merge).
  const pgoff = vma.isAnonymous && !vma.anonVma ? addr / PAGE_SIZE : pgoffIn;
  const i = vma_index(mm, addr);
  const prev = i > 0 ? mm.vmas[i - 1]! : null;
  const next = mm.vmas[i] ?? null;
  if (prev || next) {
    const g: VmaMerge = { mm, prev, middle: null, next, start: addr, end, pgoff, flags: vma.vmFlags, file: vma.vmFile, anonVma: vma.anonVma };
    const merged = vma_merge_new_range(t, g);
    if (merged) {
      // The source may have merged into the destination's area (a move within one's own neighbourhood).
      if (vma.detached) v.vma = mm.vmas[vma_index(mm, v.addr)] ?? null;
      return merged;
    }
  }
  const nw = vm_area_dup(t, vma);
  nw.vmStart = addr;
  nw.vmEnd = end;
  nw.vmPgoff = pgoff;
  anon_vma_clone(t, nw, vma);
  if (nw.vmFile) get_vma_file(nw.vmFile);
  vma_link_file(nw);
  vma_start_write(t, nw);
  vma_tree_insert(t, mm, nw);
  return nw;
}

/**
 * move_ptes(): every entry of [old, old + len) in one PT table goes to the
 * same index of the destination's table (both PTE locks held), present or
 * not (swap entries and guard markers move too); a present one needs the
 * old range flushed. Returns whether one was present.
 */
function moveTableEntries(t: Task, mm: MmStruct, oldTable: number, newTable: number, oldAddr: number, newAddr: number, len: number): boolean {
  pte_lock(t, mm, oldTable);
  if (newTable !== oldTable) pte_lock(t, mm, newTable);
  let present = false;
  for (let off = 0; off < len; off += PAGE_SIZE) {
    const oi = tableIndex(oldAddr + off, 1);
    if (ptep_get(t, mm, oldTable, oi) === 0) continue;
    const pte = ptep_get_and_clear(t, mm, oldTable, oi);
    if (pte & PTE_PRESENT) present = true;
    set_pte_at(t, mm, newTable, tableIndex(newAddr + off, 1), pte);
  }
  if (newTable !== oldTable) pte_unlock(t, mm, newTable);
  pte_unlock(t, mm, oldTable);
  return present;
}

/**
 * move_page_tables(): moves the mappings of [old, old + len) to new, extent
 * by extent (an extent ends at the next PMD boundary of either side).
 * Returns the bytes moved (less than len only when a table could not be
 * allocated).
 */
function* movePageTables(t: Task, mm: MmStruct, oldStart: number, newStart: number, len: number): Blocking<number> {
  t.enter(CAT_MOVE_PAGE_TABLES);
  let moved = 0;
  while (moved < len) {
    const oldAddr = oldStart + moved;
    const newAddr = newStart + moved;
    const extent = Math.min(PMD_SIZE - (oldAddr % PMD_SIZE), PMD_SIZE - (newAddr % PMD_SIZE), len - moved);
    const oldPd = pmd_table(t, mm, oldAddr);
    if (oldPd < 0) {
      moved += extent;
      continue;
    }
    const pdIdx = tableIndex(oldAddr, 2);
    const pmd = ptep_get(t, mm, oldPd, pdIdx);
    if ((pmd & PTE_PRESENT) === 0) {
      moved += extent;
      continue;
    }
    if (extent === PMD_SIZE) {
      const newPd = yield* pmd_alloc(t, mm, newAddr);
      if (newPd < 0) break;
      const newIdx = tableIndex(newAddr, 2);
      if (ptep_get(t, mm, newPd, newIdx) === 0) {
        // move_huge_pmd() / move_normal_pmd(): one PMD entry carries the whole 2 MiB.
        if (pmd & PTE_PSE) move_huge_pmd(t, mm, oldPd, pdIdx, newPd, newIdx);
        else {
          ptep_get_and_clear(t, mm, oldPd, pdIdx);
          set_pte_at(t, mm, newPd, newIdx, pmd);
        }
        yield* flush_tlb_mm_range(t, mm, oldAddr, oldAddr + PMD_SIZE, pmd & PTE_PSE ? 21 : 12, false);
        moved += extent;
        continue;
      }
    }
    // A PMD leaf not moved whole is split (pte_table does) and its PTEs moved.
    const oldTable = pte_table(t, mm, oldAddr);
    const newTable = yield* pte_alloc(t, mm, newAddr);
    if (newTable < 0) break;
    if (oldTable >= 0 && moveTableEntries(t, mm, oldTable, newTable, oldAddr, newAddr, extent)) {
      yield* flush_tlb_mm_range(t, mm, oldAddr, oldAddr + extent, 12, false);
    }
    moved += extent;
  }
  t.leave();
  return moved;
}

/**
 * move_vma(): copy the area to v.newAddr, move its page tables, then unmap
 * the source (or, with MREMAP_DONTUNMAP, leave it mapped and empty).
 * Returns the new address or -errno.
 */
function* moveVma(t: Task, v: Vrm): Blocking<number> {
  const mm = v.mm;
  t.enter(CAT_MOVE_VMA);
  try {
    // prep_move_vma(): room for the unmap's splits; KSM pages are broken so they do not turn up at the new place.
    if (mm.mapCount >= mmCore(mm.k).maxMapCount - 3) return -ENOMEM;
    let vma = v.vma!;
    if (vma.vmFlags & VM_MERGEABLE && vma.anonVma) {
      const e = yield* unmerge_ksm_pages(t, vma, v.addr, v.addr + v.oldLen);
      if (e < 0) return e;
    }
    if (!calcCharge(t, v)) return -ENOMEM;
    vma_start_write(t, vma);
    const pgoff = vma.vmPgoff + (v.addr - vma.vmStart) / PAGE_SIZE;
    const nw = copyVma(t, v, pgoff);
    vma = v.vma!;
    const moved = yield* movePageTables(t, mm, v.addr, v.newAddr, v.oldLen);
    if (moved < v.oldLen) {
      // move_page_tables ran out of memory: move back what moved and unmap the destination instead.
      yield* movePageTables(t, mm, v.newAddr, v.addr, moved);
      if (v.charged) vm_unacct_memory(mm, v.charged);
      yield* do_vmi_munmap(t, mm, v.newAddr, v.newLen, false);
      return -ENOMEM;
    }
    statAccount(v, v.newLen);
    if (v.flags & MREMAP_DONTUNMAP) {
      // dontunmap_complete(): the old area stays, empty and unlocked; it no longer needs its anon_vma links.
      vma_start_write(t, vma);
      if (vma.vmFlags & VM_LOCKED) mm.lockedVmUnlocked += vma.pages;
      vma.vmFlags &= ~VM_LOCKED_MASK;
      if (nw !== vma && vma.vmStart === v.addr && vma.vmEnd === v.addr + v.oldLen && (vma.anonVma || vma.anonVmaChain.length)) {
        unlink_anon_vmas(t, vma);
      }
      return v.newAddr;
    }
    // unmap_source_vma(): the source's commitment moved with it, so it must not be returned by the unmap.
    const accountable = (vma.vmFlags & VM_ACCOUNT) !== 0;
    const vmStart = vma.vmStart;
    const vmEnd = vma.vmEnd;
    if (accountable) vma.vmFlags &= ~VM_ACCOUNT;
    const r = yield* do_vmi_munmap(t, mm, v.addr, v.oldLen, false);
    if (r < 0) {
      mmCore(mm.k).committedPages += v.oldLen / PAGE_SIZE;
      return v.newAddr;
    }
    if (accountable) {
      const end = v.addr + v.oldLen;
      const i = vma_index(mm, v.addr);
      if (vmStart < v.addr && i > 0) mm.vmas[i - 1]!.vmFlags |= VM_ACCOUNT;
      if (vmEnd > end && mm.vmas[i]) mm.vmas[i]!.vmFlags |= VM_ACCOUNT;
    }
    return v.newAddr;
  } finally {
    t.leave();
  }
}

/** vrm_set_new_addr(): where the moved area goes (the fixed address, the hint, or a free range). */
function setNewAddr(t: Task, v: Vrm): number {
  const vma = v.vma!;
  let flags = 0;
  if (v.flags & MREMAP_FIXED) flags |= MAP_FIXED;
  if (vma.vmFlags & VM_MAYSHARE) flags |= MAP_SHARED;
  const r = get_unmapped_area(t, v.mm, vma.vmFile, impliesNewAddr(v) ? v.newAddr : 0, v.newLen, flags);
  if (r < 0) return r;
  v.newAddr = r;
  return 0;
}

/** mremap_to(): MREMAP_FIXED (the destination is unmapped first) or MREMAP_DONTUNMAP. */
function* mremapTo(t: Task, v: Vrm): Blocking<number> {
  const mm = v.mm;
  if (v.flags & MREMAP_FIXED) {
    const e = yield* do_vmi_munmap(t, mm, v.newAddr, v.newLen, false);
    if (e < 0) return e;
    v.vma = vma_lookup(t, mm, v.addr);
    if (!v.vma) return -EFAULT;
  }
  if (v.type === RemapType.Shrink) {
    const e = yield* do_vmi_munmap(t, mm, v.addr + v.newLen, v.oldLen - v.newLen, false);
    if (e < 0) return e;
    v.oldLen = v.newLen;
    v.vma = vma_lookup(t, mm, v.addr);
    if (!v.vma) return -EFAULT;
  }
  if (v.flags & MREMAP_DONTUNMAP && !may_expand_vm(t, mm, v.vma!.vmFlags, v.oldLen / PAGE_SIZE)) return -ENOMEM;
  const e = setNewAddr(t, v);
  if (e < 0) return e;
  return yield* moveVma(t, v);
}

/** mremap_at(): no destination given: nothing, a shrink, or an expansion (in place, else a move if allowed). */
function* mremapAt(t: Task, v: Vrm): Blocking<number> {
  switch (v.type) {
    case RemapType.NoResize:
      return v.addr;
    case RemapType.Shrink: {
      const e = yield* do_vmi_munmap(t, v.mm, v.addr + v.newLen, v.oldLen - v.newLen, false);
      return e < 0 ? e : v.addr;
    }
    case RemapType.Expand: {
      const r = yield* expandInPlace(t, v);
      if (r !== null) return r;
      if (!(v.flags & MREMAP_MAYMOVE)) return -ENOMEM;
      const e = setNewAddr(t, v);
      if (e < 0) return e;
      return yield* moveVma(t, v);
    }
  }
}

/**
 * remap_move(): a MREMAP_FIXED move of the same length. Every area in the
 * range moves (split at the range's ends), each at its offset from the
 * first, so the gaps between them are kept; the range must start inside
 * an area. Returns the first area's new address or -errno.
 */
function* remapMove(t: Task, v: Vrm): Blocking<number> {
  const mm = v.mm;
  const start = v.addr;
  const end = v.addr + v.oldLen;
  // The areas as they are now; each is looked up again by address, since moving one may split or merge others.
  const pieces: Array<[number, number]> = [];
  for (let i = vma_index(mm, start); i < mm.vmas.length && mm.vmas[i]!.vmStart < end; i++) {
    const a = mm.vmas[i]!;
    if (a.vmEnd <= start) continue;
    pieces.push([Math.max(a.vmStart, start), Math.min(a.vmEnd, end)]);
  }
  if (pieces.length === 0 || pieces[0]![0] > start) return -EFAULT;
  let res = -EFAULT;
  let target = v.newAddr;
  let lastEnd = 0;
  for (let n = 0; n < pieces.length; n++) {
    const [addr, pend] = pieces[n]!;
    const offset = n > 0 ? addr - lastEnd : 0;
    lastEnd = pend;
    const w: Vrm = { ...v, addr, oldLen: pend - addr, newLen: pend - addr, newAddr: target + offset, vma: vma_lookup(t, mm, addr), charged: 0 };
    let r = checkPrepVma(t, w);
    if (r === 0) r = yield* mremapTo(t, w);
    if (r < 0) return r;
    if (n === 0) res = r;
    target = r + w.newLen;
  }
  return res;
}

/** do_mremap(). Returns the (new) address or -errno. */
function* doMremap(t: Task, addrIn: bigint, oldLenIn: bigint, newLenIn: bigint, flagsIn: bigint, newAddrIn: bigint): Blocking<number> {
  const mm = current(t).mm;
  if (!mm) return -EINVAL;
  const pageAlign = (x: bigint): bigint => BigInt.asUintN(64, (x + BPAGE - 1n) & ~(BPAGE - 1n));
  const oldLenB = pageAlign(oldLenIn);
  const newLenB = pageAlign(newLenIn);
  // flags is an unsigned long; any bit beyond the three is EINVAL.
  if (flagsIn & ~BigInt(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) return -EINVAL;
  if (addrIn & (BPAGE - 1n)) return -EINVAL;
  if (newLenB === 0n || newLenB > BTASK_SIZE) return -EINVAL;
  const flags = Number(flagsIn);
  // Past TASK_SIZE no area can be found: the lookup fails (EFAULT) once the parameters pass.
  const addr = addrIn > BTASK_SIZE ? TASK_SIZE + PAGE_SIZE : Number(addrIn);
  const implied = (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
  const v: Vrm = {
    mm, addr, oldLen: oldLenB > BTASK_SIZE ? TASK_SIZE + PAGE_SIZE : Number(oldLenB), newLen: Number(newLenB), flags,
    newAddr: implied && newAddrIn <= BTASK_SIZE ? Number(newAddrIn) : 0, vma: null, delta: 0, type: RemapType.NoResize, charged: 0, populateExpand: false,
  };
  const e = checkParams(v, newAddrIn, newLenB);
  if (e) return e;
  yield* mmap_write_lock(t, mm);
  let res: number;
  // vrm_move_only(): a fixed move of the same length may cover several areas.
  if (flags & MREMAP_FIXED && v.oldLen === v.newLen) res = yield* remapMove(t, v);
  else {
    v.vma = vma_lookup(t, mm, addr);
    res = checkPrepVma(t, v);
    if (res === 0) res = implied ? yield* mremapTo(t, v) : yield* mremapAt(t, v);
  }
  mmap_write_unlock(t, mm);
  if (res >= 0 && v.populateExpand) yield* mm_populate(t, mm, v.newAddr + v.oldLen, v.delta, true);
  return res;
}

/** mremap(2) with the raw 64-bit arguments: the new address, or -errno. */
export function sys_mremap(t: Task, addr: number | bigint, oldLen: number | bigint, newLen: number | bigint, flags: number | bigint, newAddr: number | bigint): Blocking<number> {
  return syscall(t, 'mremap', doMremap(t, u64(addr), u64(oldLen), u64(newLen), u64(flags), u64(newAddr)));
}
