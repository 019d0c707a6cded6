/**
 * Mounting procfs, after fs/proc/root.c: the proc super block (proc_fill_super),
 * its root inode standing for the registry's root entry, mounted on /proc,
 * whose lookup tries the registered entries first and then the PID
 * directories (proc_root_lookup); and the entries every kernel has,
 * /proc/meminfo and /proc/vmstat.
 */
import { loffAdd } from '../loff.js';
import type { Blocking, Task } from '../../../sim/task.js';
import { EINVAL } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import { d_add, type Dentry } from '../dcache.js';
import { new_inode, S_IFDIR, S_IFREG, type Inode, type InodeOperations } from '../inode.js';
import { io_push_bytes, type File } from '../file_table.js';
import { locks_show } from '../locks_show.js';
import type { OpenableFileOperations } from '../vfs_file.js';
import { d_make_root } from '../dcache.js';
import { do_add_mount, vfsOf } from '../namespace.js';
import { seq_lseek, seq_read, single_open, single_release, type ShowFn } from '../seq_file.js';
import { proc_pid_lookup } from './base.js';
import { proc_create, proc_mkdir, procRegistry, type ProcOps } from './generic.js';
import { proc_dentry_operations, proc_dir_operations, proc_lookup_de, proc_super, type ProcInode } from './inode.js';
import { meminfo_show, vmstat_show } from './meminfo.js';

/**
 * /proc/locks (fs/locks.c proc_locks_operations, locks_show): root's, mode
 * 0444. Linux registers it at boot (proc_create_seq); here its inode is
 * made at each lookup, as a PID directory's is, so that booting allocates
 * nothing more.
 */
const proc_locks_fops: OpenableFileOperations = {
  name: 'proc_locks',
  *open(_t: Task, _inode: Inode, file: File): Blocking<number> {
    return single_open(file, locks_show);
  },
  read: seq_read,
  llseek: seq_lseek,
  release: single_release,
};

/** proc_root_lookup(): a registered entry, else /proc/locks or a PID directory. */
function* proc_root_lookup(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  const k = dir.k;
  const r = yield* proc_lookup_de(t, procRegistry(k).root, dir, dentry);
  if (r === 0) return 0;
  if (dentry.d_name === 'locks') {
    t.charge(k.cfg.kernel.cost.kernel_op);
    const inode = new_inode(k, t, dir.i_sb) as ProcInode;
    inode.i_mode = S_IFREG | 0o444;
    inode.i_fop = proc_locks_fops;
    dentry.d_op = proc_dentry_operations;
    d_add(dentry, inode);
    return 0;
  }
  return yield* proc_pid_lookup(t, dir, dentry);
}

const proc_root_inode_operations: InodeOperations = { lookup: proc_root_lookup };

/** proc_ops of a seq file shown by `show` (proc_create_single). */
export function proc_single_ops(show: ShowFn): ProcOps {
  return {
    *proc_open(_t, _inode, file) {
      return single_open(file, show);
    },
    proc_read: seq_read,
    proc_lseek: seq_lseek,
    *proc_release(t, _inode, file) {
      return yield* single_release(t, file);
    },
  };
}

/**
 * /proc/sys (fs/proc/proc_sysctl.c), the sysctls scripts read: fs.nr_open
 * and fs.inotify.* as the kernel's configuration holds them. Each is a
 * root-owned 0644 file that prints its value on one line; writing one is
 * not modelled (a script's user may not anyway).
 */
function proc_sys_init(k: Kernel): void {
  const sys = proc_mkdir(k, null, 'sys', null);
  const fs = proc_mkdir(k, null, 'fs', sys);
  const inotify = proc_mkdir(k, null, 'inotify', fs);
  // proc_sys_read(): proc_dointvec formats the value into the buffer at position 0 only; a read anywhere else returns 0.
  const value = (get: () => number): ProcOps => ({
    *proc_read(_t, file, len, buf) {
      if (file.f_pos !== 0) return 0;
      const text = Buffer.from(`${get()}\n`, 'utf8');
      const n = Math.min(len, text.length);
      if (buf) for (let i = 0; i < n; i++) buf.sum += text[i]!;
      io_push_bytes(buf, text, 0, n);
      file.f_pos = n;
      return n;
    },
    // default_llseek() on a file of size 0.
    *proc_lseek(_t, file, offset, whence) {
      const pos = whence === 1 ? loffAdd(file.f_pos, offset) : whence === 0 || whence === 2 ? offset : -1;
      if (pos < 0) return -EINVAL;
      file.f_pos = pos;
      return pos;
    },
  });
  const kc = k.cfg.kernel;
  proc_create(k, null, 'nr_open', 0o644, fs, value(() => kc.nr_open));
  proc_create(k, null, 'max_queued_events', 0o644, inotify, value(() => kc.inotify_max_queued_events));
  proc_create(k, null, 'max_user_instances', 0o644, inotify, value(() => kc.inotify_max_user_instances));
  proc_create(k, null, 'max_user_watches', 0o644, inotify, value(() => kc.inotify_max_user_watches));
  // Sysctl directories are proc_sysctl's inodes, which count one link.
  for (const d of [sys, fs, inotify]) if (d) d.nlink = 1;
}

/** proc_root_init(): mount procfs on the memfs root's /proc and register the kernel's entries. */
export function proc_root_init(k: Kernel): void {
  const v = vfsOf(k);
  const sb = proc_super(k);
  const root = new_inode(k, null, sb) as ProcInode;
  root.i_mode = S_IFDIR | 0o555;
  root.i_nlink = 2;
  root.pde = procRegistry(k).root;
  root.i_op = proc_root_inode_operations;
  root.i_fop = proc_dir_operations;
  sb.s_root = d_make_root(k, root);
  const at = v.rootMnt.mnt_root.d_children.get('proc');
  if (!at) throw new Error('proc_root_init: the root file system has no /proc directory');
  do_add_mount(k, sb, v.rootMnt, at);
  proc_create(k, null, 'meminfo', 0o444, null, proc_single_ops(meminfo_show));
  proc_sys_init(k);
  proc_create(k, null, 'vmstat', 0o444, null, proc_single_ops(vmstat_show));
}
