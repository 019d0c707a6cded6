/**
 * mmap_lock helpers (include/linux/mmap_lock.h). Dropping the write lock also
 * ends every per-VMA write lock taken under it (vma_end_write_all), which is
 * what lets page faults take the per-VMA lock again.
 */
import type { Blocking, Task } from '../../sim/task.js';
import type { MmStruct } from './mm_types.js';

/** mmap_write_lock(). */
export function* mmap_write_lock(t: Task, mm: MmStruct): Blocking<void> {
  yield* mm.mmapLock.downWrite(t);
}

/** mmap_write_unlock(): also ends the per-VMA write locks taken under it. */
export function mmap_write_unlock(t: Task, mm: MmStruct): void {
  mm.mmLockSeq++;
  mm.mmapLock.upWrite(t);
}

/** mmap_read_lock(). */
export function* mmap_read_lock(t: Task, mm: MmStruct): Blocking<void> {
  yield* mm.mmapLock.downRead(t);
}

/** mmap_read_unlock(). */
export function mmap_read_unlock(t: Task, mm: MmStruct): void {
  mm.mmapLock.upRead(t);
}
