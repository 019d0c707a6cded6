/**
 * read, write and lseek, after fs/read_write.c, and the FIONREAD ioctl
 * after fs/ioctl.c.
 *
 * vfs_read/vfs_write check the file's mode (EBADF when it was not opened
 * for that access, EINVAL when its file system cannot do it), clamp the
 * count to MAX_RW_COUNT, call the file's method and, when bytes moved,
 * tell fsnotify (IN_ACCESS, IN_MODIFY). A script's read has no user buffer:
 * what it read is reported through the IoBuf (the byte sum, or inotify's
 * events).
 */
import { loffAdd, loffBig, loffOf, loffSub, type loff_t } from './loff.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EBADF, EFAULT, EINVAL, ENOTTY, ENXIO, ESPIPE } from '../errno.js';
import { TASK_SIZE } from '../mm/mm_types.js';
import { syscall } from '../syscalls.js';
import { fget_light, fput_light } from './file.js';
import type { File, FilePos, IoBuf } from './file_table.js';
import { S_ISREG } from './inode.js';
import { fsnotify_access, fsnotify_modify } from './notify/fsnotify.js';
import { FMODE_LSEEK, FMODE_PREAD, FMODE_PWRITE, FMODE_READ, FMODE_WRITE } from './uapi_fcntl.js';
import { file_vfs_or_null } from './vfs_file.js';

/** INT_MAX & PAGE_MASK: the most one read or write moves. */
export const MAX_RW_COUNT = 0x7ffff000;
export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;
const SEEK_MAX = SEEK_HOLE;
export const FIONREAD = 0x541b;

/** vfs_setpos(): a negative or too large offset is EINVAL. */
export function vfs_setpos(file: File, offset: loff_t, maxsize: loff_t): loff_t {
  if (offset < 0 || offset > maxsize) return -EINVAL;
  file.f_pos = offset;
  return offset;
}

/**
 * generic_file_llseek_size(): SEEK_SET/CUR/END within `maxsize`, and the
 * generic SEEK_DATA/SEEK_HOLE (all of [0, eof) is data, a hole at eof).
 * Sums wrap in 64 bits, so going past LLONG_MAX is EINVAL as in C.
 */
export function generic_file_llseek_size(file: File, offset: loff_t, whence: number, maxsize: loff_t, eof: loff_t): loff_t {
  let off = loffBig(offset);
  const end = loffBig(eof);
  switch (whence) {
    case SEEK_SET:
      break;
    case SEEK_CUR:
      if (off === 0n) return file.f_pos;
      off = BigInt.asIntN(64, loffBig(file.f_pos) + off);
      break;
    case SEEK_END:
      off = BigInt.asIntN(64, off + end);
      break;
    case SEEK_DATA:
      if (BigInt.asUintN(64, off) >= end) return -ENXIO;
      break;
    case SEEK_HOLE:
      if (BigInt.asUintN(64, off) >= end) return -ENXIO;
      off = end;
      break;
    default:
      return -EINVAL;
  }
  if (off < 0n || off > loffBig(maxsize)) return -EINVAL;
  file.f_pos = loffOf(off);
  return file.f_pos;
}

/** access_ok() on a buffer of `count` bytes (a size_t: a negative count is huge). */
function access_ok(count: number): boolean {
  return count >= 0 && count <= TASK_SIZE;
}

/** rw_verify_area(): a transfer whose end would pass LLONG_MAX is EINVAL. */
function rw_verify_area(ppos: FilePos, count: number): number {
  const pos = ppos.f_pos;
  if (pos < 0 || loffAdd(pos, count) < 0) return -EINVAL;
  return 0;
}

/** vfs_read(). */
export function* vfs_read(t: Task, file: File, count: number, buf: IoBuf | null, ppos: FilePos = file): Blocking<number> {
  if (!(file.f_mode & FMODE_READ)) return -EBADF;
  if (!file.f_op.read) return -EINVAL;
  if (!access_ok(count)) return -EFAULT;
  const bad = rw_verify_area(ppos, count);
  if (bad) return bad;
  if (count > MAX_RW_COUNT) count = MAX_RW_COUNT;
  const ret = yield* file.f_op.read(t, file, count, buf, ppos);
  if (ret > 0) {
    const v = file_vfs_or_null(file);
    if (v) yield* fsnotify_access(t, v);
  }
  return ret;
}

/** vfs_write(): `count` bytes of `byte` (a script's write). */
export function* vfs_write(t: Task, file: File, count: number, byte: number, ppos: FilePos = file): Blocking<number> {
  if (!(file.f_mode & FMODE_WRITE)) return -EBADF;
  if (!file.f_op.write) return -EINVAL;
  if (!access_ok(count)) return -EFAULT;
  const bad = rw_verify_area(ppos, count);
  if (bad) return bad;
  if (count > MAX_RW_COUNT) count = MAX_RW_COUNT;
  const ret = yield* file.f_op.write(t, file, count, byte, ppos);
  if (ret > 0) {
    const v = file_vfs_or_null(file);
    if (v) yield* fsnotify_modify(t, v);
  }
  return ret;
}

/** vfs_llseek(): ESPIPE for a file that cannot seek. */
export function* vfs_llseek(t: Task, file: File, offset: loff_t, whence: number): Blocking<loff_t> {
  if (!(file.f_mode & FMODE_LSEEK) || !file.f_op.llseek) return -ESPIPE;
  return yield* file.f_op.llseek(t, file, offset, whence);
}

export function* ksys_read(t: Task, fd: number, count: number, buf: IoBuf | null): Blocking<number> {
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  const r = yield* vfs_read(t, f.file, count, buf);
  yield* fput_light(t, f);
  return r;
}

export function* ksys_write(t: Task, fd: number, count: number, byte: number): Blocking<number> {
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  const r = yield* vfs_write(t, f.file, count, byte);
  yield* fput_light(t, f);
  return r;
}

/** ksys_lseek(): whence is unsigned, past SEEK_HOLE is EINVAL. */
export function* ksys_lseek(t: Task, fd: number, offset: loff_t, whence: number): Blocking<loff_t> {
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  let r: loff_t;
  if (whence >>> 0 > SEEK_MAX) r = -EINVAL;
  else r = yield* vfs_llseek(t, f.file, offset, whence);
  yield* fput_light(t, f);
  return r;
}

/**
 * ioctl(fd, FIONREAD, &value): for a regular file the bytes between the
 * position and the end (as a C int); otherwise the file's ioctl, whose
 * non-negative return is the value it would store. Other commands go to
 * the file's ioctl as they are.
 */
export function* ksys_ioctl(t: Task, fd: number, cmd: number, out: { value: number }): Blocking<number> {
  const k = t.k;
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  const file = f.file;
  let r: number;
  const v = file_vfs_or_null(file);
  if (cmd === FIONREAD && v && S_ISREG(v.inode.i_mode)) {
    k.touch(t, v.inode.addr, false);
    // (int)(i_size - f_pos): the low 32 bits of the 64-bit difference.
    out.value = Number(BigInt.asIntN(32, loffBig(loffSub(v.inode.i_size, file.f_pos))));
    r = 0;
  } else if (!file.f_op.ioctl) r = -ENOTTY;
  else {
    r = yield* file.f_op.ioctl(t, file, cmd, 0);
    if (r >= 0) {
      out.value = r | 0;
      r = 0;
    }
  }
  yield* fput_light(t, f);
  return r;
}

/**
 * ksys_pread64()/ksys_pwrite64(): a negative position is EINVAL; a file
 * that cannot seek (no FMODE_PREAD/FMODE_PWRITE: pipes, sockets, inotify)
 * is ESPIPE; the file's own position is left alone.
 */
export function* ksys_pread64(t: Task, fd: number, count: number, pos: loff_t, buf: IoBuf | null): Blocking<number> {
  if (pos < 0) return -EINVAL;
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  let r = -ESPIPE;
  if (f.file.f_mode & FMODE_PREAD) r = yield* vfs_read(t, f.file, count, buf, { f_pos: pos });
  yield* fput_light(t, f);
  return r;
}

export function* ksys_pwrite64(t: Task, fd: number, count: number, byte: number, pos: loff_t): Blocking<number> {
  if (pos < 0) return -EINVAL;
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  let r = -ESPIPE;
  if (f.file.f_mode & FMODE_PWRITE) r = yield* vfs_write(t, f.file, count, byte, { f_pos: pos });
  yield* fput_light(t, f);
  return r;
}

export function sys_pread64(t: Task, fd: number, count: number, pos: loff_t, buf: IoBuf | null): Blocking<number> {
  return syscall(t, 'pread64', ksys_pread64(t, fd, count, pos, buf));
}

export function sys_pwrite64(t: Task, fd: number, count: number, byte: number, pos: loff_t): Blocking<number> {
  return syscall(t, 'pwrite64', ksys_pwrite64(t, fd, count, byte, pos));
}

export function sys_read(t: Task, fd: number, count: number, buf: IoBuf | null): Blocking<number> {
  return syscall(t, 'read', ksys_read(t, fd, count, buf));
}

export function sys_write(t: Task, fd: number, count: number, byte: number): Blocking<number> {
  return syscall(t, 'write', ksys_write(t, fd, count, byte));
}

export function sys_lseek(t: Task, fd: number, offset: loff_t, whence: number): Blocking<loff_t> {
  return syscall(t, 'lseek', ksys_lseek(t, fd, offset, whence));
}

export function sys_ioctl(t: Task, fd: number, cmd: number, out: { value: number }): Blocking<number> {
  return syscall(t, 'ioctl', ksys_ioctl(t, fd, cmd, out));
}
