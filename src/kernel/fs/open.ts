/**
 * Opening files, after fs/open.c and the open half of fs/namei.c
 * (path_openat, open_last_lookups, lookup_open, do_open, may_open), plus
 * chmod and ftruncate. The fd is allocated by the fd table's
 * do_sys_open before this path runs, as in Linux; this file is its
 * do_filp_open, registered with register_open_handler.
 *
 * Errors follow today's kernel: O_CREAT|O_DIRECTORY is EINVAL; O_CREAT
 * with a trailing slash or on a directory is EISDIR; O_EXCL on an
 * existing name is EEXIST; a file the caller just created is opened
 * without a permission check (its mode may deny what was asked), and an
 * existing one needs the access the flags ask for (O_TRUNC counts as
 * write); a directory cannot be opened for writing (EISDIR). O_TRUNC on an
 * existing regular file truncates it after the open (IN_OPEN, then
 * IN_MODIFY).
 */
import { loffAdd, type loff_t } from './loff.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EACCES, EBADF, EEXIST, EFBIG, EINVAL, EISDIR, ELOOP, ENODEV, ENOENT, ENOTDIR, ENXIO, EOPNOTSUPP, EPERM, ESPIPE, ETXTBSY } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { notify_change } from './attr.js';
import { anon_inode_path } from './anon_inodes.js';
import { get_pipe_info, pipe_inode_path } from './pipe.js';
import { d_path, dget, dput, type Dentry, type Path } from './dcache.js';
import { open_f_flags, open_f_mode, register_dirfd_resolver, register_open_flags_check, register_open_handler } from './fd_syscalls.js';
import { fget_light, fput_light } from './file.js';
import { alloc_file, fput, type File } from './file_table.js';
import {
  ATTR_CTIME,
  ATTR_FILE,
  ATTR_MODE,
  ATTR_MTIME,
  ATTR_OPEN,
  ATTR_SIZE,
  inode_owner_or_capable,
  inode_permission,
  MAY_APPEND,
  MAY_EXEC,
  MAY_OPEN,
  MAY_READ,
  MAY_WRITE,
  S_DEAD,
  S_IALLUGO,
  S_IFMT,
  S_IFREG,
  S_ISDIR,
  S_ISREG,
  S_IFCHR,
  S_IFDIR,
  S_IFLNK,
  S_ISLNK,
  I_LINKABLE,
  type Iattr,
} from './inode.js';
import { filename_lookup, filename_parentat, LAST_DOTDOT, LAST_NORM, LAST_ROOT, LOOKUP_DIRECTORY, LOOKUP_FOLLOW, lookup_hash, path_put, pick_link, type LinkCount } from './namei.js';
import { may_create, mode_strip_umask } from './namei_ops.js';
import { fsnotify_create, fsnotify_modify, fsnotify_open } from './notify/fsnotify.js';
import { memfs_tmpfile } from './memfs.js';
import { vfs_fallocate_punch_hole } from './memfs_truncate.js';
import type { VmFile } from '../mm/mm_types.js';
import { FMODE_CREATED, FMODE_PATH, FMODE_WRITE, FMODE_WRITER, O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_NOATIME, O_NOFOLLOW, O_PATH, O_TRUNC, O_WRONLY, __O_TMPFILE } from './uapi_fcntl.js';
import { locks_inode_context } from './locks.js';
import { break_lease } from './locks_lease.js';
import { file_vfs_or_null, vfs_fops, VfsFile, type OpenableFileOperations } from './vfs_file.js';

const CAT_PATH_OPENAT = intern('path_openat');
const CAT_DO_DENTRY_OPEN = intern('do_dentry_open');
const CAT_DO_TRUNCATE = intern('do_truncate');
const CAT_CHMOD = intern('chmod_common');

/** include/linux/fs.h ACC_MODE: the permission each access mode needs (3 needs both). */
function acc_mode_of(flags: number): number {
  return [MAY_READ, MAY_WRITE, MAY_READ | MAY_WRITE, MAY_READ | MAY_WRITE][flags & O_ACCMODE]!;
}

/** struct open_flags after build_open_flags(). */
interface OpenFlags {
  open_flag: number;
  mode: number;
  acc_mode: number;
  lookup_flags: number;
}

function build_open_flags(flags: number, mode: number): OpenFlags | number {
  // build_open_how(): for open(2), O_PATH beats everything else before any check, so O_PATH|O_TMPFILE is an
  // O_PATH|O_DIRECTORY lookup.
  if (flags & O_PATH) flags &= O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC;
  // O_TMPFILE is __O_TMPFILE | O_DIRECTORY, opened for writing, without O_CREAT.
  if (flags & __O_TMPFILE) {
    if ((flags & (__O_TMPFILE | O_DIRECTORY | O_CREAT)) !== (__O_TMPFILE | O_DIRECTORY)) return -EINVAL;
    if (!(acc_mode_of(flags) & MAY_WRITE)) return -EINVAL;
  } else if ((flags & (O_DIRECTORY | O_CREAT)) === (O_DIRECTORY | O_CREAT)) return -EINVAL;
  mode = flags & (O_CREAT | __O_TMPFILE) ? (mode & S_IALLUGO) | S_IFREG : 0;
  let acc = MAY_OPEN | acc_mode_of(flags);
  if (flags & O_TRUNC) acc |= MAY_WRITE;
  if (flags & O_APPEND) acc |= MAY_APPEND;
  // O_CREAT|O_EXCL never follows a last symbolic link: the name itself must be new (the lookup's flags only:
  // open_flag, which F_GETFL shows, is taken before build_open_flags adds O_NOFOLLOW).
  const nofollow = flags & O_NOFOLLOW || (flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL);
  let lookup = 0;
  if (flags & O_DIRECTORY) lookup |= LOOKUP_DIRECTORY;
  if (!nofollow) lookup |= LOOKUP_FOLLOW;
  return { open_flag: flags, mode, acc_mode: acc, lookup_flags: lookup };
}

/** may_open(): the inode's type against the access asked for, then its permission bits. */
function may_open(t: Task, path: Path, acc_mode: number, flag: number): number {
  const inode = path.dentry.d_inode;
  if (!inode) return -ENOENT;
  switch (inode.i_mode & S_IFMT) {
    case S_IFDIR:
      if (acc_mode & MAY_WRITE) return -EISDIR;
      if (acc_mode & MAY_EXEC) return -EACCES;
      break;
    case S_IFLNK:
      // A symbolic link the walk did not follow (O_NOFOLLOW) cannot be opened.
      return -ELOOP;
    case S_IFCHR:
      if (acc_mode & MAY_EXEC) return -EACCES;
      break;
    default:
      break;
  }
  const err = inode_permission(t, inode, MAY_OPEN | acc_mode);
  if (err) return err;
  if (flag & O_NOATIME && !inode_owner_or_capable(current(t).cred, inode)) return -EPERM;
  return 0;
}

/**
 * do_dentry_open() + vfs_open(): a struct file for the path, with the
 * VFS's wrapper around the inode's file operations; the dentry reference
 * moves into the file. IN_OPEN follows.
 */
function* vfs_open(t: Task, path: Path, flags: number, name: string): Blocking<File | number> {
  const k = t.k;
  t.enter(CAT_DO_DENTRY_OPEN);
  const inode = path.dentry.d_inode!;
  const fops = inode.i_fop;
  if (!fops && !(flags & O_PATH)) {
    t.leave();
    return -ENXIO; // no driver behind the node
  }
  const file = alloc_file(k, t, name, open_f_flags(flags), open_f_mode(flags), vfs_fops(fops ?? {}));
  file.f_inode = inode;
  file.ownerUid = inode.i_uid;
  const v = new VfsFile(k, file, path, inode, current(t).cred);
  file.private_data = v;
  k.touch(t, inode.addr, false);
  // break_lease(): a lease this open conflicts with is broken (the opener waits, or EWOULDBLOCK with O_NONBLOCK). Linux
  // takes the opener's write access first (get_write_access), so the holder cannot take a new read lease meanwhile.
  if (!(file.f_mode & FMODE_PATH) && locks_inode_context(inode)) {
    const writer = (file.f_mode & FMODE_WRITE) !== 0;
    if (writer) inode.i_writecount++;
    const r = yield* break_lease(t, inode, file.f_flags);
    if (writer) inode.i_writecount--;
    if (r) {
      file.f_op = {};
      yield* fput(t, file);
      t.leave();
      return r;
    }
  }
  const open = (fops as OpenableFileOperations | null)?.open;
  if (open && !(file.f_mode & FMODE_PATH)) {
    const r = yield* open(t, inode, file);
    if (r) {
      // Never opened: no ->release, no close event; the object just goes back.
      file.f_op = {};
      yield* fput(t, file);
      t.leave();
      return r;
    }
  }
  // do_dentry_open(): O_DIRECT needs a file that can do it (FMODE_CAN_ODIRECT); a device such as /dev/null cannot.
  if (file.f_flags & O_DIRECT && !(file.f_mode & FMODE_PATH) && !fops?.directIo) {
    file.f_op = {};
    yield* fput(t, file);
    t.leave();
    return -EINVAL;
  }
  if (file.f_mode & FMODE_WRITE) {
    inode.i_writecount++;
    file.f_mode |= FMODE_WRITER;
  }
  t.leave();
  if (!(file.f_mode & FMODE_PATH)) yield* fsnotify_open(t, v);
  return file;
}

/** do_truncate(): notify_change with ATTR_SIZE under the inode's lock. */
export function* do_truncate(t: Task, dentry: Dentry, length: loff_t, time_attrs: number, hasFile: boolean): Blocking<number> {
  if (length < 0) return -EINVAL;
  t.enter(CAT_DO_TRUNCATE);
  const inode = dentry.d_inode!;
  const attr: Iattr = { ia_valid: ATTR_SIZE | time_attrs | (hasFile ? ATTR_FILE : 0), ia_size: length, ia_mode: 0 };
  yield* inode.i_rwsem.downWrite(t);
  const err = yield* notify_change(t, dentry, attr);
  inode.i_rwsem.upWrite(t);
  t.leave();
  return err;
}

/**
 * lookup_open() for O_CREAT: the named dentry, created if it is missing
 * and creation is allowed. Returns the dentry (with a reference) and
 * whether it was created, or -errno.
 */
function* lookup_open(t: Task, parent: Dentry, last: string, op: OpenFlags): Blocking<{ d: Dentry; created: boolean } | number> {
  const dir = parent.d_inode!;
  if (dir.i_flags & S_DEAD) return -ENOENT;
  const d = yield* lookup_hash(t, parent, last);
  if (typeof d === 'number') return d;
  if (d.d_inode || !(op.open_flag & O_CREAT)) return { d, created: false };
  const mode = mode_strip_umask(t, op.mode);
  let err = may_create(t, dir, d);
  if (!err && !dir.i_op.create) err = -EACCES;
  if (!err) err = yield* dir.i_op.create!(t, dir, d, mode);
  if (err) {
    yield* dput(t, d);
    return err;
  }
  return { d, created: true };
}

/**
 * path_openat(): walk to the parent, look up (and maybe create) the last
 * component, check and open it. Returns the file or -errno.
 */
export function* path_openat(t: Task, pathname: string, flags: number, mode: number, base?: Path): Blocking<File | number> {
  const op = build_open_flags(flags, mode);
  if (typeof op === 'number') return op;
  t.enter(CAT_PATH_OPENAT);
  const r = yield* path_openat_inner(t, pathname, op, base);
  t.leave();
  return r;
}

/**
 * do_tmpfile(): an unnamed regular file in the directory `pathname` names
 * (write and search permission on it needed), opened as asked; it has no
 * link until one is made, and goes away with its last close.
 */
function* do_tmpfile(t: Task, pathname: string, op: OpenFlags, base?: Path): Blocking<File | number> {
  const path = yield* filename_lookup(t, pathname, op.lookup_flags, base);
  if (typeof path === 'number') return path;
  const dir = path.dentry.d_inode!;
  let err = inode_permission(t, dir, MAY_WRITE | MAY_EXEC);
  if (!err && !dir.i_op.create) err = -EOPNOTSUPP;
  if (err) {
    yield* path_put(t, path);
    return err;
  }
  const ts = current(t);
  const d = memfs_tmpfile(t, path.dentry, mode_strip_umask(t, op.mode & S_IALLUGO), ts.cred.uid, ts.cred.uid);
  // Without O_EXCL the file may be given a name later (linkat of /proc/self/fd/N).
  if (!(op.open_flag & O_EXCL)) d.d_inode!.i_state |= I_LINKABLE;
  const mnt = path.mnt;
  yield* path_put(t, path);
  const f = yield* vfs_open(t, { mnt, dentry: d }, op.open_flag & ~(O_DIRECTORY | __O_TMPFILE) | __O_TMPFILE, `${d_path({ mnt, dentry: d })}`);
  // FMODE_CREATED is set only by an open that made a name (F_CREATED_QUERY is 0 here, as the host shows).
  return f;
}

function* path_openat_inner(t: Task, pathname: string, op: OpenFlags, base?: Path): Blocking<File | number> {
  const flags = op.open_flag;
  if (flags & __O_TMPFILE) return yield* do_tmpfile(t, pathname, op, base);
  if (!(flags & O_CREAT) || flags & O_PATH) {
    // Nothing to create: an ordinary lookup of the whole path.
    const path = yield* filename_lookup(t, pathname, op.lookup_flags, base);
    if (typeof path === 'number') return path;
    return yield* do_open(t, path, op, false, pathname);
  }
  // open_last_lookups(): a last component that is a symbolic link is followed by walking its body from the link's
  // directory, and the body's last component is looked up (and created) in turn; every link counts for the call.
  const links: LinkCount = { n: 0 };
  let name = pathname;
  let held: Path | null = null;
  for (;;) {
    const r: CreateLast = yield* create_last(t, name, op, held ?? base, links);
    if (held) yield* path_put(t, held);
    if (typeof r === 'number' || !('body' in r)) return r;
    const link = r as LinkFound;
    const dir: Path = link.dir;
    held = dir;
    if (typeof link.body !== 'string') {
      // A magic link (/proc/PID/fd/N): the path it names is opened.
      const path: Path = { ...link.body };
      dget(t, path.dentry);
      yield* path_put(t, dir);
      return yield* do_open(t, path, op, false, name);
    }
    name = link.body;
  }
}

/** What create_last found: the opened file, -errno, or a symbolic link to go on with (its directory referenced). */
interface LinkFound {
  dir: Path;
  body: string | Path;
}
type CreateLast = File | number | LinkFound;

function* create_last(t: Task, pathname: string, op: OpenFlags, base: Path | undefined, links: LinkCount): Blocking<CreateLast> {
  const p = yield* filename_parentat(t, pathname, base, links);
  if (typeof p === 'number') return p;
  let path: Path;
  let created = false;
  if (p.last_type !== LAST_NORM) {
    // handle_dots(): "." or ".." or "/" end the path: an existing directory.
    path = p.path;
    if (p.last_type === LAST_DOTDOT || p.last_type === LAST_ROOT) {
      yield* path_put(t, p.path);
      const q = yield* filename_lookup(t, pathname, op.lookup_flags, base, links);
      if (typeof q === 'number') return q;
      path = q;
    }
  } else {
    if (p.trailingSlash) {
      yield* path_put(t, p.path);
      return -EISDIR;
    }
    const dir = p.path.dentry.d_inode!;
    yield* dir.i_rwsem.downWrite(t);
    const r = yield* lookup_open(t, p.path.dentry, p.last, op);
    if (typeof r !== 'number' && r.created) yield* fsnotify_create(t, dir, r.d);
    dir.i_rwsem.upWrite(t);
    if (typeof r === 'number') {
      yield* path_put(t, p.path);
      return r;
    }
    created = r.created;
    if (!r.d.d_inode) {
      yield* dput(t, r.d);
      yield* path_put(t, p.path);
      return -ENOENT;
    }
    if (S_ISLNK(r.d.d_inode.i_mode) && op.lookup_flags & LOOKUP_FOLLOW) {
      const body = pick_link(t, { links }, r.d);
      yield* dput(t, r.d);
      if (typeof body === 'number') {
        yield* path_put(t, p.path);
        return body;
      }
      return { dir: p.path, body };
    }
    const mnt = p.path.mnt;
    yield* path_put(t, p.path);
    path = { mnt, dentry: r.d };
    if (r.d.d_mounted) path = { mnt: r.d.d_mounted, dentry: r.d.d_mounted.mnt_root };
  }
  return yield* do_open(t, path, op, created, pathname);
}

/** do_open(): the checks on the final dentry, vfs_open, and O_TRUNC. Consumes the path's reference. */
function* do_open(t: Task, path: Path, op: OpenFlags, created: boolean, name: string): Blocking<File | number> {
  let flags = op.open_flag;
  const inode = path.dentry.d_inode!;
  let err = 0;
  if (flags & O_CREAT) {
    if (flags & O_EXCL && !created) err = -EEXIST;
    else if (S_ISDIR(inode.i_mode)) err = -EISDIR;
  }
  if (!err && op.lookup_flags & LOOKUP_DIRECTORY && !S_ISDIR(inode.i_mode)) err = -ENOTDIR;
  let acc = op.acc_mode;
  let doTruncate = false;
  if (created) {
    flags &= ~O_TRUNC;
    acc = 0;
  } else if (S_ISREG(inode.i_mode) && flags & O_TRUNC) doTruncate = true;
  if (!err && !(flags & O_PATH)) err = may_open(t, path, acc, flags);
  if (err) {
    yield* path_put(t, path);
    return err;
  }
  const f = yield* vfs_open(t, path, flags, name);
  if (typeof f === 'number') {
    yield* path_put(t, path);
    return f;
  }
  // FMODE_CREATED: this open made the file (F_CREATED_QUERY reads it).
  if (created) f.f_mode |= FMODE_CREATED;
  if (doTruncate) {
    const e = yield* do_truncate(t, path.dentry, 0, ATTR_MTIME | ATTR_CTIME | ATTR_OPEN, true);
    if (e) {
      // The file was opened: its last fput closes it (IN_CLOSE_*) and lets go of the path.
      yield* fput(t, f);
      return e;
    }
  }
  return f;
}

/** The open handler the fd table's do_sys_open calls (do_filp_open). */
function* vfs_open_handler(t: Task, path: string, flags: number, mode: number, base?: Path): Blocking<File | number | null> {
  return yield* path_openat(t, path, flags, mode, base);
}

/** path_init() with a dirfd: fdget_raw (O_PATH fds serve), and the file must be a directory. */
function* vfs_dirfd(t: Task, dfd: number): Blocking<{ base: Path; release: () => Blocking<void> } | number> {
  const held = fget_light(t, dfd >>> 0, true);
  if (!held.file) return -EBADF;
  const v = file_vfs_or_null(held.file);
  if (!v || !S_ISDIR(v.inode.i_mode)) {
    yield* fput_light(t, held);
    return -ENOTDIR;
  }
  return { base: v.path, release: () => fput_light(t, held) };
}

export function register_vfs_open(k: Kernel): void {
  register_open_handler(k, vfs_open_handler);
  register_dirfd_resolver(k, vfs_dirfd);
  register_open_flags_check(k, (flags, mode) => {
    const op = build_open_flags(flags, mode);
    return typeof op === 'number' ? op : 0;
  });
}

/** chmod_common(). */
function* chmod_common(t: Task, path: Path, mode: number): Blocking<number> {
  t.enter(CAT_CHMOD);
  const inode = path.dentry.d_inode!;
  yield* inode.i_rwsem.downWrite(t);
  const attr: Iattr = { ia_valid: ATTR_MODE | ATTR_CTIME, ia_mode: (mode & S_IALLUGO) | (inode.i_mode & ~S_IALLUGO), ia_size: 0 };
  const err = yield* notify_change(t, path.dentry, attr);
  inode.i_rwsem.upWrite(t);
  t.leave();
  return err;
}

/** do_fchmodat(AT_FDCWD, ...). */
export function* do_fchmodat(t: Task, pathname: string, mode: number): Blocking<number> {
  const path = yield* filename_lookup(t, pathname, LOOKUP_FOLLOW);
  if (typeof path === 'number') return path;
  const err = yield* chmod_common(t, path, mode);
  yield* path_put(t, path);
  return err;
}

/** do_sys_ftruncate(): a negative length is EINVAL before the fd is looked at. */
export function* do_sys_ftruncate(t: Task, fd: number, length: loff_t): Blocking<number> {
  if (length < 0) return -EINVAL;
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  const file = f.file;
  let err: number;
  const v = file.private_data instanceof VfsFile ? file.private_data : null;
  if (!v || !S_ISREG(v.inode.i_mode) || !(file.f_mode & FMODE_WRITE)) err = -EINVAL;
  else err = yield* do_truncate(t, v.dentry, length, ATTR_MTIME | ATTR_CTIME, true);
  yield* fput_light(t, f);
  return err;
}

/**
 * fchmod(2): chmod_common on the fd's path (an O_PATH fd is EBADF): a
 * pipe's pipefs inode (its creator may), anon_inode_inode (EOPNOTSUPP).
 */
function* do_fchmod(t: Task, fd: number, mode: number): Blocking<number> {
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  const v = f.file.private_data instanceof VfsFile ? f.file.private_data : null;
  const pipe = v ? null : get_pipe_info(f.file);
  const path = v ? v.path : pipe ? pipe_inode_path(t, pipe) : f.file.path.startsWith('anon_inode:') ? anon_inode_path(t) : null;
  const err = path ? yield* chmod_common(t, path, mode) : -EPERM;
  yield* fput_light(t, f);
  return err;
}

export function sys_fchmod(t: Task, fd: number, mode: number): Blocking<number> {
  return syscall(t, 'fchmod', do_fchmod(t, fd, mode));
}

export function sys_chmod(t: Task, pathname: string, mode: number): Blocking<number> {
  return syscall(t, 'chmod', do_fchmodat(t, pathname, mode));
}

/**
 * do_sys_truncate() + vfs_truncate(): truncate(2) of a path (followed):
 * a negative length is EINVAL before the lookup; a directory EISDIR,
 * another non-regular file EINVAL; write permission needed (EACCES); the
 * caller's write access taken (ETXTBSY when denied) while leases are
 * broken as for an O_WRONLY open (the caller waits), then do_truncate.
 */
function* do_sys_truncate(t: Task, pathname: string, length: loff_t): Blocking<number> {
  if (length < 0) return -EINVAL;
  const path = yield* filename_lookup(t, pathname, LOOKUP_FOLLOW);
  if (typeof path === 'number') return path;
  const inode = path.dentry.d_inode!;
  let err = 0;
  if (S_ISDIR(inode.i_mode)) err = -EISDIR;
  else if (!S_ISREG(inode.i_mode)) err = -EINVAL;
  else err = inode_permission(t, inode, MAY_WRITE);
  if (!err && inode.i_writecount < 0) err = -ETXTBSY;
  if (!err) {
    // get_write_access() ... put_write_access().
    inode.i_writecount++;
    err = yield* break_lease(t, inode, O_WRONLY);
    if (!err) err = yield* do_truncate(t, path.dentry, length, ATTR_MTIME | ATTR_CTIME, false);
    inode.i_writecount--;
  }
  yield* path_put(t, path);
  return err;
}

export function sys_truncate(t: Task, pathname: string, length: loff_t): Blocking<number> {
  return syscall(t, 'truncate', do_sys_truncate(t, pathname, length));
}

export function sys_ftruncate(t: Task, fd: number, length: loff_t): Blocking<number> {
  return syscall(t, 'ftruncate', do_sys_ftruncate(t, fd, length));
}

/** include/uapi/linux/falloc.h. */
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;

/**
 * vfs_fallocate() for the modes this kernel has: FALLOC_FL_PUNCH_HOLE |
 * FALLOC_FL_KEEP_SIZE on a memfs regular file (what MADV_REMOVE does to a
 * shared file mapping: the madvise code passes the area's file, the byte
 * offset and the length). IN_MODIFY follows a hole punched.
 */
export const FALLOC_FL_ZERO_RANGE = 0x10;
/** Every mode bit vfs_fallocate knows (FALLOC_FL_SUPPORTED_MASK); the file system refuses the ones it lacks. */
const FALLOC_FL_SUPPORTED_MASK = 0x01 | 0x02 | 0x04 | 0x08 | 0x10 | 0x20 | 0x40 | 0x80;

/**
 * vfs_fallocate(), with ext4's answers for the modes this file system has:
 * 0 allocates (growing the size unless FALLOC_FL_KEEP_SIZE),
 * FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE punches a hole (what
 * MADV_REMOVE does to a shared file mapping), FALLOC_FL_ZERO_RANGE zeroes
 * (growing the size unless KEEP_SIZE); the other modes are EOPNOTSUPP.
 * IN_MODIFY follows a success.
 */
/** vfs_fallocate()'s first tests, of the arguments alone: before it looks at the file's mode (EBADF). */
function fallocate_args_check(mode: number, offset: loff_t, len: loff_t): number {
  if (offset < 0 || len <= 0) return -EINVAL;
  if (mode & ~FALLOC_FL_SUPPORTED_MASK) return -EOPNOTSUPP;
  if (mode & FALLOC_FL_PUNCH_HOLE && !(mode & FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
  if (mode & FALLOC_FL_PUNCH_HOLE && mode & FALLOC_FL_ZERO_RANGE) return -EOPNOTSUPP;
  return 0;
}

export function* vfs_fallocate(t: Task, file: VmFile, mode: number, offset: loff_t, len: loff_t): Blocking<number> {
  const bad = fallocate_args_check(mode, offset, len);
  if (bad) return bad;
  if (!(file instanceof VfsFile)) return -ENODEV;
  if (!file.writable) return -EBADF;
  const inode = file.inode;
  if (S_ISDIR(inode.i_mode)) return -EISDIR;
  if (!S_ISREG(inode.i_mode)) return -ENODEV;
  // The sum is loff_t's: past LLONG_MAX it wraps negative, EFBIG too.
  const end = loffAdd(offset, len);
  if (end > inode.i_maxbytes || end < 0) return -EFBIG;
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) return -EOPNOTSUPP;
  let r = 0;
  if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
    // Zeroing a range leaves no data there, as a hole does (ext4 makes it unwritten extents).
    r = yield* vfs_fallocate_punch_hole(t, inode, offset, len);
  }
  if (r === 0 && !(mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) && end > inode.i_size) {
    r = yield* do_truncate(t, file.dentry, end, 0, true);
  }
  if (r === 0) yield* fsnotify_modify(t, file);
  return r;
}

/** fallocate(2): the fd's file (EBADF for a bad or O_PATH fd; ESPIPE for a pipe). */
function* ksys_fallocate(t: Task, fd: number, mode: number, offset: loff_t, len: loff_t): Blocking<number> {
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  const v = f.file.private_data instanceof VfsFile ? f.file.private_data : null;
  // The mode is tested before the file's write access (vfs_fallocate): punch_hole without keep_size is EOPNOTSUPP on any fd.
  let r = fallocate_args_check(mode, offset, len);
  if (r === 0) {
    if (!(f.file.f_mode & FMODE_WRITE)) r = -EBADF;
    else if (!v) r = f.file.f_op.name === 'pipe' ? -ESPIPE : -ENODEV;
    else r = yield* vfs_fallocate(t, v, mode, offset, len);
  }
  yield* fput_light(t, f);
  return r;
}

export function sys_fallocate(t: Task, fd: number, mode: number, offset: loff_t, len: loff_t): Blocking<number> {
  return syscall(t, 'fallocate', ksys_fallocate(t, fd, mode, offset, len));
}
