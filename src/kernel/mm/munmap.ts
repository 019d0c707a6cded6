/**
 * Unmapping areas, after do_vmi_munmap and the vms_* helpers of mm/vma.c and
 * exit_mmap of mm/mmap.c: split the areas at the ends of the range, detach
 * them from the tree, then zap their pages and free their page tables under
 * one mmu_gather (munmap with the lock downgraded to read, as the kernel
 * does), and free the areas. exit_mmap tears down a whole address space.
 */
import { hugetlb_may_split } from './hugetlb.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EINVAL, ENOMEM, EPERM } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { mmCore } from './core.js';
import { vma_unlink_file } from './filemap.js';
import { free_pgtables, unmap_vmas } from './memory_zap.js';
import { PAGE_SIZE, TASK_SIZE, VM_ACCOUNT, VM_EXEC, VM_GROWSDOWN, VM_LOCKED, VM_SHARED, VM_WRITE, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { mmap_write_lock, mmap_write_unlock } from './mmap_lock.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.js';
import { unlink_anon_vmas } from './rmap.js';
import { page_align, u64 } from './uapi.js';
import { vm_unacct_memory } from './util.js';
import { __split_vma, find_vma_intersection, vma_start_write_range, remove_vma, vma_index, vma_start_write, vma_tree_insert, vma_tree_remove } from './vma.js';

const CAT_DO_MUNMAP = intern('do_vmi_munmap');
const CAT_EXIT_MMAP = intern('exit_mmap');

const BPAGE = BigInt(PAGE_SIZE);
const BTASK_SIZE = BigInt(TASK_SIZE);

export interface MunmapState {
  vmas: VmAreaStruct[];
  prev: VmAreaStruct | null;
  next: VmAreaStruct | null;
  unmapStart: number;
  unmapEnd: number;
  nrPages: number;
  lockedVm: number;
  nrAccounted: number;
  execVm: number;
  stackVm: number;
  dataVm: number;
}

/**
 * vms_gather_munmap_vmas(): split the first and last areas at start and end
 * and detach every area in [start, end) from the tree. Returns the state,
 * or -ENOMEM when a split would exceed vm.max_map_count.
 */
export function vmsGatherMunmapVmas(t: Task, mm: MmStruct, vma: VmAreaStruct, start: number, end: number): MunmapState | number {
  const maxMapCount = mmCore(mm.k).maxMapCount;
  // A sealed area in the range: nothing is unmapped (mseal).
  for (let i = vma_index(mm, vma.vmStart); i < mm.vmas.length && mm.vmas[i]!.vmStart < end; i++) if (mm.vmas[i]!.sealed) return -EPERM;
  // hugetlb_vm_op_split(): a hugetlb area splits only at huge page boundaries (checked before anything is split).
  for (let i = vma_index(mm, vma.vmStart); i < mm.vmas.length && mm.vmas[i]!.vmStart < end; i++) {
    const v = mm.vmas[i]!;
    if ((start > v.vmStart && start < v.vmEnd && hugetlb_may_split(v, start)) || (end > v.vmStart && end < v.vmEnd && hugetlb_may_split(v, end))) return -EINVAL;
  }
  if (start > vma.vmStart) {
    if (end < vma.vmEnd && mm.mapCount >= maxMapCount) return -ENOMEM;
    __split_vma(t, vma, start, true);
  }
  const s: MunmapState = { vmas: [], prev: null, next: null, unmapStart: 0, unmapEnd: 0, nrPages: 0, lockedVm: 0, nrAccounted: 0, execVm: 0, stackVm: 0, dataVm: 0 };
  let i = vma_index(mm, start);
  s.prev = i > 0 ? mm.vmas[i - 1]! : null;
  if (s.prev) s.unmapStart = s.prev.vmEnd;
  for (;;) {
    const next = mm.vmas[i];
    if (!next || next.vmStart >= end) break;
    if (next.vmEnd > end) __split_vma(t, next, end, false);
    vma_start_write(t, next);
    s.vmas.push(next);
    const n = next.pages;
    s.nrPages += n;
    if (next.vmFlags & VM_LOCKED) s.lockedVm += n;
    if (next.vmFlags & VM_ACCOUNT) s.nrAccounted += n;
    if ((next.vmFlags & (VM_EXEC | VM_WRITE | VM_GROWSDOWN)) === VM_EXEC) s.execVm += n;
    else if (next.vmFlags & VM_GROWSDOWN) s.stackVm += n;
    else if ((next.vmFlags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) === VM_WRITE) s.dataVm += n;
    i++;
  }
  s.next = mm.vmas[i] ?? null;
  if (s.next) s.unmapEnd = s.next.vmStart;
  // vma_iter_clear_gfp: the detached areas leave the tree (map_count drops in vms_complete).
  for (const v of s.vmas) {
    vma_tree_remove(t, mm, v);
    mm.mapCount++;
    v.detached = true;
  }
  return s;
}

/** unlink_file_vma + unlink_anon_vmas, as free_pgtables does for each area. */
export function unlinkVma(t: Task, vma: VmAreaStruct): void {
  vma_unlink_file(vma);
  if (vma.anonVma || vma.anonVmaChain.length > 0) unlink_anon_vmas(t, vma);
}

/** vms_clear_ptes(): zap the detached areas and free their page tables under one gather. */
export function* vmsClearPtes(t: Task, mm: MmStruct, s: MunmapState): Blocking<void> {
  const tlb = tlb_gather_mmu(t, mm);
  const start = s.vmas[0]!.vmStart;
  const end = s.vmas[s.vmas.length - 1]!.vmEnd;
  for (const v of s.vmas) mm.zapping.add(v);
  yield* unmap_vmas(t, tlb, s.vmas, start, end);
  free_pgtables(t, tlb, s.vmas, s.unmapStart, s.unmapEnd, (v) => unlinkVma(t, v));
  for (const v of s.vmas) mm.zapping.delete(v);
  yield* tlb_finish_mmu(t, tlb);
}

/** vms_complete_munmap_vmas(): accounting, the zap, freeing the areas. */
function* vmsCompleteMunmapVmas(t: Task, mm: MmStruct, s: MunmapState, unlock: boolean): Blocking<void> {
  mm.mapCount -= s.vmas.length;
  mm.lockedVm -= s.lockedVm;
  if (unlock) mm.mmapLock.downgradeWrite(t);
  if (s.nrPages > 0) {
    yield* vmsClearPtes(t, mm, s);
    mm.totalVm -= s.nrPages;
    mm.execVm -= s.execVm;
    mm.stackVm -= s.stackVm;
    mm.dataVm -= s.dataVm;
    for (const v of s.vmas) remove_vma(t, v);
    vm_unacct_memory(mm, s.nrAccounted);
  }
  if (unlock) mm.mmapLock.upRead(t);
}

/**
 * do_vmi_munmap(): unmap [start, start + len). With `unlock` the caller's
 * write lock is downgraded for the zap and released (returns with the lock
 * dropped in every case). Returns 0 or -errno.
 */
export function* do_vmi_munmap(t: Task, mm: MmStruct, start: number, len: number, unlock: boolean): Blocking<number> {
  t.enter(CAT_DO_MUNMAP);
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  const vma = find_vma_intersection(t, mm, start, end);
  if (!vma) {
    if (unlock) mmap_write_unlock(t, mm);
    t.leave();
    return 0;
  }
  yield* vma_start_write_range(t, mm, start, end);
  const s = vmsGatherMunmapVmas(t, mm, vma, start, end);
  if (typeof s === 'number') {
    if (unlock) mmap_write_unlock(t, mm);
    t.leave();
    return s;
  }
  yield* vmsCompleteMunmapVmas(t, mm, s, unlock);
  if (unlock) mm.mmLockSeq++;
  t.leave();
  return 0;
}

/** Puts gathered areas back when mmap fails after gathering (the kernel's abort path). */
export function restoreGathered(t: Task, mm: MmStruct, s: MunmapState): void {
  for (const v of s.vmas) {
    v.detached = false;
    mm.mapCount--;
    vma_tree_insert(t, mm, v);
  }
}

/** munmap(2). */
export function sys_munmap(t: Task, addr: number | bigint, len: number | bigint): Blocking<number> {
  return syscall(t, 'munmap', doSysMunmap(t, u64(addr), u64(len)));
}

function* doSysMunmap(t: Task, start: bigint, len: bigint): Blocking<number> {
  const mm = current(t).mm;
  if (!mm) return -EINVAL;
  if (start & (BPAGE - 1n) || start > BTASK_SIZE || len > BTASK_SIZE - start) return -EINVAL;
  const end = start + page_align(len);
  if (end === start) return -EINVAL;
  yield* mmap_write_lock(t, mm);
  return yield* do_vmi_munmap(t, mm, Number(start), Number(end - start), true);
}

/**
 * exit_mmap(): the last user is gone: zap everything with a full-mm gather,
 * free every page table below the pgd, free the areas.
 */
export function* exit_mmap(t: Task, mm: MmStruct): Blocking<void> {
  t.enter(CAT_EXIT_MMAP);
  yield* mmap_write_lock(t, mm);
  mm.exiting = true;
  yield* vma_start_write_range(t, mm, 0, TASK_SIZE);
  const vmas = mm.vmas.slice();
  if (vmas.length > 0) {
    const tlb = tlb_gather_mmu(t, mm, true);
    yield* unmap_vmas(t, tlb, vmas, 0, TASK_SIZE);
    free_pgtables(t, tlb, vmas, 0, 0, (v) => unlinkVma(t, v));
    yield* tlb_finish_mmu(t, tlb);
    let accounted = 0;
    for (const v of vmas) {
      if (v.vmFlags & VM_ACCOUNT) accounted += v.pages;
      vma_tree_remove(t, mm, v);
      remove_vma(t, v);
    }
    vm_unacct_memory(mm, accounted);
  }
  mm.totalVm = 0;
  mm.lockedVm = 0;
  mm.lockedVmUnlocked = 0;
  mm.execVm = mm.stackVm = mm.dataVm = 0;
  mmap_write_unlock(t, mm);
  t.leave();
}
