/**
 * struct fs_struct, after fs/fs_struct.c: a process's root and working
 * directory, each a path holding a dentry reference. Threads share their
 * leader's; fork copies (copy_fs); exit lets go (exit_fs).
 */
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { type TaskStruct } from '../sched/task_struct.js';
import { dget, dget_untimed, dput, type Path } from './dcache.js';
import { vfsOf } from './namespace.js';

export class FsStruct {
  users = 1;

  constructor(
    public root: Path,
    public pwd: Path,
  ) {}
}

/** The task's fs_struct (threads find their leader's). */
export function fs_of(ts: TaskStruct): FsStruct {
  const fs = ts.fs ?? ts.group[0]?.fs;
  if (!fs) throw new Error(`fs_struct: task ${ts.pid} (${ts.comm}) has none (was vfs_init run by bootKernel?)`);
  return fs;
}

/** For a path walk: the task's fs_struct, or init_fs (root as root and cwd) for a kernel thread. */
export function task_fs(k: Kernel, ts: TaskStruct): FsStruct {
  if (ts.kernelThread && !ts.fs) return vfsOf(k).init_fs!;
  return fs_of(ts);
}

export function set_fs(ts: TaskStruct, fs: FsStruct | null): void {
  ts.fs = fs;
}

/** copy_fs(): the child gets its own copy of the parent's fs_struct (CLONE_FS is never used). */
export function copy_fs(t: Task, parent: TaskStruct, child: TaskStruct): void {
  set_fs(child, copy_fs_struct(t, fs_of(parent)));
}

/** exit_fs(): the process's leader lets go of its fs_struct (threads use the leader's and hold none). */
export function* exit_fs(t: Task, ts: TaskStruct): Blocking<void> {
  const fs = ts.fs;
  if (!ts.isGroupLeader || !fs) return;
  set_fs(ts, null);
  yield* put_fs_struct(t, fs);
}

/** A new fs_struct at `root` and `pwd` (setup code with no task: references are taken uncharged). */
export function alloc_fs_struct(root: Path, pwd: Path): FsStruct {
  dget_untimed(root.dentry);
  dget_untimed(pwd.dentry);
  return new FsStruct({ ...root }, { ...pwd });
}

/** copy_fs_struct(): the child's own copy of root and cwd. */
export function copy_fs_struct(t: Task, old: FsStruct): FsStruct {
  dget(t, old.root.dentry);
  dget(t, old.pwd.dentry);
  return new FsStruct({ ...old.root }, { ...old.pwd });
}

/** exit_fs() / free_fs_struct(): the last user lets go of both paths. */
export function* put_fs_struct(t: Task, fs: FsStruct): Blocking<void> {
  if (--fs.users > 0) return;
  yield* dput(t, fs.pwd.dentry);
  yield* dput(t, fs.root.dentry);
}
