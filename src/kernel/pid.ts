/**
 * pidfds, after kernel/pid.c (pidfd_open, pidfd_get_task) and kernel/fork.c
 * (pidfd_create): a file that names a process. process_madvise and other
 * pidfd calls find their target through it.
 *
 * The file always has O_CLOEXEC and is opened O_RDWR; PIDFD_NONBLOCK is
 * O_NONBLOCK and PIDFD_THREAD (O_EXCL) lets it name a thread that is not a
 * thread-group leader. Its private data is the task it names.
 */
import type { Blocking, Task } from '../sim/task.js';
import { EBADF, EINVAL, ESRCH } from './errno.js';
import { alloc_file, fd_install, fget_light, fput_light, get_unused_fd_flags, type File, type FileOperations } from './fs/file.js';
import { FMODE_READ, FMODE_WRITE, O_CLOEXEC, O_EXCL, O_NONBLOCK, O_RDWR } from './fs/uapi_fcntl.js';
import type { TaskStruct } from './sched/task_struct.js';
import { syscall } from './syscalls.js';

/** PIDFD_NONBLOCK. */
export const PIDFD_NONBLOCK = O_NONBLOCK;
/** PIDFD_THREAD. */
export const PIDFD_THREAD = O_EXCL;

/** pidfd_fops: nothing but identity here (no poll of the exit, no ioctls). */
const pidfd_fops: FileOperations = { name: 'pidfd' };

/** The task a file names, if it is a pidfd (pidfd_pid). */
function pidfd_pid(file: File): TaskStruct | null {
  return file.f_op === pidfd_fops ? (file.private_data as TaskStruct) : null;
}

/** True once the task has ended (its pid is released: no pid_task). */
function task_exited(ts: TaskStruct): boolean {
  return ts.task.exited.done;
}

/** pidfd_open(2). */
export function* do_pidfd_open(t: Task, pid: number, flags: number): Blocking<number> {
  const k = t.k;
  if (flags & ~(PIDFD_NONBLOCK | PIDFD_THREAD)) return -EINVAL;
  if (pid <= 0) return -EINVAL;
  const ts = k.findTask(pid);
  if (!ts || task_exited(ts)) return -ESRCH;
  // pidfd_prepare(): without PIDFD_THREAD the pid must lead a thread group.
  if (!(flags & PIDFD_THREAD) && !ts.isGroupLeader) return -EINVAL;
  const fd = yield* get_unused_fd_flags(t, O_CLOEXEC);
  if (fd < 0) return fd;
  const file = alloc_file(k, t, 'anon_inode:[pidfd]', O_RDWR | (flags & (PIDFD_NONBLOCK | PIDFD_THREAD)), FMODE_READ | FMODE_WRITE, pidfd_fops);
  file.private_data = ts;
  yield* fd_install(t, fd, file);
  return fd;
}

export function sys_pidfd_open(t: Task, pid: number, flags: number): Blocking<number> {
  return syscall(t, 'pidfd_open', do_pidfd_open(t, pid, flags));
}

/**
 * pidfd_get_task(): the task a pidfd names (its thread-group leader unless
 * the pidfd was opened with PIDFD_THREAD), or -EBADF for an fd that is not
 * a pidfd and -ESRCH for a task that has exited.
 */
export function* pidfd_get_task(t: Task, pidfd: number): Blocking<TaskStruct | number> {
  const f = fget_light(t, pidfd);
  if (!f.file) return -EBADF;
  const ts = pidfd_pid(f.file);
  yield* fput_light(t, f);
  if (!ts) return -EBADF;
  if (task_exited(ts)) return -ESRCH;
  return ts;
}
