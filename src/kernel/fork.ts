/**
 * The parts of a process, after kernel/fork.c: copy_process() copies the
 * parent's parts into the child one subsystem at a time, in its order
 * (copy_files, copy_fs, then copy_mm), and on a failure releases what it had
 * copied in reverse (its bad_fork_cleanup_* labels). A brand-new process
 * (one the simulator starts, where Linux would fork and exec from init)
 * gets fresh parts in the same order.
 */
import type { Blocking, Task } from '../sim/task.js';
import { files_process_init } from './fs/fd_syscalls.js';
import { dup_fd, exit_files } from './fs/file.js';
import { copy_fs, exit_fs } from './fs/fs_struct.js';
import { fs_process_init } from './fs/init.js';
import type { Kernel } from './kernel.js';
import { dup_mm, mm_alloc } from './mm/fork.js';
import type { TaskStruct } from './sched/task_struct.js';

/** A new process's parts: an empty address space, fds 0-2 on /dev/null, a working directory of its own. */
export function init_process_parts(k: Kernel, leader: TaskStruct): void {
  const mm = mm_alloc(k);
  if (!mm) throw new Error(`fork: no memory for ${leader.comm}'s address space`);
  leader.mm = mm;
  leader.activeMm = mm;
  files_process_init(k, leader);
  fs_process_init(k, leader);
}

/** copy_files(): the child's own copy of the fd table (dup_fd; CLONE_FILES is spawnThread's). Returns 0 or -errno. */
function* copy_files(t: Task, parent: TaskStruct, child: TaskStruct): Blocking<number> {
  const files = parent.files;
  if (!files) return 0;
  const r = yield* dup_fd(t, files);
  if (typeof r === 'number') return r;
  child.files = r;
  return 0;
}

/** copy_mm(): the child's copy-on-write copy of the address space (dup_mm; CLONE_VM is spawnThread's). Returns 0 or -errno. */
function* copy_mm(t: Task, parent: TaskStruct, child: TaskStruct): Blocking<number> {
  const oldmm = parent.mm;
  if (!oldmm) return 0;
  const mm = yield* dup_mm(t, oldmm);
  if (typeof mm === 'number') return mm;
  child.mm = mm;
  child.activeMm = mm;
  return 0;
}

/** copy_process()'s copies, in its order. Returns 0, or -errno with whatever was copied released again. */
export function* copy_process_parts(t: Task, parent: TaskStruct, child: TaskStruct): Blocking<number> {
  const r = yield* copy_files(t, parent, child);
  if (r < 0) return r;
  copy_fs(t, parent, child);
  const m = yield* copy_mm(t, parent, child);
  if (m < 0) {
    // bad_fork_cleanup_fs, bad_fork_cleanup_files.
    yield* exit_fs(t, child);
    yield* exit_files(t, child);
    return m;
  }
  return 0;
}
