/**
 * The directory-changing half of fs/namei.c: mkdir, rmdir, unlink and
 * rename, from the system call (do_mkdirat, do_rmdir, do_unlinkat,
 * do_renameat2) through the checks (may_create, may_delete, the rename
 * "trap" of lock_rename) to the file system's inode operations and the
 * fsnotify events, in Linux's order and with Linux's errors.
 *
 * Directory locks are the inodes' i_rwsem, taken for writing as
 * inode_lock() takes them; rename of two directories takes both.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EBUSY, EEXIST, EINVAL, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, EPERM, EXDEV } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { d_delete, d_drop, d_exchange, d_move, dget, dput, type Dentry, type Path } from './dcache.js';
import { capable_dac, ihold, inode_permission, iput, MAY_EXEC, MAY_WRITE, S_DEAD, S_ISDIR, S_ISVTX, type Inode } from './inode.js';
import { filename_parentat, LAST_DOT, LAST_DOTDOT, LAST_NORM, LAST_ROOT, lookup_hash, path_put } from './namei.js';
import { fsnotify_delete, fsnotify_link_count, fsnotify_mkdir, fsnotify_move } from './notify/fsnotify.js';

/** linux/fcntl.h */
const AT_FDCWD = -100;

const CAT_VFS_MKDIR = intern('vfs_mkdir');
const CAT_VFS_RMDIR = intern('vfs_rmdir');
const CAT_VFS_UNLINK = intern('vfs_unlink');
const CAT_VFS_RENAME = intern('vfs_rename');

/** may_create(): the name is free and the directory writable and searchable. */
export function may_create(t: Task, dir: Inode, child: Dentry): number {
  if (child.d_inode) return -EEXIST;
  if (dir.i_flags & S_DEAD) return -ENOENT;
  return inode_permission(t, dir, MAY_WRITE | MAY_EXEC);
}

/** check_sticky(): in a sticky directory only the file's or the directory's owner may remove it. */
function check_sticky(t: Task, dir: Inode, inode: Inode): boolean {
  if (!(dir.i_mode & S_ISVTX)) return false;
  const cred = current(t).cred;
  if (inode.i_uid === cred.uid || dir.i_uid === cred.uid) return false;
  return !capable_dac(cred);
}

/** may_delete(). */
export function may_delete(t: Task, dir: Inode, victim: Dentry, isdir: boolean): number {
  const inode = victim.d_inode;
  if (!inode) return -ENOENT;
  const err = inode_permission(t, dir, MAY_WRITE | MAY_EXEC);
  if (err) return err;
  if (check_sticky(t, dir, inode)) return -EPERM;
  if (isdir) {
    if (!S_ISDIR(inode.i_mode)) return -ENOTDIR;
    if (victim.isRoot) return -EBUSY;
  } else if (S_ISDIR(inode.i_mode)) return -EISDIR;
  if (dir.i_flags & S_DEAD) return -ENOENT;
  return 0;
}

/** vfs_prepare_mode(): the requested mode less the umask. */
export function mode_strip_umask(t: Task, mode: number): number {
  return mode & ~current(t).umask;
}

/** vfs_mkdir(). */
export function* vfs_mkdir(t: Task, dir: Inode, dentry: Dentry, mode: number): Blocking<number> {
  t.enter(CAT_VFS_MKDIR);
  let err = may_create(t, dir, dentry);
  if (!err && !dir.i_op.mkdir) err = -EPERM;
  if (!err) {
    mode = mode_strip_umask(t, mode & (0o777 | S_ISVTX));
    err = yield* dir.i_op.mkdir!(t, dir, dentry, mode);
    if (!err) yield* fsnotify_mkdir(t, dir, dentry);
  }
  t.leave();
  return err;
}

/** d_delete_notify(): d_delete, then IN_DELETE with the inode the name had. */
function* d_delete_notify(t: Task, dir: Inode, dentry: Dentry): Blocking<void> {
  const inode = dentry.d_inode!;
  ihold(t, inode);
  yield* d_delete(t, dentry);
  yield* fsnotify_delete(t, dir, inode, dentry);
  iput(t, inode);
}

/** vfs_rmdir(). */
export function* vfs_rmdir(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  t.enter(CAT_VFS_RMDIR);
  let err = may_delete(t, dir, dentry, true);
  if (!err && !dir.i_op.rmdir) err = -EPERM;
  if (err) {
    t.leave();
    return err;
  }
  dget(t, dentry);
  const inode = dentry.d_inode!;
  yield* inode.i_rwsem.downWrite(t);
  if (dentry.d_mounted) err = -EBUSY;
  else err = yield* dir.i_op.rmdir!(t, dir, dentry);
  if (!err) inode.i_flags |= S_DEAD;
  inode.i_rwsem.upWrite(t);
  yield* dput(t, dentry);
  if (!err) yield* d_delete_notify(t, dir, dentry);
  t.leave();
  return err;
}

/** vfs_unlink(): IN_ATTRIB (the link count) before the name goes. */
export function* vfs_unlink(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  t.enter(CAT_VFS_UNLINK);
  let err = may_delete(t, dir, dentry, false);
  if (!err && !dir.i_op.unlink) err = -EPERM;
  if (err) {
    t.leave();
    return err;
  }
  const target = dentry.d_inode!;
  yield* target.i_rwsem.downWrite(t);
  if (dentry.d_mounted) err = -EBUSY;
  else err = yield* dir.i_op.unlink!(t, dir, dentry);
  target.i_rwsem.upWrite(t);
  if (!err) {
    yield* fsnotify_link_count(t, target);
    yield* d_delete_notify(t, dir, dentry);
  }
  t.leave();
  return err;
}

/**
 * The parent walk and final lookup shared by unlink and rmdir: the parent
 * locked for writing and the child with a reference (negative: ENOENT).
 */
interface Locked {
  parent: Dentry;
  child: Dentry;
}

function* lock_parent_lookup(t: Task, parent: Dentry, last: string): Blocking<Locked | number> {
  yield* parent.d_inode!.i_rwsem.downWrite(t);
  const child = yield* lookup_hash(t, parent, last);
  if (typeof child === 'number') {
    parent.d_inode!.i_rwsem.upWrite(t);
    return child;
  }
  if (!child.d_inode) {
    yield* dput(t, child);
    parent.d_inode!.i_rwsem.upWrite(t);
    return -ENOENT;
  }
  return { parent, child };
}

/** do_mkdirat() with filename_create(): trailing slashes are allowed, a last component of "." or ".." is EEXIST. */
export function* do_mkdirat(t: Task, pathname: string, mode: number): Blocking<number> {
  const p = yield* filename_parentat(t, pathname);
  if (typeof p === 'number') return p;
  let err: number;
  if (p.last_type !== LAST_NORM) err = -EEXIST;
  else {
    const dir = p.path.dentry.d_inode!;
    yield* dir.i_rwsem.downWrite(t);
    const d = yield* lookup_hash(t, p.path.dentry, p.last);
    if (typeof d === 'number') err = d;
    else {
      if (d.d_inode) err = -EEXIST;
      else err = yield* vfs_mkdir(t, dir, d, mode);
      yield* dput(t, d);
    }
    dir.i_rwsem.upWrite(t);
  }
  yield* path_put(t, p.path);
  return err;
}

/** do_rmdir(): the name relative to dfd (unlinkat with AT_REMOVEDIR). */
export function* do_rmdir(t: Task, pathname: string, dfd = AT_FDCWD): Blocking<number> {
  const b = yield* dirfd_base(t, dfd, pathname);
  if (typeof b === 'number') return b;
  const p = yield* filename_parentat(t, pathname, b?.base);
  if (b) yield* b.release();
  if (typeof p === 'number') return p;
  let err: number;
  switch (p.last_type) {
    case LAST_DOTDOT:
      err = -ENOTEMPTY;
      break;
    case LAST_DOT:
      err = -EINVAL;
      break;
    case LAST_ROOT:
      err = -EBUSY;
      break;
    default: {
      const l = yield* lock_parent_lookup(t, p.path.dentry, p.last);
      if (typeof l === 'number') err = l;
      else {
        err = yield* vfs_rmdir(t, l.parent.d_inode!, l.child);
        yield* dput(t, l.child);
        l.parent.d_inode!.i_rwsem.upWrite(t);
      }
    }
  }
  yield* path_put(t, p.path);
  return err;
}

/**
 * do_unlinkat(): a trailing slash makes it EISDIR for a directory, ENOTDIR
 * otherwise (a symbolic link is removed itself, never followed).
 */
export function* do_unlinkat(t: Task, pathname: string, dfd = AT_FDCWD): Blocking<number> {
  const b = yield* dirfd_base(t, dfd, pathname);
  if (typeof b === 'number') return b;
  const p = yield* filename_parentat(t, pathname, b?.base);
  if (b) yield* b.release();
  if (typeof p === 'number') return p;
  let err: number;
  let inode: Inode | null = null;
  if (p.last_type !== LAST_NORM) err = -EISDIR;
  else {
    const l = yield* lock_parent_lookup(t, p.path.dentry, p.last);
    if (typeof l === 'number') err = l;
    else {
      if (p.trailingSlash) err = S_ISDIR(l.child.d_inode!.i_mode) ? -EISDIR : -ENOTDIR;
      else {
        inode = l.child.d_inode!;
        ihold(t, inode);
        err = yield* vfs_unlink(t, l.parent.d_inode!, l.child);
      }
      yield* dput(t, l.child);
      l.parent.d_inode!.i_rwsem.upWrite(t);
    }
  }
  // The last reference may go here: the inode is evicted after the directory is unlocked.
  if (inode) iput(t, inode);
  yield* path_put(t, p.path);
  return err;
}

/** d_ancestor(): the child of `p1` on the way down to `p2`, or null when p1 is not above p2. */
function d_ancestor(p1: Dentry, p2: Dentry): Dentry | null {
  for (let p = p2; !p.isRoot; p = p.d_parent) if (p.d_parent === p1) return p;
  return null;
}

/**
 * lock_rename(): lock both parents; the "trap" is the dentry that must be
 * neither the source (EINVAL: a directory into itself) nor the target
 * (ENOTEMPTY: over one of its own ancestors).
 */
function* lock_rename(t: Task, p1: Dentry, p2: Dentry): Blocking<Dentry | null> {
  if (p1 === p2) {
    yield* p1.d_inode!.i_rwsem.downWrite(t);
    return null;
  }
  let trap = d_ancestor(p2, p1);
  if (trap) {
    yield* p2.d_inode!.i_rwsem.downWrite(t);
    yield* p1.d_inode!.i_rwsem.downWrite(t);
    return trap;
  }
  trap = d_ancestor(p1, p2);
  yield* p1.d_inode!.i_rwsem.downWrite(t);
  yield* p2.d_inode!.i_rwsem.downWrite(t);
  return trap;
}

function unlock_rename(t: Task, p1: Dentry, p2: Dentry): void {
  p1.d_inode!.i_rwsem.upWrite(t);
  if (p1 !== p2) p2.d_inode!.i_rwsem.upWrite(t);
}

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const RENAME_WHITEOUT = 4;

/** vfs_rename(): RENAME_EXCHANGE swaps the two names (both must exist), each side checked as the one it removes. */
export function* vfs_rename(t: Task, oldDir: Inode, oldDentry: Dentry, newDir: Inode, newDentry: Dentry, flags = 0): Blocking<number> {
  const source = oldDentry.d_inode!;
  const target = newDentry.d_inode;
  if (source === target) return 0;
  t.enter(CAT_VFS_RENAME);
  const exchange = (flags & RENAME_EXCHANGE) !== 0;
  const isDir = S_ISDIR(source.i_mode);
  const newIsDir = target !== null && S_ISDIR(target.i_mode);
  let err = may_delete(t, oldDir, oldDentry, isDir);
  if (!err) err = target ? may_delete(t, newDir, newDentry, exchange ? newIsDir : isDir) : may_create(t, newDir, newDentry);
  if (!err && !oldDir.i_op.rename) err = -EPERM;
  // Moving a directory to another parent rewrites its "..": it must be writable (with EXCHANGE, either one that moves).
  if (!err && newDir !== oldDir && isDir) err = inode_permission(t, source, MAY_WRITE);
  if (!err && newDir !== oldDir && exchange && newIsDir) err = inode_permission(t, target!, MAY_WRITE);
  if (!err && (oldDentry.d_mounted || newDentry.d_mounted)) err = -EBUSY;
  if (err) {
    t.leave();
    return err;
  }
  const oldName = oldDentry.d_name;
  dget(t, newDentry);
  err = yield* oldDir.i_op.rename!(t, oldDir, oldDentry, newDir, newDentry, flags);
  if (!err) {
    if (exchange) {
      d_exchange(t, oldDentry, newDentry);
      yield* fsnotify_move(t, oldDir, newDir, oldName, isDir, null, oldDentry);
      yield* fsnotify_move(t, newDir, oldDir, oldDentry.d_name, newIsDir, null, newDentry);
    } else {
      if (target && isDir) target.i_flags |= S_DEAD;
      d_drop(newDentry);
      d_move(t, oldDentry, newDentry.d_parent, newDentry.d_name);
      yield* fsnotify_move(t, oldDir, newDir, oldName, isDir, target, oldDentry);
    }
  }
  yield* dput(t, newDentry);
  t.leave();
  return err;
}

/** path_init() for a dirfd: the base directory of a relative name, or null for AT_FDCWD, an absolute or an empty name. */
export function* dirfd_base(t: Task, dfd: number, name: string): Blocking<{ base: Path; release: () => Blocking<void> } | null | number> {
  const k = t.k;
  if (dfd === AT_FDCWD || name === '' || name.startsWith('/') || !k.dirfdResolver) return null;
  return yield* k.dirfdResolver(t, dfd);
}

/**
 * do_renameat2(): the flags are checked first; then each name's parent is
 * found (from its dirfd); RENAME_NOREPLACE fails with EEXIST where a name
 * exists, RENAME_EXCHANGE with ENOENT where the new one does not.
 * RENAME_WHITEOUT leaves a whiteout at the old name (the file system's
 * rename makes it).
 */
export function* do_renameat2(t: Task, oldname: string, newname: string, flags = 0, olddfd = AT_FDCWD, newdfd = AT_FDCWD): Blocking<number> {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) return -EINVAL;
  if (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) && flags & RENAME_EXCHANGE) return -EINVAL;
  const ob = yield* dirfd_base(t, olddfd, oldname);
  if (typeof ob === 'number') return ob;
  const op = yield* filename_parentat(t, oldname, ob?.base);
  if (ob) yield* ob.release();
  if (typeof op === 'number') return op;
  const nb = yield* dirfd_base(t, newdfd, newname);
  if (typeof nb === 'number') {
    yield* path_put(t, op.path);
    return nb;
  }
  const np = yield* filename_parentat(t, newname, nb?.base);
  if (nb) yield* nb.release();
  if (typeof np === 'number') {
    yield* path_put(t, op.path);
    return np;
  }
  let err: number;
  if (op.path.mnt !== np.path.mnt) err = -EXDEV;
  else if (op.last_type !== LAST_NORM) err = -EBUSY;
  else if (np.last_type !== LAST_NORM) err = flags & RENAME_NOREPLACE ? -EEXIST : -EBUSY;
  else err = yield* rename_locked(t, op.path.dentry, op.last, op.trailingSlash, np.path.dentry, np.last, np.trailingSlash, flags);
  yield* path_put(t, np.path);
  yield* path_put(t, op.path);
  return err;
}

function* rename_locked(
  t: Task, oldParent: Dentry, oldLast: string, oldSlash: boolean, newParent: Dentry, newLast: string, newSlash: boolean, flags: number,
): Blocking<number> {
  const exchange = (flags & RENAME_EXCHANGE) !== 0;
  const trap = yield* lock_rename(t, newParent, oldParent);
  let err: number;
  const oldD = yield* lookup_hash(t, oldParent, oldLast);
  if (typeof oldD === 'number') err = oldD;
  else if (!oldD.d_inode) {
    err = -ENOENT;
    yield* dput(t, oldD);
  } else {
    const newD = yield* lookup_hash(t, newParent, newLast);
    if (typeof newD === 'number') err = newD;
    else {
      err = 0;
      // lookup_one_qstr_excl(): LOOKUP_EXCL for NOREPLACE; EXCHANGE needs the new name to exist.
      if (flags & RENAME_NOREPLACE && newD.d_inode) err = -EEXIST;
      else if (exchange && !newD.d_inode) err = -ENOENT;
      else if (exchange && !S_ISDIR(newD.d_inode!.i_mode) && newSlash) err = -ENOTDIR;
      else if (!S_ISDIR(oldD.d_inode.i_mode) && (oldSlash || (!exchange && newSlash))) err = -ENOTDIR;
      else if (oldD === trap) err = -EINVAL;
      else if (newD === trap) err = exchange ? -EINVAL : -ENOTEMPTY;
      if (!err) err = yield* vfs_rename(t, oldParent.d_inode!, oldD, newParent.d_inode!, newD, flags);
      yield* dput(t, newD);
    }
    yield* dput(t, oldD);
  }
  unlock_rename(t, newParent, oldParent);
  return err;
}

export function sys_mkdir(t: Task, pathname: string, mode: number): Blocking<number> {
  return syscall(t, 'mkdir', do_mkdirat(t, pathname, mode));
}

export function sys_rmdir(t: Task, pathname: string): Blocking<number> {
  return syscall(t, 'rmdir', do_rmdir(t, pathname));
}

export function sys_unlink(t: Task, pathname: string): Blocking<number> {
  return syscall(t, 'unlink', do_unlinkat(t, pathname));
}

/** linux/fcntl.h AT_REMOVEDIR. */
export const AT_REMOVEDIR = 0x200;

/** unlinkat(2): AT_REMOVEDIR makes it rmdir; any other flag is EINVAL. */
function* do_unlinkat_flags(t: Task, dfd: number, pathname: string, flags: number): Blocking<number> {
  if (flags & ~AT_REMOVEDIR) return -EINVAL;
  if (flags & AT_REMOVEDIR) return yield* do_rmdir(t, pathname, dfd);
  return yield* do_unlinkat(t, pathname, dfd);
}

export function sys_unlinkat(t: Task, dfd: number, pathname: string, flags: number): Blocking<number> {
  return syscall(t, 'unlinkat', do_unlinkat_flags(t, dfd, pathname, flags | 0));
}

export function sys_rename(t: Task, oldname: string, newname: string): Blocking<number> {
  return syscall(t, 'rename', do_renameat2(t, oldname, newname));
}

/** renameat2(2): names relative to their dirfds, with RENAME_NOREPLACE or RENAME_EXCHANGE. */
export function sys_renameat2(t: Task, olddfd: number, oldname: string, newdfd: number, newname: string, flags: number): Blocking<number> {
  return syscall(t, 'renameat2', do_renameat2(t, oldname, newname, flags >>> 0, olddfd, newdfd));
}
