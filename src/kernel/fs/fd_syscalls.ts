/**
 * The fd system calls (open, close, dup, dup2, dup3, fcntl, getrlimit,
 * setrlimit) with Linux's argument checks and errors, and the fd table's
 * attachment to processes: fds 0-2 on /dev/null for every new process,
 * dup_fd on fork, close-on-exec on execve, exit_files on exit.
 *
 * Until the VFS lands, open serves built-in character devices (/dev/null,
 * /dev/zero); a file system adds paths with register_open_handler.
 */
import type { Blocking, Task } from '../../sim/task.js';
import type { Path } from './dcache.js';
import { EEXIST, EINVAL, ENOENT, ENOSPC, ENOTDIR, ENOTTY, EPERM, EBADF } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { current, type TaskStruct } from '../sched/task_struct.js';
import { syscall, syscallNoWait } from '../syscalls.js';
import { do_prlimit } from '../sys.js';
import { do_fcntl_more, F_CREATED_QUERY, F_DUPFD_QUERY, F_GETOWN_EX, F_SETOWN_EX, f_getown_ex, f_setown_ex, type FOwnerEx } from './fcntl.js';
import { fcntl_getlk, fcntl_setlk, F_GETLK, F_OFD_GETLK, is_lock_cmd, type Flock } from './locks_fcntl.js';
import {
  __close_fd,
  alloc_files_struct,
  fcheck_files,
  fd_install,
  fget_light,
  files_shared,
  fput_light,
  get_close_on_exec,
  get_unused_fd_flags,
  put_unused_fd,
  set_close_on_exec,
  type FilesStruct,
} from './file.js';
import { f_dupfd, ksys_dup, ksys_dup2, ksys_dup3 } from './file_dup.js';
import { alloc_file, File, io_push_fill, type FileOperations, type IoBuf } from './file_table.js';
import { getname, getname_errno } from './namei.js';
import { get_pipe_info } from './pipe.js';
import {
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  FD_CLOEXEC,
  FMODE_LSEEK,
  FMODE_PREAD,
  FMODE_PWRITE,
  FMODE_PATH,
  FMODE_READ,
  FMODE_WRITE,
  O_ACCMODE,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECT,
  O_DIRECTORY,
  O_EXCL,
  O_LARGEFILE,
  O_NOATIME,
  O_NOCTTY,
  O_PATH,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  RLIMIT_NOFILE,
  SETFL_MASK,
} from './uapi_fcntl.js';

/** AT_FDCWD (linux/fcntl.h). */
const AT_FDCWD = -100;

// --- open --------------------------------------------------------------------------

/**
 * A file system's open: returns the new file, a negative errno, or null
 * when the path is not its own (the next handler is asked).
 */
export type OpenHandler = (t: Task, path: string, flags: number, mode: number, base?: Path) => Blocking<File | number | null>;

/**
 * path_init() for a dirfd (openat): the directory a relative name starts
 * at, with a release for the fd's reference, or -errno (EBADF, ENOTDIR).
 * The VFS registers it (register_dirfd_resolver).
 */
export type DirfdResolver = (t: Task, dfd: number) => Blocking<{ base: Path; release: () => Blocking<void> } | number>;

export function register_dirfd_resolver(k: Kernel, r: DirfdResolver): void {
  k.dirfdResolver = r;
}

/** build_open_flags() as a check (0 or -EINVAL), which do_sys_openat2 makes before taking an fd or looking at dirfd. */
export type OpenFlagsCheck = (flags: number, mode: number) => number;

export function register_open_flags_check(k: Kernel, c: OpenFlagsCheck): void {
  k.openFlagsCheck = c;
}

function handlers(k: Kernel): OpenHandler[] {
  return k.openHandlers;
}

/** Add an open handler; later ones are asked first. */
export function register_open_handler(k: Kernel, h: OpenHandler): void {
  handlers(k).unshift(h);
}

/**
 * f_flags of a file opened with `flags` (do_dentry_open drops the
 * open-time-only bits; 64-bit forces O_LARGEFILE, which build_open_how then
 * drops again for O_PATH, as the host's fdinfo shows).
 */
export function open_f_flags(flags: number): number {
  if (flags & O_PATH) return flags & (O_PATH | O_DIRECTORY | 0o400000);
  return (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)) | O_LARGEFILE;
}

/** f_mode of a file opened with `flags` (OPEN_FMODE). */
export function open_f_mode(flags: number): number {
  if (flags & O_PATH) return FMODE_PATH;
  const acc = flags & O_ACCMODE;
  // do_dentry_open(): every opened file may seek and be read or written at a position, until a stream open clears them.
  let m = FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE;
  if (acc === 0 || acc === O_RDWR) m |= FMODE_READ;
  if (acc === O_WRONLY || acc === O_RDWR) m |= FMODE_WRITE;
  return m;
}

const EPOLL_RW = 0x1 | 0x4 | 0x40 | 0x100;

/** drivers/char/mem.c: /dev/null. */
export const null_fops: FileOperations = {
  name: 'null',
  *read() {
    return 0;
  },
  *write(_t, _f, len) {
    return len;
  },
  *llseek(_t, f) {
    f.f_pos = 0;
    return 0;
  },
  *poll() {
    return EPOLL_RW;
  },
  *ioctl() {
    return -ENOTTY;
  },
};

/** drivers/char/mem.c: /dev/zero (reads zeroes; the bytes' cost belongs to the copy, charged by the caller's model). */
export const zero_fops: FileOperations = {
  name: 'zero',
  mmapAnonymous: true,
  *read(_t, _f, len, buf: IoBuf | null) {
    if (buf) buf.sum = 0;
    io_push_fill(buf, 0, len);
    return len;
  },
  *write(_t, _f, len) {
    return len;
  },
  *llseek(_t, f) {
    f.f_pos = 0;
    return 0;
  },
  *poll() {
    return EPOLL_RW;
  },
  *ioctl() {
    return -ENOTTY;
  },
};

/** drivers/char/mem.c: /dev/full reads zeroes and refuses every write with ENOSPC. */
export const full_fops: FileOperations = {
  name: 'full',
  read: zero_fops.read,
  *write() {
    return -ENOSPC;
  },
  llseek: zero_fops.llseek,
  poll: zero_fops.poll,
  ioctl: zero_fops.ioctl,
};

const DEVICES: Record<string, FileOperations> = { '/dev/null': null_fops, '/dev/zero': zero_fops, '/dev/full': full_fops };

function* builtinOpen(t: Task, path: string, flags: number): Blocking<File | number | null> {
  const k = t.k;
  const fops = DEVICES[path];
  if (!fops) return null;
  if ((flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) return -EEXIST;
  if (flags & O_DIRECTORY) return -ENOTDIR;
  return alloc_file(k, t, path, open_f_flags(flags), open_f_mode(flags), fops);
}

/** do_filp_open(): ask each handler, then the built-in devices. */
function* do_filp_open(t: Task, path: string, flags: number, mode: number, base?: Path): Blocking<File | number> {
  const k = t.k;
  for (const h of handlers(k)) {
    const r = yield* h(t, path, flags, mode, base);
    if (r !== null) return r;
  }
  // The built-in devices are named by absolute paths only.
  if (base) return -ENOENT;
  const r = yield* builtinOpen(t, path, flags);
  return r ?? -ENOENT;
}

/**
 * do_sys_openat2(): the flags are checked, the name copied in (getname: an
 * empty or too long name fails here), then the fd is taken, so a full
 * table gives EMFILE before any error of the walk or the dirfd.
 */
export function* do_sys_open(t: Task, path: string, flags: number, mode: number, dfd = AT_FDCWD): Blocking<number> {
  const k = t.k;
  const check = k.openFlagsCheck;
  const bad = check ? check(flags, mode) : 0;
  if (bad) return bad;
  // The walk copies the name for itself later; a name getname refuses is charged and refused here.
  if (getname_errno(path)) return getname(t, path) as number;
  const fd = yield* get_unused_fd_flags(t, flags);
  if (fd < 0) return fd;
  // path_init(): a relative name given with a dirfd starts at that directory (an empty name is getname's ENOENT first).
  const resolver = k.dirfdResolver;
  let dir: { base: Path; release: () => Blocking<void> } | number | null = null;
  if (dfd !== AT_FDCWD && path !== '' && !path.startsWith('/') && resolver) {
    dir = yield* resolver(t, dfd);
    if (typeof dir === 'number') {
      yield* put_unused_fd(t, fd);
      return dir;
    }
  }
  const f = yield* do_filp_open(t, path, flags, mode, dir?.base);
  if (dir) yield* dir.release();
  if (typeof f === 'number') {
    yield* put_unused_fd(t, fd);
    return f;
  }
  yield* fd_install(t, fd, f);
  return fd;
}

// --- fcntl ---------------------------------------------------------------------------

/** Commands an O_PATH fd accepts (check_fcntl_cmd). */
function check_fcntl_cmd(cmd: number): boolean {
  return cmd === F_DUPFD || cmd === F_DUPFD_CLOEXEC || cmd === F_GETFD || cmd === F_SETFD || cmd === F_GETFL || cmd === F_DUPFD_QUERY || cmd === F_CREATED_QUERY;
}

function inode_owner_or_capable(ts: TaskStruct, f: File): boolean {
  return ts.cred.uid === f.ownerUid || ts.cred.uid === 0;
}

/** setfl(): F_SETFL changes O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME only. */
function setfl(t: Task, f: File, arg: number): number {
  if (arg & O_NOATIME && !(f.f_flags & O_NOATIME) && !inode_owner_or_capable(current(t), f)) return -EPERM;
  // A FIFO's O_DIRECT is its packet mode, allowed on any pipe end; elsewhere it needs FMODE_CAN_ODIRECT.
  if (arg & O_DIRECT && !f.f_op.directIo && !get_pipe_info(f)) return -EINVAL;
  f.f_flags = (arg & SETFL_MASK) | (f.f_flags & ~SETFL_MASK);
  return 0;
}

function* do_fcntl(t: Task, fd: number, cmd: number, arg: number, f: File): Blocking<number> {
  switch (cmd) {
    case F_DUPFD:
      return yield* f_dupfd(t, arg, f, 0);
    case F_DUPFD_CLOEXEC:
      return yield* f_dupfd(t, arg, f, O_CLOEXEC);
    case F_GETFD:
      return get_close_on_exec(t, fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
      yield* set_close_on_exec(t, fd, (arg & FD_CLOEXEC) !== 0);
      return 0;
    case F_GETFL:
      return f.f_flags;
    case F_SETFL:
      return setfl(t, f, arg);
    default:
      return (yield* do_fcntl_more(t, cmd, arg, f)) ?? -EINVAL;
  }
}

// --- rlimit --------------------------------------------------------------------------

function* do_prlimit_nofile(t: Task, cur: number, max: number): Blocking<number> {
  const k = t.k;
  if (cur > max) return -EINVAL;
  if (max > k.cfg.kernel.nr_open) return -EPERM;
  const ts = current(t);
  const old = ts.rlimitNofile;
  if (max > old.max && ts.cred.uid !== 0) return -EPERM;
  old.cur = cur;
  old.max = max;
  return 0;
}

// --- system calls ----------------------------------------------------------------------

/** Unsigned 32-bit view of an int argument (fd arguments are unsigned int). */
function u32(v: number): number {
  return v < 0 ? v + 2 ** 32 : v;
}

export function sys_open(t: Task, path: string, flags: number, mode: number): Blocking<number> {
  return syscall(t, 'open', do_sys_open(t, path, flags, mode));
}

/** openat(2): as open, a relative name starting at the directory dfd names (AT_FDCWD: the working directory). */
export function sys_openat(t: Task, dfd: number, path: string, flags: number, mode: number): Blocking<number> {
  return syscall(t, 'openat', do_sys_open(t, path, flags, mode, dfd));
}

export function sys_close(t: Task, fd: number): Blocking<number> {
  return syscall(t, 'close', __close_fd(t, current(t).files as FilesStruct, u32(fd)));
}

export function sys_dup(t: Task, fd: number): Blocking<number> {
  return syscall(t, 'dup', ksys_dup(t, fd));
}

export function sys_dup2(t: Task, oldfd: number, newfd: number): Blocking<number> {
  return syscall(t, 'dup2', ksys_dup2(t, oldfd, newfd));
}

export function sys_dup3(t: Task, oldfd: number, newfd: number, flags: number): Blocking<number> {
  return syscall(t, 'dup3', ksys_dup3(t, oldfd, newfd, flags));
}

function* fcntlBody(t: Task, fd: number, cmd: number, arg: number): Blocking<number> {
  const r = fget_light(t, u32(fd), true);
  if (!r.file) return -EBADF;
  let err: number;
  if (r.file.f_mode & FMODE_PATH && !check_fcntl_cmd(cmd)) err = -EBADF;
  else err = yield* do_fcntl(t, u32(fd), cmd, arg, r.file);
  yield* fput_light(t, r);
  return err;
}

export function sys_fcntl(t: Task, fd: number, cmd: number, arg: number): Blocking<number> {
  return syscall(t, 'fcntl', fcntlBody(t, fd, cmd, arg));
}

function* fcntlLockBody(t: Task, fd: number, cmd: number, flock: Flock): Blocking<number> {
  const r = fget_light(t, u32(fd), true);
  if (!r.file) return -EBADF;
  const f = r.file;
  let err: number;
  if (f.f_mode & FMODE_PATH) err = -EBADF;
  else if (cmd === F_GETLK || cmd === F_OFD_GETLK) err = yield* fcntl_getlk(t, f, cmd, flock);
  else err = yield* fcntl_setlk(t, f, cmd, flock, () => fcheck_files(t, current(t).files as FilesStruct, u32(fd)) === f);
  yield* fput_light(t, r);
  return err;
}

/**
 * fcntl(2) with a record-lock command (F_GETLK, F_SETLK, F_SETLKW and
 * their F_OFD_ forms) and a struct flock (fs/locks.ts); F_GETLK and
 * F_OFD_GETLK write the conflicting lock (or F_UNLCK) back into it.
 */
export function sys_fcntl_lock(t: Task, fd: number, cmd: number, flock: Flock): Blocking<number> {
  if (!is_lock_cmd(cmd)) throw new Error(`sys_fcntl_lock: ${cmd} is not a record-lock command`);
  return syscall(t, 'fcntl', fcntlLockBody(t, fd, cmd, flock));
}

function* fcntlOwnerExBody(t: Task, fd: number, cmd: number, owner: FOwnerEx): Blocking<number> {
  const r = fget_light(t, u32(fd), true);
  if (!r.file) return -EBADF;
  const f = r.file;
  let err: number;
  if (f.f_mode & FMODE_PATH) err = -EBADF;
  else if (cmd === F_SETOWN_EX) err = f_setown_ex(t.k, f, owner);
  else err = f_getown_ex(t.k, f, owner);
  yield* fput_light(t, r);
  return err;
}

/** fcntl(2) F_SETOWN_EX or F_GETOWN_EX with a struct f_owner_ex (fcntl.ts f_setown_ex, f_getown_ex; F_GETOWN_EX fills `owner`). */
export function sys_fcntl_owner_ex(t: Task, fd: number, cmd: number, owner: FOwnerEx): Blocking<number> {
  if (cmd !== F_SETOWN_EX && cmd !== F_GETOWN_EX) throw new Error(`sys_fcntl_owner_ex: ${cmd} is not F_SETOWN_EX or F_GETOWN_EX`);
  return syscall(t, 'fcntl', fcntlOwnerExBody(t, fd, cmd, owner));
}

/**
 * fcntl's no-wait path: F_GETFD and F_GETFL on a task whose fd table no one
 * else can change (fget_light takes no reference, so there is no fput that
 * could be the last) never wait, and run through syscallNoWait with no
 * generator. The same steps and charges as sys_fcntl; null when the call
 * must take sys_fcntl.
 */
export function sys_fcntl_nowait(t: Task, fd: number, cmd: number): number | null {
  if (cmd !== F_GETFL && cmd !== F_GETFD) return null;
  const ts = current(t);
  if (!ts || files_shared(ts)) return null;
  return syscallNoWait(t, 'fcntl', fcntlGetNoWait, fd, cmd);
}

function fcntlGetNoWait(t: Task, fd: number, cmd: number): number {
  const r = fget_light(t, u32(fd), true);
  if (!r.file) return -EBADF;
  // Both commands pass check_fcntl_cmd, so an O_PATH file answers them too.
  if (cmd === F_GETFL) return r.file.f_flags;
  return get_close_on_exec(t, u32(fd)) ? FD_CLOEXEC : 0;
}

/** getrlimit(): fills `out` (RLIM_INFINITY as Infinity); resources other than NOFILE are kernel/sys.ts's. */
export function sys_getrlimit(t: Task, resource: number, out: { cur: number; max: number }): Blocking<number> {
  return syscall(t, 'getrlimit', getrlimitBody(t, resource, out));
}

// Syscall bodies are module-level generators, never closures made per call: calling a generator function made afresh costs the host microseconds (each makes its own prototype object).
function* getrlimitBody(t: Task, resource: number, out: { cur: number; max: number }): Blocking<number> {
  if (resource !== RLIMIT_NOFILE) return yield* do_prlimit(t, resource, null, out);
  const l = current(t).rlimitNofile;
  out.cur = l.cur;
  out.max = l.max;
  return 0;
}

export function sys_setrlimit(t: Task, resource: number, cur: number, max: number): Blocking<number> {
  return syscall(t, 'setrlimit', setrlimitBody(t, resource, cur, max));
}

function* setrlimitBody(t: Task, resource: number, cur: number, max: number): Blocking<number> {
  if (resource !== RLIMIT_NOFILE) return yield* do_prlimit(t, resource, { cur, max }, null);
  return yield* do_prlimit_nofile(t, cur, max);
}

// --- attachment to processes --------------------------------------------------------------

/** A new process's fd table: fds 0, 1, 2 on one read-write open of /dev/null. */
export function files_process_init(k: Kernel, leader: TaskStruct): void {
  const files = alloc_files_struct(k);
  const f = alloc_file(k, null, '/dev/null', open_f_flags(O_RDWR), open_f_mode(O_RDWR), null_fops);
  f.f_count = 3;
  const fdt = files.fdt;
  for (let fd = 0; fd < 3; fd++) {
    fdt.fd[fd] = f;
    fdt.open_fds[fd] = 1;
  }
  files.next_fd = 3;
  leader.files = files;
}



// --- close_range -------------------------------------------------------------------

export const CLOSE_RANGE_UNSHARE = 0x2;
export const CLOSE_RANGE_CLOEXEC = 0x4;

/**
 * close_range(2), after fs/file.c: EINVAL for unknown flags or fd > max_fd;
 * the range is clipped to the table, and each open fd in it is closed (or,
 * with CLOSE_RANGE_CLOEXEC, marked close-on-exec). CLOSE_RANGE_UNSHARE
 * matters only when threads share the table; a script's process owns its.
 */
function* ksys_close_range(t: Task, fd: number, maxFd: number, flags: number): Blocking<number> {
  if (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) return -EINVAL;
  if (fd >>> 0 > maxFd >>> 0) return -EINVAL;
  const files = current(t).files as FilesStruct;
  const max = Math.min(maxFd >>> 0, files.fdt.max_fds - 1);
  for (let i = fd >>> 0; i <= max; i++) {
    if (files.fdt.fd[i] === null) continue;
    if (flags & CLOSE_RANGE_CLOEXEC) yield* set_close_on_exec(t, i, true);
    else yield* __close_fd(t, files, i);
  }
  return 0;
}

export function sys_close_range(t: Task, fd: number, maxFd: number, flags: number): Blocking<number> {
  return syscall(t, 'close_range', ksys_close_range(t, fd, maxFd, flags));
}
