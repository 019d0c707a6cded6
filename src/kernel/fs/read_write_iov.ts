/**
 * readv(2) and writev(2), after fs/read_write.c (vfs_readv, vfs_writev) and
 * lib/iov_iter.c (import_iovec). A script's iovec is its list of lengths;
 * the buffers lie back to back in the caller's memory.
 *
 * Every file here has ->read_iter/->write_iter semantics (one transfer of
 * the iovec's total, as do_iter_readv_writev does), so the transfer is one
 * vfs_read/vfs_write of the total and costs what that read or write costs.
 */
import type { Blocking, Task } from '../../sim/task.js';
import { EBADF, EFAULT, EINVAL } from '../errno.js';
import { TASK_SIZE } from '../mm/mm_types.js';
import { syscall } from '../syscalls.js';
import { fget_light, fput_light } from './file.js';
import type { File, IoBuf } from './file_table.js';
import { fsnotify_access } from './notify/fsnotify.js';
import { MAX_RW_COUNT, vfs_read, vfs_write } from './read_write.js';
import { FMODE_READ, FMODE_WRITE } from './uapi_fcntl.js';
import { file_vfs_or_null } from './vfs_file.js';

/** UIO_MAXIOV: the most segments one call takes. */
export const UIO_MAXIOV = 1024;

/**
 * import_iovec(): the total of the segments (each a size_t; one that is
 * negative as an ssize_t is EINVAL, one reaching past the user address
 * space EFAULT), clamped so the whole stays within MAX_RW_COUNT.
 */
export function import_iovec(t: Task, lens: readonly number[]): number {
  const k = t.k;
  if (lens.length > UIO_MAXIOV) return -EINVAL;
  // copy_iovec_from_user: 16 bytes a segment.
  t.charge(Math.ceil((k.cfg.cost.copy_page * 16 * lens.length) / 4096));
  let total = 0;
  for (const raw of lens) {
    if (raw < 0 || raw >= 2 ** 63) return -EINVAL;
    if (raw > TASK_SIZE) return -EFAULT;
    total += Math.min(raw, MAX_RW_COUNT - total);
  }
  return total;
}

function* do_readv(t: Task, fd: number, lens: readonly number[], buf: IoBuf | null): Blocking<number> {
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  const r = yield* vfs_readv(t, f.file, lens, buf);
  yield* fput_light(t, f);
  return r;
}

/** vfs_readv(): the mode checks come before the iovec's; an empty iovec still counts as an access. */
function* vfs_readv(t: Task, file: File, lens: readonly number[], buf: IoBuf | null): Blocking<number> {
  if (!(file.f_mode & FMODE_READ)) return -EBADF;
  if (!file.f_op.read) return -EINVAL;
  const total = import_iovec(t, lens);
  if (total < 0) return total;
  if (total === 0) {
    const v = file_vfs_or_null(file);
    if (v) yield* fsnotify_access(t, v);
    return 0;
  }
  return yield* vfs_read(t, file, total, buf);
}

function* do_writev(t: Task, fd: number, lens: readonly number[], byte: number): Blocking<number> {
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  const file = f.file;
  let r: number;
  if (!(file.f_mode & FMODE_WRITE)) r = -EBADF;
  else if (!file.f_op.write) r = -EINVAL;
  else {
    r = import_iovec(t, lens);
    if (r > 0) r = yield* vfs_write(t, file, r, byte);
  }
  yield* fput_light(t, f);
  return r;
}

/** readv(2): bytes read into the segments in order, or -errno; `buf.sum` sums them. */
export function sys_readv(t: Task, fd: number, lens: readonly number[], buf: IoBuf | null): Blocking<number> {
  return syscall(t, 'readv', do_readv(t, fd, lens, buf));
}

/** writev(2) of segments filled with `byte`. */
export function sys_writev(t: Task, fd: number, lens: readonly number[], byte: number): Blocking<number> {
  return syscall(t, 'writev', do_writev(t, fd, lens, byte));
}

