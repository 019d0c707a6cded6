/**
 * The anonymous inode every anon_inode file (eventfd, inotify) shares, after
 * fs/anon_inodes.c: anon_inode_inode on the internal anon_inodefs mount,
 * root's, mode 0600 with no file type bits (stat shows neither a regular
 * file nor anything else), and refusing every attribute change
 * (anon_inode_setattr: EOPNOTSUPP, before any ownership check). Made at
 * first use: only a walk through /proc/PID/fd/N or fchmod reaches it.
 */
import type { Blocking, Task } from '../../sim/task.js';
import { EOPNOTSUPP } from '../errno.js';
import { d_make_root, Mount, type Path } from './dcache.js';
import { new_inode, SuperBlock, type InodeOperations } from './inode.js';

const ANON_INODE_FS_MAGIC = 0x09041934;

function* anon_inode_setattr(): Blocking<number> {
  return -EOPNOTSUPP;
}

const anon_inode_operations: InodeOperations = { setattr: anon_inode_setattr };

/** anon_inode_inode's path (the jump target of an anon file's /proc/PID/fd/N). */
export function anon_inode_path(t: Task): Path {
  const k = t.k;
  const s = k.anonInodeFs;
  if (s) return s.path;
  const sb = new SuperBlock(k, 'anon_inodefs', {}, ANON_INODE_FS_MAGIC, 0);
  const inode = new_inode(k, t, sb);
  inode.i_mode = 0o600;
  inode.i_op = anon_inode_operations;
  sb.s_root = d_make_root(k, inode);
  const mnt = new Mount(sb, sb.s_root, null, null);
  mnt.mnt_id = k.vfs.nextMntId++;
  const made = { path: { mnt, dentry: sb.s_root } };
  k.anonInodeFs = made;
  return made.path;
}
