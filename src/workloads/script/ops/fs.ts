/**
 * Syscall-script op handlers for files and inotify: read, write, lseek,
 * ftruncate, unlink, mkdir, rmdir, rename, chmod, inotify_init1,
 * inotify_add_watch, inotify_rm_watch, inotify_read and fionread. (open is
 * the fd ops' handler; the VFS serves it through the fd table's open path.)
 *
 * Arguments are converted as the host runner's raw syscalls receive them:
 * fds and inotify watch descriptors are `int`, lengths `size_t` (a negative
 * one is huge), lseek's offset and ftruncate's length `off_t`, lseek's
 * whence `unsigned int`, modes `umode_t` (16 bits), masks `u32`, and write's
 * byte what memset stores (its low 8 bits).
 */
import { sys_inotify_add_watch, sys_inotify_init1, sys_inotify_rm_watch, type InotifyReadBuf } from '../../../kernel/fs/notify/inotify_user.js';
import { sys_chmod, sys_ftruncate } from '../../../kernel/fs/open.js';
import { sys_mkdir, sys_rename, sys_rmdir, sys_unlink } from '../../../kernel/fs/namei_ops.js';
import { FIONREAD, sys_ioctl, sys_lseek, sys_read, sys_write } from '../../../kernel/fs/read_write.js';
import type { Blocking } from '../../../sim/task.js';
import { inotifyMaskNames, type InotifyEventLine } from '../format.js';
import type {
  ChmodOp,
  FionreadOp,
  FtruncateOp,
  InotifyAddWatchOp,
  InotifyInitOp,
  InotifyReadOp,
  InotifyRmWatchOp,
  LseekOp,
  MkdirOp,
  Op,
  PathOp,
  ReadOp,
  RenameOp,
  WriteOp,
} from '../types.js';
import { outcome, type OpEnv, type OpHandler, type OpOutcome } from './fd.js';

/** C `int` of a script value. */
function int32(v: number): number {
  // ToInt32 (`| 0`) is C's conversion to int of the truncated value modulo 2^32.
  return Number.isFinite(v) ? v | 0 : -1;
}

/** C `size_t`: a negative value wraps to a huge one (beyond any buffer). */
function size_t(v: number): number {
  return v < 0 ? 2 ** 64 + v : v;
}

/** umode_t: the low 16 bits. */
function umode(v: number): number {
  return v & 0xffff;
}


function* read(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as ReadOp;
  const buf = { sum: 0 };
  const ret = yield* sys_read(env.t, int32(env.ref(o.fd)), size_t(o.len), buf);
  if (ret < 0) return outcome(ret);
  return { ret, errno: null, sum: buf.sum };
}

function* write(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as WriteOp;
  return outcome(yield* sys_write(env.t, int32(env.ref(o.fd)), size_t(o.len), o.byte & 0xff));
}

function* lseek(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as LseekOp;
  return outcome(yield* sys_lseek(env.t, int32(env.ref(o.fd)), o.offset, o.whence >>> 0));
}

function* ftruncate(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as FtruncateOp;
  return outcome(yield* sys_ftruncate(env.t, int32(env.ref(o.fd)), o.len));
}

function* unlink(env: OpEnv, op: Op): Blocking<OpOutcome> {
  return outcome(yield* sys_unlink(env.t, (op as PathOp).path));
}

function* rmdir(env: OpEnv, op: Op): Blocking<OpOutcome> {
  return outcome(yield* sys_rmdir(env.t, (op as PathOp).path));
}

function* mkdir(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as MkdirOp;
  return outcome(yield* sys_mkdir(env.t, o.path, umode(o.mode)));
}

function* rename(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as RenameOp;
  return outcome(yield* sys_rename(env.t, o.from, o.to));
}

function* chmod(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as ChmodOp;
  return outcome(yield* sys_chmod(env.t, o.path, umode(o.mode)));
}

function* inotify_init1(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as InotifyInitOp;
  const ret = yield* sys_inotify_init1(env.t, int32(o.flags));
  env.bind(o.as, ret < 0 ? -1 : ret);
  return outcome(ret);
}

function* inotify_add_watch(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as InotifyAddWatchOp;
  const ret = yield* sys_inotify_add_watch(env.t, int32(env.ref(o.fd)), o.path, o.mask >>> 0);
  env.bind(o.as, ret < 0 ? -1 : ret);
  return outcome(ret);
}

function* inotify_rm_watch(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as InotifyRmWatchOp;
  return outcome(yield* sys_inotify_rm_watch(env.t, int32(env.ref(o.fd)), int32(env.ref(o.wd))));
}

/** inotify_read: read(2) on the fd, printing the events it returned. */
function* inotify_read(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as InotifyReadOp;
  const buf: InotifyReadBuf = { sum: 0, events: [], bytes: [] };
  const ret = yield* sys_read(env.t, int32(env.ref(o.fd)), size_t(o.bufsize), buf);
  if (ret < 0) return outcome(ret);
  const names = env.cookies;
  // An inotify instance's read gives its events; any other file's bytes are
  // parsed as events all the same, as the host runner does.
  const raw = buf.events!.length > 0 || ret === 0 ? buf.events! : eventsInBytes(buf.bytes!, ret);
  const events: InotifyEventLine[] = raw.map((e) => ({ wd: e.wd, mask: inotifyMaskNames(e.mask), cookie: names.name(e.cookie), name: e.name }));
  return { ret, errno: null, events };
}

/**
 * The bytes a read returned taken as struct inotify_event records, as the
 * host runner reads them: bytes past `ret` count as zero, a name stops at its
 * length, at a NUL or at `ret`.
 */
function eventsInBytes(bytes: readonly number[], ret: number): { wd: number; mask: number; cookie: number; name: string }[] {
  const byteAt = (at: number) => (at < ret ? (bytes[at] ?? 0) : 0);
  const u32 = (at: number) => (byteAt(at) | (byteAt(at + 1) << 8) | (byteAt(at + 2) << 16) | (byteAt(at + 3) << 24)) >>> 0;
  const out: { wd: number; mask: number; cookie: number; name: string }[] = [];
  for (let off = 0; off < ret; ) {
    const len = u32(off + 12);
    const name: number[] = [];
    for (let k = 0; k < len && off + 16 + k < ret && byteAt(off + 16 + k) !== 0; k++) name.push(byteAt(off + 16 + k));
    out.push({ wd: u32(off) | 0, mask: u32(off + 4), cookie: u32(off + 8), name: Buffer.from(name).toString('utf8') });
    off += 16 + len;
  }
  return out;
}

function* fionread(env: OpEnv, op: Op): Blocking<OpOutcome> {
  const o = op as FionreadOp;
  const out = { value: 0 };
  const ret = yield* sys_ioctl(env.t, int32(env.ref(o.fd)), FIONREAD, out);
  if (ret < 0) return outcome(ret);
  return { ret, errno: null, value: out.value };
}

/** The file and inotify ops, merged into the interpreter's table. */
export const fsOps: Readonly<Record<string, OpHandler>> = {
  read,
  write,
  lseek,
  ftruncate,
  unlink,
  rmdir,
  mkdir,
  rename,
  chmod,
  inotify_init1,
  inotify_add_watch,
  inotify_rm_watch,
  inotify_read,
  fionread,
};
