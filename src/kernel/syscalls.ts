/**
 * The system-call boundary. Every syscall runs inside `syscall()`, which
 * charges entry and exit (more with page-table isolation), opens the
 * category `syscall:NAME` so every cycle below it is attributed, counts the
 * call and records its latency.
 */
import { intern } from '../sim/attribution.js';
import type { Blocking, Task } from '../sim/task.js';
import { ct_user_enter, ct_user_exit } from './rcu/context_tracking.js';

const nameIds = new Map<string, number>();
const CAT_ENTRY = intern('entry_SYSCALL_64');

export function syscallCategory(name: string): number {
  let id = nameIds.get(name);
  if (id === undefined) {
    id = intern(`syscall:${name}`);
    nameIds.set(name, id);
  }
  return id;
}

/**
 * Run a syscall body with entry/exit cost and attribution. The body returns
 * the kernel's value: >= 0 on success or -errno.
 */
export function* syscall<T>(t: Task, name: string, body: Blocking<T>): Blocking<T> {
  const e = t.engine;
  const cost = e.cfg.cost;
  const start = t.now;
  const saved = t.cat;
  ct_user_exit(t);
  t.cat = e.attribution.root;
  t.enter(syscallCategory(name));
  const entry = cost.syscall + (e.cfg.kernel.pti ? cost.pti_syscall_extra : 0);
  t.chargeAs(CAT_ENTRY, entry / 2);
  const r = yield* body;
  t.chargeAs(CAT_ENTRY, entry - entry / 2);
  t.cat = saved;
  ct_user_enter(t);
  e.counters.add(`syscall_${name}`);
  e.samples.record(name, t.now - start);
  return r;
}
