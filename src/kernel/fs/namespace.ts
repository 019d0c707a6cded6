/**
 * The mount namespace, after fs/namespace.c reduced to what this kernel
 * has: one root file system and file systems attached at its dentries
 * (procfs at /proc). Per-kernel state lives in VfsState.
 */
import type { Kernel } from '../kernel.js';
import { dget_untimed, Mount, type Dentry, type Path } from './dcache.js';
import type { FsStruct } from './fs_struct.js';
import type { SuperBlock } from './inode.js';

export class VfsState {
  /** The namespace's root. */
  readonly root: Path;
  /** Every super block by type name ("memfs", "proc"). */
  readonly supers = new Map<string, SuperBlock>();
  /** Directories new processes start in are made under this one. */
  workdirParent: Dentry | null = null;
  /**
   * Whether a new process's working directory sits in a run directory of
   * root's, mode 0700 (/tmp/kernsim.PID/wd), as the script runner lays a
   * script's out; otherwise it is /tmp/kernsim.PID, which other processes
   * of a workload may reach.
   */
  workdirInRunDir = false;
  /** init_fs: what kernel threads walk paths from (root as root and working directory). */
  init_fs: FsStruct | null = null;
  /** The next mount's id (the root is 1, as the host's first mount). */
  nextMntId = 1;

  constructor(readonly rootMnt: Mount) {
    this.root = { mnt: rootMnt, dentry: rootMnt.mnt_root };
  }
}

export function vfsOf(k: Kernel): VfsState {
  return k.vfs;
}


/** Mount `sb` as the namespace's root. */
export function mount_root(k: Kernel, sb: SuperBlock): VfsState {
  const mnt = new Mount(sb, sb.s_root!, null, null);
  dget_untimed(sb.s_root!);
  const v = new VfsState(mnt);
  mnt.mnt_id = v.nextMntId++;
  v.supers.set(sb.s_type, sb);
  k.vfs = v;
  return v;
}

/** do_add_mount(): attach `sb` on the directory `at` of mount `parent`. */
export function do_add_mount(k: Kernel, sb: SuperBlock, parent: Mount, at: Dentry): Mount {
  const mnt = new Mount(sb, sb.s_root!, parent, at);
  dget_untimed(at);
  dget_untimed(sb.s_root!);
  at.d_mounted = mnt;
  mnt.mnt_id = vfsOf(k).nextMntId++;
  vfsOf(k).supers.set(sb.s_type, sb);
  return mnt;
}

/**
 * A mount whose root is the directory `at` of `parent` itself (the
 * boot-time /dev): paths under it are on a mount of their own (EXDEV to
 * and from the rest), reached and left as any mount is, with no file
 * system instance of its own.
 */
export function mount_in_place(k: Kernel, parent: Mount, at: Dentry): Mount {
  const mnt = new Mount(parent.mnt_sb, at, parent, at);
  at.d_mounted = mnt;
  mnt.mnt_id = vfsOf(k).nextMntId++;
  return mnt;
}
