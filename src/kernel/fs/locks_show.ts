/**
 * How fs/locks.c prints a lock (lock_get_status), for /proc/PID/fdinfo's
 * `lock:` lines (show_fd_locks): the file's own flock, POSIX/OFD and lease
 * locks in that order, numbered from 1; of the POSIX locks only those the
 * reading process's fd table owns, of the others those owned by this open
 * file description. Each line: the kind, the type, the owner's pid (-1 for
 * an OFD lock), the inode as MAJOR:MINOR:INO of its super block's s_dev,
 * and the range (start, then end or EOF; flock and lease locks 0 EOF).
 */
import type { Task } from '../../sim/task.js';
import type { FilesStruct } from './file.js';
import type { File } from './file_table.js';
import { file_inode, FL_OFDLCK, F_RDLCK, F_WRLCK, global_locks, inode_flock_locks, inode_posix_locks, OFFSET_MAX, type FileLock } from './locks.js';
import { FL_FLOCK } from './locks_flock.js';
import { FL_LEASE, lease_breaking, target_leasetype } from './locks_lease.js';
import { file_vfs_or_null } from './vfs_file.js';

/** What a lease shows (locks_lease.ts): the type it is to become, its flc_pid, whether a break is pending. */
export interface LeaseView {
  type: number;
  pid: number;
  breaking: boolean;
}

function type_name(type: number): string {
  return type === F_WRLCK ? 'WRITE' : type === F_RDLCK ? 'READ' : 'UNLCK';
}

/** `pid MAJOR:MINOR:INO ` of lock_get_status (a file the VFS did not open shows its anonymous inode as 00:00:0). */
function owner_and_inode(file: File, pid: number): string {
  const v = file_vfs_or_null(file);
  const dev = v ? v.inode.i_sb.s_dev : 0;
  const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
  return `${pid} ${hex2(dev >>> 20)}:${hex2(dev & 0xfffff)}:${v ? v.inode.i_ino : 0} `;
}

/** lock_get_status() of a POSIX or OFD lock, without the `lock:\t` prefix. */
function posix_status(fl: FileLock, id: number, file: File): string {
  const ofd = (fl.flags & FL_OFDLCK) !== 0;
  const kind = ofd ? 'OFDLCK ADVISORY  ' : 'POSIX  ADVISORY  ';
  const end = fl.end === OFFSET_MAX ? 'EOF' : String(fl.end);
  return `${id}: ${kind}${type_name(fl.type)} ${owner_and_inode(file, ofd ? -1 : fl.pid)}${fl.start} ${end}`;
}

/**
 * show_fd_locks(): the `lock:` lines of `file` as the process whose fd table
 * is `files` sees them in its fdinfo. Each lock the walk reads costs a line.
 */
export function show_fd_locks(t: Task, m: { line(s: string): void }, file: File, files: FilesStruct, lease: LeaseView | null): void {
  const k = t.k;
  let id = 0;
  const inode = file_inode(file);
  for (const fl of inode_flock_locks(inode)) {
    k.touch(t, fl.addr, false);
    if (fl.file !== file) continue;
    m.line(`lock:\t${++id}: FLOCK  ADVISORY  ${type_name(fl.type)} ${owner_and_inode(file, fl.pid)}0 EOF`);
  }
  for (const fl of inode_posix_locks(inode)) {
    k.touch(t, fl.addr, false);
    if (fl.file !== file || (fl.owner !== files && fl.owner !== file)) continue;
    m.line(`lock:\t${posix_status(fl, ++id, file)}`);
  }
  if (lease) m.line(`lock:\t${++id}: LEASE  ${lease.breaking ? 'BREAKING  ' : 'ACTIVE    '}${type_name(lease.type)} ${owner_and_inode(file, lease.pid)}0 EOF`);
}

/** The MAJOR:MINOR:INO lock_get_status prints for a VFS inode (the procfile op names the working directory's files by it). */
export function lock_dev_ino(inode: { i_sb: { s_dev: number }; i_ino: number }): string {
  const dev = inode.i_sb.s_dev;
  const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
  return `${hex2(dev >>> 20)}:${hex2(dev & 0xfffff)}:${inode.i_ino}`;
}

/**
 * lock_get_status() of a lease: LEASE, then BREAKING while a break is
 * pending, ACTIVE for a lease a file holds, BREAKER for the request a
 * breaking open waits with (it has no file: its inode prints as
 * `<none>:0`), then the type the lease is to become.
 */
function lease_status(fl: FileLock): string {
  const state = lease_breaking(fl) ? 'BREAKING  ' : fl.file ? 'ACTIVE    ' : 'BREAKER   ';
  const owner = fl.file ? owner_and_inode(fl.file, fl.pid) : `${fl.pid} <none>:0 `;
  return `LEASE  ${state}${type_name(target_leasetype(fl))} ${owner}0 EOF`;
}

/** lock_get_status() of any lock (POSIX, OFD, flock or lease) for /proc/locks, `level` deep in a tree of waiters. */
function lock_status(fl: FileLock, id: number, level: number): string {
  const pfx = level ? `${' '.repeat(level - 1)}-> ` : '';
  if (fl.flags & FL_LEASE) return `${id}: ${pfx}${lease_status(fl)}`;
  const file = fl.file!;
  if (fl.flags & FL_FLOCK) return `${id}: ${pfx}FLOCK  ADVISORY  ${type_name(fl.type)} ${owner_and_inode(file, fl.pid)}0 EOF`;
  return `${id}: ${pfx}${posix_status(fl, id, file).slice(`${id}: `.length)}`;
}

/**
 * locks_show(): /proc/locks, every lock on an inode's list (POSIX, OFD,
 * flock and leases), each CPU's file_lock_list in turn (newest first),
 * numbered from 1, each followed by the requests waiting behind it (`-> `,
 * one space deeper a level; a breaking open's request under the lease it
 * waits for).
 */
export function locks_show(t: Task, m: { line(s: string): void }): void {
  const k = t.k;
  let id = 0;
  const tree = (fl: FileLock, level: number): void => {
    k.touch(t, fl.addr, false);
    m.line(lock_status(fl, id, level));
    for (const w of fl.blocked) tree(w, level + 1);
  };
  for (const fl of global_locks(k)) {
    id++;
    tree(fl, 0);
  }
}
