/**
 * Attribute changes, after fs/attr.c: notify_change applies a change
 * through the inode's ->setattr, which checks it first (setattr_prepare:
 * only the owner or CAP_FOWNER may change the mode; a size beyond the file
 * system's limit is EFBIG) unless it refuses every change outright
 * (anon_inode_setattr), and reports it to fsnotify (IN_ATTRIB for a mode,
 * IN_MODIFY for a size).
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EFBIG, EPERM } from '../errno.js';
import { current } from '../sched/task_struct.js';
import type { Dentry } from './dcache.js';
import { ATTR_MODE, ATTR_SIZE, capable_dac, cred_gid, inode_owner_or_capable, S_ISGID, type Iattr } from './inode.js';
import { fsnotify_change } from './notify/fsnotify.js';

const CAT_NOTIFY_CHANGE = intern('notify_change');

/** setattr_prepare() and inode_newsize_ok(): a file system's ->setattr calls it first (simple_setattr too). */
export function setattr_prepare(t: Task, dentry: Dentry, attr: Iattr): number {
  const inode = dentry.d_inode!;
  const cred = current(t).cred;
  if (attr.ia_valid & ATTR_SIZE && attr.ia_size > inode.i_maxbytes) return -EFBIG;
  if (attr.ia_valid & ATTR_MODE) {
    if (!inode_owner_or_capable(cred, inode)) return -EPERM;
    // Also check the setgid bit: only a member of the file's group (or CAP_FSETID) may set it.
    if (cred_gid(cred) !== inode.i_gid && !capable_dac(cred)) attr.ia_mode &= ~S_ISGID;
  }
  return 0;
}

/** notify_change(): the caller holds the inode's lock. */
export function* notify_change(t: Task, dentry: Dentry, attr: Iattr): Blocking<number> {
  const k = t.k;
  t.enter(CAT_NOTIFY_CHANGE);
  const inode = dentry.d_inode!;
  k.touch(t, inode.addr, false);
  let err: number;
  if (inode.i_op.setattr) err = yield* inode.i_op.setattr(t, dentry, attr);
  else {
    // simple_setattr(): setattr_prepare, then setattr_copy.
    err = setattr_prepare(t, dentry, attr);
    if (!err && attr.ia_valid & ATTR_MODE) {
      inode.i_mode = (inode.i_mode & ~0o7777) | (attr.ia_mode & 0o7777);
      k.touch(t, inode.addr, true);
    }
  }
  if (!err) yield* fsnotify_change(t, dentry, attr.ia_valid);
  t.leave();
  return err;
}
