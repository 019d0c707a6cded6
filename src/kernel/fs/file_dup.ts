/**
 * The dup family of fs/file.c: do_dup2, replace_fd, dup3/dup2/dup and
 * fcntl's F_DUPFD (f_dupfd). They install an open file at a chosen or the
 * lowest free fd of the caller's table (file.ts keeps the table itself:
 * allocation, growth, install, close, lookup).
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EBADF, EBUSY, EINVAL, EMFILE } from '../errno.js';
import { rcu_read_lock, rcu_read_unlock } from '../rcu/tree.js';
import { current } from '../sched/task_struct.js';
import { PTR_BYTES } from './fdtable.js';
import {
  __alloc_fd,
  __close_fd,
  expand_files,
  fcheck_files,
  fd_install,
  fget_raw,
  files_fdtable,
  filp_close,
  get_unused_fd_flags,
  nofile,
  setBit,
  type FilesStruct,
} from './file.js';
import { type File, fput, get_file } from './file_table.js';
import { O_CLOEXEC } from './uapi_fcntl.js';

const CAT_DO_DUP2 = intern('do_dup2');

/**
 * do_dup2(): with file_lock held (released here): install `file` at fd,
 * closing what was there; -EBUSY over an fd allocated but not yet installed.
 */
export function* do_dup2(t: Task, files: FilesStruct, file: File, fd: number, flags: number): Blocking<number> {
  const k = t.k;
  t.enter(CAT_DO_DUP2);
  const fdt = files_fdtable(t, files);
  k.touch(t, fdt.fdAddr + fd * PTR_BYTES, true);
  const tofree = fdt.fd[fd]!;
  if (!tofree && fdt.open_fds[fd]) {
    files.file_lock.unlock(t);
    t.leave();
    return -EBUSY;
  }
  get_file(t, file);
  fdt.fd[fd] = file;
  setBit(t, fdt.open_fds, fdt.openAddr, fd, 1);
  setBit(t, fdt.close_on_exec, fdt.cloexecAddr, fd, flags & O_CLOEXEC ? 1 : 0);
  files.file_lock.unlock(t);
  if (tofree) yield* filp_close(t, tofree, files);
  t.leave();
  return fd;
}

/** replace_fd(): put `file` at fd (closing what was there), or close fd when file is null. */
export function* replace_fd(t: Task, fd: number, file: File | null, flags: number): Blocking<number> {
  const files = current(t).files as FilesStruct;
  if (!file) return yield* __close_fd(t, files, fd);
  if (fd >= nofile(t)) return -EBADF;
  yield* files.file_lock.lock(t);
  const err = yield* expand_files(t, files, fd);
  if (err < 0) {
    files.file_lock.unlock(t);
    return err;
  }
  return yield* do_dup2(t, files, file, fd, flags);
}

/** Unsigned view of an fd argument (the syscalls take unsigned int). */
function asUnsigned(fd: number): number {
  return fd < 0 ? fd + 2 ** 32 : fd;
}

/** ksys_dup3(). */
export function* ksys_dup3(t: Task, oldfd: number, newfd: number, flags: number): Blocking<number> {
  const files = current(t).files as FilesStruct;
  if ((flags & ~O_CLOEXEC) !== 0) return -EINVAL;
  oldfd = asUnsigned(oldfd);
  newfd = asUnsigned(newfd);
  if (oldfd === newfd) return -EINVAL;
  if (newfd >= nofile(t)) return -EBADF;
  yield* files.file_lock.lock(t);
  const err = yield* expand_files(t, files, newfd);
  const file = fcheck_files(t, files, oldfd);
  if (!file || err < 0) {
    files.file_lock.unlock(t);
    return !file || err === -EMFILE ? -EBADF : err;
  }
  return yield* do_dup2(t, files, file, newfd, flags);
}

/** dup2(). */
export function* ksys_dup2(t: Task, oldfd: number, newfd: number): Blocking<number> {
  if (asUnsigned(oldfd) === asUnsigned(newfd)) {
    const files = current(t).files as FilesStruct;
    rcu_read_lock(t);
    const ok = fcheck_files(t, files, asUnsigned(oldfd)) !== null;
    rcu_read_unlock(t);
    return ok ? oldfd : -EBADF;
  }
  return yield* ksys_dup3(t, oldfd, newfd, 0);
}

/** dup(). */
export function* ksys_dup(t: Task, fildes: number): Blocking<number> {
  const file = fget_raw(t, asUnsigned(fildes));
  if (!file) return -EBADF;
  const ret = yield* get_unused_fd_flags(t, 0);
  if (ret >= 0) yield* fd_install(t, ret, file);
  else yield* fput(t, file);
  return ret;
}

/** f_dupfd(): F_DUPFD / F_DUPFD_CLOEXEC: the lowest free fd at or above `from`. */
export function* f_dupfd(t: Task, from: number, file: File, flags: number): Blocking<number> {
  if (from < 0 || from >= nofile(t)) return -EINVAL;
  const files = current(t).files as FilesStruct;
  const err = yield* __alloc_fd(t, files, from, nofile(t), flags);
  if (err >= 0) {
    get_file(t, file);
    yield* fd_install(t, err, file);
  }
  return err;
}
