/**
 * execve's point of no return, after begin_new_exec() in fs/exec.c: the new
 * program gets an empty address space (exec_mmap, the old one released),
 * then the fds marked close-on-exec are closed (do_close_on_exec).
 */
import type { Blocking, Task } from '../../sim/task.js';
import { mm_alloc, mm_release_user } from '../mm/fork.js';
import { switch_mm_irqs_off } from '../mm/tlbflush.js';
import type { TaskStruct } from '../sched/task_struct.js';
import { do_close_on_exec } from './file.js';

/** exec_mmap(): switch to a fresh, empty mm and release the old one. */
function* exec_mmap(t: Task, ts: TaskStruct): Blocking<void> {
  const k = t.k;
  const old = ts.mm;
  const mm = mm_alloc(k);
  if (!mm) throw new Error(`exec: no memory for ${ts.comm}'s address space`);
  ts.mm = mm;
  ts.activeMm = mm;
  t.charge(switch_mm_irqs_off(k, t.cpu, mm));
  if (old) yield* mm_release_user(t, ts, old);
}

export function* begin_new_exec(t: Task, ts: TaskStruct): Blocking<void> {
  yield* exec_mmap(t, ts);
  if (ts.files) yield* do_close_on_exec(t, ts.files);
}
