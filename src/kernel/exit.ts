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
import { group_totals } from './fs/proc/array.js';

export function* do_exit(t: Task, ts: TaskStruct): Blocking<void> {
  exit_itimers(ts);
  yield* exit_mm(t, ts);
  yield* exit_files(t, ts);
  yield* exit_fs(t, ts);
}

/**
 * wait_task_zombie(): the parent reaping `child` adds what the child's
 * threads faulted and ran, and what its own reaped children had, to its
 * signal_struct's cmin_flt, cmaj_flt, cutime and cstime (kept on the
 * parent's thread group leader; /proc/PID/stat prints them).
 */
export function wait_task_zombie(parent: TaskStruct, child: TaskStruct): void {
  const p = parent.group[0] ?? parent;
  const c = child.group[0] ?? child;
  const g = group_totals(c);
  p.cMinFlt += g.minFlt + c.cMinFlt;
  p.cMajFlt += g.majFlt + c.cMajFlt;
  p.cUtime += g.utime + c.cUtime;
  p.cStime += g.stime + c.cStime;
}
