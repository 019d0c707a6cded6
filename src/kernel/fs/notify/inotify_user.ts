/**
 * inotify, after the seed's fs/inotify_user.c (2.6.27) for the structure
 * and today's fs/notify/inotify/{inotify_user.c, inotify_fsnotify.c} where
 * they differ. Differences from the seed that show in results:
 *
 * - Coalescing compares the new event with the last queued one by mask, wd
 *   and name (not the cookie), and never merges into an IN_IGNORED.
 * - Overflow is tested before coalescing: once max_queued_events are
 *   queued, the one IN_Q_OVERFLOW event (wd -1) is queued if it is not
 *   already, and nothing else until a read makes room.
 * - read() with a buffer too small for the first event is EINVAL even for a
 *   zero-sized buffer; a non-blocking read of an empty queue is EAGAIN.
 * - Watch descriptors come from a cyclic allocator: they count up from 1
 *   and are not reused after inotify_rm_watch.
 * - IN_ISDIR is never reported with IN_DELETE_SELF or IN_MOVE_SELF.
 * - add_watch: a mask with no inotify bit is EINVAL before the fd is looked
 *   at, IN_MASK_ADD with IN_MASK_CREATE after it (EBADF first, as 6.18); IN_MASK_CREATE on a watched
 *   inode is EEXIST; watching needs read permission on the inode.
 *
 * Names are padded with NULs to a multiple of sizeof(struct inotify_event)
 * (16 bytes), at least one NUL, as the seed's kernel_event() pads them.
 */
import type { loff_t } from '../loff.js';
import { intern } from '../../../sim/attribution.js';
import type { Blocking, Task } from '../../../sim/task.js';
import { EAGAIN, EBADF, EEXIST, EINVAL, EMFILE, ENOSPC, ENOTTY } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import { current } from '../../sched/task_struct.js';
import { syscall } from '../../syscalls.js';
import { fd_install, fget_light, fput_light, get_unused_fd_flags } from '../file.js';
import { alloc_file, type File, type FileOperations, type IoBuf } from '../file_table.js';
import { MAY_READ, inode_permission, type Inode } from '../inode.js';
import { LOOKUP_DIRECTORY, LOOKUP_FOLLOW, path_put, user_path_at } from '../namei.js';
import { FMODE_LSEEK, FMODE_READ, O_CLOEXEC, O_NONBLOCK, O_RDONLY } from '../uapi_fcntl.js';
import { fsnotify_add_event, fsnotify_flush_notify, FsnotifyGroup, type FsnotifyEvent } from './group.js';
import {
  FS_EVENT_ON_CHILD,
  FS_IN_IGNORED,
  FS_Q_OVERFLOW,
  FS_UNMOUNT,
  FSNOTIFY_MARK_FLAG_EXCL_UNLINK,
  FSNOTIFY_MARK_FLAG_IN_ONESHOT,
  fsnotify_add_inode_mark_locked,
  fsnotify_destroy_mark,
  fsnotify_find_inode_mark,
  fsnotify_recalc_mask,
  FsnotifyMark,
} from './mark.js';
import { PAGE_SIZE } from '../../../hw/types.js';

// ---- include/uapi/linux/inotify.h ----
export const IN_ACCESS = 0x00000001;
export const IN_MODIFY = 0x00000002;
export const IN_ATTRIB = 0x00000004;
export const IN_CLOSE_WRITE = 0x00000008;
export const IN_CLOSE_NOWRITE = 0x00000010;
export const IN_OPEN = 0x00000020;
export const IN_MOVED_FROM = 0x00000040;
export const IN_MOVED_TO = 0x00000080;
export const IN_CREATE = 0x00000100;
export const IN_DELETE = 0x00000200;
export const IN_DELETE_SELF = 0x00000400;
export const IN_MOVE_SELF = 0x00000800;
export const IN_UNMOUNT = 0x00002000;
export const IN_Q_OVERFLOW = 0x00004000;
export const IN_IGNORED = 0x00008000;
export const IN_ONLYDIR = 0x01000000;
export const IN_DONT_FOLLOW = 0x02000000;
export const IN_EXCL_UNLINK = 0x04000000;
export const IN_MASK_CREATE = 0x10000000;
export const IN_MASK_ADD = 0x20000000;
export const IN_ISDIR = 0x40000000;
export const IN_ONESHOT = 0x80000000;
export const IN_ALL_EVENTS = 0x00000fff;
export const IN_CLOEXEC = O_CLOEXEC;
export const IN_NONBLOCK = O_NONBLOCK;
/** Every bit inotify_add_watch accepts (ALL_INOTIFY_BITS). */
export const ALL_INOTIFY_BITS =
  (IN_ALL_EVENTS | IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ISDIR | IN_ONESHOT) >>> 0;
/** sizeof(struct inotify_event). */
export const INOTIFY_EVENT_SIZE = 16;
const FIONREAD = 0x541b;

/** sizeof(struct inotify_event_info) without the name. */
const EVENT_INFO_BYTES = 32;
/** sizeof(struct inotify_inode_mark). */
const MARK_BYTES = 96;

const CAT_HANDLE = intern('inotify_handle_inode_event');
const CAT_READ = intern('inotify_read');
const CAT_COPY = intern('copy_event_to_user');
const CAT_ADD_WATCH = intern('inotify_update_watch');
const CAT_RELEASE = intern('inotify_release');
const CAT_WAIT = intern('wait_woken');
const CAT_FIONREAD = intern('inotify_ioctl');

/** struct inotify_event_info. */
export class InotifyEventInfo implements FsnotifyEvent {
  constructor(
    public addr: number,
    public bytes: number,
    readonly mask: number,
    readonly wd: number,
    readonly sync_cookie: number,
    /** The name, or "" for none. */
    readonly name: string,
    /** Bytes of the name (UTF-8), 0 for none. */
    readonly name_len: number,
  ) {}
}

/** struct inotify_inode_mark. */
export class InotifyInodeMark extends FsnotifyMark {
  wd = -1;
}

/** The per-user counts that max_user_instances and max_user_watches limit (struct ucounts). */
export interface InotifyUcounts {
  instances: number;
  watches: number;
}

/** group->inotify_data. */
export class InotifyData {
  /** The idr: wd -> mark. */
  readonly idr = new Map<number, InotifyInodeMark>();
  /** idr_alloc_cyclic's cursor. */
  idrNext = 1;

  constructor(
    readonly k: Kernel,
    readonly group: FsnotifyGroup,
    readonly ucounts: InotifyUcounts,
  ) {}
}

/** One event as read(2) returns it, for callers that want more than the byte sum. */
export interface InotifyEventRecord {
  wd: number;
  mask: number;
  cookie: number;
  name: string;
}

/** An IoBuf that also collects the events a read returns (the script's inotify_read op). */
export interface InotifyReadBuf extends IoBuf {
  events?: InotifyEventRecord[];
}

function utf8len(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** round_event_name_len(): the padded length of an event's name. */
export function round_event_name_len(e: InotifyEventInfo): number {
  if (!e.name_len) return 0;
  return Math.ceil((e.name_len + 1) / INOTIFY_EVENT_SIZE) * INOTIFY_EVENT_SIZE;
}

/** Bytes the event takes in a read buffer. */
export function event_bytes(e: InotifyEventInfo): number {
  return INOTIFY_EVENT_SIZE + round_event_name_len(e);
}

function ucountsOf(k: Kernel, uid: number): InotifyUcounts {
  const m = k.inotifyUcounts;
  let u = m.get(uid);
  if (!u) {
    u = { instances: 0, watches: 0 };
    m.set(uid, u);
  }
  return u;
}

/** The inotify instances and watches of a user (for tests and /proc). */
export function inotify_user_counts(k: Kernel, uid: number): { instances: number; watches: number } {
  const u = ucountsOf(k, uid);
  return { instances: u.instances, watches: u.watches };
}

function dataOf(group: FsnotifyGroup): InotifyData {
  return group.data as InotifyData;
}

// ---- the fsnotify backend (inotify_fsnotify.c) ----

/** event_compare(): the new event repeats the last queued one. */
function inotify_merge(t: Task, group: FsnotifyGroup, ev: FsnotifyEvent): boolean {
  const k = t.k;
  const last = group.last() as InotifyEventInfo;
  const e = ev as InotifyEventInfo;
  k.touch(t, last.addr, false);
  t.charge(k.cfg.kernel.cost.kernel_op);
  if (last.mask & FS_IN_IGNORED) return false;
  return last.mask === e.mask && last.wd === e.wd && last.name_len === e.name_len && last.name === e.name;
}

/** inotify_handle_inode_event(): build the event, queue it, and end a oneshot watch. */
function* inotify_handle_inode_event(
  t: Task,
  fsnMark: FsnotifyMark,
  mask: number,
  _inode: Inode | null,
  _dir: Inode | null,
  name: string | null,
  cookie: number,
): Blocking<void> {
  const k = t.k;
  const mark = fsnMark as InotifyInodeMark;
  const group = mark.group;
  const wd = mark.wd;
  if (wd === -1) return;
  t.enter(CAT_HANDLE);
  const len = name ? utf8len(name) : 0;
  const bytes = EVENT_INFO_BYTES + (len ? len + 1 : 0);
  const addr = k.slab.kmalloc(bytes);
  t.charge(k.cfg.kernel.cost.kmalloc + k.cfg.kernel.cost.kernel_op);
  if (mask & (IN_MOVE_SELF | IN_DELETE_SELF)) mask &= ~IN_ISDIR;
  const event = new InotifyEventInfo(addr, bytes, mask >>> 0, wd, cookie, name ?? '', len);
  k.touchRange(t, addr, bytes, true);
  const ret = yield* fsnotify_add_event(t, group, event, inotify_merge);
  if (ret) {
    if (ret === 1) k.engine.counters.add('inotify_events_merged');
    else if (!group.shutdown) k.engine.counters.add('inotify_events_dropped');
    free_event(t, event);
  } else k.engine.counters.add('inotify_events_queued');
  if (mark.flags & FSNOTIFY_MARK_FLAG_IN_ONESHOT) yield* fsnotify_destroy_mark(t, mark);
  t.leave();
}

/** inotify_freeing_mark() -> inotify_ignored_and_remove_idr(): IN_IGNORED, then the wd is gone. */
function* inotify_freeing_mark(t: Task, fsnMark: FsnotifyMark, group: FsnotifyGroup): Blocking<void> {
  const mark = fsnMark as InotifyInodeMark;
  yield* inotify_handle_inode_event(t, mark, FS_IN_IGNORED, null, null, null, 0);
  const data = dataOf(group);
  if (mark.wd !== -1) data.idr.delete(mark.wd);
  mark.wd = -1;
  data.ucounts.watches--;
}

function free_event(t: Task, ev: FsnotifyEvent): void {
  const k = t.k;
  t.charge(k.cfg.kernel.cost.kmalloc);
  k.slab.kfree(ev.addr, ev.bytes);
}

const inotify_fsnotify_ops = {
  handle_inode_event: inotify_handle_inode_event,
  freeing_mark: inotify_freeing_mark,
  free_event,
};

// ---- the file (inotify_user.c) ----

/** copy_event_to_user(): the event's 16 bytes and padded name; returns the bytes. */
function copy_event_to_user(t: Task, e: InotifyEventInfo, buf: InotifyReadBuf | null): number {
  const k = t.k;
  t.enter(CAT_COPY);
  const n = event_bytes(e);
  k.touch(t, e.addr, false);
  t.charge(Math.ceil((k.cfg.cost.copy_page * n) / PAGE_SIZE));
  if (buf) {
    const mask = e.mask & (IN_ALL_EVENTS | IN_ISDIR | IN_UNMOUNT | IN_IGNORED | IN_Q_OVERFLOW);
    buf.sum += byteSum(e.wd >>> 0) + byteSum(mask >>> 0) + byteSum(e.sync_cookie >>> 0) + byteSum(round_event_name_len(e));
    if (e.name_len) {
      const b = Buffer.from(e.name, 'utf8');
      for (let i = 0; i < b.length; i++) buf.sum += b[i]!;
    }
    buf.events?.push({ wd: e.wd, mask: mask >>> 0, cookie: e.sync_cookie, name: e.name });
    if (buf.bytes) {
      const len = round_event_name_len(e);
      for (const v of [e.wd >>> 0, mask >>> 0, e.sync_cookie >>> 0, len]) buf.bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
      const name = Buffer.from(e.name, 'utf8');
      for (let i = 0; i < len; i++) buf.bytes.push(i < name.length ? name[i]! : 0);
    }
  }
  t.leave();
  return n;
}

function byteSum(u32: number): number {
  return (u32 & 0xff) + ((u32 >>> 8) & 0xff) + ((u32 >>> 16) & 0xff) + ((u32 >>> 24) & 0xff);
}

/**
 * inotify_read(): copy whole events while they fit; wait (unless
 * O_NONBLOCK) while nothing is queued and nothing was copied.
 */
function* inotify_read(t: Task, file: File, count: number, buf: IoBuf | null): Blocking<number> {
  const group = file.private_data as FsnotifyGroup;
  const k = kernelOf(group);
  t.enter(CAT_READ);
  let copied = 0;
  let ret = 0;
  for (;;) {
    yield* group.notification_lock.lock(t);
    k.touch(t, group.addr, false);
    const first = group.first() as InotifyEventInfo | null;
    let ev: InotifyEventInfo | null = null;
    let err = 0;
    if (first) {
      k.touch(t, first.addr, false);
      if (event_bytes(first) > count) err = -EINVAL;
      else {
        group.shift();
        k.touch(t, group.addr, true);
        ev = first;
      }
    }
    group.notification_lock.unlock(t);
    if (err) {
      ret = err;
      break;
    }
    if (ev) {
      const n = copy_event_to_user(t, ev, buf as InotifyReadBuf | null);
      if (ev !== group.overflow_event) free_event(t, ev);
      copied += n;
      count -= n;
      continue;
    }
    ret = -EAGAIN;
    if (file.f_flags & O_NONBLOCK) break;
    if (copied > 0) break;
    t.enter(CAT_WAIT);
    yield t.sleepOn(group.notification_waitq);
    t.leave();
  }
  t.leave();
  return copied > 0 ? copied : ret;
}

function kernelOf(g: FsnotifyGroup): Kernel {
  return dataOf(g).k;
}

/** inotify_ioctl(): FIONREAD walks the queue adding up each event's size (returned as the value). */
function* inotify_ioctl(t: Task, file: File, cmd: number): Blocking<number> {
  if (cmd !== FIONREAD) return -ENOTTY;
  const group = file.private_data as FsnotifyGroup;
  const k = kernelOf(group);
  t.enter(CAT_FIONREAD);
  yield* group.notification_lock.lock(t);
  let n = 0;
  for (const e of group.queued()) {
    k.touch(t, e.addr, false);
    n += event_bytes(e as InotifyEventInfo);
  }
  t.charge(k.cfg.kernel.cost.kernel_op);
  group.notification_lock.unlock(t);
  t.leave();
  return n;
}

/** inotify_release(): stop queueing, destroy every watch, drop the queue, give back the instance. */
function* inotify_release(t: Task, file: File): Blocking<number> {
  const group = file.private_data as FsnotifyGroup;
  const k = kernelOf(group);
  t.enter(CAT_RELEASE);
  yield* group.notification_lock.lock(t);
  group.shutdown = true;
  group.notification_lock.unlock(t);
  while (group.marks.length > 0) yield* fsnotify_destroy_mark(t, group.marks[0]!);
  yield* fsnotify_flush_notify(t, group);
  const data = dataOf(group);
  data.ucounts.instances--;
  t.charge(k.cfg.kernel.cost.kmalloc * 2);
  k.slab.kfree(group.overflow_event.addr, group.overflow_event.bytes);
  t.leave();
  return 0;
}

/** inotify_poll(): readable when something is queued. */
function* inotify_poll(_t: Task, file: File): Blocking<number> {
  const group = file.private_data as FsnotifyGroup;
  return group.empty ? 0 : 0x1 | 0x40;
}

/** noop_llseek(): the position does not move. */
function* noop_llseek(_t: Task, file: File): Blocking<loff_t> {
  return file.f_pos;
}

export const inotify_fops: FileOperations = {
  name: 'inotify',
  read: inotify_read,
  noReadIter: true,
  ioctl: inotify_ioctl,
  release: inotify_release,
  poll: inotify_poll,
  llseek: noop_llseek,
};

/** The inotify group behind an fd's file, or null when it is not an inotify instance. */
export function inotify_group_of(file: File): FsnotifyGroup | null {
  return file.f_op === inotify_fops ? (file.private_data as FsnotifyGroup) : null;
}

/** inotify_new_group(): -EMFILE past max_user_instances. */
function inotify_new_group(t: Task): FsnotifyGroup | number {
  const k = t.k;
  const uid = current(t).cred.uid;
  const uc = ucountsOf(k, uid);
  if (uc.instances >= k.cfg.kernel.inotify_max_user_instances) return -EMFILE;
  const oaddr = k.slab.kmalloc(EVENT_INFO_BYTES);
  const overflow = new InotifyEventInfo(oaddr, EVENT_INFO_BYTES, FS_Q_OVERFLOW, -1, 0, '', 0);
  const group = new FsnotifyGroup(k, inotify_fsnotify_ops, k.cfg.kernel.inotify_max_queued_events, overflow, 'inotify');
  t.charge(2 * k.cfg.kernel.cost.kmalloc + k.cfg.kernel.cost.kernel_op);
  k.touchRange(t, group.addr, 256, true);
  group.data = new InotifyData(k, group, uc);
  uc.instances++;
  return group;
}

/** do_inotify_init(). */
export function* do_inotify_init(t: Task, flags: number): Blocking<number> {
  const k = t.k;
  if (flags & ~(IN_CLOEXEC | IN_NONBLOCK)) return -EINVAL;
  const group = inotify_new_group(t);
  if (typeof group === 'number') return group;
  const fd = yield* get_unused_fd_flags(t, flags & O_CLOEXEC);
  if (fd < 0) {
    dataOf(group).ucounts.instances--;
    k.slab.kfree(group.overflow_event.addr, group.overflow_event.bytes);
    return fd;
  }
  const file = alloc_file(k, t, 'anon_inode:inotify', O_RDONLY | (flags & O_NONBLOCK), FMODE_READ | FMODE_LSEEK, inotify_fops);
  file.private_data = group;
  yield* fd_install(t, fd, file);
  return fd;
}

/** inotify_arg_to_mask(): what the mark listens for. */
function inotify_arg_to_mask(inode: Inode, arg: number): number {
  let mask = FS_UNMOUNT;
  if ((inode.i_mode & 0o170000) === 0o040000) mask |= FS_EVENT_ON_CHILD;
  mask |= arg & IN_ALL_EVENTS;
  return mask >>> 0;
}

function inotify_arg_to_flags(arg: number): number {
  let flags = 0;
  if (arg & IN_EXCL_UNLINK) flags |= FSNOTIFY_MARK_FLAG_EXCL_UNLINK;
  if (arg & IN_ONESHOT) flags |= FSNOTIFY_MARK_FLAG_IN_ONESHOT;
  return flags;
}

/** inotify_update_existing_watch(): -ENOENT when the group has no mark on the inode. */
function inotify_update_existing_watch(t: Task, group: FsnotifyGroup, inode: Inode, arg: number): number {
  const k = t.k;
  const mark = fsnotify_find_inode_mark(t, inode, group) as InotifyInodeMark | null;
  if (!mark) return -2;
  if (arg & IN_MASK_CREATE) return -EEXIST;
  const oldMask = mark.mask;
  if (!(arg & IN_MASK_ADD)) {
    mark.mask = 0;
    mark.flags &= ~(FSNOTIFY_MARK_FLAG_EXCL_UNLINK | FSNOTIFY_MARK_FLAG_IN_ONESHOT);
  }
  mark.mask = (mark.mask | inotify_arg_to_mask(inode, arg)) >>> 0;
  mark.flags |= inotify_arg_to_flags(arg);
  k.touch(t, mark.addr, true);
  if (oldMask !== mark.mask) fsnotify_recalc_mask(t, inode);
  return mark.wd;
}

/** inotify_new_watch(): a wd from the cyclic idr (consumed even when the watch limit then refuses). */
function inotify_new_watch(t: Task, group: FsnotifyGroup, inode: Inode, arg: number): number {
  const k = t.k;
  const data = dataOf(group);
  const addr = k.slab.kmalloc(MARK_BYTES);
  t.charge(k.cfg.kernel.cost.kmalloc);
  const mark = new InotifyInodeMark(group, addr, MARK_BYTES);
  mark.mask = inotify_arg_to_mask(inode, arg);
  mark.flags = inotify_arg_to_flags(arg);
  // idr_alloc_cyclic(idr, mark, 1, 0): the next free id at or after the cursor, wrapping to 1.
  let wd = data.idrNext;
  while (data.idr.has(wd)) wd = wd >= 0x7fffffff ? 1 : wd + 1;
  data.idrNext = wd >= 0x7fffffff ? 1 : wd + 1;
  data.idr.set(wd, mark);
  mark.wd = wd;
  t.charge(k.cfg.kernel.cost.kernel_op);
  if (data.ucounts.watches >= k.cfg.kernel.inotify_max_user_watches) {
    data.idr.delete(wd);
    k.slab.kfree(addr, MARK_BYTES);
    return -ENOSPC;
  }
  data.ucounts.watches++;
  fsnotify_add_inode_mark_locked(t, mark, inode);
  return wd;
}

/** sys_inotify_add_watch(). */
export function* do_inotify_add_watch(t: Task, fd: number, pathname: string, mask: number): Blocking<number> {
  mask = mask >>> 0;
  if (!(mask & ALL_INOTIFY_BITS)) return -EINVAL;
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  let ret: number;
  const group = inotify_group_of(f.file);
  if (!group) ret = -EINVAL;
  else if (mask & IN_MASK_ADD && mask & IN_MASK_CREATE) ret = -EINVAL;
  else {
    let flags = 0;
    if (!(mask & IN_DONT_FOLLOW)) flags |= LOOKUP_FOLLOW;
    if (mask & IN_ONLYDIR) flags |= LOOKUP_DIRECTORY;
    const path = yield* user_path_at(t, pathname, flags);
    if (typeof path === 'number') ret = path;
    else {
      const inode = path.dentry.d_inode!;
      ret = inode_permission(t, inode, MAY_READ);
      if (ret === 0) {
        t.enter(CAT_ADD_WATCH);
        yield* group.mark_mutex.lock(t);
        ret = inotify_update_existing_watch(t, group, inode, mask);
        if (ret === -2) ret = inotify_new_watch(t, group, inode, mask);
        group.mark_mutex.unlock(t);
        t.leave();
      }
      yield* path_put(t, path);
    }
  }
  yield* fput_light(t, f);
  return ret;
}

/** sys_inotify_rm_watch(): IN_IGNORED is queued as the mark goes. */
export function* do_inotify_rm_watch(t: Task, fd: number, wd: number): Blocking<number> {
  const k = t.k;
  const f = fget_light(t, fd >>> 0);
  if (!f.file) return -EBADF;
  let ret = 0;
  const group = inotify_group_of(f.file);
  if (!group) ret = -EINVAL;
  else {
    const mark = dataOf(group).idr.get(wd | 0);
    t.charge(k.cfg.kernel.cost.kernel_op);
    if (!mark) ret = -EINVAL;
    else yield* fsnotify_destroy_mark(t, mark);
  }
  yield* fput_light(t, f);
  return ret;
}

export function sys_inotify_init1(t: Task, flags: number): Blocking<number> {
  return syscall(t, 'inotify_init1', do_inotify_init(t, flags));
}

export function sys_inotify_add_watch(t: Task, fd: number, pathname: string, mask: number): Blocking<number> {
  return syscall(t, 'inotify_add_watch', do_inotify_add_watch(t, fd, pathname, mask));
}

export function sys_inotify_rm_watch(t: Task, fd: number, wd: number): Blocking<number> {
  return syscall(t, 'inotify_rm_watch', do_inotify_rm_watch(t, fd, wd));
}
