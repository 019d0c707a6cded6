/**
 * Links, after fs/namei.c and fs/stat.c: link/linkat (do_linkat,
 * vfs_link, may_linkat), symlink/symlinkat (do_symlinkat, vfs_symlink) and
 * readlink/readlinkat (do_readlinkat, vfs_readlink), with Linux's errors in
 * its order:
 *
 * - linkat: a flag other than AT_SYMLINK_FOLLOW or AT_EMPTY_PATH is EINVAL;
 *   the old name is looked up (followed only with AT_SYMLINK_FOLLOW; an
 *   empty one with AT_EMPTY_PATH is the dirfd's file, if the caller opened
 *   it or has CAP_DAC_READ_SEARCH, ENOENT otherwise), then the new name is
 *   made (filename_create: EEXIST where it exists, ENOENT for a missing
 *   name with a trailing slash), then EXDEV across mounts, the protected
 *   hard link check (fs.protected_hardlinks = 1: EPERM for a file of
 *   another user the caller cannot read and write), and vfs_link (EPERM for
 *   a directory, ENOENT for a file with no link left unless an O_TMPFILE
 *   made it linkable, EMLINK at ext4's 65000 links). IN_ATTRIB on the file,
 *   then IN_CREATE in the directory.
 * - symlinkat: the body's copy first (an empty one is ENOENT), then
 *   filename_create; the link has mode 0777 and the body's length as size.
 * - readlinkat: a buffer size of 0 or less is EINVAL; the name is looked up
 *   without following (an empty name is the dirfd's file); a non-link is
 *   EINVAL, or ENOENT when the name was empty; at most bufsiz bytes of the
 *   body are returned, with no NUL.
 */
import type { Blocking, Task } from '../../sim/task.js';
import { EBADF, EEXIST, EINVAL, EMLINK, ENOENT, EPERM, EXDEV } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { syscall } from '../syscalls.js';
import { dget, dput, type Dentry, type Path } from './dcache.js';
import { fget_light, fput_light } from './file.js';
import { capable_dac, I_LINKABLE, inode_permission, MAY_READ, MAY_WRITE, S_ISDIR, S_ISGID, S_ISLNK, S_ISREG, S_ISUID, type Inode } from './inode.js';
import { filename_lookup, filename_parentat, getname, LAST_NORM, LOOKUP_FOLLOW, lookup_hash, path_put } from './namei.js';
import { dirfd_base, may_create } from './namei_ops.js';
import { fsnotify_create, fsnotify_link_count } from './notify/fsnotify.js';
import { file_vfs_or_null } from './vfs_file.js';

const AT_FDCWD = -100;
export const AT_SYMLINK_FOLLOW = 0x400;
export const AT_EMPTY_PATH = 0x1000;
/** fs/ext4/ext4.h EXT4_LINK_MAX. */
const EXT4_LINK_MAX = 65000;
/** include/uapi/linux/stat.h S_IXGRP. */
const S_IXGRP = 0o010;

/** A name's lookup from its dirfd (path_init with dfd); an empty name with `empty` set is the fd's own file. */
function* lookup_at(t: Task, dfd: number, name: string, flags: number, empty: 'no' | 'yes' | 'linkat'): Blocking<Path | number> {
  if (name === '' && empty !== 'no') {
    if (dfd === AT_FDCWD) return yield* filename_lookup(t, '.', 0);
    const held = fget_light(t, dfd >>> 0, true);
    if (!held.file) return -EBADF;
    const v = file_vfs_or_null(held.file);
    const cred = current(t).cred;
    let r: Path | number;
    // LOOKUP_LINKAT_EMPTY: the file must have been opened with the caller's credentials, or the caller be capable.
    if (!v || (empty === 'linkat' && v.cred !== cred && !capable_dac(cred))) r = -ENOENT;
    else {
      dget(t, v.path.dentry);
      r = { ...v.path };
    }
    yield* fput_light(t, held);
    return r;
  }
  if (empty === 'linkat' && dfd !== AT_FDCWD && !name.startsWith('/')) {
    // path_init() with LOOKUP_LINKAT_EMPTY checks the dirfd's opener for any name relative to it, before its type.
    const held = fget_light(t, dfd >>> 0, true);
    if (!held.file) return -EBADF;
    const v = file_vfs_or_null(held.file);
    const cred = current(t).cred;
    const refused = v !== null && v.cred !== cred && !capable_dac(cred);
    yield* fput_light(t, held);
    if (refused) return -ENOENT;
  }
  const b = yield* dirfd_base(t, dfd, name);
  if (typeof b === 'number') return b;
  const r = yield* filename_lookup(t, name, flags, b?.base);
  if (b) yield* b.release();
  return r;
}

/** The new name filename_create made: its parent (referenced, locked for writing) and the negative dentry. */
interface Created {
  parent: Path;
  dentry: Dentry;
}

/**
 * filename_create(): walk to the new name's parent; "." or ".." or "/" as
 * the last component is EEXIST; under the parent's lock, an existing name
 * is EEXIST and a missing one with a trailing slash ENOENT (only mkdir may
 * end in '/').
 */
export function* filename_create(t: Task, dfd: number, name: string, isDir: boolean): Blocking<Created | number> {
  const b = yield* dirfd_base(t, dfd, name);
  if (typeof b === 'number') return b;
  const p = yield* filename_parentat(t, name, b?.base);
  if (b) yield* b.release();
  if (typeof p === 'number') return p;
  if (p.last_type !== LAST_NORM) {
    yield* path_put(t, p.path);
    return -EEXIST;
  }
  const dir = p.path.dentry.d_inode!;
  yield* dir.i_rwsem.downWrite(t);
  const d = yield* lookup_hash(t, p.path.dentry, p.last);
  let err = 0;
  if (typeof d === 'number') err = d;
  else if (d.d_inode) err = -EEXIST;
  else if (p.trailingSlash && !isDir) err = -ENOENT;
  if (err) {
    if (typeof d !== 'number') yield* dput(t, d);
    dir.i_rwsem.upWrite(t);
    yield* path_put(t, p.path);
    return err;
  }
  return { parent: p.path, dentry: d as Dentry };
}

/** done_path_create(). */
function* done_path_create(t: Task, c: Created): Blocking<void> {
  yield* dput(t, c.dentry);
  c.parent.dentry.d_inode!.i_rwsem.upWrite(t);
  yield* path_put(t, c.parent);
}

/**
 * may_linkat() with fs.protected_hardlinks = 1: the caller owns the file,
 * or it is a regular file (not setuid, not setgid-executable) the caller
 * may read and write, or the caller has CAP_FOWNER.
 */
function may_linkat(t: Task, inode: Inode): number {
  const cred = current(t).cred;
  if (cred.uid === inode.i_uid || capable_dac(cred)) return 0;
  const m = inode.i_mode;
  const safe = S_ISREG(m) && !(m & S_ISUID) && (m & (S_ISGID | S_IXGRP)) !== (S_ISGID | S_IXGRP) && inode_permission(t, inode, MAY_READ | MAY_WRITE) === 0;
  return safe ? 0 : -EPERM;
}

/** vfs_link(). */
function* vfs_link(t: Task, oldDentry: Dentry, dir: Inode, newDentry: Dentry): Blocking<number> {
  const inode = oldDentry.d_inode;
  if (!inode) return -ENOENT;
  let err = may_create(t, dir, newDentry);
  if (err) return err;
  if (dir.i_sb !== inode.i_sb) return -EXDEV;
  if (!dir.i_op.link) return -EPERM;
  if (S_ISDIR(inode.i_mode)) return -EPERM;
  yield* inode.i_rwsem.downWrite(t);
  if (inode.i_nlink === 0 && !(inode.i_state & I_LINKABLE)) err = -ENOENT;
  else if (inode.i_nlink >= EXT4_LINK_MAX) err = -EMLINK;
  else err = yield* dir.i_op.link(t, oldDentry, dir, newDentry);
  if (!err) inode.i_state &= ~I_LINKABLE;
  inode.i_rwsem.upWrite(t);
  if (!err) {
    // fsnotify_link(): the file's link count, then the new name in the directory.
    yield* fsnotify_link_count(t, inode);
    yield* fsnotify_create(t, dir, newDentry);
  }
  return err;
}

function* do_linkat(t: Task, olddfd: number, oldname: string, newdfd: number, newname: string, flags: number): Blocking<number> {
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  const old = yield* lookup_at(t, olddfd, oldname, flags & AT_SYMLINK_FOLLOW ? LOOKUP_FOLLOW : 0, flags & AT_EMPTY_PATH ? 'linkat' : 'no');
  if (typeof old === 'number') return old;
  const c = yield* filename_create(t, newdfd, newname, false);
  if (typeof c === 'number') {
    yield* path_put(t, old);
    return c;
  }
  let err: number;
  if (old.mnt !== c.parent.mnt) err = -EXDEV;
  else {
    err = may_linkat(t, old.dentry.d_inode!);
    if (!err) err = yield* vfs_link(t, old.dentry, c.parent.dentry.d_inode!, c.dentry);
  }
  yield* done_path_create(t, c);
  yield* path_put(t, old);
  return err;
}

/** vfs_symlink(). */
function* vfs_symlink(t: Task, dir: Inode, dentry: Dentry, target: string): Blocking<number> {
  const err = may_create(t, dir, dentry);
  if (err) return err;
  if (!dir.i_op.symlink) return -EPERM;
  const r = yield* dir.i_op.symlink(t, dir, dentry, target);
  if (!r) yield* fsnotify_create(t, dir, dentry);
  return r;
}

function* do_symlinkat(t: Task, oldname: string, newdfd: number, newname: string): Blocking<number> {
  const from = getname(t, oldname);
  if (typeof from === 'number') return from;
  const c = yield* filename_create(t, newdfd, newname, false);
  if (typeof c === 'number') return c;
  const err = yield* vfs_symlink(t, c.parent.dentry.d_inode!, c.dentry, from);
  yield* done_path_create(t, c);
  return err;
}

/** vfs_readlink(): the body (or the file system's answer), cut to bufsiz bytes. */
function vfs_readlink(t: Task, dentry: Dentry, bufsiz: number, out: { target: string }): number {
  const k = t.k;
  const inode = dentry.d_inode!;
  k.touch(t, inode.addr, false);
  let body: string | number;
  if (inode.i_op.readlink) body = inode.i_op.readlink(t, dentry);
  else if (inode.i_link !== null) body = inode.i_link;
  else return -EINVAL;
  if (typeof body === 'number') return body;
  const bytes = Buffer.from(body, 'utf8');
  const n = Math.min(bytes.length, bufsiz);
  // copy_to_user of the body.
  t.charge(Math.ceil((k.cfg.cost.copy_page * n) / 4096));
  out.target = bytes.subarray(0, n).toString('utf8');
  return n;
}

function* do_readlinkat(t: Task, dfd: number, pathname: string, bufsiz: number, out: { target: string }): Blocking<number> {
  if (bufsiz <= 0) return -EINVAL;
  // An empty name is the dirfd's own file (LOOKUP_EMPTY).
  const path = yield* lookup_at(t, dfd, pathname, 0, 'yes');
  if (typeof path === 'number') return path;
  const inode = path.dentry.d_inode!;
  let err: number;
  if (S_ISLNK(inode.i_mode) || inode.i_op.readlink) err = vfs_readlink(t, path.dentry, bufsiz, out);
  else err = pathname === '' ? -ENOENT : -EINVAL;
  yield* path_put(t, path);
  return err;
}

export function sys_link(t: Task, oldname: string, newname: string): Blocking<number> {
  return syscall(t, 'link', do_linkat(t, AT_FDCWD, oldname, AT_FDCWD, newname, 0));
}

export function sys_linkat(t: Task, olddfd: number, oldname: string, newdfd: number, newname: string, flags: number): Blocking<number> {
  return syscall(t, 'linkat', do_linkat(t, olddfd, oldname, newdfd, newname, flags | 0));
}

export function sys_symlink(t: Task, target: string, newname: string): Blocking<number> {
  return syscall(t, 'symlink', do_symlinkat(t, target, AT_FDCWD, newname));
}

export function sys_symlinkat(t: Task, target: string, newdfd: number, newname: string): Blocking<number> {
  return syscall(t, 'symlinkat', do_symlinkat(t, target, newdfd, newname));
}

/** readlink(2): returns the bytes copied; `out.target` has them. */
export function sys_readlink(t: Task, pathname: string, bufsiz: number, out: { target: string }): Blocking<number> {
  return syscall(t, 'readlink', do_readlinkat(t, AT_FDCWD, pathname, bufsiz, out));
}

export function sys_readlinkat(t: Task, dfd: number, pathname: string, bufsiz: number, out: { target: string }): Blocking<number> {
  return syscall(t, 'readlinkat', do_readlinkat(t, dfd, pathname, bufsiz, out));
}
