/**
 * Mounting procfs, after fs/proc/root.c: the proc super block (proc_fill_super),
 * its root inode standing for the registry's root entry, mounted on /proc,
 * whose lookup tries the registered entries first and then the PID
 * directories (proc_root_lookup); and the entries every kernel has,
 * /proc/meminfo and /proc/vmstat.
 */
import { loffAdd } from '../loff.js';
import type { Blocking, Task } from '../../../sim/task.js';
import { EINVAL, ENOENT } from '../../errno.js';
import { lease_break_time, leases_enable } from '../locks_lease.js';
import { file_vfs } from '../vfs_file.js';
import type { Kernel } from '../../kernel.js';
import { d_add, type Dentry } from '../dcache.js';
import { new_inode, S_IFDIR, S_IFREG, type Inode, type InodeOperations } from '../inode.js';
import { io_push_bytes, type File, type IoBuf } from '../file_table.js';
import { locks_show } from '../locks_show.js';
import type { OpenableFileOperations } from '../vfs_file.js';
import { d_make_root } from '../dcache.js';
import { do_add_mount, vfsOf } from '../namespace.js';
import { seq_lseek, seq_read, single_open, single_release, type ShowFn, type TextBuf } from '../seq_file.js';
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
 * proc_dointvec's write of one int (kernel/sysctl.c __do_proc_dointvec,
 * proc_get_long): at a position other than 0 nothing is parsed and the
 * whole count is taken (sysctl_writes_strict); otherwise leading white
 * space, an optional `-`, a number in base 0 (0x hex, 0 octal, decimal)
 * that fits an int, then only white space, a tab or a newline may follow
 * it; the count returned is what was parsed plus the white space after it
 * (the rest of "8 9" is left). Nothing to parse, a `+`, trailing junk or
 * an overflow is EINVAL. Returns the count or -EINVAL, and the value.
 */
export function proc_dointvec_write(bytes: Uint8Array, pos: number, out: { value: number }): number {
  const len = bytes.length;
  if (pos !== 0 || len === 0) return len;
  const isspace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
  let p = 0;
  while (p < len && isspace(bytes[p]!)) p++;
  if (p === len) return -EINVAL;
  let neg = false;
  if (bytes[p] === 0x2d && len - p > 1) {
    neg = true;
    p++;
  }
  const digit = (c: number | undefined, base: number): number => {
    if (c === undefined) return -1;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    return d < base ? d : -1;
  };
  if (digit(bytes[p], 10) < 0) return -EINVAL;
  let base = 10;
  if (bytes[p] === 0x30) {
    if ((bytes[p + 1] === 0x78 || bytes[p + 1] === 0x58) && digit(bytes[p + 2], 16) >= 0) {
      base = 16;
      p += 2;
    } else base = 8;
  }
  let v = 0n;
  const start = p;
  // proc_get_long copies at most TMPBUFLEN - 1 (21) bytes: a longer number is EINVAL.
  while (p < len && digit(bytes[p], base) >= 0) v = v * BigInt(base) + BigInt(digit(bytes[p++], base));
  if (p - start > 21) return -EINVAL;
  if (p < len && bytes[p] !== 0x20 && bytes[p] !== 0x09 && bytes[p] !== 0x0a) return -EINVAL;
  if (neg ? v > 2147483648n : v > 2147483647n) return -EINVAL;
  out.value = Number(neg ? -v : v);
  while (p < len && isspace(bytes[p]!)) p++;
  return p;
}

/**
 * An int sysctl of fs.* that proc_sys_lookup makes an inode for at each
 * lookup (a sysctl table's files are not proc entries; nothing is set up
 * for them at boot): root's, mode 0644; a read at position 0 prints the
 * value on one line, a write parses it as proc_dointvec does.
 */
interface IntSysctl {
  get(k: Kernel): number;
  set(k: Kernel, v: number): void;
}

const FS_INT_SYSCTLS: ReadonlyMap<string, IntSysctl> = new Map([
  ['lease-break-time', { get: (k: Kernel) => lease_break_time(k), set: (k: Kernel, v: number) => void (k.leaseBreakTime = v) }],
  ['leases-enable', { get: (k: Kernel) => leases_enable(k), set: (k: Kernel, v: number) => void (k.leasesEnable = v) }],
]);

function sysctl_of(file: File): IntSysctl {
  return FS_INT_SYSCTLS.get(file_vfs(file).dentry.d_name)!;
}

/** proc_sys_read() of a proc_dointvec entry: the value and a newline, at position 0 only (a read anywhere else returns 0). */
function proc_dointvec_read(file: File, len: number, buf: IoBuf | null, value: number): number {
  if (file.f_pos !== 0) return 0;
  const text = Buffer.from(`${value}\n`, 'utf8');
  const n = Math.min(len, text.length);
  if (buf) for (let i = 0; i < n; i++) buf.sum += text[i]!;
  io_push_bytes(buf, text, 0, n);
  const tb = buf as TextBuf | null;
  if (tb && tb.text !== undefined) tb.text += text.toString('utf8', 0, n);
  file.f_pos = n;
  return n;
}

const proc_sys_int_fops: OpenableFileOperations = {
  name: 'proc_sys_file_operations',
  *read(t: Task, file: File, len: number, buf): Blocking<number> {
    t.charge(t.k.cfg.kernel.cost.kernel_op);
    return proc_dointvec_read(file, len, buf, sysctl_of(file).get(t.k));
  },
  *write(t: Task, file: File, len: number, byte: number): Blocking<number> {
    // proc_sys_write(): the bytes copied in (a script's write is `len` bytes of `byte`), parsed by proc_dointvec.
    t.charge(t.k.cfg.kernel.cost.kernel_op);
    const out = { value: 0 };
    const pos = Number(file.f_pos);
    const r = proc_dointvec_write(new Uint8Array(Math.min(len, 4095)).fill(byte & 0xff), pos, out);
    if (r < 0) return r;
    if (pos === 0 && len > 0) sysctl_of(file).set(t.k, out.value);
    // The count proc_dointvec consumed, except that a write past position 0 takes everything.
    const n = pos !== 0 ? len : r;
    file.f_pos = loffAdd(file.f_pos, n);
    return n;
  },
  *llseek(_t: Task, file: File, offset, whence) {
    // default_llseek() on a file of size 0.
    const pos = whence === 1 ? loffAdd(file.f_pos, offset) : whence === 0 || whence === 2 ? offset : -1;
    if (pos < 0) return -EINVAL;
    file.f_pos = pos;
    return pos;
  },
};

/** proc_sys_lookup() in /proc/sys/fs for a name with no entry: an int sysctl's inode, made for this lookup. */
function* proc_sys_fs_lookup(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  if (!FS_INT_SYSCTLS.has(dentry.d_name)) return -ENOENT;
  const k = dir.k;
  t.charge(k.cfg.kernel.cost.kernel_op);
  const inode = new_inode(k, t, dir.i_sb) as ProcInode;
  inode.i_mode = S_IFREG | 0o644;
  inode.i_fop = proc_sys_int_fops;
  dentry.d_op = proc_dentry_operations;
  d_add(dentry, inode);
  return 0;
}

/**
 * /proc/sys (fs/proc/proc_sysctl.c), the sysctls scripts read: fs.nr_open
 * and fs.inotify.* as the kernel's configuration holds them, each a
 * root-owned 0644 file that prints its value on one line (writing them is
 * not modelled: a script's user may not anyway); and fs.lease-break-time
 * and fs.leases-enable, readable and writable (proc_dointvec), whose
 * inodes are made at lookup (proc_sys_fs_lookup).
 */
function proc_sys_init(k: Kernel): void {
  const sys = proc_mkdir(k, null, 'sys', null);
  const fs = proc_mkdir(k, null, 'fs', sys);
  const inotify = proc_mkdir(k, null, 'inotify', fs);
  if (fs) fs.lookupMissing = proc_sys_fs_lookup;
  const value = (get: () => number): ProcOps => ({
    *proc_read(_t, file, len, buf) {
      return proc_dointvec_read(file, len, buf, get());
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
