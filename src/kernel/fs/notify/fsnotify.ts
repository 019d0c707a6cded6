/**
 * The fsnotify dispatcher and the VFS hooks, after fs/notify/fsnotify.c and
 * include/linux/fsnotify.h (today's kernel).
 *
 * The VFS calls one hook per change (fsnotify_create, fsnotify_modify,
 * fsnotify_move, ...). An event about a file goes to the marks on the file
 * and, when its directory watches its children, to the directory's marks
 * with the file's name (FS_EVENT_ON_CHILD). Per group, the directory's
 * event is delivered first, then the file's own, which carries a name only
 * for directory-entry events. An event about a directory entry (create,
 * delete, moves) goes to the directory's marks with the entry's name.
 *
 * Cost: a file system with no marks at all returns after one test of its
 * super block (s_fsnotify_connectors); otherwise the inode's mask is read
 * (its cache line), and every candidate mark's line is read.
 */
import { intern } from '../../../sim/attribution.js';
import type { Blocking, Task } from '../../../sim/task.js';
import type { Kernel } from '../../kernel.js';
import { d_unlinked, type Dentry } from '../dcache.js';
import { S_ISDIR, type Inode } from '../inode.js';
import type { FsnotifyGroup } from './group.js';
import {
  ALL_FSNOTIFY_DIRENT_EVENTS,
  ALL_FSNOTIFY_EVENTS,
  FS_ACCESS,
  FS_ATTRIB,
  FS_CLOSE_NOWRITE,
  FS_CLOSE_WRITE,
  FS_CREATE,
  FS_DELETE,
  FS_DELETE_SELF,
  FS_EVENT_ON_CHILD,
  FS_EVENTS_POSS_ON_CHILD,
  FS_ISDIR,
  FS_MODIFY,
  FS_MOVE_SELF,
  FS_MOVED_FROM,
  FS_MOVED_TO,
  FS_OPEN,
  FSNOTIFY_MARK_FLAG_EXCL_UNLINK,
  fsnotify_destroy_marks,
  type FsnotifyMark,
} from './mark.js';

const CAT_FSNOTIFY = intern('fsnotify');

// include/linux/fs.h ATTR_* bits fsnotify_change looks at (kept here so attr.ts and this file agree).
const ATTR_MODE = 1 << 0;
const ATTR_UID = 1 << 1;
const ATTR_GID = 1 << 2;
const ATTR_SIZE = 1 << 3;
const ATTR_ATIME = 1 << 4;
const ATTR_MTIME = 1 << 5;

/** fsnotify_inode_watches_children(): the events the inode's marks want about its children. */
function watches_children(inode: Inode): number {
  if (!(inode.i_fsnotify_mask & FS_EVENT_ON_CHILD)) return 0;
  return inode.i_fsnotify_mask & FS_EVENTS_POSS_ON_CHILD;
}

/**
 * fsnotify(): deliver `mask` to the marks of `inode` (or of `dir` for a
 * directory-entry event, inode null) and, for an event on a child, of `dir`.
 * `pathDentry` is the dentry of a file event (open, access, modify, close),
 * which IN_EXCL_UNLINK marks ignore once the file is unlinked.
 */
export function* fsnotify(
  t: Task,
  mask: number,
  pathDentry: Dentry | null,
  dataInode: Inode | null,
  dir: Inode | null,
  name: string | null,
  inode: Inode | null,
  cookie: number,
): Blocking<void> {
  const k = t.k;
  let inode2: Inode | null = null;
  if (!inode) inode = dir;
  else if (mask & FS_EVENT_ON_CHILD) inode2 = dir;
  if (!inode) return;
  if (inode.i_sb.s_fsnotify_connectors === 0) return;
  t.enter(CAT_FSNOTIFY);
  k.touch(t, inode.addr, false);
  if (inode2) k.touch(t, inode2.addr, false);
  const testMask = mask & ALL_FSNOTIFY_EVENTS;
  const marksMask = inode.i_fsnotify_mask | (inode2 ? inode2.i_fsnotify_mask : 0);
  if (!(testMask & marksMask)) {
    t.leave();
    return;
  }
  // The marks of both inodes merged by group, in list order (each group has at most one mark per inode).
  const inodeMarks = inode.i_fsnotify_marks ? inode.i_fsnotify_marks.slice() : [];
  const parentMarks = inode2 && inode2.i_fsnotify_marks ? inode2.i_fsnotify_marks.slice() : [];
  const groups: FsnotifyGroup[] = [];
  for (const m of parentMarks) groups.push(m.group);
  for (const m of inodeMarks) if (!groups.includes(m.group)) groups.push(m.group);
  for (const g of groups) {
    let parentMark = parentMarks.find((m) => m.group === g) ?? null;
    const inodeMark = inodeMarks.find((m) => m.group === g) ?? null;
    // A parent mark reports only if it watches children.
    if (parentMark && !(parentMark.mask & FS_EVENT_ON_CHILD)) parentMark = null;
    let groupMask = 0;
    if (parentMark) {
      k.touch(t, parentMark.addr, false);
      groupMask |= parentMark.mask;
    }
    if (inodeMark) {
      k.touch(t, inodeMark.addr, false);
      groupMask |= inodeMark.mask;
    }
    t.charge(k.cfg.kernel.cost.kernel_op);
    if (!(testMask & groupMask)) continue;
    // fsnotify_handle_event()
    if (parentMark) yield* handle_inode_event(t, g, parentMark, mask, pathDentry, dataInode, dir, name, 0);
    if (!inodeMark) continue;
    const m = mask & ~FS_EVENT_ON_CHILD;
    let d = dir;
    let n = name;
    if (!(m & ALL_FSNOTIFY_DIRENT_EVENTS)) {
      d = null;
      n = null;
    }
    yield* handle_inode_event(t, g, inodeMark, m, pathDentry, dataInode, d, n, cookie);
  }
  t.leave();
}

/** fsnotify_handle_inode_event(): the mark's own interest and IN_EXCL_UNLINK, then the backend. */
function* handle_inode_event(
  t: Task,
  group: FsnotifyGroup,
  mark: FsnotifyMark,
  mask: number,
  pathDentry: Dentry | null,
  dataInode: Inode | null,
  dir: Inode | null,
  name: string | null,
  cookie: number,
): Blocking<void> {
  if (!mark.attached) return; // destroyed by an earlier delivery of this event (IN_ONESHOT)
  if (mark.flags & FSNOTIFY_MARK_FLAG_EXCL_UNLINK && pathDentry && d_unlinked(pathDentry)) return;
  if (!(mask & mark.mask & ALL_FSNOTIFY_EVENTS)) return;
  yield* group.ops.handle_inode_event(t, mark, mask, dataInode, dir, name, cookie);
}

/**
 * fsnotify_parent(): an event about the file at `dentry`: to its directory
 * (with the name) if the directory watches its children, and to the file.
 */
export function* fsnotify_parent(t: Task, dentry: Dentry, mask: number, pathDentry: Dentry | null): Blocking<void> {
  const k = t.k;
  const inode = dentry.d_inode;
  if (!inode || inode.i_sb.s_fsnotify_connectors === 0) return;
  if (S_ISDIR(inode.i_mode)) mask |= FS_ISDIR;
  if (!dentry.isRoot) {
    const p = dentry.d_parent.d_inode;
    if (p) {
      k.touch(t, dentry.d_parent.addr, false);
      if (mask & watches_children(p) & ALL_FSNOTIFY_EVENTS) {
        yield* fsnotify(t, mask | FS_EVENT_ON_CHILD, pathDentry, inode, p, dentry.d_name, inode, 0);
        return;
      }
    }
  }
  yield* fsnotify(t, mask, pathDentry, inode, null, null, inode, 0);
}

/** fsnotify_name(): a directory-entry event on `dir` about `name`. */
function* fsnotify_name(t: Task, mask: number, child: Inode | null, dir: Inode, name: string, cookie: number): Blocking<void> {
  yield* fsnotify(t, mask, null, child, dir, name, null, cookie);
}

/** fsnotify_dirent(). */
function* fsnotify_dirent(t: Task, dir: Inode, dentry: Dentry, mask: number): Blocking<void> {
  if (dentry.d_inode && S_ISDIR(dentry.d_inode.i_mode)) mask |= FS_ISDIR;
  yield* fsnotify_name(t, mask, dentry.d_inode, dir, dentry.d_name, 0);
}

/** fsnotify_inode(): an event about the inode itself, to its own marks only. */
function* fsnotify_inode(t: Task, inode: Inode, mask: number): Blocking<void> {
  if (S_ISDIR(inode.i_mode)) mask |= FS_ISDIR;
  yield* fsnotify(t, mask, null, inode, null, null, inode, 0);
}

/** An open file as fsnotify sees it: its dentry and how it was opened. */
export interface NotifyFile {
  dentry: Dentry;
  writable: boolean;
}

export function* fsnotify_open(t: Task, f: NotifyFile): Blocking<void> {
  yield* fsnotify_parent(t, f.dentry, FS_OPEN, f.dentry);
}

export function* fsnotify_close(t: Task, f: NotifyFile): Blocking<void> {
  yield* fsnotify_parent(t, f.dentry, f.writable ? FS_CLOSE_WRITE : FS_CLOSE_NOWRITE, f.dentry);
}

export function* fsnotify_access(t: Task, f: NotifyFile): Blocking<void> {
  yield* fsnotify_parent(t, f.dentry, FS_ACCESS, f.dentry);
}

export function* fsnotify_modify(t: Task, f: NotifyFile): Blocking<void> {
  yield* fsnotify_parent(t, f.dentry, FS_MODIFY, f.dentry);
}

export function* fsnotify_create(t: Task, dir: Inode, dentry: Dentry): Blocking<void> {
  yield* fsnotify_dirent(t, dir, dentry, FS_CREATE);
}

export function* fsnotify_mkdir(t: Task, dir: Inode, dentry: Dentry): Blocking<void> {
  yield* fsnotify_dirent(t, dir, dentry, FS_CREATE | FS_ISDIR);
}

/** fsnotify_delete(): `inode` was `dentry`'s inode before d_delete made the dentry negative. */
export function* fsnotify_delete(t: Task, dir: Inode, inode: Inode, dentry: Dentry): Blocking<void> {
  const mask = FS_DELETE | (S_ISDIR(inode.i_mode) ? FS_ISDIR : 0);
  yield* fsnotify_name(t, mask, inode, dir, dentry.d_name, 0);
}

/** fsnotify_link_count(): the inode's link count changed. */
export function* fsnotify_link_count(t: Task, inode: Inode): Blocking<void> {
  yield* fsnotify_inode(t, inode, FS_ATTRIB);
}

/** fsnotify_get_cookie(): the next rename cookie (one counter for the whole kernel). */
export function fsnotify_get_cookie(k: Kernel): number {
  k.fsnotifyCookie = (k.fsnotifyCookie + 1) >>> 0;
  return k.fsnotifyCookie;
}

/**
 * fsnotify_move(): `moved` was renamed from `oldName` in oldDir to its
 * current name in newDir, replacing `target` if there was one.
 */
export function* fsnotify_move(
  t: Task,
  oldDir: Inode,
  newDir: Inode,
  oldName: string,
  isdir: boolean,
  target: Inode | null,
  moved: Dentry,
): Blocking<void> {
  const k = t.k;
  const source = moved.d_inode!;
  const cookie = fsnotify_get_cookie(k);
  const dirFlag = isdir ? FS_ISDIR : 0;
  yield* fsnotify_name(t, FS_MOVED_FROM | dirFlag, source, oldDir, oldName, cookie);
  yield* fsnotify_name(t, FS_MOVED_TO | dirFlag, source, newDir, moved.d_name, cookie);
  if (target) yield* fsnotify_link_count(t, target);
  yield* fsnotify_inode(t, source, FS_MOVE_SELF);
}

/** fsnotify_change(): notify_change changed these attributes (ATTR_* bits). */
export function* fsnotify_change(t: Task, dentry: Dentry, ia_valid: number): Blocking<void> {
  let mask = 0;
  if (ia_valid & (ATTR_UID | ATTR_GID)) mask |= FS_ATTRIB;
  if (ia_valid & ATTR_SIZE) mask |= FS_MODIFY;
  if ((ia_valid & (ATTR_ATIME | ATTR_MTIME)) === (ATTR_ATIME | ATTR_MTIME)) mask |= FS_ATTRIB;
  else if (ia_valid & ATTR_ATIME) mask |= FS_ACCESS;
  else if (ia_valid & ATTR_MTIME) mask |= FS_MODIFY;
  if (ia_valid & ATTR_MODE) mask |= FS_ATTRIB;
  if (mask) yield* fsnotify_parent(t, dentry, mask, null);
}

/** fsnotify_inoderemove(): the inode's last link and last name are gone: DELETE_SELF, then its marks go. */
export function* fsnotify_inoderemove(t: Task, inode: Inode): Blocking<void> {
  yield* fsnotify_inode(t, inode, FS_DELETE_SELF);
  if (inode.i_fsnotify_marks) yield* fsnotify_destroy_marks(t, inode);
}
