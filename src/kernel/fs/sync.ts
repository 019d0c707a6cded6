/**
 * fsync(2) and fdatasync(2), after fs/sync.c: vfs_fsync_range over the
 * whole file through the file's ->fsync; a file without one (character
 * devices such as /dev/null, inotify) is EINVAL.
 */
import type { Blocking, Task } from '../../sim/task.js';
import { EBADF, EINVAL } from '../errno.js';
import { syscall } from '../syscalls.js';
import { fget_light, fput_light } from './file.js';
import type { File } from './file_table.js';

/** LLONG_MAX as a byte position. */
const LLONG_MAX = 2 ** 63;

/** vfs_fsync_range(). */
export function* vfs_fsync_range(t: Task, file: File, start: number, end: number, datasync: boolean): Blocking<number> {
  if (!file.f_op.fsync) return -EINVAL;
  return yield* file.f_op.fsync(t, file, start, end, datasync);
}

function* do_fsync(t: Task, fd: number, datasync: boolean): Blocking<number> {
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  const r = yield* vfs_fsync_range(t, f.file, 0, LLONG_MAX, datasync);
  yield* fput_light(t, f);
  return r;
}

export function sys_fsync(t: Task, fd: number): Blocking<number> {
  return syscall(t, 'fsync', do_fsync(t, fd, false));
}

export function sys_fdatasync(t: Task, fd: number): Blocking<number> {
  return syscall(t, 'fdatasync', do_fsync(t, fd, true));
}
