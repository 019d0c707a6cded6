/**
 * Bringing up the VFS (vfs_caches_init, init_mount_tree and the boot-time
 * directories): a memfs root with /dev (a mount of its own: null, zero, full), /tmp (sticky, world
 * writable) and /proc, the open path registered with the fd table, the
 * mm's fget for file mappings, and each process's fs_struct.
 *
 * Every new process (not a fork child, which shares its parent's place)
 * starts in a fresh empty directory of its own, /tmp/kernsim.PID, owned by
 * it and mode 0700, the way the script runner gives each script an empty
 * working directory (for a script, /tmp/kernsim.PID/wd in a run directory
 * of root's, as the runner's); relative paths resolve there.
 */
import type { Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { mmCore } from '../mm/core.js';
import type { VmFile } from '../mm/mm_types.js';
import { current, type TaskStruct } from '../sched/task_struct.js';
import { dget_untimed, type Dentry } from './dcache.js';
import { full_fops, null_fops, zero_fops } from './fd_syscalls.js';
import { fcheck_files, type FilesStruct } from './file.js';
import { get_pipe_info } from './pipe.js';
import { alloc_fs_struct, set_fs } from './fs_struct.js';
import { S_IFCHR } from './inode.js';
import { memfs_fill_super, memfs_make_dir, memfs_make_node, type MemfsInode } from './memfs.js';
import { mount_in_place, mount_root, vfsOf, type VfsState } from './namespace.js';
import { register_vfs_open } from './open.js';
import { proc_root_init } from './proc/root.js';
import { FMODE_PATH, FMODE_READ, FMODE_WRITE, FMODE_WRITER } from './uapi_fcntl.js';
import { file_vfs_or_null, vfs_fops, VfsFile } from './vfs_file.js';

/**
 * The working directory a new process starts in, /tmp/kernsim.PID, its own.
 * For a script (VfsState.workdirInRunDir) it is /tmp/kernsim.PID/wd, in a
 * run directory of root's, mode 0700, as the host runner lays a script's
 * out (mkdtemp's directory, made by the runner as root, holding the op
 * list and the script's working directory, which is handed to the
 * script's user): that user cannot search the parent, so a name under ..
 * is EACCES, as on the host.
 */
function make_workdir(k: Kernel, ts: TaskStruct): Dentry {
  const v = vfsOf(k);
  const name = `kernsim.${ts.pid}`;
  if (!v.workdirInRunDir) return memfs_make_dir(k, v.workdirParent!, name, 0o700, ts.cred.uid);
  const run = memfs_make_dir(k, v.workdirParent!, name, 0o700, 0);
  return memfs_make_dir(k, run, 'wd', 0o700, ts.cred.uid);
}

/**
 * The fd table gives a new process fds 0-2 on one open of /dev/null made
 * before any path walk; give that file its place in the VFS (the /dev/null
 * dentry and inode), so that it behaves as an opened /dev/null does:
 * watchers of /dev/null see its writes and its last close. It was opened
 * before the process took its user's credentials (the host runner opens
 * it as root, then drops to the script's user), so its f_cred is root's:
 * linkat's LOOKUP_LINKAT_EMPTY refuses it as a dirfd (ENOENT), as on the
 * host.
 */
function attach_std_files(k: Kernel, leader: TaskStruct): void {
  const files = leader.files as FilesStruct | null;
  const f = files?.fdt.fd[0];
  if (!f || f.f_op !== null_fops || f.private_data !== null) return;
  const v = vfsOf(k);
  const devMnt = v.rootMnt.mnt_root.d_children.get('dev')?.d_mounted;
  const devnull = devMnt?.mnt_root.d_children.get('null');
  if (!devMnt || !devnull?.d_inode) return;
  dget_untimed(devnull);
  const inode = devnull.d_inode;
  f.private_data = new VfsFile(k, f, { mnt: devMnt, dentry: devnull }, inode, { ...leader.cred, uid: 0, capSysAdmin: true });
  f.f_op = vfs_fops(null_fops);
  f.f_inode = inode;
  if (f.f_mode & FMODE_WRITE) {
    inode.i_writecount++;
    f.f_mode |= FMODE_WRITER;
  }
}

/** A new process's fs_struct: the root, and a working directory of its own. */
export function fs_process_init(k: Kernel, leader: TaskStruct): void {
  const v = vfsOf(k);
  const pwd = make_workdir(k, leader);
  set_fs(leader, alloc_fs_struct(v.root, { mnt: v.rootMnt, dentry: pwd }));
  attach_std_files(k, leader);
}

/** The mm's fget for mmap: the file at fd as the mm sees it (no reference: the mapping takes its own). */
function mmap_fget(k: Kernel) {
  return (t: Task, fd: number): VmFile | null => {
    const files = current(t).files as FilesStruct | null;
    if (!files || fd < 0) return null;
    const f = fcheck_files(t, files, fd >>> 0);
    // fget() skips O_PATH files: mmap of one is EBADF.
    if (!f || f.f_mode & FMODE_PATH) return null;
    const v = file_vfs_or_null(f);
    if (v) return v;
    // A file the VFS did not open (inotify, the boot-time /dev/null): nothing to map (ENODEV).
    return {
      mapping: null as unknown as VmFile['mapping'],
      readable: (f.f_mode & FMODE_READ) !== 0,
      writable: (f.f_mode & FMODE_WRITE) !== 0,
      // anon_inode_getfile()'s files and pipes live on anon_inodefs and pipefs, pseudo file systems mounted SB_I_NOEXEC:
      // PROT_EXEC is EPERM before the missing ->mmap is ENODEV.
      noexec: f.path.startsWith('anon_inode:') || get_pipe_info(f) !== null,
    };
  };
}

/** vfs_init(): after mm_init. */
export function vfs_init(k: Kernel): VfsState {
  const sb = memfs_fill_super(k);
  const v = mount_root(k, sb);
  const root = sb.s_root!;
  const dev = memfs_make_dir(k, root, 'dev', 0o755, 0);
  // /dev is a mount of its own, as devtmpfs is on the host (link and rename between it and the rest are EXDEV). It is
  // modelled as a mount whose root is the boot-time directory itself: no second super block, so /dev's nodes stay
  // in the root file system's inode table and boot allocates nothing more.
  mount_in_place(k, v.rootMnt, dev);
  (dev.d_inode as MemfsInode).devtmpfs = true;
  memfs_make_node(k, dev, 'null', S_IFCHR | 0o666, null_fops);
  memfs_make_node(k, dev, 'zero', S_IFCHR | 0o666, zero_fops);
  memfs_make_node(k, dev, 'full', S_IFCHR | 0o666, full_fops);
  v.workdirParent = memfs_make_dir(k, root, 'tmp', 0o1777, 0);
  v.init_fs = alloc_fs_struct(v.root, v.root);
  memfs_make_dir(k, root, 'proc', 0o555, 0);
  proc_root_init(k);
  register_vfs_open(k);
  mmCore(k).hooks.fget = mmap_fget(k);
  return v;
}
