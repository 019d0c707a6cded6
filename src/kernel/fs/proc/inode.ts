/**
 * procfs inodes and the proc_reg_* file operations, after the seed's
 * fs/proc/inode.c (Linux 3.0).
 *
 * - Inodes come from the proc inode cache (proc_alloc_inode); procfs does
 *   not keep unused inodes (drop_inode = generic_delete_inode), and their
 *   dentries are not cached (the seed's proc_delete_dentry), so every
 *   lookup of an entry no one holds makes an inode and the last close
 *   destroys it: proc_evict_inode drops the entry's reference and
 *   proc_destroy_inode hands the object to call_rcu, so its free shows up
 *   under RCU callbacks after a grace period.
 * - A regular entry's inode gets proc_reg_file_ops: each method takes
 *   pde_unload_lock, refuses (EIO for read and write, EINVAL for llseek,
 *   ENOENT for open as today's kernel answers, ENOTTY for ioctl) once remove_proc_entry has cleared proc_fops,
 *   otherwise counts itself in pde_users, drops the lock, calls the entry's
 *   method and then pde_users_dec, which completes the remover's wait when
 *   the count reaches zero. proc_reg_open records the opener (pde_opener)
 *   so that remove_proc_entry can run ->release for files still open.
 */
import type { loff_t } from '../loff.js';
import { intern } from '../../../sim/attribution.js';
import type { Blocking, Task } from '../../../sim/task.js';
import { EINVAL, EIO, EISDIR, ENOENT, ENOTTY } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import { call_rcu } from '../../rcu/tree.js';
import { d_add, type Dentry, type DentryOperations } from '../dcache.js';
import type { File, FileOperations, IoBuf } from '../file_table.js';
import { iget_locked, Inode, I_NEW, MAX_LFS_FILESIZE, S_ISDIR, S_ISREG, SuperBlock, unlock_new_inode, type InodeOperations } from '../inode.js';
import { generic_file_llseek_size } from '../read_write.js';
import { file_vfs, type OpenableFileOperations } from '../vfs_file.js';
import { close_pdeo, PDE_OPENER_BYTES, pde_get, pde_put, type PdeOpener, type ProcDirEntry, type ProcOps } from './generic.js';

export const PROC_SUPER_MAGIC = 0x9fa0;
/** sizeof(struct proc_inode) rounded to its slab (kmem_cache "proc_inode_cache"). */
export const PROC_INODE_BYTES = 704;
/** DEFAULT_POLLMASK. */
const DEFAULT_POLLMASK = 0x1 | 0x4 | 0x40 | 0x100;

const CAT_PROC_REG_READ = intern('proc_reg_read');
const CAT_PROC_REG_WRITE = intern('proc_reg_write');
const CAT_PROC_REG_LLSEEK = intern('proc_reg_llseek');
const CAT_PROC_REG_OPEN = intern('proc_reg_open');
const CAT_PROC_REG_RELEASE = intern('proc_reg_release');
const CAT_PROC_REG_POLL = intern('proc_reg_poll');
const CAT_PROC_REG_IOCTL = intern('proc_reg_unlocked_ioctl');
const CAT_PROC_LOOKUP = intern('proc_lookup');

/** struct proc_inode. */
export class ProcInode extends Inode {
  /** The entry this inode stands for (registry entries). */
  pde: ProcDirEntry | null = null;
  /** For /proc/PID entries: the thread group and what the file shows. */
  pid = 0;
  /** For /proc/PID/fd/N and fdinfo/N: the fd. */
  fd = -1;
  /** Back in the slab (proc_i_callback ran). */
  destroyed = false;
}

/** PDE(): the entry behind a proc file. */
export function PDE(file: File): ProcDirEntry {
  const inode = file_vfs(file).inode as ProcInode;
  return inode.pde!;
}

// ---- pde_users (the seed's use counting) ----

function __pde_users_dec(t: Task, pde: ProcDirEntry): void {
  pde.pde_users--;
  if (pde.pde_unload_completion && pde.pde_users === 0) pde.pde_unload_completion.complete(t.now);
}

/** pde_users_dec(). */
export function* pde_users_dec(t: Task, pde: ProcDirEntry): Blocking<void> {
  const k = t.k;
  yield* pde.pde_unload_lock.lock(t);
  k.touch(t, pde.addr, true);
  __pde_users_dec(t, pde);
  pde.pde_unload_lock.unlock(t);
}

/** The locked prologue of every proc_reg_* method: the operations, counted in pde_users, or null once removal began. */
function* use_pde(t: Task, pde: ProcDirEntry): Blocking<ProcOps | null> {
  const k = t.k;
  yield* pde.pde_unload_lock.lock(t);
  k.touch(t, pde.addr, true);
  const ops = pde.proc_fops;
  if (!ops) {
    pde.pde_unload_lock.unlock(t);
    return null;
  }
  pde.pde_users++;
  pde.pde_unload_lock.unlock(t);
  return ops;
}

/** default_llseek() for entries without their own. */
function default_llseek(file: File, offset: loff_t, whence: number): loff_t {
  return generic_file_llseek_size(file, offset, whence, MAX_LFS_FILESIZE, file_vfs(file).inode.i_size);
}

function* proc_reg_llseek(t: Task, file: File, offset: loff_t, whence: number): Blocking<loff_t> {
  const pde = PDE(file);
  t.enter(CAT_PROC_REG_LLSEEK);
  const ops = yield* use_pde(t, pde);
  let rv: loff_t = -EINVAL;
  if (ops) {
    rv = ops.proc_lseek ? yield* ops.proc_lseek(t, file, offset, whence) : default_llseek(file, offset, whence);
    yield* pde_users_dec(t, pde);
  }
  t.leave();
  return rv;
}

function* proc_reg_read(t: Task, file: File, len: number, buf: IoBuf | null): Blocking<number> {
  const pde = PDE(file);
  t.enter(CAT_PROC_REG_READ);
  const ops = yield* use_pde(t, pde);
  let rv = -EIO;
  if (ops) {
    if (ops.proc_read) rv = yield* ops.proc_read(t, file, len, buf);
    yield* pde_users_dec(t, pde);
  }
  t.leave();
  return rv;
}

function* proc_reg_write(t: Task, file: File, len: number, byte: number): Blocking<number> {
  const pde = PDE(file);
  t.enter(CAT_PROC_REG_WRITE);
  const ops = yield* use_pde(t, pde);
  let rv = -EIO;
  if (ops) {
    if (ops.proc_write) rv = yield* ops.proc_write(t, file, len, byte);
    yield* pde_users_dec(t, pde);
  }
  t.leave();
  return rv;
}

function* proc_reg_poll(t: Task, file: File): Blocking<number> {
  const pde = PDE(file);
  t.enter(CAT_PROC_REG_POLL);
  const ops = yield* use_pde(t, pde);
  let rv = DEFAULT_POLLMASK;
  if (ops) {
    if (ops.proc_poll) rv = yield* ops.proc_poll(t, file);
    yield* pde_users_dec(t, pde);
  }
  t.leave();
  return rv;
}

function* proc_reg_unlocked_ioctl(t: Task, file: File, cmd: number, arg: number): Blocking<number> {
  const pde = PDE(file);
  t.enter(CAT_PROC_REG_IOCTL);
  const ops = yield* use_pde(t, pde);
  let rv = -ENOTTY;
  if (ops) {
    if (ops.proc_ioctl) rv = yield* ops.proc_ioctl(t, file, cmd, arg);
    yield* pde_users_dec(t, pde);
  }
  t.leave();
  return rv;
}

/**
 * proc_reg_open(): the opener is recorded (for a release remove_proc_entry
 * may have to run itself) when the entry has a ->release and open succeeded.
 */
function* proc_reg_open(t: Task, inode: Inode, file: File): Blocking<number> {
  const pde = (inode as ProcInode).pde!;
  const k = pde.k;
  t.enter(CAT_PROC_REG_OPEN);
  const addr = k.slab.kmalloc(PDE_OPENER_BYTES);
  t.charge(k.cfg.kernel.cost.kmalloc);
  yield* pde.pde_unload_lock.lock(t);
  const ops = pde.proc_fops;
  if (!ops) {
    pde.pde_unload_lock.unlock(t);
    k.slab.kfree(addr, PDE_OPENER_BYTES);
    t.leave();
    // The seed answered EINVAL; today's kernel says the entry is gone.
    return -ENOENT;
  }
  pde.pde_users++;
  const release = ops.proc_release;
  pde.pde_unload_lock.unlock(t);
  const rv = ops.proc_open ? yield* ops.proc_open(t, inode, file) : 0;
  yield* pde.pde_unload_lock.lock(t);
  if (rv === 0 && release) {
    const o: PdeOpener = { inode, file, release, addr, closing: false, c: null };
    k.touch(t, addr, true);
    pde.pde_openers.unshift(o);
  } else {
    t.charge(k.cfg.kernel.cost.kmalloc);
    k.slab.kfree(addr, PDE_OPENER_BYTES);
  }
  __pde_users_dec(t, pde);
  pde.pde_unload_lock.unlock(t);
  t.leave();
  return rv;
}

function find_pde_opener(t: Task, pde: ProcDirEntry, file: File): PdeOpener | null {
  const k = t.k;
  for (const o of pde.pde_openers) {
    k.touch(t, o.addr, false);
    if (o.file === file) return o;
  }
  return null;
}

/**
 * proc_reg_release(): the opener's release through close_pdeo, whether or
 * not the entry is being removed. (The seed took the opener off the list
 * before calling ->release, so remove_proc_entry could return while a
 * close was still inside the module; today's kernel closes that race.)
 */
function* proc_reg_release(t: Task, file: File): Blocking<number> {
  const pde = (file_vfs(file).inode as ProcInode).pde!;
  t.enter(CAT_PROC_REG_RELEASE);
  yield* pde.pde_unload_lock.lock(t);
  const pdeo = find_pde_opener(t, pde, file);
  if (pdeo) yield* close_pdeo(t, pde, pdeo);
  else pde.pde_unload_lock.unlock(t);
  t.leave();
  return 0;
}

export const proc_reg_file_ops: OpenableFileOperations = {
  name: 'proc_reg',
  llseek: proc_reg_llseek,
  read: proc_reg_read,
  write: proc_reg_write,
  poll: proc_reg_poll,
  ioctl: proc_reg_unlocked_ioctl,
  open: proc_reg_open,
  release: proc_reg_release,
};

/** proc_dir_operations: reading a directory is EISDIR. */
export const proc_dir_operations: FileOperations = {
  name: 'proc_dir',
  *read() {
    return -EISDIR;
  },
  /** generic_file_llseek(): a proc directory's size is 0. */
  *llseek(_t, file, offset, whence) {
    return generic_file_llseek_size(file, offset, whence, MAX_LFS_FILESIZE, file_vfs(file).inode.i_size);
  },
};

// ---- dentries and inodes ----

/** The seed's proc_dentry_operations: proc dentries are never kept once unused. */
export const proc_dentry_operations: DentryOperations = {
  d_delete: () => true,
};

/** proc_get_inode(): the entry's inode from the inode cache, filled in when new (the reference on `de` moves into it). */
export function proc_get_inode(t: Task, sb: SuperBlock, de: ProcDirEntry): ProcInode {
  const inode = iget_locked(t, sb, de.low_ino) as ProcInode;
  if (inode.i_state & I_NEW) {
    inode.pde = de;
    inode.i_mode = de.mode;
    inode.i_uid = 0;
    inode.i_gid = 0;
    inode.i_size = de.size;
    inode.i_nlink = de.nlink;
    if (S_ISDIR(de.mode)) {
      inode.i_op = proc_dir_inode_operations;
      inode.i_fop = proc_dir_operations;
    } else if (S_ISREG(de.mode) && de.proc_fops) {
      inode.i_fop = proc_reg_file_ops;
    }
    unlock_new_inode(inode);
  } else pde_put(de);
  return inode;
}

/** proc_lookup_de(): a name in an entry directory; ENOENT when absent. */
export function* proc_lookup_de(t: Task, de: ProcDirEntry, dir: Inode, dentry: Dentry): Blocking<number> {
  const k = t.k;
  t.enter(CAT_PROC_LOOKUP);
  k.touch(t, de.addr, false);
  t.charge(k.cfg.kernel.cost.kernel_op);
  const child = de.subdir.get(dentry.d_name);
  if (!child) {
    const r = de.lookupMissing ? yield* de.lookupMissing(t, dir, dentry) : -ENOENT;
    t.leave();
    return r;
  }
  pde_get(child);
  const inode = proc_get_inode(t, dir.i_sb, child);
  dentry.d_op = proc_dentry_operations;
  d_add(dentry, inode);
  t.leave();
  return 0;
}

function* proc_lookup(t: Task, dir: Inode, dentry: Dentry): Blocking<number> {
  const de = (dir as ProcInode).pde!;
  return yield* proc_lookup_de(t, de, dir, dentry);
}

export const proc_dir_inode_operations: InodeOperations = { lookup: proc_lookup };

/** The proc super block: the inode cache's alloc and the RCU-deferred destroy. */
export function proc_super(k: Kernel): SuperBlock {
  return new SuperBlock(
    k,
    'proc',
    {
      alloc_inode: (kk, sb) => new ProcInode(kk, sb, kk.slab.kmalloc(PROC_INODE_BYTES), PROC_INODE_BYTES),
      /** proc_evict_inode(): let go of the entry. */
      evict_inode: (_t, inode) => {
        const p = inode as ProcInode;
        if (p.pde) pde_put(p.pde);
        p.pde = null;
      },
      /** proc_destroy_inode(): the object is freed by proc_i_callback after a grace period. */
      destroy_inode: (t, inode) => {
        const p = inode as ProcInode;
        k.engine.counters.add('proc_inodes_destroyed');
        call_rcu(
          t,
          PROC_INODE_BYTES,
          () => {
            p.destroyed = true;
            k.slab.kfree(p.addr, PROC_INODE_BYTES);
            k.engine.counters.add('proc_inodes_freed');
            // kmem_cache_free() in proc_i_callback, charged under the RCU batch.
            return k.cfg.kernel.cost.kmalloc;
          },
          p.addr,
        );
      },
      /** generic_delete_inode(). */
      drop_inode: () => true,
    },
    PROC_SUPER_MAGIC,
    MAX_LFS_FILESIZE,
  );
}
