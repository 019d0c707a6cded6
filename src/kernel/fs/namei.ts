/**
 * Path walking, after fs/namei.c: getname, link_path_walk, walk_component,
 * path_lookupat and path_parentat, with Linux's errors (ENOENT for an
 * empty name or a missing component, ENOTDIR for a non-directory followed
 * by more of the path or by a trailing slash, EACCES without search
 * permission on a directory on the way, ENAMETOOLONG for a path of
 * PATH_MAX bytes or a component over NAME_MAX, ELOOP past MAXSYMLINKS).
 *
 * The walk is the kernel's RCU walk for cached dentries: per component a
 * search-permission check (the directory inode's line), a hash of the name
 * and a dcache lookup (the dentry's line), no reference counting; the
 * result gets one reference at the end (complete_walk). A component not in
 * the dcache goes to the file system's ->lookup (lookup_slow: d_alloc and
 * the fs's own search), and a dentry found that way is held until the walk
 * ends.
 *
 * Symbolic links (step_into, pick_link): one met before the last component
 * is always followed; the last one is followed with LOOKUP_FOLLOW, which a
 * trailing slash implies. A relative body goes on from the link's
 * directory, an absolute one from the root; procfs's magic links jump to a
 * path (nd_jump_link). Every link followed counts against MAXSYMLINKS (40)
 * for the whole walk: the 41st is ELOOP.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EACCES, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR } from '../errno.js';
import { current } from '../sched/task_struct.js';
import { d_alloc, d_drop, d_lookup, dget, dput, type Dentry, type Path } from './dcache.js';
import { task_fs } from './fs_struct.js';
import { MAY_EXEC, S_DEAD, S_ISDIR, S_ISLNK, inode_permission } from './inode.js';
import { PAGE_SIZE } from '../../hw/types.js';

export const LOOKUP_FOLLOW = 0x0001;
export const LOOKUP_DIRECTORY = 0x0002;

export const LAST_NORM = 0;
export const LAST_ROOT = 1;
export const LAST_DOT = 2;
export const LAST_DOTDOT = 3;

/** include/uapi/linux/limits.h. */
export const PATH_MAX = 4096;
export const NAME_MAX = 255;
/** include/linux/namei.h: links one walk may follow. */
export const MAXSYMLINKS = 40;
/** ext4: a body shorter than this lives in the inode (a fast symlink); a longer one in a block, read through the page cache. */
const EXT4_FAST_SYMLINK_MAX = 60;

/** The links a walk has followed (nd->total_link_count), shared by the walks of one call (open's re-walks of a body). */
export interface LinkCount {
  n: number;
}

const CAT_LOOKUPAT = intern('path_lookupat');
const CAT_PARENTAT = intern('path_parentat');
const CAT_LINK_PATH_WALK = intern('link_path_walk');
const CAT_LOOKUP_SLOW = intern('lookup_slow');
const CAT_GETNAME = intern('getname');
const CAT_PICK_LINK = intern('pick_link');

/** struct nameidata, reduced. */
export interface NameiData {
  path: Path;
  /** The last component and its kind. */
  last: string;
  last_type: number;
  /** The name ended in '/' after its last component. */
  trailingSlash: boolean;
  flags: number;
  /** Dentries the walk took references on (found by ->lookup); released when it ends. */
  held: Dentry[];
  /** Where a relative name starts when a dirfd gave it (otherwise the working directory). */
  base?: Path;
  /** Symbolic links followed so far. */
  links: LinkCount;
}

/**
 * getname(): the kernel's copy of a user path. A C string ends at its
 * first NUL; PATH_MAX bytes or more (with the NUL) is ENAMETOOLONG.
 */
export function getname(t: Task, name: string): string | number {
  const k = t.k;
  t.enter(CAT_GETNAME);
  const nul = name.indexOf('\0');
  if (nul >= 0) name = name.slice(0, nul);
  const bytes = Buffer.byteLength(name, 'utf8');
  t.charge(k.cfg.kernel.cost.kmalloc + Math.ceil((k.cfg.cost.copy_page * (bytes + 1)) / PAGE_SIZE));
  t.leave();
  const err = getname_errno(name);
  return err ? err : name;
}

/** What getname() refuses a name with (-ENOENT empty, -ENAMETOOLONG PATH_MAX bytes or more), or 0. */
export function getname_errno(name: string): number {
  const nul = name.indexOf('\0');
  if (nul >= 0) name = name.slice(0, nul);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return -ENOENT;
  if (bytes >= PATH_MAX) return -ENAMETOOLONG;
  return 0;
}

/** may_lookup(): search permission on the directory being walked through. */
function may_lookup(t: Task, nd: NameiData): number {
  return inode_permission(t, nd.path.dentry.d_inode!, MAY_EXEC);
}

/** follow_mount(): step onto whatever is mounted here. */
function follow_mount(path: Path): void {
  // A mount whose root is its own mount point (mount_in_place) is entered once.
  while (path.dentry.d_mounted && path.dentry.d_mounted !== path.mnt) {
    const m = path.dentry.d_mounted;
    path.mnt = m;
    path.dentry = m.mnt_root;
  }
}

/** follow_dotdot(): "..", stopping at the process's root and crossing mount roots upwards. */
function follow_dotdot(t: Task, nd: NameiData): void {
  const k = t.k;
  const root = task_fs(k, current(t)).root;
  const p = nd.path;
  for (;;) {
    if (p.dentry === root.dentry && p.mnt === root.mnt) return;
    if (p.dentry !== p.mnt.mnt_root) break;
    if (!p.mnt.mnt_parent || !p.mnt.mnt_mountpoint) return;
    p.dentry = p.mnt.mnt_mountpoint;
    p.mnt = p.mnt.mnt_parent;
  }
  p.dentry = p.dentry.d_parent;
  k.touch(t, p.dentry.addr, false);
  follow_mount(p);
}

/**
 * lookup_slow(): ask the file system for `name` in `dir` (a dentry not in
 * the dcache). Returns the found dentry, which the walk now holds a
 * reference on, null when there is no such entry, or -errno.
 */
function* lookup_slow(t: Task, dir: Dentry, name: string): Blocking<Dentry | null | number> {
  const k = t.k;
  const inode = dir.d_inode!;
  if (inode.i_flags & S_DEAD) return null;
  if (!inode.i_op.lookup) return null;
  t.enter(CAT_LOOKUP_SLOW);
  yield* inode.i_rwsem.downRead(t);
  // Another task may have added it while this one waited for the lock.
  let d = d_lookup(t, dir, name);
  if (d) {
    inode.i_rwsem.upRead(t);
    t.leave();
    return dget(t, d);
  }
  d = d_alloc(k, t, dir, name);
  const r = yield* inode.i_op.lookup(t, inode, d);
  inode.i_rwsem.upRead(t);
  if (r < 0 || !d.d_inode) {
    yield* dput(t, d);
    t.leave();
    return r < 0 ? r : null;
  }
  t.leave();
  return d;
}

/**
 * lookup_one(): the child `name` of `dir` (cached or from ->lookup), or
 * null, or -errno. A dentry from ->lookup is added to nd.held.
 */
export function* lookup_one(t: Task, nd: NameiData, dir: Dentry, name: string): Blocking<Dentry | null | number> {
  const k = t.k;
  t.charge(k.cfg.kernel.cost.kernel_op); // hash_name
  const d = d_lookup(t, dir, name);
  // lookup_fast(): a dentry its file system no longer vouches for is invalidated (d_invalidate) and looked up anew.
  if (d && !(d.d_op?.d_revalidate && !d.d_op.d_revalidate(t, d))) return d;
  if (d) d_drop(d);
  const r = yield* lookup_slow(t, dir, name);
  if (r !== null && typeof r !== 'number') nd.held.push(r);
  return r;
}

/**
 * pick_link(): the body of the symbolic link `link` (whose inode is read),
 * counted against MAXSYMLINKS. A fast symlink's body is in the inode; a
 * longer one is read from its page (one more line and a page-cache lookup).
 */
export function pick_link(t: Task, nd: { links: LinkCount }, link: Dentry): string | Path | number {
  const k = t.k;
  if (nd.links.n++ >= MAXSYMLINKS) return -ELOOP;
  t.enter(CAT_PICK_LINK);
  const inode = link.d_inode!;
  k.touch(t, inode.addr, false);
  t.charge(k.cfg.kernel.cost.kernel_op);
  let body: string | Path | number;
  if (inode.i_link !== null) {
    body = inode.i_link;
    if (Buffer.byteLength(body, 'utf8') >= EXT4_FAST_SYMLINK_MAX) {
      t.charge(k.cfg.kernel.cost.kernel_op); // page_get_link: find_get_page
      k.touch(t, inode.addr + 128, false);
    }
  } else body = inode.i_op.get_link ? inode.i_op.get_link(t, link, inode) : -ENOENT;
  t.leave();
  return body;
}

/** step_into() for a symbolic link: walk its body from nd.path (the link's directory); nd ends on what it names. */
function* follow_link(t: Task, nd: NameiData, link: Dentry): Blocking<number> {
  const body = pick_link(t, nd, link);
  if (typeof body === 'number') return body;
  if (typeof body !== 'string') {
    // nd_jump_link(): a procfs magic link names a path outright.
    nd.path = { ...body };
    return 0;
  }
  const err = yield* link_path_walk(t, body, nd);
  if (err) return err;
  // A body ending in '/' must name a directory, as a trailing slash in the name would.
  if (nd.trailingSlash) nd.flags |= LOOKUP_DIRECTORY;
  return yield* walk_last(t, nd, true);
}

/**
 * The last component (lookup_last / the body's last): step onto it; a
 * symbolic link is followed when `follow` says so (and left as the result
 * otherwise).
 */
function* walk_last(t: Task, nd: NameiData, follow: boolean): Blocking<number> {
  const k = t.k;
  if (nd.last_type === LAST_DOTDOT) follow_dotdot(t, nd);
  else if (nd.last_type === LAST_ROOT) nd.path = { ...task_fs(k, current(t)).root };
  else if (nd.last_type === LAST_NORM) {
    const d = yield* lookup_one(t, nd, nd.path.dentry, nd.last);
    if (typeof d === 'number') return d;
    if (!d) return -ENOENT;
    if (follow && S_ISLNK(d.d_inode!.i_mode)) return yield* follow_link(t, nd, d);
    nd.path = { mnt: nd.path.mnt, dentry: d };
    follow_mount(nd.path);
  }
  return 0;
}

/** walk_component() for one name that is not the last: step into it (following a symbolic link); it must be an existing directory. */
function* walk_component(t: Task, nd: NameiData, name: string): Blocking<number> {
  if (name === '.') return 0;
  if (name === '..') {
    follow_dotdot(t, nd);
    return 0;
  }
  const d = yield* lookup_one(t, nd, nd.path.dentry, name);
  if (typeof d === 'number') return d;
  if (!d) return -ENOENT;
  if (S_ISLNK(d.d_inode!.i_mode)) {
    // The body is walked whole (its own last component included): save what the outer walk has set.
    const { last, last_type, trailingSlash, flags } = nd;
    const err = yield* follow_link(t, nd, d);
    Object.assign(nd, { last, last_type, trailingSlash, flags });
    return err;
  }
  nd.path = { mnt: nd.path.mnt, dentry: d };
  follow_mount(nd.path);
  return 0;
}

function splitComponents(name: string): { parts: string[]; trailingSlash: boolean } {
  const parts = name.split('/').filter((p) => p.length > 0);
  return { parts, trailingSlash: name.endsWith('/') && parts.length > 0 };
}

/** path_init(): a relative name starts at the directory a dirfd named, or at the working directory. */
function path_init(t: Task, nd: NameiData): void {
  const k = t.k;
  const fs = task_fs(k, current(t));
  nd.path = { ...(nd.base ?? fs.pwd) };
}

/**
 * link_path_walk(): walk every component but the last from nd.path (from
 * the root for an absolute name), leaving nd at the last one's parent with
 * nd.last / nd.last_type set.
 */
function* link_path_walk(t: Task, name: string, nd: NameiData): Blocking<number> {
  const k = t.k;
  t.enter(CAT_LINK_PATH_WALK);
  // nd_jump_root() for an absolute name.
  if (name.startsWith('/')) nd.path = { ...task_fs(k, current(t)).root };
  k.touch(t, nd.path.dentry.addr, false);
  const { parts, trailingSlash } = splitComponents(name);
  nd.trailingSlash = trailingSlash;
  if (parts.length === 0) {
    nd.last = '/';
    nd.last_type = LAST_ROOT;
    t.leave();
    return 0;
  }
  for (let i = 0; ; i++) {
    const err = may_lookup(t, nd);
    if (err) {
      t.leave();
      return err;
    }
    const part = parts[i]!;
    if (Buffer.byteLength(part, 'utf8') > NAME_MAX) {
      // The file system's ->lookup refuses it; a name in the dcache cannot be this long.
      t.leave();
      return -ENAMETOOLONG;
    }
    if (i === parts.length - 1) {
      nd.last = part;
      nd.last_type = part === '.' ? LAST_DOT : part === '..' ? LAST_DOTDOT : LAST_NORM;
      t.leave();
      return 0;
    }
    const r = yield* walk_component(t, nd, part);
    if (r) {
      t.leave();
      return r;
    }
    if (!S_ISDIR(nd.path.dentry.d_inode!.i_mode)) {
      t.leave();
      return -ENOTDIR;
    }
  }
}

function newNameidata(flags: number, links?: LinkCount): NameiData {
  return { path: null as unknown as Path, last: '', last_type: LAST_NORM, trailingSlash: false, flags, held: [], links: links ?? { n: 0 } };
}

/** Release the references a walk took along the way. */
function* terminate_walk(t: Task, nd: NameiData, keep: Dentry | null): Blocking<void> {
  for (const d of nd.held) {
    if (d === keep) {
      keep = null;
      continue;
    }
    yield* dput(t, d);
  }
  nd.held = [];
}

/**
 * filename_lookup() / path_lookupat(): the path of `name`, with a
 * reference on its dentry (release with path_put), or -errno. The last
 * component is followed if it is a symbolic link and `flags` has
 * LOOKUP_FOLLOW (or the name ends in '/').
 */
export function* filename_lookup(t: Task, name: string, flags: number, base?: Path, links?: LinkCount): Blocking<Path | number> {
  const n = getname(t, name);
  if (typeof n === 'number') return n;
  t.enter(CAT_LOOKUPAT);
  const nd = newNameidata(flags, links);
  if (base) nd.base = base;
  path_init(t, nd);
  let err = yield* link_path_walk(t, n, nd);
  if (!err) {
    if (nd.trailingSlash) nd.flags |= LOOKUP_FOLLOW | LOOKUP_DIRECTORY;
    err = yield* walk_last(t, nd, (nd.flags & LOOKUP_FOLLOW) !== 0);
  }
  if (!err && nd.flags & LOOKUP_DIRECTORY && !S_ISDIR(nd.path.dentry.d_inode!.i_mode)) err = -ENOTDIR;
  if (err) {
    yield* terminate_walk(t, nd, null);
    t.leave();
    return err;
  }
  // complete_walk(): the result's reference.
  const held = nd.held.includes(nd.path.dentry);
  if (!held) dget(t, nd.path.dentry);
  yield* terminate_walk(t, nd, held ? nd.path.dentry : null);
  t.leave();
  return nd.path;
}

/** user_path_at(AT_FDCWD, ...). */
export function user_path_at(t: Task, name: string, flags: number): Blocking<Path | number> {
  return filename_lookup(t, name, flags);
}

/** path_put(). */
export function* path_put(t: Task, path: Path): Blocking<void> {
  yield* dput(t, path.dentry);
}

/** The result of filename_parentat: the parent (referenced) and the last component. */
export interface ParentResult {
  path: Path;
  last: string;
  last_type: number;
  trailingSlash: boolean;
}

/**
 * filename_parentat(): walk to the parent of the last component (symbolic
 * links on the way followed); the parent's dentry is returned with a reference.
 */
export function* filename_parentat(t: Task, name: string, base?: Path, links?: LinkCount): Blocking<ParentResult | number> {
  const n = getname(t, name);
  if (typeof n === 'number') return n;
  t.enter(CAT_PARENTAT);
  const nd = newNameidata(0, links);
  if (base) nd.base = base;
  path_init(t, nd);
  const err = yield* link_path_walk(t, n, nd);
  if (err) {
    yield* terminate_walk(t, nd, null);
    t.leave();
    return err;
  }
  const held = nd.held.includes(nd.path.dentry);
  if (!held) dget(t, nd.path.dentry);
  yield* terminate_walk(t, nd, held ? nd.path.dentry : null);
  t.leave();
  return { path: nd.path, last: nd.last, last_type: nd.last_type, trailingSlash: nd.trailingSlash };
}

/**
 * lookup_one_qstr() under the parent's lock (the create/unlink side): the
 * child dentry with a reference, positive or a fresh negative one, or -errno.
 * A negative result is unhashed and freed at its dput.
 */
export function* lookup_hash(t: Task, parent: Dentry, name: string): Blocking<Dentry | number> {
  const k = t.k;
  t.charge(k.cfg.kernel.cost.kernel_op);
  const d = d_lookup(t, parent, name);
  if (d) return dget(t, d);
  const dir = parent.d_inode!;
  const nd = d_alloc(k, t, parent, name);
  if (dir.i_flags & S_DEAD) return nd;
  if (dir.i_op.lookup) {
    const r = yield* dir.i_op.lookup(t, dir, nd);
    if (r < 0) {
      yield* dput(t, nd);
      return r;
    }
  }
  return nd;
}

export { EACCES };
