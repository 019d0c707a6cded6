/**
 * More of a /proc/PID directory, after fs/proc/base.c: comm (read and
 * written), cmdline, environ, limits and the cwd, root and exe links.
 *
 * - comm (0644): the task's name and a newline. A write takes at most
 *   TASK_COMM_LEN - 1 bytes of what it is given, up to a NUL, as the new
 *   name (a newline written stays in it), returns the whole count, and is
 *   EINVAL for a task of another process (comm_write); the file is a
 *   seq_file, so a pwrite is ESPIPE and SEEK_END is EINVAL.
 * - cmdline (0444) and environ (0400): the argument and environment
 *   strings the program's stack holds between mm->arg_start/arg_end and
 *   env_start/env_end. The model loads no program image, so those bounds
 *   are 0 and both read as empty (get_mm_cmdline and environ_read return 0
 *   when the bounds are empty), as a kernel thread's do.
 * - limits (0444): proc_pid_limits' table of the 16 resources.
 * - cwd and root: magic links (proc_cwd_link, proc_root_link) to the
 *   fs_struct's working directory and root; readlink gives their d_path.
 *   exe (proc_exe_link) is the mm's exe_file, which the model does not
 *   keep: ENOENT, as for a task without one.
 */
import type { loff_t } from '../loff.js';
import type { Blocking, Task } from '../../../sim/task.js';
import { EINVAL, ENOENT, ESRCH } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import { TASK_COMM_LEN, type TaskStruct } from '../../sched/task_struct.js';
import { RLIM_NLIMITS, task_rlimit } from '../../sys.js';
import { d_path, type Dentry, type Path } from '../dcache.js';
import type { File, FilePos, IoBuf } from '../file_table.js';
import type { Inode, InodeOperations } from '../inode.js';
import { generic_file_llseek_size } from '../read_write.js';
import { seq_lseek, seq_read, single_open, single_release, type SeqBuf, type ShowFn } from '../seq_file.js';
import { file_vfs, type OpenableFileOperations } from '../vfs_file.js';
import { MAX_LFS_FILESIZE } from '../inode.js';
import { proc_task, same_thread_group, task_comm } from './array.js';
import type { ProcInode } from './inode.js';

/** proc_pid_comm_show(). */
function comm_show(pid: number): ShowFn {
  return (t: Task, m: SeqBuf) => {
    const ts = proc_task(t.k, pid);
    if (!ts) return -ESRCH;
    m.latin1 = true;
    m.line(task_comm(ts));
    return undefined;
  };
}

/**
 * comm_write(): `len` bytes of `byte`; the name becomes the first
 * TASK_COMM_LEN - 1 of them up to a NUL (set_task_comm copies a string).
 */
function* comm_write(t: Task, file: File, len: number, byte: number): Blocking<number> {
  const k = t.k;
  const ts = proc_task(k, (file_vfs(file).inode as ProcInode).pid);
  if (!ts) return -ESRCH;
  if (!same_thread_group(t, ts)) return -EINVAL;
  const n = byte === 0 ? 0 : Math.min(len, TASK_COMM_LEN - 1);
  // copy_from_user of the bytes, then __set_task_comm under task_lock.
  t.charge(k.cfg.kernel.cost.kernel_op);
  ts.comm = String.fromCharCode(byte & 0xff).repeat(n);
  return len;
}

export const comm_fops: (pid: number) => OpenableFileOperations = (pid) => ({
  name: 'proc_pid_set_comm',
  *open(_t: Task, _inode: Inode, file: File): Blocking<number> {
    return single_open(file, comm_show(pid));
  },
  read: seq_read,
  write: comm_write,
  llseek: seq_lseek,
  release: single_release,
});

/**
 * proc_pid_cmdline_read(): ESRCH once the task is gone; otherwise the
 * strings between arg_start and arg_end, none in the model's memory.
 */
function* cmdline_read(t: Task, file: File): Blocking<number> {
  const ts = proc_task(t.k, (file_vfs(file).inode as ProcInode).pid);
  if (!ts) return -ESRCH;
  // get_mm_cmdline(): the bounds are read under arg_lock.
  if (ts.mm) t.k.touch(t, ts.mm.kaddr, false);
  return 0;
}

/** environ_read(): the mm taken at open, whatever became of the task; no environment strings in the model's memory. */
function* environ_read(t: Task, file: File): Blocking<number> {
  const ts = t.k.findTask((file_vfs(file).inode as ProcInode).pid);
  const mm = ts?.group[0]?.mm ?? ts?.mm;
  if (mm) t.k.touch(t, mm.kaddr, false);
  return 0;
}

/** generic_llseek / generic_file_llseek on a proc inode of size 0. */
function* zero_size_llseek(_t: Task, file: File, offset: loff_t, whence: number): Blocking<loff_t> {
  return generic_file_llseek_size(file, offset, whence, MAX_LFS_FILESIZE, 0);
}

export const cmdline_fops: OpenableFileOperations = {
  name: 'proc_pid_cmdline',
  *open(): Blocking<number> {
    return 0;
  },
  read: cmdline_read as (t: Task, file: File, len: number, buf: IoBuf | null, ppos?: FilePos) => Blocking<number>,
  noReadIter: true,
  llseek: zero_size_llseek,
};

/** environ_open(): proc_mem_open takes the task's mm (PTRACE_MODE_READ: the model's processes may read their own). */
export const environ_fops: OpenableFileOperations = {
  ...cmdline_fops,
  name: 'proc_environ',
  read: environ_read as (t: Task, file: File, len: number, buf: IoBuf | null, ppos?: FilePos) => Blocking<number>,
  *open(t: Task, inode: Inode): Blocking<number> {
    return proc_task(t.k, (inode as ProcInode).pid) ? 0 : -ESRCH;
  },
};

/** lnames[] of fs/proc/base.c: each resource's name and unit, in resource order. */
const LIMIT_NAMES: readonly (readonly [string, string])[] = [
  ['Max cpu time', 'seconds'],
  ['Max file size', 'bytes'],
  ['Max data size', 'bytes'],
  ['Max stack size', 'bytes'],
  ['Max core file size', 'bytes'],
  ['Max resident set', 'bytes'],
  ['Max processes', 'processes'],
  ['Max open files', 'files'],
  ['Max locked memory', 'bytes'],
  ['Max address space', 'bytes'],
  ['Max file locks', 'locks'],
  ['Max pending signals', 'signals'],
  ['Max msgqueue size', 'bytes'],
  ['Max nice priority', ''],
  ['Max realtime priority', ''],
  ['Max realtime timeout', 'us'],
];

function limit_value(v: number): string {
  return (v === Infinity ? 'unlimited' : String(v)).padEnd(20);
}

/** proc_pid_limits(): a header and one row per resource (name %-25s, soft and hard %-20s, unit %-10s). */
export function limits_show(pid: number): ShowFn {
  return (t: Task, m: SeqBuf) => {
    const k = t.k;
    const ts = proc_task(k, pid);
    if (!ts) return -ESRCH;
    m.line(`${'Limit'.padEnd(25)} ${'Soft Limit'.padEnd(20)} ${'Hard Limit'.padEnd(20)} ${'Units'.padEnd(10)}`);
    for (let r = 0; r < RLIM_NLIMITS; r++) {
      const lim = task_rlimit(k, ts, r);
      const [name, unit] = LIMIT_NAMES[r]!;
      m.line(`${name.padEnd(25)} ${limit_value(lim.cur)} ${limit_value(lim.max)} ${unit ? unit.padEnd(10) : ''}`);
    }
    return undefined;
  };
}

/** The task's fs_struct (a thread's is its leader's), or null once released. */
function task_fs_or_null(ts: TaskStruct) {
  return ts.fs ?? ts.group[0]?.fs ?? null;
}

/** proc_cwd_link / proc_root_link / proc_exe_link: the path the link leads to, or -errno. */
function pid_link_path(k: Kernel, pid: number, which: 'cwd' | 'root' | 'exe'): Path | number {
  const ts = proc_task(k, pid);
  if (!ts) return -ENOENT;
  if (which === 'exe') return -ENOENT;
  const fs = task_fs_or_null(ts);
  if (!fs) return -ENOENT;
  return which === 'cwd' ? fs.pwd : fs.root;
}

/** The inode operations of the cwd, root and exe links (proc_pid_link_inode_operations). */
export function pid_link_iops(which: 'cwd' | 'root' | 'exe'): InodeOperations {
  return {
    get_link(t: Task, _dentry: Dentry, inode: Inode): string | Path | number {
      t.charge(t.k.cfg.kernel.cost.kernel_op);
      return pid_link_path(t.k, (inode as ProcInode).pid, which);
    },
    readlink(t: Task, dentry: Dentry): string | number {
      t.charge(t.k.cfg.kernel.cost.kernel_op);
      const p = pid_link_path(t.k, (dentry.d_inode as ProcInode).pid, which);
      return typeof p === 'number' ? p : d_path(p);
    },
  };
}

