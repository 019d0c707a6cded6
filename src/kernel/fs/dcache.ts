/**
 * The dentry cache, after fs/dcache.c, and mounts (struct vfsmount).
 *
 * A dentry names an inode in its parent directory. Hashed dentries are what
 * lookups find: each directory's hashed children stand in for the global
 * dentry hash table restricted to that parent. Negative dentries (names
 * that do not exist) are not cached, as tmpfs's always_delete_dentry and
 * the seed's proc_delete_dentry arrange: a failed lookup costs a d_alloc and
 * its free.
 *
 * References (d_count, the lockref): every walk that returns a dentry, every
 * open file and every working directory holds one, and each dentry holds
 * one on its parent. An in-memory file system pins the dentries of existing
 * files with an extra reference (shmem_mknod's dget), dropped by unlink and
 * rmdir. So d_delete finds an unlinked file either unused (the caller's is
 * the only reference: the inode is let go at once, DELETE_SELF now) or still
 * open (the dentry is only unhashed, and its inode goes at the last dput,
 * after the close), exactly as Linux orders those inotify events.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { iput, type Inode, type SuperBlock } from './inode.js';
import { fsnotify_inoderemove } from './notify/fsnotify.js';

/** sizeof(struct dentry) rounded to its slab. */
export const DENTRY_BYTES = 192;

const CAT_D_ALLOC = intern('d_alloc');
const CAT_DPUT = intern('dput');
const CAT_D_LOOKUP = intern('__d_lookup_rcu');
const CAT_D_DELETE = intern('d_delete');
const CAT_D_MOVE = intern('d_move');

/** struct dentry_operations. */
export interface DentryOperations {
  /** True to free the dentry at its last dput instead of caching it. */
  d_delete?(d: Dentry): boolean;
  /** ->d_revalidate: false when a cached dentry no longer stands for what it named (procfs: its task is gone); the walk then drops it and asks ->lookup. */
  d_revalidate?(t: Task, d: Dentry): boolean;
}

/** struct vfsmount / struct mount: a file system attached at a dentry of its parent mount. */
export class Mount {
  /** The mount's id (/proc/PID/fdinfo's mnt_id, mountinfo): set by whoever attaches it. */
  mnt_id = 0;

  constructor(
    readonly mnt_sb: SuperBlock,
    readonly mnt_root: Dentry,
    readonly mnt_parent: Mount | null,
    readonly mnt_mountpoint: Dentry | null,
  ) {}
}

/** struct path. */
export interface Path {
  mnt: Mount;
  dentry: Dentry;
}

export class Dentry {
  d_parent: Dentry;
  d_inode: Inode | null = null;
  /** The lockref count. */
  d_count = 1;
  /** Found by lookups in its parent (d_hash). */
  hashed = false;
  /** Hashed children by name (this parent's share of the dentry hash). */
  readonly d_children = new Map<string, Dentry>();
  d_op: DentryOperations | null = null;
  /** The mount attached on this dentry, if it is a mount point. */
  d_mounted: Mount | null = null;
  /** Freed: any further use is a bug. */
  dead = false;

  constructor(
    public d_name: string,
    parent: Dentry | null,
    readonly d_sb: SuperBlock,
    /** Kernel address of the object. */
    readonly addr: number,
  ) {
    this.d_parent = parent ?? this;
  }

  get isRoot(): boolean {
    return this.d_parent === this;
  }
}

/** d_unlinked(): removed from its directory (and not a root). */
export function d_unlinked(d: Dentry): boolean {
  return !d.hashed && !d.isRoot;
}

/** d_alloc(): a negative, unhashed dentry `name` under `parent` (which it holds a reference on). */
export function d_alloc(k: Kernel, t: Task | null, parent: Dentry, name: string): Dentry {
  const d = new Dentry(name, parent, parent.d_sb, k.slab.kmalloc(DENTRY_BYTES));
  d.d_op = parent.d_op;
  parent.d_count++;
  if (t) {
    t.enter(CAT_D_ALLOC);
    t.charge(k.cfg.kernel.cost.kmalloc + k.cfg.kernel.cost.kernel_op);
    k.touchRange(t, d.addr, 128, true);
    k.touch(t, parent.addr, true);
    t.leave();
  }
  return d;
}

/** d_make_root(): the root dentry of a new super block. */
export function d_make_root(k: Kernel, inode: Inode): Dentry {
  const d = new Dentry('/', null, inode.i_sb, k.slab.kmalloc(DENTRY_BYTES));
  d.d_inode = inode;
  d.hashed = true;
  return d;
}

/** d_instantiate(): attach the inode (whose reference the dentry takes over). */
export function d_instantiate(d: Dentry, inode: Inode): void {
  d.d_inode = inode;
}

/** __d_rehash(): make the dentry findable in its parent. */
function d_rehash(d: Dentry): void {
  d.hashed = true;
  d.d_parent.d_children.set(d.d_name, d);
}

/** d_add(): instantiate (inode may be null: a negative lookup result) and hash. */
export function d_add(d: Dentry, inode: Inode | null): void {
  if (inode) {
    d_instantiate(d, inode);
    d_rehash(d);
  }
}

/** __d_drop(): unhash; lookups no longer find it. */
export function d_drop(d: Dentry): void {
  if (!d.hashed || d.isRoot) return;
  d.hashed = false;
  const p = d.d_parent;
  if (p.d_children.get(d.d_name) === d) p.d_children.delete(d.d_name);
}

/** dget(). */
export function dget(t: Task, d: Dentry): Dentry {
  const k = t.k;
  if (d.dead) throw new Error(`dget: dentry "${d.d_name}" used after free`);
  k.touch(t, d.addr, true);
  t.charge(k.cfg.cost.atomic_rmw);
  d.d_count++;
  return d;
}

/** dget for setup paths that run outside any task (boot, process creation). */
export function dget_untimed(d: Dentry): Dentry {
  d.d_count++;
  return d;
}

/** __d_lookup_rcu(): the hashed child `name` of `parent`, or null; reads the bucket and the candidate. */
export function d_lookup(t: Task, parent: Dentry, name: string): Dentry | null {
  const k = t.k;
  t.enter(CAT_D_LOOKUP);
  t.charge(k.cfg.kernel.cost.kernel_op);
  const d = parent.d_children.get(name) ?? null;
  if (d) k.touch(t, d.addr, false);
  t.leave();
  return d;
}

/** dentry_unlink_inode(): the dentry lets go of its inode; an inode with no links left says DELETE_SELF first. */
function* dentry_unlink_inode(t: Task, d: Dentry): Blocking<void> {
  const inode = d.d_inode;
  if (!inode) return;
  d.d_inode = null;
  if (inode.i_nlink === 0) yield* fsnotify_inoderemove(t, inode);
  iput(t, inode);
}

/**
 * dput(): drop a reference. A dentry nobody holds is kept if it is hashed
 * and its file system caches it; otherwise it is killed, letting go of its
 * inode and of its reference on the parent (which may be the parent's last).
 */
export function* dput(t: Task, dentry: Dentry | null): Blocking<void> {
  const k = t.k;
  if (!dentry) return;
  let d: Dentry = dentry;
  t.enter(CAT_DPUT);
  for (;;) {
    if (d.dead || d.d_count <= 0) throw new Error(`dput: dentry "${d.d_name}" has no reference to drop`);
    k.touch(t, d.addr, true);
    t.charge(k.cfg.cost.atomic_rmw);
    if (--d.d_count > 0) break;
    if (d.hashed && d.d_inode && !(d.d_op?.d_delete?.(d) ?? false)) break;
    const parent: Dentry = d.d_parent;
    d_drop(d);
    yield* dentry_unlink_inode(t, d);
    d.dead = true;
    t.charge(k.cfg.kernel.cost.kmalloc);
    k.slab.kfree(d.addr, DENTRY_BYTES);
    if (parent === d) break;
    d = parent;
  }
  t.leave();
}

/**
 * d_delete(): the name was removed. With the caller's the only reference
 * the inode goes now; otherwise the dentry is unhashed and keeps its inode
 * until the last dput.
 */
export function* d_delete(t: Task, d: Dentry): Blocking<void> {
  const k = t.k;
  t.enter(CAT_D_DELETE);
  k.touch(t, d.addr, true);
  d_drop(d);
  if (d.d_count === 1) yield* dentry_unlink_inode(t, d);
  t.leave();
}

/**
 * d_move(): `d` takes the name `newName` in `newParent` (a rename). A
 * dentry that held that name (the replaced target) has been unhashed by
 * the caller.
 */
export function d_move(t: Task, d: Dentry, newParent: Dentry, newName: string): void {
  const k = t.k;
  t.enter(CAT_D_MOVE);
  k.touch(t, d.addr, true);
  k.touch(t, newParent.addr, true);
  t.charge(k.cfg.kernel.cost.kernel_op);
  const oldParent = d.d_parent;
  d_drop(d);
  d.d_name = newName;
  if (oldParent !== newParent) {
    newParent.d_count++;
    d.d_parent = newParent;
    oldParent.d_count--;
    // The old parent still has the caller's reference: this never frees it.
  }
  d_rehash(d);
  t.leave();
}

/** d_exchange(): two hashed dentries swap their names and parents (RENAME_EXCHANGE). */
export function d_exchange(t: Task, a: Dentry, b: Dentry): void {
  const k = t.k;
  t.enter(CAT_D_MOVE);
  k.touch(t, a.addr, true);
  k.touch(t, b.addr, true);
  t.charge(k.cfg.kernel.cost.kernel_op);
  d_drop(a);
  d_drop(b);
  const [pa, na] = [a.d_parent, a.d_name];
  a.d_parent = b.d_parent;
  a.d_name = b.d_name;
  b.d_parent = pa;
  b.d_name = na;
  d_rehash(a);
  d_rehash(b);
  t.leave();
}

/** d_path(): the absolute path of `path`, crossing mounts; " (deleted)" for an unlinked file. */
export function d_path(path: Path): string {
  const parts: string[] = [];
  let mnt = path.mnt;
  let d = path.dentry;
  const deleted = d_unlinked(d);
  for (;;) {
    if (d === mnt.mnt_root) {
      if (!mnt.mnt_parent || !mnt.mnt_mountpoint) break;
      d = mnt.mnt_mountpoint;
      mnt = mnt.mnt_parent;
      continue;
    }
    parts.push(d.d_name);
    d = d.d_parent;
  }
  return '/' + parts.reverse().join('/') + (deleted ? ' (deleted)' : '');
}
