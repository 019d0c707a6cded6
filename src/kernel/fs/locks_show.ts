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

/** lock_get_status() of any lock (POSIX, OFD or flock) for /proc/locks, `level` deep in a tree of waiters. */
function lock_status(fl: FileLock, id: number, level: number): string {
  const file = fl.file!;
  const pfx = level ? `${' '.repeat(level - 1)}-> ` : '';
  if (fl.flags & FL_FLOCK) return `${id}: ${pfx}FLOCK  ADVISORY  ${type_name(fl.type)} ${owner_and_inode(file, fl.pid)}0 EOF`;
  return `${id}: ${pfx}${posix_status(fl, id, file).slice(`${id}: `.length)}`;
}

/**
 * locks_show(): /proc/locks, every lock on an inode's list, each CPU's
 * file_lock_list in turn (newest first), numbered from 1, each followed
 * by the requests waiting behind it (`-> `, one space deeper a level).
 * Leases are not listed here (the model keeps them off the file_lock_list).
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
