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
import { vm_start_gap } from './expand_stack.js';
import { HugetlbFile, hugetlb_reserve_pages, is_hugetlb_file, MAP_HUGE_MASK, MAP_HUGE_SHIFT } from './hugetlb.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EACCES, EAGAIN, EBADF, EEXIST, EINVAL, ENODEV, ENOMEM, EOPNOTSUPP, EOVERFLOW, EPERM } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { mmCore } from './core.js';
import { ShmemFile, vma_link_file } from './filemap.js';
import { populate_range } from './gup.js';
import {
  MMAP_GAP_MIN,
  PAGE_SIZE,
  PMD_SIZE,
  TASK_SIZE,
  VM_ACCOUNT,
  VM_DONTDUMP,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_DONTEXPAND,
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
import { mmap_write_lock, mmap_write_unlock } from './mmap_lock.js';
import { restoreGathered, vmsClearPtes, vmsGatherMunmapVmas, type MunmapState } from './munmap.js';
import {
  MAP_32BIT,
  MAP_ANONYMOUS,
  MAP_DENYWRITE,
  MAP_DROPPABLE,
  MAP_EXECUTABLE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_STACK,
  MAP_SYNC,
  MAP_TYPE,
  MAP_UNINITIALIZED,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  page_align,
  u64,
} from './uapi.js';
import { can_do_mlock, mlock_future_ok, vm_enough_memory, vm_stat_account, vm_unacct_memory } from './util.js';
import { find_vma, find_vma_intersection, vma_start_write_range, mt_charge, remove_vma, vm_area_alloc, vma_index, vma_merge_new_range, vma_start_write, vma_tree_insert, type VmaMerge } from './vma.js';

export * from './uapi.js';
export { do_vmi_munmap, exit_mmap, sys_munmap } from './munmap.js';
export { mmap_write_lock, mmap_write_unlock } from './mmap_lock.js';
export { vm_enough_memory, vm_stat_account, vm_unacct_memory } from './util.js';

/** LEGACY_MAP_MASK: the flags MAP_SHARED_VALIDATE accepts (plus MAP_SYNC where the file supports it). */
const LEGACY_MAP_MASK =
  MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED |
  MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB;

const CAT_DO_MMAP = intern('do_mmap');
const CAT_MMAP_REGION = intern('mmap_region');
const CAT_GET_UNMAPPED_AREA = intern('get_unmapped_area');
const CAT_MM_POPULATE = intern('mm_populate');

const U64 = (1n << 64n) - 1n;
const BPAGE = BigInt(PAGE_SIZE);
const BPAGE_MASK = ~(BPAGE - 1n) & U64;
const BTASK_SIZE = BigInt(TASK_SIZE);

/** calc_vm_prot_bits(). */
export function calc_vm_prot_bits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/** calc_vm_flag_bits(). */
function calcVmFlagBits(flags: number): number {
  return (flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) | (flags & MAP_LOCKED ? VM_LOCKED : 0) | (flags & MAP_SYNC ? VM_SYNC : 0) | (flags & MAP_STACK ? VM_NOHUGEPAGE : 0);
}

/** accountable_mapping(): private writable memory counts against the commit limit. */
function accountableMapping(file: VmFile | null, vmFlags: number): boolean {
  // is_file_hugepages(): hugetlb pages are accounted by their own reservations.
  if (is_hugetlb_file(file)) return false;
  return (vmFlags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE;
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
      const hi = Math.min(i + 1 < v.length ? vm_start_gap(v[i + 1]!) : Infinity, high);
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
    const hi = Math.min(i + 1 < v.length ? vm_start_gap(v[i + 1]!) : Infinity, high);
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
      if (!vma || addr + len <= vm_start_gap(vma)) return addr;
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
  else if (is_hugetlb_file(file)) {
    // hugetlb_get_unmapped_area(): 2 MiB aligned (a hint is rounded up to the boundary; a fixed address was checked).
    const hint = addr && !(flags & MAP_FIXED) ? Math.ceil(addr / PMD_SIZE) * PMD_SIZE : addr;
    r = archGetUnmappedArea(t, mm, hint, len, flags, PMD_SIZE - 1);
    if (r >= 0 && !(flags & MAP_FIXED) && r % PMD_SIZE !== 0) r = archGetUnmappedArea(t, mm, 0, len, flags, PMD_SIZE - 1);
  } else if (!file && !(flags & MAP_SHARED) && !addr && !(flags & MAP_FIXED) && len % PMD_SIZE === 0) {
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
  // hugetlbfs_file_mmap(): VM_HUGETLB | VM_DONTEXPAND and the reservation, ENOMEM when the pool is short.
  let hugeResv: { readonly pending: Set<number> } | null = null;
  if (is_hugetlb_file(file)) {
    vmFlags |= VM_HUGETLB | VM_DONTEXPAND;
    const r = hugetlb_reserve_pages(mm.k, file, pgoff, len, (vmFlags & VM_SHARED) !== 0, (vmFlags & VM_NORESERVE) !== 0);
    if (r === false) {
      t.leave();
      return -ENOMEM;
    }
    hugeResv = r;
  }
  // MAP_FIXED over existing areas: gather them now, zap them before the new area goes in.
  let old: MunmapState | null = null;
  yield* vma_start_write_range(t, mm, addr, end);
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
      const shm = new ShmemFile(mm.k, len);
      if (!(vmFlags & VM_NORESERVE)) shm.accountedPages = pglen;
      f = shm;
      pgoff = 0;
    } else if (f) f.get?.();
    vma = vm_area_alloc(t, mm, addr, end, vmFlags, pgoff, f);
    vma.hugetlbResv = hugeResv;
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
  // A MAP_FIXED address is handed back as is by the arch, and __get_unmapped_area's IS_ERR_VALUE then reads one in the last 4095 bytes as an error: -1 is EPERM.
  if (flags & MAP_FIXED && addrB > U64 - 4095n) return fail(-Number(U64 + 1n - addrB));
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
  let droppable = false;
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
    if (file.noexec) {
      if (vmFlags & VM_EXEC) return fail(-EPERM);
      vmFlags &= ~VM_MAYEXEC;
    }
    // can_mmap_file(): a file without an mmap op (/dev/null, a pipe) is ENODEV, ahead of the grows check.
    if (!file.mmapAnonymous && !file.mapping) return fail(-ENODEV);
    if (vmFlags & VM_GROWSDOWN) return fail(-EINVAL);
    if (file.writeSealed && vmFlags & VM_SHARED) {
      if (vmFlags & VM_WRITE) return fail(-EPERM);
      vmFlags &= ~VM_MAYWRITE;
    }
    // ext4_file_mmap(): VM_SYNC (MAP_SYNC, even where MAP_SHARED dropped the flag itself) needs DAX, which no file here has.
    if (vmFlags & VM_SYNC && file.mapping?.canWriteback) return fail(-EOPNOTSUPP);
    if (file.mmapAnonymous) {
      // mmap_zero() (/dev/zero): a shared area becomes shmem (shmem_zero_setup), a private one anonymous memory (vma_set_anonymous).
      file = null;
      if (!(vmFlags & VM_SHARED)) pgoff = addr / PAGE_SIZE;
    }
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
        // Droppable memory is private memory that is not reserved, wiped on fork, not dumped and never locked.
        vmFlags |= VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP;
        droppable = true;
        pgoff = addr / PAGE_SIZE;
        break;
      case MAP_PRIVATE:
        pgoff = addr / PAGE_SIZE;
        break;
      default:
        return fail(-EINVAL);
    }
  }
  if (flags & MAP_NORESERVE && (k.cfg.kernel.overcommit_memory !== 2 || is_hugetlb_file(file))) vmFlags |= VM_NORESERVE;
  const r = yield* mmapRegion(t, mm, file, addr, len, vmFlags, pgoff);
  if (droppable && r >= 0) {
    const v = find_vma_intersection(t, mm, r, r + len);
    if (v) v.droppable = true;
  }
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
    // hstate_sizelog(): only the 2 MiB pool exists (0 means the default size).
    const log = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
    if (log !== 0 && log !== 21) return -EINVAL;
    // A zero length reserves nothing (hugetlb_file_setup of 0 bytes succeeds): do_mmap's EINVAL for it comes first.
    if (len === 0n) return -EINVAL;
    // hugetlb_file_setup(): an unlinked hugetlbfs file of the length rounded up to 2 MiB.
    len = (len + 0x1fffffn) & ~0x1fffffn;
    if (len === 0n || len > BigInt(TASK_SIZE)) return -ENOMEM;
    // hugetlb_get_unmapped_area() refuses a fixed address off a 2 MiB boundary (prepare_hugepage_range) before
    // hugetlbfs_file_mmap reserves (ENOMEM when the pool is short).
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) && (addr & 0x1fffffn) !== 0n) return -EINVAL;
    const hf = new HugetlbFile(mm.k, Number(len));
    const r = yield* vm_mmap_pgoff(t, mm, hf, addr, len, prot, flags, pgoff);
    hf.put(t);
    return r;
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

