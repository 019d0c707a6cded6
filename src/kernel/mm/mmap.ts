/**
 * mmap and munmap, after mm/mmap.c, mm/vma.c and arch/x86/kernel/sys_x86_64.c:
 *
 * - get_unmapped_area: a hint that fits is taken as is; otherwise the
 *   highest gap below mmap_base that fits (top-down, as x86-64 lays out
 *   processes), so consecutive anonymous mappings land next to each other
 *   and merge; bottom-up from mmap_legacy_base when the top-down search fails.
 * - do_mmap: the argument checks and vm_flags, in the kernel's order (so the
 *   errno for a bad call is the kernel's), then mmap_region: unmap what a
 *   MAP_FIXED mapping replaces, charge overcommit, merge with a neighbour or
 *   insert a new area, and populate for MAP_POPULATE / MAP_LOCKED.
 * - munmap (do_vmi_munmap): split the areas at the ends, detach them, zap
 *   their pages and free their page tables under one mmu_gather with the
 *   lock downgraded to read, then free the areas.
 *
 * sys_* entry points take the raw 64-bit arguments (number or bigint; a
 * negative number is its two's complement, as C would pass it) and do the
 * ABI checks in unsigned 64-bit arithmetic; inside, addresses are numbers.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EACCES, EAGAIN, EBADF, EEXIST, EINVAL, ENODEV, ENOMEM, EOPNOTSUPP, EOVERFLOW, EPERM } from '../errno.js';
import { current, type TaskStruct } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { mmCore } from './core.js';
import { ShmemFile, vma_link_file, vma_unlink_file } from './filemap.js';
import { free_pgtables, unmap_vmas } from './memory_zap.js';
import {
  MMAP_GAP_MIN,
  PAGE_SIZE,
  PMD_SIZE,
  TASK_SIZE,
  VM_ACCOUNT,
  VM_DONTDUMP,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_HUGETLB,
  VM_LOCKED,
  VM_LOCKED_MASK,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_NORESERVE,
  VM_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_SYNC,
  VM_WIPEONFORK,
  VM_WRITE,
  type MmStruct,
  type VmAreaStruct,
  type VmFile,
} from './mm_types.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.js';
import { populate_range } from './gup.js';
import { unlink_anon_vmas } from './rmap.js';
import {
  __split_vma,
  find_vma,
  find_vma_intersection,
  mt_charge,
  remove_vma,
  vm_area_alloc,
  vma_index,
  vma_merge_new_range,
  vma_start_write,
  vma_tree_insert,
  vma_tree_remove,
  type VmaMerge,
} from './vma.js';

// mmap prot and flags (uapi asm-generic/mman*.h).
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
export const PROT_SEM = 0x8;
export const PROT_GROWSDOWN = 0x01000000;
export const PROT_GROWSUP = 0x02000000;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_DROPPABLE = 0x08;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_32BIT = 0x40;
export const MAP_GROWSDOWN = 0x0100;
export const MAP_DENYWRITE = 0x0800;
export const MAP_EXECUTABLE = 0x1000;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_NONBLOCK = 0x10000;
export const MAP_STACK = 0x20000;
export const MAP_HUGETLB = 0x40000;
export const MAP_SYNC = 0x80000;
export const MAP_FIXED_NOREPLACE = 0x100000;
export const MAP_UNINITIALIZED = 0x4000000;
/** LEGACY_MAP_MASK: the flags MAP_SHARED_VALIDATE accepts (plus MAP_SYNC where the file supports it). */
const LEGACY_MAP_MASK =
  MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED |
  MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB;

const CAT_DO_MMAP = intern('do_mmap');
const CAT_MMAP_REGION = intern('mmap_region');
const CAT_GET_UNMAPPED_AREA = intern('get_unmapped_area');
const CAT_DO_MUNMAP = intern('do_vmi_munmap');
const CAT_MM_POPULATE = intern('mm_populate');
const CAT_EXIT_MMAP = intern('exit_mmap');

const U64 = (1n << 64n) - 1n;
const BPAGE = 4096n;
const BPAGE_MASK = ~(BPAGE - 1n) & U64;
const BTASK_SIZE = BigInt(TASK_SIZE);

/** A syscall argument as the kernel sees it: unsigned 64-bit. */
export function u64(x: number | bigint): bigint {
  if (typeof x === 'bigint') return BigInt.asUintN(64, x);
  if (!Number.isInteger(x)) throw new RangeError(`syscall argument ${x} is not an integer`);
  return BigInt.asUintN(64, BigInt(x));
}

/** PAGE_ALIGN() in 64-bit arithmetic (wraps to 0 near the top, as in C). */
export function page_align(x: bigint): bigint {
  return (x + BPAGE - 1n) & BPAGE_MASK;
}

/** RLIMIT_MEMLOCK of the task's process, in bytes. */
export function rlimit_memlock(ts: TaskStruct, k: MmStruct['k']): number {
  const leader = ts.group[0] ?? ts;
  return (leader.rlimitMemlock ?? ts.rlimitMemlock)?.cur ?? k.cfg.kernel.memlock_kib * 1024;
}

/** capable(CAP_IPC_LOCK). */
export function capable_ipc_lock(ts: TaskStruct): boolean {
  return ts.cred.capIpcLock ?? ts.cred.capSysAdmin;
}

/** can_do_mlock(). */
export function can_do_mlock(ts: TaskStruct, k: MmStruct['k']): boolean {
  return rlimit_memlock(ts, k) !== 0 || capable_ipc_lock(ts);
}

/** mlock_future_ok(): would locking `bytes` more stay within RLIMIT_MEMLOCK? */
export function mlock_future_ok(ts: TaskStruct, mm: MmStruct, vmFlags: number, bytes: number): boolean {
  if ((vmFlags & VM_LOCKED) === 0 || capable_ipc_lock(ts)) return true;
  const locked = bytes / PAGE_SIZE + mm.lockedVm;
  return locked <= Math.floor(rlimit_memlock(ts, mm.k) / PAGE_SIZE);
}

/** calc_vm_prot_bits(). */
export function calc_vm_prot_bits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/** calc_vm_flag_bits(). */
function calcVmFlagBits(flags: number): number {
  return (flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) | (flags & MAP_LOCKED ? VM_LOCKED : 0) | (flags & MAP_SYNC ? VM_SYNC : 0) | (flags & MAP_STACK ? VM_NOHUGEPAGE : 0);
}

/** vm_stat_account(): total_vm and the exec/stack/data split. */
export function vm_stat_account(mm: MmStruct, flags: number, npages: number): void {
  mm.totalVm += npages;
  if ((flags & (VM_EXEC | VM_WRITE | VM_GROWSDOWN)) === VM_EXEC) mm.execVm += npages;
  else if ((flags & VM_GROWSDOWN) === VM_GROWSDOWN) mm.stackVm += npages;
  else if ((flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) === VM_WRITE) mm.dataVm += npages;
}

/** accountable_mapping(): private writable memory counts against the commit limit. */
function accountableMapping(file: VmFile | null, vmFlags: number): boolean {
  void file;
  return (vmFlags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE;
}

/**
 * __vm_enough_memory(): charge `pages` to vm_committed_as, refusing (and
 * returning -ENOMEM) as vm.overcommit_memory says.
 */
export function vm_enough_memory(ts: TaskStruct | null, mm: MmStruct, pages: number): number {
  const k = mm.k;
  const core = mmCore(k);
  core.committedPages += pages;
  const mode = k.cfg.kernel.overcommit_memory;
  if (mode === 1) return 0;
  const ram = k.machine.mem.totalFrames;
  const swap = k.swap.slots;
  if (mode === 0) {
    if (pages > ram + swap) {
      core.committedPages -= pages;
      return -ENOMEM;
    }
    return 0;
  }
  // OVERCOMMIT_NEVER: the commit limit less root's and this process's reserves.
  let allowed = Math.floor((ram * k.cfg.kernel.overcommit_ratio) / 100) + swap;
  if (!(ts?.cred.capSysAdmin ?? false)) allowed -= 8192 / 4;
  allowed -= Math.min(Math.floor(mm.totalVm / 32), 131072 / 4);
  if (core.committedPages < allowed) return 0;
  core.committedPages -= pages;
  return -ENOMEM;
}

/** vm_unacct_memory(). */
export function vm_unacct_memory(mm: MmStruct, pages: number): void {
  mmCore(mm.k).committedPages -= pages;
}

// ---- the address-space layout ----

/**
 * mmap_base(): below the stack, a gap of RLIMIT_STACK plus the stack guard
 * gap, at least 128 MiB (no randomization: runs are deterministic).
 */
export function mmap_base(): number {
  const stackRlimit = 8 * 2 ** 20;
  const guard = 256 * PAGE_SIZE;
  const gap = Math.min(Math.max(stackRlimit + guard, MMAP_GAP_MIN), Math.floor(TASK_SIZE / 6) * 5);
  return Math.floor((TASK_SIZE - gap) / PAGE_SIZE) * PAGE_SIZE;
}

/** mmap_legacy_base (TASK_UNMAPPED_BASE): where bottom-up searches start. */
function mmapLegacyBase(): number {
  return Math.ceil(TASK_SIZE / 3 / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * vm_unmapped_area(): the highest (topDown) or lowest gap inside
 * [low, high) with room for `length` bytes aligned to alignMask + 1.
 * Returns the address or -ENOMEM.
 */
function vmUnmappedArea(t: Task, mm: MmStruct, length: number, low: number, high: number, alignMask: number, topDown: boolean): number {
  const v = mm.vmas;
  mt_charge(t, mm, topDown ? vma_index(mm, high) : vma_index(mm, low), false);
  const need = length + alignMask;
  if (topDown) {
    for (let i = vma_index(mm, high) - 1; i >= -1; i--) {
      const lo = Math.max(i >= 0 ? v[i]!.vmEnd : 0, low);
      const hi = Math.min(i + 1 < v.length ? v[i + 1]!.vmStart : Infinity, high);
      if (hi <= lo || hi - lo < need) {
        if (lo <= low) break;
        continue;
      }
      let addr = hi - length;
      addr -= addr % (alignMask + 1);
      if (addr >= lo) return addr;
    }
    return -ENOMEM;
  }
  for (let i = vma_index(mm, low) - 1; i < v.length; i++) {
    const lo = Math.max(i >= 0 ? v[i]!.vmEnd : 0, low);
    const hi = Math.min(i + 1 < v.length ? v[i + 1]!.vmStart : Infinity, high);
    if (lo >= high) break;
    if (hi <= lo || hi - lo < need) continue;
    let addr = lo;
    if (alignMask) addr = Math.ceil(addr / (alignMask + 1)) * (alignMask + 1);
    if (addr + length <= hi) return addr;
  }
  return -ENOMEM;
}

/** mmap_address_hint_valid(): a hint below the 47-bit window's end that does not straddle it. */
function hintValid(addr: number, len: number): boolean {
  return TASK_SIZE - len >= addr;
}

/** arch_get_unmapped_area_topdown() with the bottom-up fallback. */
function archGetUnmappedArea(t: Task, mm: MmStruct, addr: number, len: number, flags: number, alignMask: number): number {
  if (len > TASK_SIZE) return -ENOMEM;
  if (flags & MAP_FIXED) return addr;
  if (addr) {
    addr = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    if (hintValid(addr, len)) {
      const vma = find_vma(t, mm, addr);
      if (!vma || addr + len <= vma.vmStart) return addr;
    }
  }
  // MAP_32BIT: the legacy bottom-up search inside [1 GiB, 2 GiB) (find_start_end).
  if (flags & MAP_32BIT) return vmUnmappedArea(t, mm, len, 0x40000000, 0x80000000, alignMask, false);
  const r = vmUnmappedArea(t, mm, len, PAGE_SIZE, mm.mmapBase, alignMask, true);
  if (r >= 0) return r;
  return vmUnmappedArea(t, mm, len, mmapLegacyBase(), TASK_SIZE, alignMask, false);
}

/**
 * __get_unmapped_area(): where a mapping of `len` bytes goes. Large
 * anonymous private mappings without a hint are aligned to 2 MiB
 * (thp_get_unmapped_area) so they can use huge pages.
 */
export function get_unmapped_area(t: Task, mm: MmStruct, file: VmFile | null, addr: number, len: number, flags: number): number {
  t.enter(CAT_GET_UNMAPPED_AREA);
  let r: number;
  if (len > TASK_SIZE) r = -ENOMEM;
  else if (!file && !(flags & MAP_SHARED) && !addr && !(flags & MAP_FIXED) && len % PMD_SIZE === 0) {
    // thp_get_unmapped_area_vmflags: search with a PMD of slack, then align inside it.
    const padded = archGetUnmappedArea(t, mm, 0, len + PMD_SIZE, flags, 0);
    if (padded < 0) r = archGetUnmappedArea(t, mm, 0, len, flags, 0);
    else {
      const off = (PMD_SIZE - (padded % PMD_SIZE)) % PMD_SIZE;
      r = off === 0 ? padded + PMD_SIZE : padded + off;
    }
  } else r = archGetUnmappedArea(t, mm, addr, len, flags, 0);
  if (r >= 0) {
    if (r > TASK_SIZE - len) r = -ENOMEM;
    else if (r % PAGE_SIZE !== 0) r = -EINVAL;
    else if (r < mm.k.cfg.kernel.mmap_min_addr) {
      // security_mmap_addr(): below vm.mmap_min_addr needs CAP_SYS_RAWIO.
      const cred = current(t).cred;
      if (!(cred.capSysRawio ?? cred.capSysAdmin)) r = -EPERM;
    }
  }
  t.leave();
  return r;
}

// ---- munmap ----

interface MunmapState {
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
function vmsGatherMunmapVmas(t: Task, mm: MmStruct, vma: VmAreaStruct, start: number, end: number): MunmapState | number {
  const maxMapCount = mmCore(mm.k).maxMapCount;
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
function unlinkVma(t: Task, vma: VmAreaStruct): void {
  vma_unlink_file(vma);
  if (vma.anonVma || vma.anonVmaChain.length > 0) unlink_anon_vmas(t, vma);
}

/** vms_clear_ptes(): zap the detached areas and free their page tables under one gather. */
function* vmsClearPtes(t: Task, mm: MmStruct, s: MunmapState): Blocking<void> {
  const tlb = tlb_gather_mmu(t, mm);
  const start = s.vmas[0]!.vmStart;
  const end = s.vmas[s.vmas.length - 1]!.vmEnd;
  yield* unmap_vmas(t, tlb, s.vmas, start, end);
  free_pgtables(t, tlb, s.vmas, s.unmapStart, s.unmapEnd, (v) => unlinkVma(t, v));
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

/** mmap_write_lock(). */
export function* mmap_write_lock(t: Task, mm: MmStruct): Blocking<void> {
  yield* mm.mmapLock.downWrite(t);
}

/** mmap_write_unlock(): also ends the per-VMA write locks taken under it. */
export function mmap_write_unlock(t: Task, mm: MmStruct): void {
  mm.mmLockSeq++;
  mm.mmapLock.upWrite(t);
}

// ---- mmap ----

/** round_hint_to_min(). */
function roundHintToMin(k: MmStruct['k'], hint: bigint): bigint {
  hint &= BPAGE_MASK;
  const min = BigInt(k.cfg.kernel.mmap_min_addr);
  if (hint !== 0n && hint < min) return page_align(min);
  return hint;
}

/**
 * mmap_region(): map [addr, addr + len) with vm_flags (the checks are done).
 * Returns addr or -errno.
 */
function* mmapRegion(t: Task, mm: MmStruct, file: VmFile | null, addr: number, len: number, vmFlags: number, pgoff: number): Blocking<number> {
  t.enter(CAT_MMAP_REGION);
  const ts = current(t);
  const end = addr + len;
  const pglen = len / PAGE_SIZE;
  // MAP_FIXED over existing areas: gather them now, zap them before the new area goes in.
  let old: MunmapState | null = null;
  const first = find_vma_intersection(t, mm, addr, end);
  if (first) {
    const s = vmsGatherMunmapVmas(t, mm, first, addr, end);
    if (typeof s === 'number') {
      t.leave();
      return s;
    }
    old = s;
  }
  let charged = 0;
  if (accountableMapping(file, vmFlags)) {
    charged = pglen - (old ? old.nrAccounted : 0);
    if (charged) {
      const err = vm_enough_memory(ts, mm, charged);
      if (err) {
        if (old) restoreGathered(t, mm, old);
        t.leave();
        return err;
      }
    }
    if (old) old.nrAccounted = 0;
    vmFlags |= VM_ACCOUNT;
  }
  if (old) {
    // vms_clean_up_area: the old pages go before anything new can be faulted in.
    mm.mapCount -= old.vmas.length;
    mm.lockedVm -= old.lockedVm;
    yield* vmsClearPtes(t, mm, old);
    mm.totalVm -= old.nrPages;
    mm.execVm -= old.execVm;
    mm.stackVm -= old.stackVm;
    mm.dataVm -= old.dataVm;
    for (const v of old.vmas) remove_vma(t, v);
    vm_unacct_memory(mm, old.nrAccounted);
  }
  const i = vma_index(mm, addr);
  const prev = i > 0 ? mm.vmas[i - 1]! : null;
  const next = mm.vmas[i] ?? null;
  let vma: VmAreaStruct | null = null;
  if (prev || next) {
    const g: VmaMerge = { mm, prev, middle: null, next, start: addr, end, pgoff, flags: vmFlags, file, anonVma: null };
    vma = vma_merge_new_range(t, g);
  }
  if (!vma) {
    let f = file;
    if (!f && vmFlags & VM_SHARED) {
      // shmem_zero_setup: shared anonymous memory is a shmem file of the area's size.
      if (!(vmFlags & VM_NORESERVE)) {
        const err = vm_enough_memory(ts, mm, pglen);
        if (err) {
          if (charged) vm_unacct_memory(mm, charged);
          t.leave();
          return err;
        }
      }
      f = new ShmemFile(mm.k, len);
      pgoff = 0;
    } else if (f) f.get?.();
    vma = vm_area_alloc(t, mm, addr, end, vmFlags, pgoff, f);
    vma_start_write(t, vma);
    vma_link_file(vma);
    vma_tree_insert(t, mm, vma);
  }
  vm_stat_account(mm, vmFlags, pglen);
  if (vmFlags & VM_LOCKED) {
    if (vmFlags & (VM_SPECIAL | VM_HUGETLB)) vma.vmFlags &= ~VM_LOCKED_MASK;
    else mm.lockedVm += pglen;
  }
  t.leave();
  return addr;
}

/** Puts gathered areas back when mmap fails after gathering (the kernel's abort path). */
function restoreGathered(t: Task, mm: MmStruct, s: MunmapState): void {
  for (const v of s.vmas) {
    v.detached = false;
    mm.mapCount--;
    vma_tree_insert(t, mm, v);
  }
}

/**
 * do_mmap(): the checks and the vm_flags of a mapping, then mmap_region.
 * Arguments as the kernel gets them (64-bit); returns the address or
 * -errno, and the bytes to populate afterwards.
 */
export function* do_mmap(
  t: Task,
  mm: MmStruct,
  file: VmFile | null,
  addrIn: bigint,
  lenIn: bigint,
  prot: number,
  flags: number,
  vmFlags: number,
  pgoffIn: bigint,
): Blocking<{ ret: number; populate: number }> {
  const k = mm.k;
  const ts = current(t);
  const fail = (e: number): { ret: number; populate: number } => ({ ret: e, populate: 0 });
  if (lenIn === 0n) return fail(-EINVAL);
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  let addrB = addrIn;
  if (!(flags & MAP_FIXED)) addrB = roundHintToMin(k, addrB);
  const lenB = page_align(lenIn);
  if (lenB === 0n) return fail(-ENOMEM);
  if (pgoffIn + (lenB >> 12n) > U64 || ((pgoffIn + (lenB >> 12n)) & U64) < pgoffIn) return fail(-EOVERFLOW);
  if (mm.mapCount > mmCore(k).maxMapCount) return fail(-ENOMEM);
  if (lenB > BTASK_SIZE) return fail(-ENOMEM);
  const len = Number(lenB);
  // An address the tables cannot hold is never returned; a MAP_FIXED one past TASK_SIZE fails in get_unmapped_area.
  const addrHint = addrB > BTASK_SIZE ? (flags & MAP_FIXED ? -1 : 0) : Number(addrB);
  if (addrHint < 0) return fail(-ENOMEM);
  const addr = get_unmapped_area(t, mm, file, addrHint, len, flags);
  if (addr < 0) return fail(addr);
  if (flags & MAP_FIXED_NOREPLACE && find_vma_intersection(t, mm, addr, addr + len)) return fail(-EEXIST);
  vmFlags |= calc_vm_prot_bits(prot) | calcVmFlagBits(flags) | mm.defFlags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (flags & MAP_LOCKED && !can_do_mlock(ts, k)) return fail(-EPERM);
  if (!mlock_future_ok(ts, mm, vmFlags, len)) return fail(-EAGAIN);
  let pgoff: number;
  if (file) {
    // file_mmap_ok(): the offset and length fit in a file (MAX_LFS_FILESIZE).
    const maxsize = (1n << 63n) - 1n - lenB;
    if (pgoffIn > maxsize >> 12n) return fail(-EOVERFLOW);
    pgoff = Number(pgoffIn);
    const type = flags & MAP_TYPE;
    if (type !== MAP_SHARED && type !== MAP_SHARED_VALIDATE && type !== MAP_PRIVATE) return fail(-EINVAL);
    if (type === MAP_SHARED || type === MAP_SHARED_VALIDATE) {
      // MAP_SHARED takes only the legacy flags; MAP_SHARED_VALIDATE refuses any other.
      if (type === MAP_SHARED) flags &= LEGACY_MAP_MASK;
      if (flags & ~LEGACY_MAP_MASK) return fail(-EOPNOTSUPP);
      if (prot & PROT_WRITE && !file.writable) return fail(-EACCES);
      if (file.appendOnly && file.writable) return fail(-EACCES);
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      if (!file.writable) vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
    }
    if (!file.readable) return fail(-EACCES);
    if (vmFlags & VM_GROWSDOWN) return fail(-EINVAL);
    if (!file.mapping) return fail(-ENODEV);
  } else {
    switch (flags & MAP_TYPE) {
      case MAP_SHARED:
        if (vmFlags & VM_GROWSDOWN) return fail(-EINVAL);
        pgoff = 0;
        vmFlags |= VM_SHARED | VM_MAYSHARE;
        break;
      case MAP_DROPPABLE:
        if (flags & (MAP_LOCKED | MAP_HUGETLB)) return fail(-EINVAL);
        if (vmFlags & VM_GROWSDOWN) return fail(-EINVAL);
        // Droppable memory is modelled as private memory that is not reserved, wiped on fork and not dumped.
        vmFlags |= VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP;
        pgoff = addr / PAGE_SIZE;
        break;
      case MAP_PRIVATE:
        pgoff = addr / PAGE_SIZE;
        break;
      default:
        return fail(-EINVAL);
    }
  }
  if (flags & MAP_NORESERVE && k.cfg.kernel.overcommit_memory !== 2) vmFlags |= VM_NORESERVE;
  const r = yield* mmapRegion(t, mm, file, addr, len, vmFlags, pgoff);
  if (r < 0) return fail(r);
  const populate = vmFlags & VM_LOCKED || (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE ? len : 0;
  return { ret: r, populate };
}

/**
 * __mm_populate(): fault in [start, start + len) area by area, as mlock and
 * MAP_POPULATE do. With ignoreErrors a failing area is skipped. Takes the
 * mmap lock for reading. Returns 0 or -errno (EFAULT, ENOMEM).
 */
export function* mm_populate(t: Task, mm: MmStruct, start: number, len: number, ignoreErrors: boolean): Blocking<number> {
  t.enter(CAT_MM_POPULATE);
  const end = start + len;
  let ret = 0;
  yield* mm.mmapLock.downRead(t);
  let nstart = start;
  while (nstart < end) {
    const vma = find_vma_intersection(t, mm, nstart, end);
    if (!vma) break;
    const nend = Math.min(end, vma.vmEnd);
    if (nstart < vma.vmStart) nstart = vma.vmStart;
    const r = yield* populate_range(t, vma, nstart, nend);
    if (r < 0) {
      if (ignoreErrors) {
        nstart = nend;
        continue;
      }
      ret = r;
      break;
    }
    // A short count stops at the page that failed; the next round reports its error.
    nstart += r * PAGE_SIZE;
  }
  mm.mmapLock.upRead(t);
  t.leave();
  return ret;
}

/**
 * vm_mmap_pgoff(): take the lock, do_mmap, drop it, populate. Returns the
 * address or -errno.
 */
export function* vm_mmap_pgoff(t: Task, mm: MmStruct, file: VmFile | null, addr: bigint, len: bigint, prot: number, flags: number, pgoff: bigint): Blocking<number> {
  t.enter(CAT_DO_MMAP);
  yield* mmap_write_lock(t, mm);
  const { ret, populate } = yield* do_mmap(t, mm, file, addr, len, prot, flags, 0, pgoff);
  mmap_write_unlock(t, mm);
  if (ret >= 0 && populate) yield* mm_populate(t, mm, ret, populate, true);
  t.leave();
  return ret;
}

/** ksys_mmap_pgoff(): resolve the fd, refuse MAP_HUGETLB without a hugetlb pool, map. */
export function* ksys_mmap_pgoff(t: Task, addr: bigint, len: bigint, prot: number, flags: number, fd: number, pgoff: bigint): Blocking<number> {
  const ts = current(t);
  const mm = ts.mm;
  if (!mm) return -EINVAL;
  let file: VmFile | null = null;
  if (!(flags & MAP_ANONYMOUS)) {
    const fget = mmCore(mm.k).hooks.fget;
    file = fget ? fget(t, fd) : null;
    if (!file) return -EBADF;
    if (flags & MAP_HUGETLB) return -EINVAL;
  } else if (flags & MAP_HUGETLB) {
    // No hugetlb pages are configured (vm.nr_hugepages = 0): the reservation fails.
    return -ENOMEM;
  }
  return yield* vm_mmap_pgoff(t, mm, file, addr, len, prot, flags, pgoff);
}

/**
 * mmap(2): sys_mmap on x86-64, with the raw 64-bit arguments. Returns the
 * address (a non-negative number) or -errno.
 */
export function sys_mmap(t: Task, addr: number | bigint, len: number | bigint, prot: number | bigint, flags: number | bigint, fd: number, off: number | bigint): Blocking<number> {
  return syscall(t, 'mmap', doSysMmap(t, u64(addr), u64(len), u64(prot), u64(flags), fd, u64(off)));
}

function* doSysMmap(t: Task, addr: bigint, len: bigint, prot: bigint, flags: bigint, fd: number, off: bigint): Blocking<number> {
  if (off & (BPAGE - 1n)) return -EINVAL;
  // prot and flags are 32-bit in the kernel's do_mmap (unsigned long, but no bit above 31 means anything).
  return yield* ksys_mmap_pgoff(t, addr, len, Number(prot & 0xffffffffn), Number(flags & 0xffffffffn), fd, off >> 12n);
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

// ---- teardown ----

/**
 * exit_mmap(): the last user is gone: zap everything with a full-mm gather,
 * free every page table below the pgd, free the areas.
 */
export function* exit_mmap(t: Task, mm: MmStruct): Blocking<void> {
  t.enter(CAT_EXIT_MMAP);
  yield* mmap_write_lock(t, mm);
  mm.exiting = true;
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
  mm.execVm = mm.stackVm = mm.dataVm = 0;
  mmap_write_unlock(t, mm);
  t.leave();
}
