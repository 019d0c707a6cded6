/**
 * What the VFS keeps with a struct file it opened: its path (a dentry
 * reference), its inode, the file system's per-open data, and the file as
 * the mm sees it when it is mapped (VmFile). It lives in the file's
 * private_data; the file system's own per-open state goes in `priv`.
 *
 * Every file the VFS opens gets a file_operations wrapping the inode's
 * (vfs_fops): its ->release does what __fput does around the file system's
 * release, in Linux's order: fsnotify_close, ->release, put_write_access,
 * and the dentry's dput last, so an unlinked file's DELETE_SELF follows its
 * CLOSE_WRITE.
 */
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import type { AddressSpace } from '../mm/filemap.js';
import type { VmFile } from '../mm/mm_types.js';
import { dput, type Path } from './dcache.js';
import { fput, type File, type FileOperations } from './file_table.js';
import { generic_permission, inode_owner_or_capable, MAY_WRITE, type Inode } from './inode.js';
import type { Cred } from '../sched/task_struct.js';
import { fsnotify_close, type NotifyFile } from './notify/fsnotify.js';
import { FMODE_PATH, FMODE_READ, FMODE_WRITE, FMODE_WRITER } from './uapi_fcntl.js';

export class VfsFile implements NotifyFile, VmFile {
  /** The file system's per-open data (procfs: the seq_file). */
  priv: unknown = null;

  constructor(
    readonly k: Kernel,
    readonly file: File,
    readonly path: Path,
    readonly inode: Inode,
    /** The opener's credentials (f_cred). */
    readonly cred: Cred,
  ) {}

  get dentry() {
    return this.path.dentry;
  }

  /** The page cache to map; null (mmap answers ENODEV) for files without one. */
  get mapping(): AddressSpace {
    return this.inode.i_mapping as AddressSpace;
  }

  get readable(): boolean {
    return (this.file.f_mode & FMODE_READ) !== 0;
  }

  get writable(): boolean {
    return (this.file.f_mode & FMODE_WRITE) !== 0;
  }

  /** can_do_mincore(): the opener owns the inode or could open it for writing. */
  get mincoreAllowed(): boolean {
    return inode_owner_or_capable(this.cred, this.inode) || generic_permission(this.cred, this.inode, MAY_WRITE) === 0;
  }

  /** A memfd sealed against writes (F_SEAL_WRITE 0x8, F_SEAL_FUTURE_WRITE 0x10). */
  get writeSealed(): boolean {
    return (((this.inode as Inode & { seals?: number }).seals ?? 0) & 0x18) !== 0;
  }

  /** /dev/zero: mmap gives anonymous memory. */
  get mmapAnonymous(): boolean {
    return this.file.f_op.mmapAnonymous === true;
  }

  /** get_file() for a mapping of the file. */
  get(): void {
    this.file.f_count++;
  }

  /** fput() from munmap: the last reference releases the file (a kworker finishes a release that must wait). */
  put(t: Task): void {
    run_to_completion(t, fput(t, this.file));
  }
}

/** The VFS part of a file, or null for files the VFS did not open (inotify, the boot-time /dev/null fds). */
export function file_vfs_or_null(f: File): VfsFile | null {
  return f.private_data instanceof VfsFile ? f.private_data : null;
}

export function file_vfs(f: File): VfsFile {
  const v = file_vfs_or_null(f);
  if (!v) throw new Error(`${f.path}: not a file the VFS opened`);
  return v;
}


/**
 * Finish a kernel path from a caller that cannot block: steps run on the
 * calling task until the path would wait; the rest continues in a kernel
 * thread (as delayed_fput hands a release to a workqueue).
 */
export function run_to_completion(t: Task, g: Blocking<void>): void {
  const k = t.k;
  const first = g.next();
  if (first.done) return;
  let pending: typeof first.value | undefined = first.value;
  k.spawnKernelThread('kworker/fput', function* () {
    if (pending !== undefined) yield pending;
    pending = undefined;
    yield* g;
  }, { cpu: t.cpu });
}

/** File operations with the ->open some inodes need (procfs's proc_reg_open, seq files). */
export interface OpenableFileOperations extends FileOperations {
  open?(t: Task, inode: Inode, file: File): Blocking<number>;
}

const wrappers = new WeakMap<FileOperations, FileOperations>();

/** The file_operations a VFS-opened file gets: the inode's, with __fput's steps around ->release. */
export function vfs_fops(inner: FileOperations): FileOperations {
  let w = wrappers.get(inner);
  if (w) return w;
  w = {
    name: inner.name,
    read: inner.read,
    write: inner.write,
    llseek: inner.llseek,
    poll: inner.poll,
    ioctl: inner.ioctl,
    flush: inner.flush,
    fsync: inner.fsync,
    mmapAnonymous: inner.mmapAnonymous,
    directIo: inner.directIo,
    noReadIter: inner.noReadIter,
    noWriteIter: inner.noWriteIter,
    *release(t: Task, f: File): Blocking<number> {
      const v = file_vfs(f);
      if (!(f.f_mode & FMODE_PATH)) yield* fsnotify_close(t, v);
      let r = 0;
      if (inner.release) r = yield* inner.release(t, f);
      if (f.f_mode & FMODE_WRITER) v.inode.i_writecount--;
      yield* dput(t, v.path.dentry);
      return r;
    },
  };
  wrappers.set(inner, w);
  return w;
}
