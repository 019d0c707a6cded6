/**
 * fstat(2) and newfstatat(2), after fs/stat.c: vfs_getattr's generic
 * fill (generic_fillattr) of mode, link count and size. newfstatat takes a
 * dirfd (AT_FDCWD or an open directory: EBADF for a bad fd, ENOTDIR for a
 * non-directory under a relative name), AT_EMPTY_PATH (an empty name stats
 * the fd itself; without it an empty name is ENOENT) and
 * AT_SYMLINK_NOFOLLOW; any other flag is EINVAL.
 */
import type { loff_t } from './loff.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EBADF, EINVAL, ENAMETOOLONG, ENOENT, ENOTDIR } from '../errno.js';
import { syscall } from '../syscalls.js';
import type { Path } from './dcache.js';
import { fget_light, fput_light } from './file.js';
import type { File } from './file_table.js';
import { S_IFIFO, S_ISDIR, type Inode } from './inode.js';
import { get_pipe_info } from './pipe.js';
import { filename_lookup, getname, getname_errno, LOOKUP_FOLLOW, PATH_MAX, path_put } from './namei.js';
import { file_vfs_or_null } from './vfs_file.js';

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_NO_AUTOMOUNT = 0x800;
export const AT_EMPTY_PATH = 0x1000;

/** What a script sees of struct stat. */
export interface Kstat {
  mode: number;
  nlink: number;
  size: loff_t;
}

/** vfs_getattr_nosec(): generic_fillattr(), then the inode's own ->getattr. */
function fillattr(t: Task, inode: Inode, out: Kstat): void {
  const k = t.k;
  k.touch(t, inode.addr, false);
  out.mode = inode.i_mode;
  out.nlink = inode.i_nlink;
  out.size = inode.i_size;
  inode.i_op?.getattr?.(t, inode, out);
}

/** A file the VFS did not open (inotify, the boot-time std fds before attach): an anonymous inode's attributes. */
function fillattr_file(t: Task, f: File, out: Kstat): void {
  const v = file_vfs_or_null(f);
  if (v) return fillattr(t, v.inode, out);
  // pipefs inodes are FIFOs (their inode, once something made it, holds a chmod's mode); anon_inode files have no type bits.
  const pipe = get_pipe_info(f);
  if (pipe?.path) return fillattr(t, pipe.path.dentry.d_inode!, out);
  out.mode = pipe ? S_IFIFO | 0o600 : 0o600;
  out.nlink = 1;
  out.size = 0;
}

function* vfs_fstat(t: Task, fd: number, out: Kstat): Blocking<number> {
  // fdget_raw: O_PATH fds may be stat'ed.
  const f = fget_light(t, fd >>> 0, true);
  if (!f.file) return -EBADF;
  fillattr_file(t, f.file, out);
  yield* fput_light(t, f);
  return 0;
}

function* vfs_fstatat(t: Task, dfd: number, name: string, flags: number, out: Kstat): Blocking<number> {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH)) return -EINVAL;
  // getname_maybe_null(): the name is copied before the dirfd is looked at, so its error (an empty one without
  // AT_EMPTY_PATH is ENOENT) comes first; the copy is charged once, here on failure or by the lookup below.
  if (!(flags & AT_EMPTY_PATH) && getname_errno(name)) return getname(t, name) as number;
  if (name === '' && flags & AT_EMPTY_PATH) {
    if (dfd === AT_FDCWD) name = '.';
    else return yield* vfs_fstat(t, dfd, out);
  }
  let base: Path | undefined;
  let held: ReturnType<typeof fget_light> | null = null;
  if (dfd !== AT_FDCWD && !name.startsWith('/')) {
    held = fget_light(t, dfd >>> 0, true);
    if (!held.file) return -EBADF;
    const v = file_vfs_or_null(held.file);
    if (!v || !S_ISDIR(v.inode.i_mode)) {
      yield* fput_light(t, held);
      // An empty name is ENOENT before the directory is looked at.
      return name === '' ? -ENOENT : -ENOTDIR;
    }
    base = v.path;
  }
  const path = yield* filename_lookup(t, name, flags & AT_SYMLINK_NOFOLLOW ? 0 : LOOKUP_FOLLOW, base);
  if (held) yield* fput_light(t, held);
  if (typeof path === 'number') return path;
  fillattr(t, path.dentry.d_inode!, out);
  yield* path_put(t, path);
  return 0;
}

export function sys_fstat(t: Task, fd: number, out: Kstat): Blocking<number> {
  return syscall(t, 'fstat', vfs_fstat(t, fd, out));
}

export function sys_newfstatat(t: Task, dfd: number, name: string, flags: number, out: Kstat): Blocking<number> {
  return syscall(t, 'newfstatat', vfs_fstatat(t, dfd, name, flags, out));
}

/** linux/fcntl.h: AT_STATX_SYNC_TYPE (FORCE_SYNC | DONT_SYNC: both at once is EINVAL). */
export const AT_STATX_SYNC_TYPE = 0x6000;
/** linux/stat.h: STATX__RESERVED, a mask bit kept for extending struct statx. */
export const STATX__RESERVED = 0x80000000;

/**
 * statx(2) (fs/stat.c do_statx): the mask and flags are checked first,
 * then the name's copy answers (an empty one without AT_EMPTY_PATH is
 * ENOENT, one of PATH_MAX bytes ENAMETOOLONG), then vfs_statx looks it up
 * as newfstatat does. What a script sees of struct statx is what it sees of
 * struct stat.
 */
function* do_statx(t: Task, dfd: number, name: string, flags: number, mask: number, out: Kstat): Blocking<number> {
  if ((mask >>> 0) & STATX__RESERVED) return -EINVAL;
  if ((flags & AT_STATX_SYNC_TYPE) === AT_STATX_SYNC_TYPE) return -EINVAL;
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)) return -EINVAL;
  // The name getname_flags() copied (an error it held surfaces only now; its copy is charged once, by the lookup below).
  const nul = name.indexOf('\0');
  const bytes = Buffer.byteLength(nul >= 0 ? name.slice(0, nul) : name, 'utf8');
  if (bytes === 0 && !(flags & AT_EMPTY_PATH)) return -ENOENT;
  if (bytes >= PATH_MAX) return -ENAMETOOLONG;
  return yield* vfs_fstatat(t, dfd, name, flags & ~AT_STATX_SYNC_TYPE, out);
}

export function sys_statx(t: Task, dfd: number, name: string, flags: number, mask: number, out: Kstat): Blocking<number> {
  return syscall(t, 'statx', do_statx(t, dfd, name, flags, mask, out));
}
