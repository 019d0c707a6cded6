/**
 * /proc/PID and /proc/self, after fs/proc/base.c, with the files this
 * simulator shows: status (fs/proc/array.c: identity and the Vm* figures,
 * VmRSS and VmSwap among them, from the mm's rss counters) and maps
 * (fs/proc/task_mmu.c: one line per area).
 *
 * A PID directory exists while its thread group leader has not exited.
 * "self" is a symbolic link whose body is the caller's thread group id
 * (fs/proc/self.c proc_self_get_link), so the walk goes on to that directory.
 * Their inodes are made per lookup (proc_pid_make_inode) and, like every
 * proc inode, freed through call_rcu once unused.
 */
import { loffAdd, type loff_t } from '../loff.js';
import type { Blocking, Task } from '../../../sim/task.js';
import { TaskState } from '../../../sim/task.js';
import { EINVAL, ENOENT, ESRCH } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import {
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  PAGE_SIZE,
  type MmStruct,
} from '../../mm/mm_types.js';
import { current, type TaskStruct } from '../../sched/task_struct.js';
import { d_add, type Dentry, type DentryOperations } from '../dcache.js';
import type { File, FileOperations, FilePos, IoBuf, OwnDirEntries } from '../file_table.js';
import type { FilesStruct } from '../file.js';
import { new_inode, S_IFDIR, S_IFLNK, S_IFREG, type Inode, type InodeOperations } from '../inode.js';
import { seq_lseek, seq_read, single_open, single_release, type SeqBuf, type ShowFn } from '../seq_file.js';
import { file_vfs, type OpenableFileOperations } from '../vfs_file.js';
import { pagemap_read, show_map_vma, smaps_rollup_show, smaps_show } from './task_mmu.js';
import { proc_task, stat_show, statm_show, task_comm, task_state_char } from './array.js';
import { cmdline_fops, comm_fops, environ_fops, limits_show, pid_link_iops } from './pid_files.js';
import { proc_dentry_operations, proc_dir_operations, ProcInode } from './inode.js';
import { PID_FD_DIRS } from './fd.js';

/**
 * The user task `pid` (find_task_by_pid_ns: a process's leader, or any of
 * its threads by tid), if it exists and has not exited.
 */
function find_live_task(k: Kernel, pid: number): TaskStruct | null {
  const ts = k.findTask(pid);
  if (!ts || ts.kernelThread) return null;
  if (ts.task && ts.task.state === TaskState.Done) return null;
  return ts;
}

/** name_to_int(): a decimal without leading zeros, or -1. */
function name_to_int(name: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(name)) return -1;
  const n = Number(name);
  return n <= 0x7fffffff ? n : -1;
}

function kb(pages: number): string {
  return `${String(Math.round((pages * PAGE_SIZE) / 1024)).padStart(8)} kB`;
}

/** proc_pid_status() (task_state + task_mem). */
function status_show(pid: number): ShowFn {
  return (t, m) => {
    const k = t.k;
    const ts = proc_task(k, pid);
    if (!ts) return -ESRCH;
    const threads = ts.group.filter((x) => !x.task || x.task.state !== TaskState.Done).length;
    // proc_task_name(escape): a newline and a backslash of the name escaped (seq_escape_str with "\n\\").
    m.latin1 = true;
    m.line(`Name:\t${task_comm(ts).replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'))}`);
    m.line(`Umask:\t${ts.umask.toString(8).padStart(4, '0')}`);
    m.line(`State:\t${task_state_char(ts) === 'R' ? 'R (running)' : 'S (sleeping)'}`);
    m.line(`Tgid:\t${ts.tgid}`);
    m.line(`Pid:\t${ts.pid}`);
    m.line(`PPid:\t${ts.parent ? ts.parent.tgid : 0}`);
    const uid = ts.cred.uid;
    m.line(`Uid:\t${uid}\t${uid}\t${uid}\t${uid}`);
    m.line(`Gid:\t${uid}\t${uid}\t${uid}\t${uid}`);
    const files = ts.files as FilesStruct | null;
    m.line(`FDSize:\t${files ? files.fdt.max_fds : 0}`);
    const mm = ts.mm;
    if (mm) task_mem(t, m, mm);
    m.line(`Threads:\t${threads}`);
  };
}

/** task_mem(): the Vm* lines. */
function task_mem(t: Task, m: SeqBuf, mm: MmStruct): void {
  const k = t.k;
  k.touch(t, mm.kaddr, false);
  const anon = mm.rss[MM_ANONPAGES]!;
  const file = mm.rss[MM_FILEPAGES]!;
  const shmem = mm.rss[MM_SHMEMPAGES]!;
  m.line(`VmSize:\t${kb(mm.totalVm)}`);
  m.line(`VmLck:\t${kb(mm.lockedVm)}`);
  m.line(`VmRSS:\t${kb(anon + file + shmem)}`);
  m.line(`RssAnon:\t${kb(anon)}`);
  m.line(`RssFile:\t${kb(file)}`);
  m.line(`RssShmem:\t${kb(shmem)}`);
  m.line(`VmData:\t${kb(mm.dataVm)}`);
  m.line(`VmStk:\t${kb(mm.stackVm)}`);
  m.line(`VmExe:\t${kb(mm.execVm)}`);
  m.line(`VmPTE:\t${String(Math.floor(mm.pgtablesBytes / 1024)).padStart(8)} kB`);
  m.line(`VmSwap:\t${kb(mm.rss[MM_SWAPENTS]!)}`);
}

/** show_map_vma() for every area, in address order. */
function maps_show(pid: number): ShowFn {
  return (t, m) => {
    const k = t.k;
    // m_start(): the task first (ESRCH once it is gone), then its mm.
    const ts = proc_task(k, pid);
    if (!ts) return -ESRCH;
    const mm = ts.mm;
    if (!mm) return undefined;
    for (const vma of mm.vmas) {
      k.touch(t, vma.kaddr, false);
      show_map_vma(m, vma);
    }
  };
}

function seq_fops(which: (pid: number) => ShowFn): OpenableFileOperations {
  return {
    name: 'proc_pid_seq',
    *open(_t: Task, inode: Inode, file: File): Blocking<number> {
      return single_open(file, which((inode as ProcInode).pid));
    },
    read: seq_read,
    llseek: seq_lseek,
    release: single_release,
  };
}

/** Operations made per pid (comm's write needs none of the inode's state beyond its pid), opened through the inode's pid. */
function pid_fops_of(make: (pid: number) => OpenableFileOperations): OpenableFileOperations {
  const proto = make(0);
  return {
    ...proto,
    *open(t: Task, inode: Inode, file: File): Blocking<number> {
      return yield* make((inode as ProcInode).pid).open!(t, inode, file);
    },
  };
}

/** /proc/PID/pagemap (proc_pagemap_operations): binary entries read at the file position. */
const pagemap_fops: OpenableFileOperations = {
  name: 'proc_pagemap',
  *open(): Blocking<number> {
    return 0;
  },
  noReadIter: true,
  read(t: Task, file: File, len: number, buf: IoBuf | null, ppos?: FilePos): Blocking<number> {
    return pagemap_read(t, file, (file_vfs(file).inode as ProcInode).pid, len, buf, ppos);
  },
  // mem_lseek(): SEEK_SET and SEEK_CUR, any offset.
  *llseek(_t: Task, file: File, offset: loff_t, whence: number): Blocking<loff_t> {
    if (whence === 1) offset = loffAdd(file.f_pos, offset);
    else if (whence !== 0) return -EINVAL;
    file.f_pos = offset;
    return offset;
  },
};

/** A regular file of a PID directory: its mode and its operations for the process's directory or a thread's. */
interface PidEntry {
  mode: number;
  fops: (tid: boolean) => OpenableFileOperations;
}

const same = (f: OpenableFileOperations) => (): OpenableFileOperations => f;

/** The files of a PID directory with their modes (the tgid_base_stuff / tid_base_stuff entries this simulator has). */
const PID_ENTRIES: Readonly<Record<string, PidEntry>> = {
  // REG("environ", S_IRUSR, ...).
  environ: { mode: 0o400, fops: same(environ_fops) },
  status: { mode: 0o444, fops: same(seq_fops(status_show)) },
  limits: { mode: 0o444, fops: same(seq_fops(limits_show)) },
  comm: { mode: 0o644, fops: same(pid_fops_of(comm_fops)) },
  cmdline: { mode: 0o444, fops: same(cmdline_fops) },
  // ONE("stat", ..., proc_tgid_stat) in a process's directory, proc_tid_stat in a thread's.
  stat: { mode: 0o444, fops: (tid) => (tid ? tid_stat_fops : tgid_stat_fops) },
  statm: { mode: 0o444, fops: same(seq_fops(statm_show)) },
  maps: { mode: 0o444, fops: same(seq_fops(maps_show)) },
  smaps: { mode: 0o444, fops: same(seq_fops(smaps_show)) },
  smaps_rollup: { mode: 0o444, fops: same(seq_fops(smaps_rollup_show)) },
  // REG("pagemap", S_IRUSR, ...).
  pagemap: { mode: 0o400, fops: same(pagemap_fops) },
};

const tgid_stat_fops = seq_fops((pid) => stat_show(pid, true));
const tid_stat_fops = seq_fops((pid) => stat_show(pid, false));

/** The links of a PID directory (LNK: mode 0777). */
const PID_LINKS: Readonly<Record<string, InodeOperations>> = {
  cwd: pid_link_iops('cwd'),
  root: pid_link_iops('root'),
  exe: pid_link_iops('exe'),
};

/**
 * tgid_base_stuff and tid_base_stuff as the host's 6.18 build has them (its
 * `ls -f /proc/self`, `/proc/self/task/TID`): a directory lists the entries
 * the model has in this order, each at position 2 + its index here
 * (proc_pident_readdir), the end at 2 + the table's length.
 */
const TGID_BASE_ORDER = (
  'task fd map_files fdinfo ns net environ auxv status personality limits sched autogroup timens_offsets comm syscall cmdline stat statm ' +
  'maps numa_maps mem cwd root exe mounts mountinfo mountstats clear_refs smaps smaps_rollup pagemap attr wchan stack schedstat cpuset ' +
  'cgroup oom_score oom_adj oom_score_adj loginuid sessionid coredump_filter io uid_map gid_map projid_map setgroups timers timerslack_ns ' +
  'arch_status ksm_merging_pages ksm_stat'
).split(' ');
const TID_BASE_ORDER = (
  'fd fdinfo ns net environ auxv status personality limits sched comm syscall cmdline stat statm maps children numa_maps mem cwd root exe ' +
  'mounts mountinfo clear_refs smaps smaps_rollup pagemap attr wchan stack schedstat cpuset cgroup oom_score oom_adj oom_score_adj loginuid ' +
  'sessionid io uid_map gid_map projid_map setgroups arch_status ksm_merging_pages ksm_stat'
).split(' ');

/** Whether the model has the entry `name` of a PID directory. */
function has_entry(name: string, tid: boolean): boolean {
  return name in PID_ENTRIES || name in PID_LINKS || name in PID_FD_DIRS || (name === 'task' && !tid);
}

/** proc_pident_readdir(): the entries the model has, in the table's order and at its positions; ENOENT once the task is gone. */
function pident_readdir(tid: boolean): FileOperations['iterate_shared'] {
  const order = tid ? TID_BASE_ORDER : TGID_BASE_ORDER;
  return (t: Task, file: File): OwnDirEntries | number => {
    if (!find_live_task(t.k, (file_vfs(file).inode as ProcInode).pid)) return -ENOENT;
    const names: string[] = [];
    const pos: number[] = [];
    order.forEach((name, i) => {
      if (!has_entry(name, tid)) return;
      names.push(name);
      pos.push(i + 2);
    });
    return { names, pos, end: order.length + 2 };
  };
}

const proc_tgid_base_operations: FileOperations = { ...proc_dir_operations, name: 'proc_tgid_base', iterate_shared: pident_readdir(false) };
const proc_tid_base_operations: FileOperations = { ...proc_dir_operations, name: 'proc_tid_base', iterate_shared: pident_readdir(true) };

/** pid_entry_nlink(tgid_base_stuff): 2 and its directories (task, fd, map_files, fdinfo, ns, net, attr). */
const NLINK_TGID = 2 + 7;
/** pid_entry_nlink(tid_base_stuff): 2 and its directories (fd, fdinfo, ns, net, attr). */
const NLINK_TID = 2 + 5;

/** pid_dentry_operations: never cached once unused, and valid only while the task lives (pid_revalidate). */
const pid_dentry_operations: DentryOperations = {
  d_delete: () => true,
  d_revalidate: (t, d) => d.d_inode === null || find_live_task(t.k, (d.d_inode as ProcInode).pid) !== null,
};

/** proc_pid_make_inode(). */
function proc_pid_make_inode(t: Task, dir: Inode, pid: number, mode: number): ProcInode {
  const k = t.k;
  const inode = new_inode(k, t, dir.i_sb) as ProcInode;
  inode.pid = pid;
  inode.i_mode = mode;
  const ts = k.findTask(pid);
  inode.i_uid = ts ? ts.cred.uid : 0;
  inode.i_gid = inode.i_uid;
  return inode;
}

/**
 * proc_pident_lookup() over tgid_base_stuff (a /proc/PID directory) or
 * tid_base_stuff (a /proc/PID/task/TID one, which has no "task"): the
 * directory's task, `pid` (a tid for a thread's directory), must still run.
 */
function* pident_lookup(t: Task, dir: Inode, dentry: Dentry, tid: boolean): Blocking<number> {
  const k = dir.k;
  const pid = (dir as ProcInode).pid;
  t.charge(k.cfg.kernel.cost.kernel_op);
  const ts = find_live_task(k, pid);
  if (!ts) return -ENOENT;
  const name = dentry.d_name;
  const fdDir = PID_FD_DIRS[name];
  if (fdDir) {
    const inode = proc_pid_make_inode(t, dir, pid, fdDir.mode);
    inode.i_nlink = 2;
    inode.i_op = fdDir.i_op;
    inode.i_fop = fdDir.fops;
    dentry.d_op = pid_dentry_operations;
    d_add(dentry, inode);
    return 0;
  }
  if (name === 'task' && !tid) {
    const inode = proc_pid_make_inode(t, dir, pid, S_IFDIR | 0o555);
    inode.i_nlink = 2;
    inode.i_op = proc_task_inode_operations;
    inode.i_fop = proc_task_operations;
    dentry.d_op = pid_dentry_operations;
    d_add(dentry, inode);
    return 0;
  }
  const link = PID_LINKS[name];
  if (link) {
    const inode = proc_pid_make_inode(t, dir, pid, S_IFLNK | 0o777);
    inode.i_nlink = 1;
    inode.i_op = link;
    dentry.d_op = pid_dentry_operations;
    d_add(dentry, inode);
    return 0;
  }
  const ent = PID_ENTRIES[name];
  if (!ent) return -ENOENT;
  const inode = proc_pid_make_inode(t, dir, pid, S_IFREG | ent.mode);
  inode.i_nlink = 1;
  inode.i_fop = ent.fops(tid);
  dentry.d_op = pid_dentry_operations;
  d_add(dentry, inode);
  return 0;
}

/** proc_tgid_base_lookup(). */
function* pid_dir_lookup(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  return yield* pident_lookup(t, dir, dentry, false);
}

/** proc_tid_base_lookup(). */
function* tid_dir_lookup(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  return yield* pident_lookup(t, dir, dentry, true);
}

const pid_dir_inode_operations: InodeOperations = { lookup: pid_dir_lookup };
const proc_tid_base_inode_operations: InodeOperations = { lookup: tid_dir_lookup };

/** The threads of `ts`'s group that have not exited, leader first, in creation order (the signal's thread list). */
function live_threads(ts: TaskStruct): TaskStruct[] {
  return ts.group.filter((th) => !th.task || th.task.state !== TaskState.Done);
}

/**
 * proc_task_lookup(): a thread of the directory's process by its tid
 * (same_thread_group), as a directory of tid_base_stuff (proc_task_instantiate:
 * mode 0555, nlink_tid links).
 */
function* proc_task_lookup(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  const k = t.k;
  t.charge(k.cfg.kernel.cost.kernel_op);
  const leader = find_live_task(k, (dir as ProcInode).pid);
  const tid = name_to_int(dentry.d_name);
  const task = leader && tid > 0 ? find_live_task(k, tid) : null;
  if (!leader || !task || task.group !== leader.group) return -ENOENT;
  add_pid_dir(t, dir, dentry, tid, NLINK_TID, proc_tid_base_inode_operations, proc_tid_base_operations);
  return 0;
}

/** A /proc/PID or /proc/PID/task/TID directory for `pid` (proc_pid_instantiate, proc_task_instantiate). */
function add_pid_dir(t: Task, dir: Inode, dentry: Dentry, pid: number, nlink: number, iop: InodeOperations, fop: FileOperations): void {
  const inode = proc_pid_make_inode(t, dir, pid, S_IFDIR | 0o555);
  inode.i_nlink = nlink;
  inode.i_op = iop;
  inode.i_fop = fop;
  dentry.d_op = pid_dentry_operations;
  d_add(dentry, inode);
}

const proc_task_inode_operations: InodeOperations = {
  lookup: proc_task_lookup,
  /** proc_task_getattr(): 2 links plus the process's threads (get_nr_threads), counted when asked. */
  getattr(t: Task, inode: Inode, stat: { nlink: number }): void {
    const leader = find_live_task(t.k, (inode as ProcInode).pid);
    if (leader) stat.nlink += live_threads(leader).length;
  },
};

/** proc_task_readdir(): the tids of the process's live threads (first_tid, next_tid); ENOENT once the process is gone. */
const proc_task_operations: FileOperations = {
  ...proc_dir_operations,
  name: 'proc_task',
  iterate_shared(t: Task, file: File): OwnDirEntries | number {
    const k = t.k;
    const leader = find_live_task(k, (file_vfs(file).inode as ProcInode).pid);
    if (!leader) return -ENOENT;
    // Each name costs what getdents64's loop charges per record (kernel_op and the copy out).
    return { names: live_threads(leader).map((th) => String(th.pid)) };
  },
};

/** proc_self_get_link(): the caller's tgid as it appears in its pid namespace. */
const proc_self_inode_operations: InodeOperations = {
  get_link: (t) => String(current(t).tgid),
  readlink: (t) => String(current(t).tgid),
};

/** proc_thread_self_get_link(): the caller's tgid and tid, `TGID/task/TID`. */
const proc_thread_self_inode_operations: InodeOperations = {
  get_link: (t) => `${current(t).tgid}/task/${current(t).pid}`,
  readlink: (t) => `${current(t).tgid}/task/${current(t).pid}`,
};

/**
 * proc_pid_lookup(): "self", "thread-self" or a thread group id in the /proc root.
 * Returns 0 (dentry filled in) or -ENOENT.
 */
export function* proc_pid_lookup(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  const k = t.k;
  const name = dentry.d_name;
  t.charge(k.cfg.kernel.cost.kernel_op);
  if (name === 'self' || name === 'thread-self') {
    // proc_self_init(), proc_thread_self_init(): links of mode 0777 owned by root; each reader gets its own body.
    const inode = new_inode(k, t, dir.i_sb) as ProcInode;
    inode.i_mode = S_IFLNK | 0o777;
    inode.i_op = name === 'self' ? proc_self_inode_operations : proc_thread_self_inode_operations;
    dentry.d_op = proc_dentry_operations;
    d_add(dentry, inode);
    return 0;
  }
  // A thread's tid finds its own directory too (find_task_by_pid_ns), though readdir of /proc lists only processes.
  const tgid = name_to_int(name);
  if (tgid < 0 || !find_live_task(k, tgid)) return -ENOENT;
  add_pid_dir(t, dir, dentry, tgid, NLINK_TGID, pid_dir_inode_operations, proc_tgid_base_operations);
  return 0;
}
