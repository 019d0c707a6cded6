/**
 * msync(2), after mm/msync.c: argument checks, a walk over the areas of the
 * range (a hole is ENOMEM, reported at the end unless MS_ASYNC alone stops
 * there), EBUSY for MS_INVALIDATE over locked memory, and MS_SYNC writing
 * back the range of each shared file mapping (vfs_fsync_range, here the
 * mapping's write-and-wait) with the mmap lock dropped around it.
 */
import type { Blocking, Task } from '../../sim/task.js';
import { EBUSY, EINVAL, ENOMEM } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { filemap_write_and_wait_range } from './filemap.js';
import { PAGE_SIZE, TASK_SIZE, VM_LOCKED, VM_SHARED } from './mm_types.js';
import { u64 } from './uapi.js';
import { find_vma } from './vma.js';

export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;

const U64_MAX = (1n << 64n) - 1n;

function* doMsync(t: Task, startIn: bigint, lenIn: bigint, flagsIn: bigint): Blocking<number> {
  const mm = current(t).mm;
  if (!mm) return -EINVAL;
  if (flagsIn & ~BigInt(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) return -EINVAL;
  const flags = Number(flagsIn);
  if (startIn & 4095n) return -EINVAL;
  if (flags & MS_ASYNC && flags & MS_SYNC) return -EINVAL;
  const len = (lenIn + 4095n) & ~4095n & U64_MAX;
  const endB = startIn + len;
  if (endB > U64_MAX) return -ENOMEM;
  if (endB === startIn) return 0;
  // Past the user address space there are no areas: the walk finds none.
  if (startIn >= BigInt(TASK_SIZE)) return -ENOMEM;
  let start = Number(startIn);
  const end = endB > BigInt(TASK_SIZE) ? TASK_SIZE + PAGE_SIZE : Number(endB);
  let unmappedError = 0;
  let error: number;
  yield* mm.mmapLock.downRead(t);
  let vma = find_vma(t, mm, start);
  for (;;) {
    error = -ENOMEM;
    if (!vma) break;
    if (start < vma.vmStart) {
      if (flags === MS_ASYNC) break;
      start = vma.vmStart;
      if (start >= end) break;
      unmappedError = -ENOMEM;
    }
    error = 0;
    if (flags & MS_INVALIDATE && vma.vmFlags & VM_LOCKED) {
      error = -EBUSY;
      break;
    }
    const file = vma.vmFile;
    const fstart = (start - vma.vmStart) + vma.vmPgoff * PAGE_SIZE;
    const fend = fstart + (Math.min(end, vma.vmEnd) - start) - 1;
    start = vma.vmEnd;
    if (flags & MS_SYNC && file && vma.vmFlags & VM_SHARED) {
      mm.mmapLock.upRead(t);
      error = yield* filemap_write_and_wait_range(t, file.mapping, fstart, fend);
      if (error || start >= end) return error || unmappedError;
      yield* mm.mmapLock.downRead(t);
      vma = find_vma(t, mm, start);
    } else {
      if (start >= end) {
        error = 0;
        break;
      }
      vma = find_vma(t, mm, vma.vmEnd);
    }
  }
  mm.mmapLock.upRead(t);
  return error || unmappedError;
}

/** msync(2). */
export function sys_msync(t: Task, start: number | bigint, len: number | bigint, flags: number | bigint): Blocking<number> {
  return syscall(t, 'msync', doMsync(t, u64(start), u64(len), u64(flags)));
}
