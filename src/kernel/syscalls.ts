/**
 * The system-call boundary. Every syscall runs inside `syscall()`, which
 * charges entry and exit (more with page-table isolation), opens the
 * category `syscall:NAME` so every cycle below it is attributed, counts the
 * call and records its latency.
 */
import { intern } from '../sim/attribution.js';
import type { Blocking, Task } from '../sim/task.js';
import { ct_user_enter, ct_user_exit } from './rcu/context_tracking.js';

/**
 * What the boundary needs of a syscall's name, made once per name so that a
 * call builds no string: its attribution category and its counter's name.
 */
interface SyscallName {
  /** Attribution category `syscall:NAME`. */
  cat: number;
  /** The call counter, `syscall_NAME`. */
  counter: string;
}

const names = new Map<string, SyscallName>();
const CAT_ENTRY = intern('entry_SYSCALL_64');

function syscallName(name: string): SyscallName {
  let n = names.get(name);
  if (n === undefined) {
    n = { cat: intern(`syscall:${name}`), counter: `syscall_${name}` };
    names.set(name, n);
  }
  return n;
}

export function syscallCategory(name: string): number {
  return syscallName(name).cat;
}

/**
 * Run a syscall body with entry/exit cost and attribution. The body returns
 * the kernel's value: >= 0 on success or -errno.
 */
export function* syscall<T>(t: Task, name: string, body: Blocking<T>): Blocking<T> {
  const e = t.engine;
  const cost = e.cfg.cost;
  const start = t.now;
  const startCpu = t.cpu;
  const saved = t.cat;
  const n = syscallName(name);
  ct_user_exit(t);
  t.cat = e.attribution.root;
  t.enter(n.cat);
  const entry = cost.syscall + (e.cfg.kernel.pti ? cost.pti_syscall_extra : 0);
  t.chargeAs(CAT_ENTRY, entry / 2);
  const r = yield* body;
  t.chargeAs(CAT_ENTRY, entry - entry / 2);
  t.cat = saved;
  ct_user_enter(t);
  e.counters.add(n.counter);
  e.samples.record(name, t.now - start);
  if (e.tracing) e.traceSpan('syscall', name, startCpu, start, t.now - start);
  return r;
}
