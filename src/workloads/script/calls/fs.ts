/**
 * Simulator handlers of the later file ops (calls/fields.ts): pread,
 * pwrite, fsync, fdatasync, close_range. fds are C `int`s, lengths
 * `size_t`, positions `off_t`, as the host runner passes them.
 */
import { sys_truncate } from '../../../kernel/fs/open.js';
import { sys_eventfd2 } from '../../../kernel/fs/eventfd.js';
import { sys_close_range } from '../../../kernel/fs/fd_syscalls.js';
import { sys_pipe2 } from '../../../kernel/fs/pipe.js';
import { sys_pread64, sys_pwrite64 } from '../../../kernel/fs/read_write.js';
import { sys_fallocate, sys_fchmod } from '../../../kernel/fs/open.js';
import { sys_fadvise64 } from '../../../kernel/mm/fadvise.js';
import { sys_fstat, sys_newfstatat, sys_statx, type Kstat } from '../../../kernel/fs/stat.js';
import { sys_fcntl, sys_fcntl_lock, sys_fcntl_owner_ex, sys_openat } from '../../../kernel/fs/fd_syscalls.js';
import { F_GETOWN_EX, F_SETOWN, F_SETOWN_EX, type FOwnerEx } from '../../../kernel/fs/fcntl.js';
import { sys_flock } from '../../../kernel/fs/locks_flock.js';
import { F_UNLCK } from '../../../kernel/fs/locks.js';
import { F_GETLK, F_OFD_GETLK, is_lock_cmd, type Flock } from '../../../kernel/fs/locks_fcntl.js';
import { loffOf } from '../../../kernel/fs/loff.js';
import { sys_readv, sys_writev } from '../../../kernel/fs/read_write_iov.js';
import { sys_getdents64 } from '../../../kernel/fs/readdir.js';
import { sys_renameat2, sys_unlinkat } from '../../../kernel/fs/namei_ops.js';
import { sys_link, sys_linkat, sys_readlink, sys_readlinkat, sys_symlink, sys_symlinkat } from '../../../kernel/fs/namei_link.js';
import { sys_fdatasync, sys_fsync } from '../../../kernel/fs/sync.js';
import type { Blocking } from '../../../sim/task.js';
import { d_path } from '../../../kernel/fs/dcache.js';
import { task_fs } from '../../../kernel/fs/fs_struct.js';
import { current } from '../../../kernel/sched/task_struct.js';
import type { CallOp } from '../types.js';
import { outcome, type OpEnv, type OpHandler, type OpOutcome } from '../ops/fd.js';
import { int32, loffArg, num, readWholeFile } from './mm.js';

/** C `size_t`: a negative value wraps to a huge one. */
function size_t(v: number): number {
  return v < 0 ? 2 ** 64 + v : v;
}

function* pread(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const buf = { sum: 0 };
  const ret = yield* sys_pread64(env.t, int32(num(env, op, 'fd')), size_t(num(env, op, 'len')), loffArg(op, 'offset'), buf);
  return ret < 0 ? outcome(ret) : { ret, errno: null, sum: buf.sum };
}

function* pwrite(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_pwrite64(env.t, int32(num(env, op, 'fd')), size_t(num(env, op, 'len')), num(env, op, 'byte') & 0xff, loffArg(op, 'offset')));
}

function* fsync(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_fsync(env.t, int32(num(env, op, 'fd'))));
}

function* fdatasync(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_fdatasync(env.t, int32(num(env, op, 'fd'))));
}

function* fchmod(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_fchmod(env.t, int32(num(env, op, 'fd')), num(env, op, 'mode') & 0xffff));
}

const S_TYPES: Readonly<Record<number, string>> = { 0o140000: 'sock', 0o120000: 'lnk', 0o100000: 'reg', 0o060000: 'blk', 0o040000: 'dir', 0o020000: 'chr', 0o010000: 'fifo' };

/** The stat fields a script prints: size, mode (permission bits, octal), type, nlink. */
function statFields(ret: number, st: Kstat): OpOutcome {
  if (ret < 0) return outcome(ret);
  return { ret, errno: null, size: st.size, mode: '0' + (st.mode & 0o7777).toString(8), type: S_TYPES[st.mode & 0o170000] ?? 'unknown', nlink: st.nlink };
}

function* fstat(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const st: Kstat = { mode: 0, nlink: 0, size: 0 };
  return statFields(yield* sys_fstat(env.t, int32(num(env, op, 'fd')), st), st);
}

function* newfstatat(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const st: Kstat = { mode: 0, nlink: 0, size: 0 };
  return statFields(yield* sys_newfstatat(env.t, int32(num(env, op, 'dirfd')), op['path'] as string, num(env, op, 'flags'), st), st);
}

/** pipe2: the read end is bound to `as`, the write end to `wr`; `fds` prints both. */
function* pipe2(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const fds: number[] = [];
  const ret = yield* sys_pipe2(env.t, num(env, op, 'flags') >>> 0, fds);
  env.bind(op.as, ret < 0 ? -1 : fds[0]!);
  env.bind(op['wr'] as string | undefined, ret < 0 ? -1 : fds[1]!);
  return ret < 0 ? outcome(ret) : { ret, errno: null, fds };
}

function* fallocate(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_fallocate(env.t, int32(num(env, op, 'fd')), int32(num(env, op, 'mode')), loffArg(op, 'offset'), loffArg(op, 'len')));
}

function* posix_fadvise(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_fadvise64(env.t, int32(num(env, op, 'fd')), num(env, op, 'offset'), num(env, op, 'len'), int32(num(env, op, 'advice'))));
}

function* eventfd(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const ret = yield* sys_eventfd2(env.t, num(env, op, 'initval') >>> 0, num(env, op, 'flags'));
  env.bind(op.as, ret < 0 ? -1 : ret);
  return outcome(ret);
}

function* close_range(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_close_range(env.t, num(env, op, 'fd') >>> 0, num(env, op, 'max') >>> 0, num(env, op, 'flags') >>> 0));
}

function* openat(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const ret = yield* sys_openat(env.t, int32(num(env, op, 'dirfd')), op['path'] as string, int32(num(env, op, 'flags')), num(env, op, 'mode'));
  env.bind(op.as, ret < 0 ? -1 : ret);
  return outcome(ret);
}

function* statx(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const st: Kstat = { mode: 0, nlink: 0, size: 0 };
  const ret = yield* sys_statx(env.t, int32(num(env, op, 'dirfd')), op['path'] as string, int32(num(env, op, 'flags')), num(env, op, 'mask') >>> 0, st);
  return statFields(ret, st);
}

/** An iovec's lengths as the kernel reads them: size_t. */
const lens = (op: CallOp): number[] => (op['lens'] as number[]).map(size_t);

function* readv(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const buf = { sum: 0 };
  const ret = yield* sys_readv(env.t, int32(num(env, op, 'fd')), lens(op), buf);
  return ret < 0 ? outcome(ret) : { ret, errno: null, sum: buf.sum };
}

function* writev(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_writev(env.t, int32(num(env, op, 'fd')), lens(op), num(env, op, 'byte') & 0xff));
}

/** getdents64: `names` lists the entries this call returned, sorted (file systems order them differently). */
function* getdents64(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const names: string[] = [];
  const ret = yield* sys_getdents64(env.t, int32(num(env, op, 'fd')), num(env, op, 'count'), names);
  return ret < 0 ? outcome(ret) : { ret, errno: null, names: names.sort() };
}

function* renameat2(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(
    yield* sys_renameat2(env.t, int32(num(env, op, 'olddirfd')), op['from'] as string, int32(num(env, op, 'newdirfd')), op['to'] as string, num(env, op, 'flags') >>> 0),
  );
}

function* link(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_link(env.t, op['from'] as string, op['to'] as string));
}

function* linkat(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(
    yield* sys_linkat(env.t, int32(num(env, op, 'olddirfd')), op['from'] as string, int32(num(env, op, 'newdirfd')), op['to'] as string, int32(num(env, op, 'flags'))),
  );
}

function* symlink(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_symlink(env.t, op['target'] as string, op['path'] as string));
}

function* symlinkat(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_symlinkat(env.t, op['target'] as string, int32(num(env, op, 'dirfd')), op['path'] as string));
}

/**
 * readlink: `target` is the bytes returned. A body naming the working
 * directory or a path under it (a /proc/PID/fd link) is printed, and counted
 * in ret, as if that directory were the root, as the host runner does: the
 * two sides work in directories of different names.
 */
function readlinkOutcome(env: OpEnv, path: string, ret: number, out: { target: string }): OpOutcome {
  if (ret < 0) return outcome(ret);
  const ts = current(env.t);
  const cwd = d_path(task_fs(env.t.k, ts).pwd);
  let target = out.target;
  if (cwd !== '/' && (target === cwd || target.startsWith(cwd + '/'))) {
    target = target === cwd ? '/' : target.slice(cwd.length);
    ret = Buffer.byteLength(target, 'utf8');
  } else {
    const own = ownPidName(path, target, ts.tgid, ts.pid);
    if (own !== null) {
      target = own;
      ret = own.length;
    }
  }
  return { ret, errno: null, target };
}

/**
 * A link body that names the caller by its pids (pids differ between
 * kernels). Read through a path whose last name is the link's: the body of
 * /proc/self, the caller's tgid, prints as `self`; that of
 * /proc/thread-self, `TGID/task/TID` with the caller's ids, as
 * `thread-self`. Read through any path, a body that is a path in the
 * caller's own /proc directory (a /proc/PID/fd link to an opened /proc/self
 * or /proc/thread-self, or to a file under them) has its leading
 * `/proc/TGID` printed as `/proc/self`, and then `/proc/self/task/TID` with
 * the caller's own tid as `/proc/thread-self`. Any other: null.
 */
export function ownPidName(path: string, body: string, tgid: number, tid: number): string | null {
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (last === 'self' && body === String(tgid)) return 'self';
  if (last === 'thread-self' && body === `${tgid}/task/${tid}`) return 'thread-self';
  const own = `/proc/${tgid}`;
  if (!body.startsWith(own) || (body.length > own.length && body[own.length] !== '/')) return null;
  const rest = body.slice(own.length);
  const task = `/task/${tid}`;
  if (rest.startsWith(task) && (rest.length === task.length || rest[task.length] === '/')) return '/proc/thread-self' + rest.slice(task.length);
  return '/proc/self' + rest;
}

function* readlink(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const out = { target: '' };
  return readlinkOutcome(env, op['path'] as string, yield* sys_readlink(env.t, op['path'] as string, int32(num(env, op, 'bufsiz')), out), out);
}

function* readlinkat(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const out = { target: '' };
  return readlinkOutcome(env, op['path'] as string, yield* sys_readlinkat(env.t, int32(num(env, op, 'dirfd')), op['path'] as string, int32(num(env, op, 'bufsiz')), out), out);
}

function* unlinkat(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_unlinkat(env.t, int32(num(env, op, 'dirfd')), op['path'] as string, int32(num(env, op, 'flags'))));
}

/** C `short` (struct flock's l_type and l_whence). */
function int16(v: number): number {
  return ((v | 0) << 16) >> 16;
}

const LOCK_TYPE_OUT: Readonly<Record<number, string>> = { 0: 'F_RDLCK', 1: 'F_WRLCK', 2: 'F_UNLCK' };

/**
 * A lock's l_pid as a script prints it (pids differ between kernels): `self`
 * for the caller's process, `parent` for the process whose fork op made
 * it, `other` for any other process; 0 and -1 (an OFD lock) as numbers.
 */
export function lockPidName(pid: number, self: number, parent: number | undefined): number | string {
  if (pid <= 0) return pid;
  if (pid === self) return 'self';
  if (pid === parent) return 'parent';
  return 'other';
}

/**
 * fcntl_lock: fcntl(fd, cmd, &flock) with a struct flock of the op's type,
 * whence, start, len and pid. F_GETLK and F_OFD_GETLK print what the
 * kernel wrote back: l_type by name, l_whence, l_start, l_len, l_pid.
 */
function* fcntl_lock(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const cmd = int32(num(env, op, 'cmd'));
  if (!is_lock_cmd(cmd)) throw new Error(`fcntl_lock: cmd ${cmd} is not a record-lock command (its argument would be the struct's address)`);
  const flock: Flock = {
    l_type: int16(num(env, op, 'type')),
    l_whence: int16(num(env, op, 'whence')),
    l_start: BigInt.asIntN(64, BigInt(loffArg(op, 'start'))),
    l_len: BigInt.asIntN(64, BigInt(loffArg(op, 'len'))),
    l_pid: int32(num(env, op, 'pid')),
  };
  const ret = yield* sys_fcntl_lock(env.t, int32(num(env, op, 'fd')), cmd, flock);
  if (ret < 0 || (cmd !== F_GETLK && cmd !== F_OFD_GETLK)) return outcome(ret);
  return {
    ret, errno: null,
    l_type: LOCK_TYPE_OUT[flock.l_type] ?? flock.l_type,
    l_whence: flock.l_whence,
    l_start: loffOf(flock.l_start),
    l_len: loffOf(flock.l_len),
    // Nothing in the way (F_UNLCK): the struct's other fields are the caller's own, l_pid included, printed as given.
    l_pid: flock.l_type === F_UNLCK ? flock.l_pid : lockPidName(flock.l_pid, current(env.t).tgid, env.ppid),
  };
}

/** The id setown's `who` names: the caller's pid, tid or process group, the process whose fork op made it, or none (0). */
function ownerId(env: OpEnv, who: string): number {
  const ts = current(env.t);
  switch (who) {
    case 'self':
      return ts.tgid;
    case 'thread':
      return ts.pid;
    case 'pgrp':
      return (ts.group[0] ?? ts).pgid;
    case 'parent':
      if (env.ppid === undefined) throw new Error("setown: who 'parent' only in a fork op's child");
      return env.ppid;
    case 'none':
      return 0;
    default:
      throw new Error(`setown: who must be self, thread, pgrp, parent or none, got ${JSON.stringify(who)}`);
  }
}

/**
 * setown: F_SETOWN with the id `who` names (a process group's negated),
 * or with `type`, F_SETOWN_EX with struct f_owner_ex {type, id}.
 */
function* setown(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const fd = int32(num(env, op, 'fd'));
  const who = op['who'] as string;
  const id = ownerId(env, who);
  const type = num(env, op, 'type');
  if (type === -1) return outcome(yield* sys_fcntl(env.t, fd, F_SETOWN, who === 'pgrp' ? -id : id));
  const owner: FOwnerEx = { type: int32(type), pid: id };
  return outcome(yield* sys_fcntl_owner_ex(env.t, fd, F_SETOWN_EX, owner));
}

/** getown: F_GETOWN_EX; `type` as the kernel wrote it, `owner` the id named as a lock's l_pid is (self, parent, other; 0). */
function* getown(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const owner: FOwnerEx = { type: -1, pid: -1 };
  const r = yield* sys_fcntl_owner_ex(env.t, int32(num(env, op, 'fd')), F_GETOWN_EX, owner);
  if (r < 0) return outcome(r);
  const ts = current(env.t);
  const name = owner.pid === ts.pid && ts.pid !== ts.tgid ? 'thread' : lockPidName(owner.pid, ts.tgid, env.ppid);
  return { ret: r, errno: null, type: owner.type, owner: name };
}

/** flock(2): the operation's bits as given (LOCK_NB included); EWOULDBLOCK prints as EAGAIN. */
function* flock(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_flock(env.t, int32(num(env, op, 'fd')), int32(num(env, op, 'operation'))));
}

/**
 * An fdinfo line with the values naming one kernel's objects (mnt_id, ino,
 * eventfd-id; an inotify line's ino, sdev, f_handle; a lock line's
 * MAJOR:MINOR:INO) as `*`, and a lock line's pid as a record lock's
 * l_pid prints (`self`, `parent`, `other`, or the number when 0 or below).
 */
export function maskFdinfoLine(line: string, self = 0, parent?: number): string {
  const m = /^(mnt_id|ino|eventfd-id):([ \t]*)/.exec(line);
  if (m) return m[0] + '*';
  const l = /^(lock:\t.* )(-?\d+) [0-9a-f]+:[0-9a-f]+:\d+ (\S+ \S+)$/.exec(line);
  if (l) return `${l[1]}${lockPidName(Number(l[2]), self, parent)} * ${l[3]}`;
  if (line.startsWith('inotify ')) return line.split(' ').map((tok) => tok.replace(/^(ino|sdev|f_handle):.*$/, '$1:*')).join(' ');
  return line;
}

/** fdinfo: the process reads /proc/self/fdinfo/FD (open, read to the end, close); `lines` are its lines, masked. */
function* fdinfo(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  const text = yield* readWholeFile(env, `/proc/self/fdinfo/${int32(num(env, op, 'fd'))}`);
  if (typeof text === 'number') return outcome(text);
  const self = current(env.t).tgid;
  return { ret: 0, errno: null, lines: text.split('\n').filter((l) => l !== '').map((l) => maskFdinfoLine(l, self, env.ppid)) };
}

/** truncate(path, len): the file by name (leases broken as by an O_WRONLY open). */
function* truncate(env: OpEnv, op: CallOp): Blocking<OpOutcome> {
  return outcome(yield* sys_truncate(env.t, op['path'] as string, loffOf(BigInt.asIntN(64, BigInt(loffArg(op, 'len'))))));
}

export const fsCalls: Readonly<Record<string, OpHandler>> = {
  pread, pwrite, fsync, fdatasync, fchmod, fstat, newfstatat, fallocate, posix_fadvise, pipe2, eventfd, close_range, openat, statx, readv, writev, getdents64, renameat2,
  link, linkat, symlink, symlinkat, readlink, readlinkat, unlinkat, fdinfo, fcntl_lock, flock, setown, getown, truncate,
} as Record<string, OpHandler>;
