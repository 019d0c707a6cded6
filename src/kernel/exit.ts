/**
 * do_exit(), after kernel/exit.c: an ending task lets go of its parts in
 * do_exit's order: exit_mm, exit_files, exit_fs.
 */
import { exit_itimers } from './signal.js';
import type { Blocking, Task } from '../sim/task.js';
import { exit_files } from './fs/file.js';
import { exit_fs } from './fs/fs_struct.js';
import { exit_mm } from './mm/fork.js';
import type { TaskStruct } from './sched/task_struct.js';

export function* do_exit(t: Task, ts: TaskStruct): Blocking<void> {
  exit_itimers(ts);
  yield* exit_mm(t, ts);
  yield* exit_files(t, ts);
  yield* exit_fs(t, ts);
}
