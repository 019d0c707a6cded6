/**
 * mseal(2), after mm/mseal.c (Linux 6.10+): seal the areas of a range so
 * they cannot be unmapped, moved, resized, reprotected, replaced by a
 * MAP_FIXED mapping, or have their data discarded by madvise (EPERM; the
 * checks are in munmap.ts, mprotect.ts, mremap.ts and madvise.ts). The
 * seal is inherited by fork and lasts as long as the area.
 */
import { hugetlb_may_split } from './hugetlb.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EINVAL, ENOMEM } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { TASK_SIZE, type MmStruct } from './mm_types.js';
import { mmap_write_lock, mmap_write_unlock } from './mmap_lock.js';
import { u64 } from './uapi.js';
import { split_vma, vma_index, vma_lookup, vma_start_write } from './vma.js';

const BPAGE = 4096n;

/** range_contains_unmapped(): is any page of [start, end) outside every area? */
function range_contains_unmapped(mm: MmStruct, start: number, end: number): boolean {
  let prevEnd = start;
  for (let i = vma_index(mm, start); i < mm.vmas.length && mm.vmas[i]!.vmStart < end; i++) {
    const v = mm.vmas[i]!;
    if (v.vmEnd <= start) continue;
    if (v.vmStart > prevEnd) return true;
    prevEnd = v.vmEnd;
  }
  return prevEnd < end;
}

function* do_mseal(t: Task, startIn: bigint, lenIn: bigint, flags: bigint): Blocking<number> {
  const mm = current(t).mm;
  if (!mm) return -EINVAL;
  if (flags !== 0n) return -EINVAL;
  if (startIn & (BPAGE - 1n)) return -EINVAL;
  const len = BigInt.asUintN(64, (lenIn + BPAGE - 1n) & ~(BPAGE - 1n));
  // A length rounded up from a small negative one to zero.
  if (lenIn !== 0n && len === 0n) return -EINVAL;
  const endB = startIn + len;
  if (endB > 2n ** 64n - 1n) return -EINVAL;
  if (len === 0n) return 0;
  // Past the user address space nothing is mapped.
  if (endB > BigInt(TASK_SIZE)) return -ENOMEM;
  const start = Number(startIn);
  const end = Number(endB);
  yield* mmap_write_lock(t, mm);
  if (range_contains_unmapped(mm, start, end)) {
    mmap_write_unlock(t, mm);
    return -ENOMEM;
  }
  // mseal_apply(): each area's part of the range becomes an area of its own, sealed (at vm.max_map_count: ENOMEM).
  let ret = 0;
  for (let addr = start; addr < end; ) {
    const v = vma_lookup(t, mm, addr)!;
    if (!v.sealed) {
      // hugetlb_vm_op_split(): a hugetlb area splits only at huge page boundaries.
      if ((v.vmStart < addr && hugetlb_may_split(v, addr)) || (v.vmEnd > end && hugetlb_may_split(v, end))) {
        ret = -EINVAL;
        break;
      }
      if ((v.vmStart < addr && !split_vma(t, v, addr, true)) || (v.vmEnd > end && !split_vma(t, v, end, false))) {
        ret = -ENOMEM;
        break;
      }
      vma_start_write(t, v);
      v.sealed = true;
    }
    addr = v.vmEnd;
  }
  mmap_write_unlock(t, mm);
  return ret;
}

/** mseal(2) with the raw 64-bit arguments: 0 or -errno. */
export function sys_mseal(t: Task, start: number | bigint, len: number | bigint, flags: number | bigint): Blocking<number> {
  return syscall(t, 'mseal', do_mseal(t, u64(start), u64(len), u64(flags)));
}
