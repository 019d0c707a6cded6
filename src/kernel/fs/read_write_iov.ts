/**
 * readv(2) and writev(2), after fs/read_write.c (vfs_readv, vfs_writev) and
 * lib/iov_iter.c (import_iovec). A script's iovec is its list of lengths;
 * the buffers lie back to back in the caller's memory.
 *
 * A file with ->read_iter/->write_iter takes the iovec's total in one
 * transfer (do_iter_readv_writev), so the transfer is one vfs_read or
 * vfs_write of the total and costs what that read or write costs. A file
 * with only ->read/->write (eventfd's write, inotify's read, some procfs
 * files) is called once per segment (do_loop_readv_writev), a zero-length
 * one included, until a call fails or moves less than its segment.
 */
import type { Blocking, Task } from '../../sim/task.js';
import { EBADF, EFAULT, EINVAL } from '../errno.js';
import { TASK_SIZE } from '../mm/mm_types.js';
import { syscall } from '../syscalls.js';
import { fget_light, fput_light } from './file.js';
import type { File, IoBuf } from './file_table.js';
import { fsnotify_access, fsnotify_modify } from './notify/fsnotify.js';
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
  if (!file.f_op.noReadIter) return yield* vfs_read(t, file, total, buf);
  const r = yield* loop_readv_writev(t, file, lens, total, buf, -1);
  const v = file_vfs_or_null(file);
  if (r >= 0 && v) yield* fsnotify_access(t, v);
  return r;
}

/**
 * do_loop_readv_writev(): ->read (byte < 0) or ->write of each segment in
 * turn at the file's position; the first failure is returned only when no
 * segment moved anything.
 */
function* loop_readv_writev(t: Task, file: File, lens: readonly number[], total: number, buf: IoBuf | null, byte: number): Blocking<number> {
  let ret = 0;
  let left = total;
  for (const raw of lens) {
    if (left === 0) break;
    const seg = Math.min(raw, left);
    const nr = byte < 0 ? yield* file.f_op.read!(t, file, seg, buf, file) : yield* file.f_op.write!(t, file, seg, byte, file);
    if (nr < 0) {
      if (ret === 0) ret = nr;
      break;
    }
    ret += nr;
    left -= seg;
    if (nr !== seg) break;
  }
  return ret;
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
    if (r > 0 && !file.f_op.noWriteIter) r = yield* vfs_write(t, file, r, byte);
    else if (r > 0) {
      r = yield* loop_readv_writev(t, file, lens, r, null, byte);
      const v = file_vfs_or_null(file);
      if (r > 0 && v) yield* fsnotify_modify(t, v);
    }
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

