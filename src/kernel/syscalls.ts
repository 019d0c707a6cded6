/**
 * The system-call boundary. Every syscall runs inside `syscall()`, which
 * charges entry and exit (more with page-table isolation), opens the
 * category `syscall:NAME` so every cycle below it is attributed, counts the
 * call and records its latency.
 */
import { intern } from '../sim/attribution.js';
import { counterId, type Samples } from '../sim/stats.js';
import type { Engine } from '../sim/engine.js';
import type { Blocking, Task } from '../sim/task.js';
import { ct_user_enter, ct_user_exit } from './rcu/context_tracking.js';

/**
 * What the boundary needs of a syscall's name, made once per name so that a
 * call builds no string: its attribution category and its counter's name.
 */
interface SyscallName {
  /** Attribution category `syscall:NAME`. */
  cat: number;
  /** The call counter, `syscall_NAME` (its counterId). */
  counter: number;
  /**
   * The engine that last ran the call, and what the call needs of it: its
   * latency histogram (a look-up by name per call costs a hash of the
   * name), and the attribution nodes syscall:NAME and syscall:NAME >
   * entry_SYSCALL_64 (a look-up each per charge otherwise).
   */
  engine: Engine | null;
  samples: Samples | null;
  node: number;
  entryNode: number;
  /** The entry cost's two halves on that engine's machine (cost.syscall, plus cost.pti_syscall_extra with page-table isolation): charged at entry and at exit. */
  entryFirst: number;
  entryRest: number;
}

const names = new Map<string, SyscallName>();
const CAT_ENTRY = intern('entry_SYSCALL_64');

/** The last name looked up and its record: a loop of one call looks it up by identity, not by a hash of the name. */
let lastName = '';
let lastN: SyscallName | null = null;

function syscallName(name: string): SyscallName {
  // Small, so that V8 inlines it and leaves its inlining budget to the call's body.
  return name === lastName ? lastN! : syscallNameOf(name);
}

function syscallNameOf(name: string): SyscallName {
  let n = names.get(name);
  if (n === undefined) {
    n = { cat: intern(`syscall:${name}`), counter: counterId(`syscall_${name}`), engine: null, samples: null, node: 0, entryNode: 0, entryFirst: 0, entryRest: 0 };
    names.set(name, n);
  }
  lastName = name;
  lastN = n;
  return n;
}

export function syscallCategory(name: string): number {
  return syscallName(name).cat;
}

/** Entry: leaves user mode, opens `syscall:NAME` and charges the first half of the entry cost. Returns the category to restore at exit. */
function sysEnter(t: Task, n: SyscallName, name: string): number {
  const e = t.engine;
  if (n.engine !== e) bindEngine(n, e);
  const saved = t.cat;
  ct_user_exit(t);
  t.cat = n.node;
  const entry = n.entryFirst;
  e.charge(t.cpu, entry, n.entryNode);
  t.cpuTime += entry;
  return saved;
}

/** Look up what a call of this name needs of engine `e` (its nodes and its entry cost), once per engine. */
function bindEngine(n: SyscallName, e: Engine): void {
  n.engine = e;
  // The histogram is made at the first exit: a call that never returns leaves none.
  n.samples = null;
  n.node = e.attribution.child(e.attribution.root, n.cat);
  n.entryNode = e.attribution.child(n.node, CAT_ENTRY);
  const cost = e.cfg.cost;
  const entry = cost.syscall + (e.cfg.kernel.pti ? cost.pti_syscall_extra : 0);
  n.entryFirst = entry / 2;
  n.entryRest = entry - entry / 2;
}

/** Exit: the rest of the entry cost, back to user mode, the call counted and its latency recorded. */
function sysExit(t: Task, n: SyscallName, name: string, saved: number, start: number, startCpu: number): void {
  const e = t.engine;
  if (n.engine !== e) {
    // Another engine ran a call of this name meanwhile (its call began on this one): charge as this one's machine.
    sysExitOther(t, n, name, saved, start, startCpu);
    return;
  }
  const rest = n.entryRest;
  e.charge(t.cpu, rest, n.entryNode);
  t.cpuTime += rest;
  t.cat = saved;
  ct_user_enter(t);
  e.counters.addId(n.counter);
  (n.samples ?? samplesOf(n, e, name)).record(t.now - start);
  if (e.tracing) e.traceSpan('syscall', name, startCpu, start, t.now - start);
}

/** The latency histogram of a call name on its bound engine, made at its first exit. */
function samplesOf(n: SyscallName, e: Engine, name: string): Samples {
  return (n.samples = e.samples.of(name));
}

function sysExitOther(t: Task, n: SyscallName, name: string, saved: number, start: number, startCpu: number): void {
  const e = t.engine;
  const cost = e.cfg.cost;
  const entry = cost.syscall + (e.cfg.kernel.pti ? cost.pti_syscall_extra : 0);
  const rest = entry - entry / 2;
  e.charge(t.cpu, rest, e.attribution.child(e.attribution.child(e.attribution.root, n.cat), CAT_ENTRY));
  t.cpuTime += rest;
  t.cat = saved;
  ct_user_enter(t);
  e.counters.addId(n.counter);
  e.samples.of(name).record(t.now - start);
  if (e.tracing) e.traceSpan('syscall', name, startCpu, start, t.now - start);
}

/**
 * Run a syscall body with entry/exit cost and attribution. The body returns
 * the kernel's value: >= 0 on success or -errno.
 */
export function* syscall<T>(t: Task, name: string, body: Blocking<T>): Blocking<T> {
  const start = t.now;
  const startCpu = t.cpu;
  const n = syscallName(name);
  const saved = sysEnter(t, n, name);
  const r = yield* body;
  sysExit(t, n, name, saved, start, startCpu);
  return r;
}

/**
 * The fast path of the boundary, for a call whose body never waits (takes
 * no sleeping lock, sends no IPI it waits for, does no I/O): the same entry,
 * exit, attribution, counter and latency as syscall(), but the body is a
 * plain function and nothing is allocated on the host: no generator for the
 * boundary or the body. `body` must be a module-level function (a closure
 * made per call allocates); its three number arguments are passed through.
 * A call that may wait on some path keeps syscall() and a generator body.
 */
export function syscallNoWait(t: Task, name: string, body: (t: Task, a: number, b: number, c: number) => number, a = 0, b = 0, c = 0): number {
  const start = t.now;
  const startCpu = t.cpu;
  const n = syscallName(name);
  const saved = sysEnter(t, n, name);
  const r = body(t, a, b, c);
  sysExit(t, n, name, saved, start, startCpu);
  return r;
}
