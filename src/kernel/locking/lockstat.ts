/**
 * What every sleeping or spinning lock shares: its own cache line, per-class
 * statistics (lock_stat's contentions, acquisitions and wait time) and a FIFO
 * of waiters that the unlocker hands the lock to.
 *
 * The cost of a lock is the cost of its cache line: taking it is an atomic
 * read-modify-write of the line through the cache model, cheap when this CPU
 * already holds the line Modified, a cache-to-cache transfer when another CPU
 * took it last. Fixed software costs are cfg.cost fields.
 */
import { intern } from '../../sim/attribution.js';
import type { Task } from '../../sim/task.js';
import type { Waitable } from '../../sim/wait.js';
import type { Kernel } from '../kernel.js';

const CAT_SPIN_WAIT = intern('spin_wait');

/** Counter and sample names of one lock class, built once per lock (no strings on the lock path). */
export class LockClass {
  readonly contended: string;
  readonly acquired: string;
  readonly wait: string;

  constructor(readonly name: string) {
    this.contended = `lock_contended:${name}`;
    this.acquired = `lock_acquired:${name}`;
    this.wait = `lock_wait:${name}`;
  }
}

/**
 * Waiters in arrival order. The lock path queues the task (with what it
 * wants) before yielding a wait on this queue, so the engine's addWaiter has
 * nothing left to do; the unlocker takes waiters off the head and wakes them
 * itself, having made them owners already (a hand-off).
 */
export class LockWaiters implements Waitable {
  private tasks: Task[] = [];
  private kinds: number[] = [];
  private head = 0;

  get length(): number {
    return this.tasks.length - this.head;
  }

  push(t: Task, kind: number): void {
    this.tasks.push(t);
    this.kinds.push(kind);
  }

  /** Kind of the i-th waiter from the head. */
  kindAt(i: number): number {
    return this.kinds[this.head + i]!;
  }

  taskAt(i: number): Task {
    return this.tasks[this.head + i]!;
  }

  shift(): Task {
    const t = this.tasks[this.head]!;
    this.head++;
    if (this.head === this.tasks.length) this.clear();
    else if (this.head >= 64 && this.head * 2 >= this.tasks.length) this.compact();
    return t;
  }

  /** Remove the waiter at position i from the head (rwsem wakes readers from anywhere in the queue). */
  removeAt(i: number): Task {
    if (i === 0) return this.shift();
    const k = this.head + i;
    const t = this.tasks[k]!;
    this.tasks.splice(k, 1);
    this.kinds.splice(k, 1);
    return t;
  }

  addWaiter(_task: Task): number {
    return -1;
  }

  private clear(): void {
    this.tasks.length = 0;
    this.kinds.length = 0;
    this.head = 0;
  }

  private compact(): void {
    this.tasks = this.tasks.slice(this.head);
    this.kinds = this.kinds.slice(this.head);
    this.head = 0;
  }
}

/** The state every lock type starts from. */
export abstract class LockBase {
  readonly cls: LockClass;
  /** Kernel address of the lock word: its cache line carries the lock's cost. */
  readonly addr: number;
  protected readonly waiters = new LockWaiters();
  /** Contended acquisitions and total cycles waited, for tests and reports. */
  contentions = 0;
  acquisitions = 0;
  waitCycles = 0;

  /**
   * @param addr where the lock word lives when it is embedded in another
   *   kernel object (files_struct.file_lock shares the object's memory);
   *   default: a cache line of its own from the slab.
   */
  constructor(
    protected readonly k: Kernel,
    className: string,
    addr?: number,
  ) {
    this.cls = lockClass(k, className);
    this.addr = addr ?? k.slab.kmalloc(k.machine.caches.lineBytes);
  }

  /**
   * Simulated time of the last release. CPUs run up to a quantum apart, so a
   * holder that takes and drops the lock within one engine step is never
   * seen holding it in host order, though in simulated time its hold may
   * overlap a later attempt from a CPU whose clock is behind. Such an
   * attempt waits, busy, until the release (a spinner spins; a mutex or
   * rwsem waiter spins optimistically on an owner that is running), even
   * when its clock is before the hold began: the holder's critical section
   * has already run, and whatever it did (a release, a list change) must
   * not be seen by a section that ends before it in simulated time. So the
   * lock order is the host order at every quantum (docs/quantum.md). A
   * trylock cannot wait: from a clock before the release it fails, as one
   * inside the hold would (it may not take the lock at a time before a
   * hold that has already run, and its caller's fallback runs instead).
   */
  protected freeAt = 0;

  /** Tasks waiting for the lock. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Cycles of an atomic RMW on the lock word (lock cmpxchg / lock xadd) by t's CPU. */
  protected rmw(t: Task): number {
    return this.k.machine.caches.access(t.cpu, this.addr, true) + this.k.cfg.cost.atomic_rmw;
  }

  /** Cycles of a plain release store to the lock word (x86 spin_unlock is a mov). */
  protected store(t: Task): number {
    return this.k.machine.caches.access(t.cpu, this.addr, true);
  }

  /** Busy-wait until `until`, the end of the last hold, if t's clock is before it (see freeAt); counts as a contended acquisition. */
  protected waitForRelease(t: Task, until: number): void {
    const gap = until - t.now;
    if (gap <= 0) return;
    this.noteContended();
    t.chargeAs(CAT_SPIN_WAIT, gap);
    this.noteWait(t, gap);
  }

  protected noteAcquired(): void {
    this.acquisitions++;
    this.k.engine.counters.add(this.cls.acquired);
  }

  protected noteContended(): void {
    this.contentions++;
    this.k.engine.counters.add(this.cls.contended);
  }

  /** `t` waited `cycles` for the lock, ending now. */
  protected noteWait(t: Task, cycles: number): void {
    this.waitCycles += cycles;
    const e = this.k.engine;
    e.samples.record(this.cls.wait, cycles);
    if (e.tracing) e.traceSpan('lock', this.cls.name, t.cpu, t.now - cycles, cycles);
  }
}

/** One LockClass object per class name per kernel, so counter names are built once. */
function lockClass(k: Kernel, name: string): LockClass {
  const m = k.lockClasses;
  let c = m.get(name);
  if (!c) {
    c = new LockClass(name);
    m.set(name, c);
  }
  return c;
}
