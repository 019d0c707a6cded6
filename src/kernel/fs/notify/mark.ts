/**
 * fsnotify marks, after fs/notify/mark.c: a mark ties a group to an inode
 * with a mask of the events the group wants. An inode's marks are its
 * connector's list; the inode keeps the union of their masks in
 * i_fsnotify_mask so that fsnotify can tell at a glance whether anyone
 * listens. While an inode has marks the connector holds a reference to it
 * (fsnotify_get_inode_ref), so a watched inode is never evicted under its
 * watches; the reference goes when the last mark is detached.
 */
import { intern } from '../../../sim/attribution.js';
import type { Blocking, Task } from '../../../sim/task.js';
import { ihold, iput, type Inode } from '../inode.js';
import type { FsnotifyGroup } from './group.js';

/** include/linux/fsnotify_backend.h bits the dispatcher uses beyond the IN_* events. */
export const FS_ACCESS = 0x00000001;
export const FS_MODIFY = 0x00000002;
export const FS_ATTRIB = 0x00000004;
export const FS_CLOSE_WRITE = 0x00000008;
export const FS_CLOSE_NOWRITE = 0x00000010;
export const FS_OPEN = 0x00000020;
export const FS_MOVED_FROM = 0x00000040;
export const FS_MOVED_TO = 0x00000080;
export const FS_CREATE = 0x00000100;
export const FS_DELETE = 0x00000200;
export const FS_DELETE_SELF = 0x00000400;
export const FS_MOVE_SELF = 0x00000800;
export const FS_UNMOUNT = 0x00002000;
export const FS_Q_OVERFLOW = 0x00004000;
export const FS_IN_IGNORED = 0x00008000;
/** The event happened to a child of the marked directory. */
export const FS_EVENT_ON_CHILD = 0x08000000;
export const FS_ISDIR = 0x40000000;
/** Events a mark can ask for (ALL_FSNOTIFY_EVENTS, restricted to what inotify can request). */
export const ALL_FSNOTIFY_EVENTS = 0x00000fff | FS_UNMOUNT | FS_Q_OVERFLOW | FS_IN_IGNORED;
/** Events about directory entries: they carry the entry's name even when delivered to the entry's own mark. */
export const ALL_FSNOTIFY_DIRENT_EVENTS = FS_CREATE | FS_DELETE | FS_MOVED_FROM | FS_MOVED_TO;
/** Events a directory can receive for its children (FS_EVENTS_POSS_ON_CHILD). */
export const FS_EVENTS_POSS_ON_CHILD = FS_ACCESS | FS_MODIFY | FS_ATTRIB | FS_CLOSE_WRITE | FS_CLOSE_NOWRITE | FS_OPEN;

/** mark->flags. */
export const FSNOTIFY_MARK_FLAG_EXCL_UNLINK = 0x10;
export const FSNOTIFY_MARK_FLAG_IN_ONESHOT = 0x20;
export const FSNOTIFY_MARK_FLAG_ATTACHED = 0x01;

const CAT_ADD_MARK = intern('fsnotify_add_mark_locked');
const CAT_DESTROY_MARK = intern('fsnotify_destroy_mark');

export class FsnotifyMark {
  mask = 0;
  flags = 0;
  /** The inode it is attached to (null once detached). */
  inode: Inode | null = null;

  constructor(
    readonly group: FsnotifyGroup,
    /** Kernel address of the object. */
    readonly addr: number,
    readonly objBytes: number,
  ) {}

  get attached(): boolean {
    return (this.flags & FSNOTIFY_MARK_FLAG_ATTACHED) !== 0;
  }
}

/** fsnotify_recalc_mask(): the inode's mask is the union of its marks' masks. */
export function fsnotify_recalc_mask(t: Task, inode: Inode): void {
  const k = t.k;
  let m = 0;
  for (const mark of inode.i_fsnotify_marks ?? []) {
    k.touch(t, mark.addr, false);
    m |= mark.mask;
  }
  k.touch(t, inode.addr, true);
  inode.i_fsnotify_mask = m;
}

/** fsnotify_find_inode_mark(): this group's mark on the inode, or null. */
export function fsnotify_find_inode_mark(t: Task, inode: Inode, group: FsnotifyGroup): FsnotifyMark | null {
  const k = t.k;
  k.touch(t, inode.addr, false);
  for (const mark of inode.i_fsnotify_marks ?? []) {
    k.touch(t, mark.addr, false);
    if (mark.group === group) return mark;
  }
  return null;
}

/**
 * fsnotify_add_inode_mark_locked(): attach `mark` to the inode and the
 * group (the caller holds group.mark_mutex). The first mark on an inode
 * takes a reference on it.
 */
export function fsnotify_add_inode_mark_locked(t: Task, mark: FsnotifyMark, inode: Inode): void {
  const k = t.k;
  t.enter(CAT_ADD_MARK);
  t.charge(k.cfg.kernel.cost.kernel_op);
  if (!inode.i_fsnotify_marks || inode.i_fsnotify_marks.length === 0) {
    inode.i_fsnotify_marks = [];
    ihold(t, inode);
    inode.i_sb.s_fsnotify_connectors++;
  }
  inode.i_fsnotify_marks.push(mark);
  mark.inode = inode;
  mark.flags |= FSNOTIFY_MARK_FLAG_ATTACHED;
  mark.group.marks.push(mark);
  k.touch(t, mark.addr, true);
  fsnotify_recalc_mask(t, inode);
  t.leave();
}

/** fsnotify_detach_mark(): off the inode's and the group's lists; the last mark lets go of the inode. */
function fsnotify_detach_mark(t: Task, mark: FsnotifyMark): void {
  const inode = mark.inode;
  mark.flags &= ~FSNOTIFY_MARK_FLAG_ATTACHED;
  const gl = mark.group.marks;
  const gi = gl.indexOf(mark);
  if (gi >= 0) gl.splice(gi, 1);
  if (!inode) return;
  mark.inode = null;
  const list = inode.i_fsnotify_marks!;
  const i = list.indexOf(mark);
  if (i >= 0) list.splice(i, 1);
  fsnotify_recalc_mask(t, inode);
  if (list.length === 0) {
    inode.i_fsnotify_marks = null;
    inode.i_sb.s_fsnotify_connectors--;
    iput(t, inode);
  }
}

/**
 * fsnotify_destroy_mark(): detach the mark and tell its group
 * (->freeing_mark), then free it. A mark already detached is left alone.
 */
export function* fsnotify_destroy_mark(t: Task, mark: FsnotifyMark): Blocking<void> {
  const k = t.k;
  if (!mark.attached) return;
  t.enter(CAT_DESTROY_MARK);
  const group = mark.group;
  yield* group.mark_mutex.lock(t);
  if (!mark.attached) {
    group.mark_mutex.unlock(t);
    t.leave();
    return;
  }
  fsnotify_detach_mark(t, mark);
  group.mark_mutex.unlock(t);
  yield* group.ops.freeing_mark(t, mark, group);
  t.charge(k.cfg.kernel.cost.kmalloc);
  k.slab.kfree(mark.addr, mark.objBytes);
  t.leave();
}

/** fsnotify_destroy_marks(): every mark on the inode (it is going away). */
export function* fsnotify_destroy_marks(t: Task, inode: Inode): Blocking<void> {
  while (inode.i_fsnotify_marks && inode.i_fsnotify_marks.length > 0) {
    yield* fsnotify_destroy_mark(t, inode.i_fsnotify_marks[0]!);
  }
}
