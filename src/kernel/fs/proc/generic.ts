/**
 * The proc_dir_entry registry, after fs/proc/generic.c of the seed's
 * kernel (3.0): proc_create, proc_mkdir, proc_lookup and remove_proc_entry.
 *
 * An entry is reference counted (pde_get/pde_put: the registry's reference
 * and one per inode). Calls into its operations are counted in pde_users
 * under pde_unload_lock by the proc_reg_* wrappers (inode.ts).
 * remove_proc_entry unlinks the entry, clears proc_fops so that no new
 * call gets in, sleeps until pde_users drains to zero (on
 * pde_unload_completion, which the last pde_users_dec completes), then
 * runs ->release by hand for every opener still on pde_openers, since their
 * own close will find proc_fops gone, waiting for a release a closer is
 * running already (today's close_pdeo). After it returns, no call into the
 * entry's operations is running and none will start.
 */
import type { loff_t } from '../loff.js';
import { intern } from '../../../sim/attribution.js';
import type { Blocking, Task } from '../../../sim/task.js';
import { Completion } from '../../../sim/wait.js';
import type { Kernel } from '../../kernel.js';
import { SpinLock } from '../../locking/spinlock.js';
import type { Dentry } from '../dcache.js';
import type { File, IoBuf } from '../file_table.js';
import { S_IFDIR, S_IFREG, S_ISDIR, type Inode } from '../inode.js';

/** struct proc_ops: what a proc file's creator implements. */
export interface ProcOps {
  proc_open?(t: Task, inode: Inode, file: File): Blocking<number>;
  proc_read?(t: Task, file: File, len: number, buf: IoBuf | null): Blocking<number>;
  proc_write?(t: Task, file: File, len: number, byte: number): Blocking<number>;
  proc_lseek?(t: Task, file: File, offset: loff_t, whence: number): Blocking<loff_t>;
  proc_poll?(t: Task, file: File): Blocking<number>;
  proc_ioctl?(t: Task, file: File, cmd: number, arg: number): Blocking<number>;
  proc_release?(t: Task, inode: Inode, file: File): Blocking<number>;
}

/** struct pde_opener: an open file whose ->release remove_proc_entry may have to run. */
export interface PdeOpener {
  inode: Inode;
  file: File;
  release: NonNullable<ProcOps['proc_release']>;
  addr: number;
  /** Someone is running its ->release (close_pdeo). */
  closing: boolean;
  /** Completed when that release returns, for a second closer waiting on it. */
  c: Completion | null;
}

/** sizeof(struct proc_dir_entry) plus a short name. */
export const PDE_BYTES = 192;
export const PDE_OPENER_BYTES = 64;
/** PROC_DYNAMIC_FIRST: inode numbers handed to entries start here (proc_alloc_inum). */
const PROC_DYNAMIC_FIRST = 0xf0000000;

const CAT_REMOVE = intern('remove_proc_entry');
const CAT_WAIT = intern('wait_for_completion');
const CAT_CREATE = intern('proc_register');

export class ProcDirEntry {
  nlink: number;
  readonly subdir = new Map<string, ProcDirEntry>();
  /** The operations; null once remove_proc_entry has begun (no new callers). */
  proc_fops: ProcOps | null;
  /** For the creator (PDE_DATA). */
  data: unknown;
  /**
   * A directory's lookup of a name it has no entry for (a sysctl table's
   * files, whose inodes proc_sys_lookup makes per lookup): 0 with the
   * dentry instantiated, or -ENOENT.
   */
  lookupMissing: ((t: Task, dir: Inode, dentry: Dentry) => Blocking<number>) | null = null;
  /** References: the registry's and one per inode. */
  count = 1;
  /** Calls in flight into proc_fops. */
  pde_users = 0;
  readonly pde_unload_lock: SpinLock;
  pde_unload_completion: Completion | null = null;
  readonly pde_openers: PdeOpener[] = [];
  size = 0;
  /** Freed (free_proc_entry ran). */
  freed = false;

  constructor(
    readonly k: Kernel,
    readonly name: string,
    readonly mode: number,
    readonly parent: ProcDirEntry | null,
    readonly low_ino: number,
    fops: ProcOps | null,
    data: unknown,
    readonly addr: number,
  ) {
    this.nlink = S_ISDIR(mode) ? 2 : 1;
    this.proc_fops = fops;
    this.data = data;
    this.pde_unload_lock = new SpinLock(k, 'proc_dir_entry.pde_unload_lock', addr + 64);
  }
}

/** The registry of one kernel: the root entry and the inode number allocator. */
export class ProcRegistry {
  readonly root: ProcDirEntry;
  private nextIno = PROC_DYNAMIC_FIRST;
  private readonly freeInos: number[] = [];
  /** Entries created and not yet freed. */
  live = 0;

  constructor(readonly k: Kernel) {
    this.root = new ProcDirEntry(k, '/proc', S_IFDIR | 0o555, null, 1, null, null, k.slab.kmalloc(PDE_BYTES));
  }

  /** proc_alloc_inum(). */
  allocInum(): number {
    return this.freeInos.pop() ?? this.nextIno++;
  }

  freeInum(ino: number): void {
    this.freeInos.push(ino);
  }
}

export function procRegistry(k: Kernel): ProcRegistry {
  // Made on first use: its inode numbers and kernel memory are taken when /proc is first reached.
  return (k.procRegistry ??= new ProcRegistry(k));
}

/** pde_get(). */
export function pde_get(de: ProcDirEntry): ProcDirEntry {
  de.count++;
  return de;
}

/** pde_put(): the last reference frees the entry and its inode number. */
export function pde_put(de: ProcDirEntry): void {
  if (--de.count > 0) return;
  if (de.count < 0) throw new Error(`pde_put: ${de.name} has no reference to drop`);
  const r = procRegistry(de.k);
  if (de.parent) r.freeInum(de.low_ino);
  de.freed = true;
  r.live--;
  de.k.slab.kfree(de.addr, PDE_BYTES);
}

/** xlate_proc_name(): walk "a/b/c" below `parent` to the directory holding the last part. */
function xlate(r: ProcRegistry, name: string, parent: ProcDirEntry | null): { dir: ProcDirEntry; last: string } | null {
  let dir = parent ?? r.root;
  const parts = name.split('/').filter((p) => p.length > 0);
  const last = parts.pop();
  if (last === undefined) return null;
  for (const p of parts) {
    const next = dir.subdir.get(p);
    if (!next || !S_ISDIR(next.mode)) return null;
    dir = next;
  }
  return { dir, last };
}

function proc_register(k: Kernel, t: Task | null, r: ProcRegistry, name: string, mode: number, parent: ProcDirEntry | null, fops: ProcOps | null, data: unknown): ProcDirEntry | null {
  const x = xlate(r, name, parent);
  if (!x || x.dir.subdir.has(x.last)) return null;
  const de = new ProcDirEntry(k, x.last, mode, x.dir, r.allocInum(), fops, data, k.slab.kmalloc(PDE_BYTES));
  x.dir.subdir.set(x.last, de);
  if (S_ISDIR(mode)) x.dir.nlink++;
  r.live++;
  if (t) {
    t.enter(CAT_CREATE);
    t.charge(k.cfg.kernel.cost.kmalloc + k.cfg.kernel.cost.kernel_op);
    k.touchRange(t, de.addr, PDE_BYTES, true);
    t.leave();
  }
  return de;
}

/** proc_create_data(): a regular file under `parent` (null: /proc); null if the name exists. */
export function proc_create(k: Kernel, t: Task | null, name: string, mode: number, parent: ProcDirEntry | null, fops: ProcOps, data: unknown = null): ProcDirEntry | null {
  if ((mode & 0o170000) === 0) mode |= S_IFREG;
  if ((mode & 0o7777) === 0) mode |= 0o444;
  return proc_register(k, t, procRegistry(k), name, mode, parent, fops, data);
}

/** proc_mkdir(). */
export function proc_mkdir(k: Kernel, t: Task | null, name: string, parent: ProcDirEntry | null): ProcDirEntry | null {
  return proc_register(k, t, procRegistry(k), name, S_IFDIR | 0o555, parent, null, null);
}

/** The entry at `name` below `parent` (for tests and lookups). */
export function proc_find(k: Kernel, name: string, parent: ProcDirEntry | null = null): ProcDirEntry | null {
  const x = xlate(procRegistry(k), name, parent);
  return x ? (x.dir.subdir.get(x.last) ?? null) : null;
}

/**
 * close_pdeo() (today's kernel; called with pde_unload_lock held, returns
 * with it released): run the opener's ->release, unless someone else is
 * already running it, in which case wait for them. The opener stays on the
 * list until its release has returned, so remove_proc_entry cannot return
 * while a close is still in the module's code.
 */
export function* close_pdeo(t: Task, pde: ProcDirEntry, pdeo: PdeOpener): Blocking<boolean> {
  const k = t.k;
  if (pdeo.closing) {
    if (!pdeo.c) pdeo.c = new Completion(k.engine, 1);
    const c = pdeo.c;
    pde.pde_unload_lock.unlock(t);
    yield t.sleepOn(c);
    return false;
  }
  pdeo.closing = true;
  pde.pde_unload_lock.unlock(t);
  yield* pdeo.release(t, pdeo.inode, pdeo.file);
  yield* pde.pde_unload_lock.lock(t);
  const i = pde.pde_openers.indexOf(pdeo);
  if (i >= 0) pde.pde_openers.splice(i, 1);
  const c = pdeo.c;
  pde.pde_unload_lock.unlock(t);
  if (c) c.complete(t.now);
  t.charge(k.cfg.kernel.cost.kmalloc);
  k.slab.kfree(pdeo.addr, PDE_OPENER_BYTES);
  return true;
}

/**
 * remove_proc_entry(): unlink, stop new callers, wait for those in
 * flight, release late openers by hand, drop the registry's reference.
 * Returns false when there was no such entry (the kernel WARNs).
 */
export function* remove_proc_entry(t: Task, name: string, parent: ProcDirEntry | null): Blocking<boolean> {
  const k = t.k;
  t.enter(CAT_REMOVE);
  const r = procRegistry(k);
  const x = xlate(r, name, parent);
  const de = x ? (x.dir.subdir.get(x.last) ?? null) : null;
  t.charge(k.cfg.kernel.cost.kernel_op);
  if (!x || !de) {
    t.leave();
    return false;
  }
  x.dir.subdir.delete(x.last);
  k.touch(t, x.dir.addr, true);

  yield* de.pde_unload_lock.lock(t);
  de.proc_fops = null;
  if (de.pde_users > 0) {
    if (!de.pde_unload_completion) de.pde_unload_completion = new Completion(k.engine, 1);
    const c = de.pde_unload_completion;
    de.pde_unload_lock.unlock(t);
    const start = t.now;
    t.enter(CAT_WAIT);
    yield t.sleepOn(c);
    t.leave();
    k.engine.samples.record('remove_proc_entry_wait', t.now - start);
    yield* de.pde_unload_lock.lock(t);
  }
  while (de.pde_openers.length > 0) {
    if (yield* close_pdeo(t, de, de.pde_openers[0]!)) k.engine.counters.add('pde_openers_released_by_remove');
    yield* de.pde_unload_lock.lock(t);
  }
  de.pde_unload_lock.unlock(t);
  if (S_ISDIR(de.mode)) x.dir.nlink--;
  de.nlink = 0;
  pde_put(de);
  t.leave();
  return true;
}
