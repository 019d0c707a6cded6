/**
 * getdents64(2), after fs/readdir.c (iterate_dir, filldir64) and
 * fs/libfs.c's dcache_readdir: "." and "..", then the directory's positive
 * children in the dcache (memfs keeps every entry there, as ramfs and
 * tmpfs do), or the names the directory's own ->iterate_shared gives
 * (procfs's /proc/PID/task). f_pos counts entries: 0 is ".", 1 "..", 2 + n the n-th child.
 *
 * Each record is a struct linux_dirent64: 19 bytes of header, the name and
 * its NUL, padded to 8 bytes. A buffer too small for the first record is
 * EINVAL; at the end the call returns 0.
 */
import type { Blocking, Task } from '../../sim/task.js';
import { EBADF, EINVAL, ENOENT, ENOTDIR } from '../errno.js';
import { syscall } from '../syscalls.js';
import { fget_light, fput_light } from './file.js';
import { S_DEAD, S_ISDIR } from './inode.js';
import { fsnotify_access } from './notify/fsnotify.js';
import { file_vfs_or_null } from './vfs_file.js';

/** offsetof(struct linux_dirent64, d_name). */
const DIRENT64_HEADER = 19;

/** The bytes filldir64 gives a name: the record aligned to sizeof(u64). */
export function dirent64_reclen(name: string): number {
  return Math.ceil((DIRENT64_HEADER + Buffer.byteLength(name, 'utf8') + 1) / 8) * 8;
}

function* do_getdents64(t: Task, fd: number, count: number, names: string[]): Blocking<number> {
  const k = t.k;
  // fdget_pos: O_PATH files are not found.
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  const file = f.file;
  const v = file_vfs_or_null(file);
  try {
    // iterate_dir(): only a directory has ->iterate_shared.
    if (!v || !S_ISDIR(v.inode.i_mode)) return -ENOTDIR;
    const inode = v.inode;
    yield* inode.i_rwsem.downRead(t);
    if (inode.i_flags & S_DEAD) {
      inode.i_rwsem.upRead(t);
      return -ENOENT;
    }
    const dir = v.dentry;
    const own = inode.i_fop?.iterate_shared?.(t, file);
    if (typeof own === 'number') {
      inode.i_rwsem.upRead(t);
      return own;
    }
    const entries = ['.', '..', ...(own ? own.names : [...dir.d_children.values()].filter((d) => d.d_inode !== null).map((d) => d.d_name))];
    // Each entry's position: its index, or the directory's own (procfs's fd directories: the fd plus 2).
    const posOf = own?.pos ? [0, 1, ...own.pos] : null;
    const end = own?.end ?? entries.length;
    let left = count >>> 0;
    // The first entry at or past the file position; a position past 2^53 (a seek there) is past every entry.
    const from = file.f_pos;
    let pos = typeof from !== 'number' ? entries.length : posOf ? posOf.findIndex((p) => p >= from) : from;
    if (pos < 0) pos = entries.length;
    let error = 0;
    for (; pos < entries.length; pos++) {
      const name = entries[pos]!;
      const reclen = dirent64_reclen(name);
      // dcache_readdir walks the children's list: a cache line a dentry; filldir64 copies the record out.
      t.charge(k.cfg.kernel.cost.kernel_op + Math.ceil((k.cfg.cost.copy_page * reclen) / 4096));
      if (reclen > left) {
        error = -EINVAL;
        break;
      }
      names.push(name);
      left -= reclen;
    }
    if (typeof file.f_pos === 'number' && (pos < entries.length || file.f_pos < end)) file.f_pos = pos < entries.length ? (posOf ? posOf[pos]! : pos) : end;
    yield* fsnotify_access(t, v);
    inode.i_rwsem.upRead(t);
    const written = (count >>> 0) - left;
    // A buffer that took at least one record returns its bytes; one too small for the first, filldir's EINVAL.
    return written > 0 ? written : error;
  } finally {
    yield* fput_light(t, f);
  }
}

/** getdents64(2): bytes of records written (their names pushed to `names`), 0 at the end, or -errno. */
export function sys_getdents64(t: Task, fd: number, count: number, names: string[]): Blocking<number> {
  return syscall(t, 'getdents64', do_getdents64(t, fd, count, names));
}
