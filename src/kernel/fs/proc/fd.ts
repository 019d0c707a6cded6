/**
 * /proc/PID/fd and /proc/PID/fdinfo, after fs/proc/fd.c.
 *
 * fd/N is a "magic" symbolic link: reading it gives the path of the open
 * file (d_path, " (deleted)" once unlinked; an anonymous file's name such
 * as anon_inode:inotify), and following it jumps to that file's own path
 * (proc_fd_link, nd_jump_link), so an open of it is a new open file
 * description of the same file, checked as any open is. Its mode says how
 * the fd was opened (tid_fd_update_inode: r-x for reading, -wx for writing,
 * none for O_PATH) and its size is 64. An anonymous inode (inotify,
 * eventfd) belongs to root with mode 0600, so an ordinary user cannot
 * reopen one (EACCES; O_PATH can). A pipe's link leads to its pipefs
 * inode (S_IFIFO, the creator's, 0600): an open is fifo_open, a new reader
 * or writer of the same pipe.
 *
 * fdinfo/N (seq_show) prints pos, flags (octal, with O_CLOEXEC when the fd
 * has it), mnt_id and ino, then the file's own lines (inotify: one per
 * watch, newest first; eventfd: its count, id and mode).
 */
import type { loff_t } from '../loff.js';
import type { Blocking, Task } from '../../../sim/task.js';
import { ENOENT, ENXIO } from '../../errno.js';
import { rcu_read_lock, rcu_read_unlock } from '../../rcu/tree.js';
import { d_add, d_path, type Dentry, type Path } from '../dcache.js';
import { fcheck_files, get_close_on_exec_of, type FilesStruct } from '../file.js';
import type { File, FileOperations, OwnDirEntries } from '../file_table.js';
import { new_inode, S_IFDIR, S_IFLNK, S_IFREG, type Inode, type InodeOperations } from '../inode.js';
import { inotify_group_of, InotifyInodeMark } from '../notify/inotify_user.js';
import { seq_lseek, seq_read, single_open, single_release, type SeqBuf } from '../seq_file.js';
import { FMODE_PATH, FMODE_READ, FMODE_WRITE, O_CLOEXEC } from '../uapi_fcntl.js';
import { file_vfs, file_vfs_or_null, type OpenableFileOperations } from '../vfs_file.js';
import { eventfd_fdinfo } from '../eventfd.js';
import { MemfsInode } from '../memfs.js';
import { lease_view } from '../fcntl.js';
import { show_fd_locks } from '../locks_show.js';
import { get_pipe_info, pipe_inode_path } from '../pipe.js';
import { anon_inode_path } from '../anon_inodes.js';
import { proc_dentry_operations, proc_dir_operations, type ProcInode } from './inode.js';

/** The file at `fd` of task `pid`'s table (rcu_read_lock around fcheck_files), or null. */
function fd_file(t: Task, pid: number, fd: number): { file: File; files: FilesStruct } | null {
  const k = t.k;
  const ts = k.findTask(pid);
  const files = ts?.files as FilesStruct | null | undefined;
  if (!files) return null;
  rcu_read_lock(t);
  const file = fcheck_files(t, files, fd);
  rcu_read_unlock(t);
  return file ? { file, files } : null;
}

/** name_to_int() for an fd: a decimal without leading zeros ("0" itself allowed), or -1. */
function fd_of_name(name: string): number {
  if (!/^(0|[1-9][0-9]{0,9})$/.test(name)) return -1;
  const n = Number(name);
  return n <= 0x7fffffff ? n : -1;
}

/** proc_fd_link() as ->get_link: the open file's path to jump to. */
function proc_fd_get_link(t: Task, _dentry: Dentry, inode: Inode): string | Path | number {
  const p = inode as ProcInode;
  const f = fd_file(t, p.pid, p.fd);
  if (!f) return -ENOENT;
  const v = file_vfs_or_null(f.file);
  if (v) return v.path;
  if (f.file.path.startsWith('anon_inode:')) return anon_inode_path(t);
  const pipe = get_pipe_info(f.file);
  if (pipe) return pipe_inode_path(t, pipe);
  return -ENXIO;
}

/** do_proc_readlink(): the open file's path as d_path prints it. */
function proc_fd_readlink(t: Task, dentry: Dentry): string | number {
  const p = dentry.d_inode as ProcInode;
  const f = fd_file(t, p.pid, p.fd);
  if (!f) return -ENOENT;
  const v = file_vfs_or_null(f.file);
  // A pipe's name comes from pipefs's d_dname, for a reopened one too.
  if (get_pipe_info(f.file)) return 'pipe:';
  return v ? d_path(v.path) : f.file.path;
}

const proc_fd_link_inode_operations: InodeOperations = { get_link: proc_fd_get_link, readlink: proc_fd_readlink };

/** A 32-bit number as its little-endian bytes in hex (a file handle's words). */
function le32(n: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += ((n >>> (8 * i)) & 0xff).toString(16).padStart(2, '0');
  return s;
}

/**
 * exportfs_encode_fid() of a watched inode as inotify_fdinfo prints it:
 * ext4's FILEID_INO32_GEN (8 bytes: ino, generation) for the tree's files;
 * shmem_encode_fh (12 bytes, type 1: generation, ino, ino >> 32) for a
 * tmpfs inode (a memfd, /dev's devtmpfs); and for a file system without
 * export operations (proc, anon_inodefs, pipefs) exportfs_encode_ino64_fid
 * (12 bytes, FILEID_INO64_GEN 0x81: the 64-bit ino, generation). ext4 and
 * tmpfs draw i_generation at random (the model keeps 0; scripts mask the
 * handle); procfs's is 0.
 */
function fid_of(inode: Inode): string {
  const ino = inode.i_ino;
  const hi = Math.floor(ino / 0x100000000);
  if (inode instanceof MemfsInode) {
    if (inode.shmem || inode.devtmpfs) return `fhandle-bytes:c fhandle-type:1 f_handle:${le32(0)}${le32(ino)}${le32(hi)}`;
    return `fhandle-bytes:8 fhandle-type:1 f_handle:${le32(ino)}${le32(0)}`;
  }
  return `fhandle-bytes:c fhandle-type:81 f_handle:${le32(ino)}${le32(hi)}${le32(0)}`;
}

/** inotify_fdinfo prints the super block's s_dev, the kernel's own dev_t (major << 20 | minor), in hex. */
function sdev_of(inode: Inode): string {
  return inode.i_sb.s_dev.toString(16);
}

/** fdinfo's seq_show(). */
function fdinfo_show(pid: number, fd: number): (t: Task, m: SeqBuf) => void {
  return (t, m) => {
    const k = t.k;
    const f = fd_file(t, pid, fd);
    if (!f) return;
    const file = f.file;
    k.touch(t, file.addr, false);
    let flags = file.f_flags;
    if (get_close_on_exec_of(t, f.files, fd)) flags |= O_CLOEXEC;
    const v = file_vfs_or_null(file);
    m.line(`pos:\t${file.f_pos}`);
    m.line(`flags:\t0${(flags >>> 0).toString(8)}`);
    m.line(`mnt_id:\t${v ? v.path.mnt.mnt_id : 0}`);
    m.line(`ino:\t${v ? v.inode.i_ino : 0}`);
    show_fd_locks(t, m, file, f.files, lease_view(file));
    const group = inotify_group_of(file);
    if (group) {
      // inotify_fdinfo(): the group's marks, newest first (list_add at the head of marks_list).
      for (let i = group.marks.length - 1; i >= 0; i--) {
        const mark = group.marks[i]!;
        if (!(mark instanceof InotifyInodeMark) || !mark.inode || mark.wd < 0) continue;
        const inode = mark.inode;
        m.line(
          `inotify wd:${mark.wd.toString(16)} ino:${inode.i_ino.toString(16)} sdev:${sdev_of(inode)} mask:${(mark.mask & 0xfff).toString(16)} ignored_mask:0 ` +
            fid_of(inode),
        );
      }
    }
    eventfd_fdinfo(file, m);
  };
}

function fdinfo_fops(pid: number, fd: number): OpenableFileOperations {
  return {
    name: 'proc_fdinfo',
    *open(_t: Task, _inode: Inode, file: File): Blocking<number> {
      return single_open(file, fdinfo_show(pid, fd));
    },
    read: seq_read,
    llseek: seq_lseek,
    release: single_release,
  };
}

/** proc_fd_instantiate() / proc_fdinfo_instantiate(). */
function* proc_lookupfd_common(t: Task, dir: Inode, dentry: Dentry, info: boolean): Blocking<number> {
  const k = t.k;
  const pid = (dir as ProcInode).pid;
  t.charge(k.cfg.kernel.cost.kernel_op);
  const fd = fd_of_name(dentry.d_name);
  const f = fd < 0 ? null : fd_file(t, pid, fd);
  if (!f) return -ENOENT;
  const inode = new_inode(k, t, dir.i_sb) as ProcInode;
  inode.pid = pid;
  inode.fd = fd;
  inode.i_uid = dir.i_uid;
  inode.i_gid = dir.i_gid;
  if (info) {
    inode.i_mode = S_IFREG | 0o444;
    inode.i_fop = fdinfo_fops(pid, fd);
  } else {
    const fm = f.file.f_mode;
    let mode = S_IFLNK;
    if (!(fm & FMODE_PATH)) {
      if (fm & FMODE_READ) mode |= 0o500;
      if (fm & FMODE_WRITE) mode |= 0o300;
    }
    inode.i_mode = mode;
    inode.i_size = 64;
    inode.i_op = proc_fd_link_inode_operations;
  }
  dentry.d_op = proc_dentry_operations;
  d_add(dentry, inode);
  return 0;
}

function* proc_lookupfd(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  return yield* proc_lookupfd_common(t, dir, dentry, false);
}

function* proc_lookupfdinfo(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  return yield* proc_lookupfd_common(t, dir, dentry, true);
}

/** bitmap_weight(open_fds): the open fds of a table. */
function open_fd_count(files: FilesStruct | null | undefined): number {
  if (!files) return 0;
  let n = 0;
  for (const b of files.fdt.open_fds) n += b;
  return n;
}

/** proc_fd_getattr(): the size of fd/ is the number of open fds, counted when asked. */
function proc_fd_getattr(t: Task, inode: Inode, stat: { size: loff_t }): void {
  stat.size = open_fd_count(t.k.findTask((inode as ProcInode).pid)?.files as FilesStruct | null | undefined);
}

/**
 * proc_readfd_common(): the task's open fds in ascending order, by name
 * (fget_task_next reads each slot of the table under RCU), each at
 * position fd + 2, the end at the table's size + 2; ENOENT once the task
 * is gone.
 */
function proc_readfd(t: Task, file: File): OwnDirEntries | number {
  const pid = (file_vfs(file).inode as ProcInode).pid;
  const files = t.k.findTask(pid)?.files as FilesStruct | null | undefined;
  if (!files) return -ENOENT;
  const names: string[] = [];
  const pos: number[] = [];
  rcu_read_lock(t);
  for (let fd = 0; fd < files.fdt.max_fds; fd++) {
    if (!fcheck_files(t, files, fd)) continue;
    names.push(String(fd));
    pos.push(fd + 2);
  }
  rcu_read_unlock(t);
  return { names, pos, end: files.fdt.max_fds + 2 };
}

/** proc_fd_operations / proc_fdinfo_file_operations: a directory listing the open fds. */
const proc_fd_operations: FileOperations = { ...proc_dir_operations, name: 'proc_fd', iterate_shared: proc_readfd };

/** The PID directory's fd (mode 0500) and fdinfo (0555) directories. */
export const PID_FD_DIRS: Readonly<Record<string, { mode: number; i_op: InodeOperations; fops: FileOperations }>> = {
  fd: { mode: S_IFDIR | 0o500, i_op: { lookup: proc_lookupfd, getattr: proc_fd_getattr }, fops: proc_fd_operations },
  fdinfo: { mode: S_IFDIR | 0o555, i_op: { lookup: proc_lookupfdinfo }, fops: proc_fd_operations },
};

