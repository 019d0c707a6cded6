/**
 * A simulated thread of execution. Its body is a generator: it charges
 * cycles to its CPU as it works and yields when it blocks or when its CPU's
 * window in the engine ends, so the engine can run other CPUs and deliver
 * interrupts.
 */
import { intern } from './attribution.js';
import type { Engine } from './engine.js';
import { Completion, Wait, WaitKind, type Waitable } from './wait.js';

export type Yield = Wait | undefined;
export type TaskBody = Generator<Yield, void, void>;

/** What a step function returns when the task has finished (see StepBody). */
export const STEP_DONE: unique symbol = Symbol('step done');

/**
 * A task's work between two stops, as a plain function: it runs the task
 * from where it stopped until it must stop again and returns what a
 * generator body would yield there (undefined: its CPU's window ended, a
 * Wait: it blocks), or STEP_DONE when the task has finished. For a task
 * whose loop keeps its state in fields rather than in a generator's frame.
 */
export type StepFn = (t: Task) => Yield | typeof STEP_DONE;

/**
 * A task body made of a step function (`engine.spawn(name, (t) => new
 * StepBody(t, fn))`): the engine calls `fn(t)` directly (one call, no
 * iterator result; a wrapper may still resume it through next(), whose
 * result object is reused), where a generator's resumption allocates its
 * result.
 */
export class StepBody implements TaskBody {
  private readonly result: IteratorResult<Yield, void> = { done: false, value: undefined };

  constructor(
    private readonly t: Task,
    /** The step function (the engine calls it directly, with the task, rather than through next()). */
    readonly fn: StepFn,
  ) {}

  next(): IteratorResult<Yield, void> {
    const r = this.result;
    const v = this.fn(this.t);
    if (v === STEP_DONE) {
      r.done = true;
      r.value = undefined;
    } else {
      r.done = false;
      r.value = v;
    }
    return r;
  }

  return(): IteratorResult<Yield, void> {
    return { done: true, value: undefined };
  }

  throw(e: unknown): IteratorResult<Yield, void> {
    throw e;
  }

  [Symbol.iterator](): TaskBody {
    return this;
  }
}
/** A kernel path that may block: `const r = yield* someKernelPath(t, ...)`. */
export type Blocking<T> = Generator<Yield, T, void>;

export const enum TaskState {
  Runnable = 0,
  Running = 1,
  Sleeping = 2,
  Spinning = 3,
  Done = 4,
}

export class Task {
  state: TaskState = TaskState.Runnable;
  /** The CPU the task runs on, or last ran on. */
  cpu: number;
  /** Attribution node that charges land on; follows the kernel call stack. */
  cat: number;
  /** Completes when the body returns. */
  readonly exited: Completion;
  /** For the kernel: the task_struct this simulated thread belongs to. */
  data: unknown = undefined;
  body!: TaskBody;
  /** Cycles of CPU time this task has been charged. */
  cpuTime = 0;
  /** When the task last became runnable (woken, or preempted): its CPU cannot run it earlier. */
  wakeAt = 0;
  /**
   * Cycles spent runnable but waiting for a CPU (Linux's sched_info.run_delay,
   * the second field of /proc/PID/schedstat): queueing, not work.
   */
  runDelay = 0;
  /** chargeAs's last category, name and their node. */
  private asCat = -1;
  private asName = -1;
  private asNode = 0;

  constructor(
    readonly engine: Engine,
    readonly id: number,
    readonly name: string,
    cpu: number,
    /** -1: may run on any CPU; otherwise pinned (sched_setaffinity changes it: the task moves at its next wake-up). */
    public affinity: number,
    /** A kernel thread: runs on whatever address space was loaded (lazy TLB). */
    readonly kernelThread: boolean,
  ) {
    this.cpu = cpu;
    this.cat = engine.attribution.root;
    this.exited = new Completion(engine, 1);
  }

  /** The task's CPU clock: the current simulated time as this task sees it. */
  get now(): number {
    return this.engine.clock[this.cpu]!;
  }

  /** Charge cycles of work on the task's CPU to its current category. */
  charge(cycles: number): void {
    this.engine.charge(this.cpu, cycles, this.cat);
    this.cpuTime += cycles;
  }

  /** Charge to a named sub-category without entering it. */
  chargeAs(nameId: number, cycles: number): void {
    // The sub-category's node is kept for the last (category, name): a loop charging the same one takes it without the attribution's look-up, and this stays small enough for V8 to inline it and what its caller calls next.
    const node = this.cat === this.asCat && nameId === this.asName ? this.asNode : this.asNodeOf(nameId);
    this.engine.charge(this.cpu, cycles, node);
    this.cpuTime += cycles;
  }

  /** chargeAs's node for `nameId` under the current category, looked up and kept. */
  private asNodeOf(nameId: number): number {
    this.asCat = this.cat;
    this.asName = nameId;
    return (this.asNode = this.engine.attribution.child(this.cat, nameId));
  }

  /** Enter a category (a kernel function): later charges land beneath it. */
  enter(nameId: number): void {
    this.cat = this.engine.attribution.child(this.cat, nameId);
  }

  /** Leave the innermost category. */
  leave(): void {
    this.cat = this.engine.attribution.parentOf(this.cat);
  }

  /** True when the task has used its CPU's window and should yield. */
  shouldYield(): boolean {
    return this.engine.clock[this.cpu]! >= this.engine.windowEnd[this.cpu]!;
  }

  /** Cycles left in this CPU's window (for bulk loops that pause at its end). */
  budget(): number {
    return this.engine.windowEnd[this.cpu]! - this.engine.clock[this.cpu]!;
  }

  /** Block, letting the CPU run something else or idle: `yield t.sleepOn(x)`. */
  sleepOn(w: Waitable): Wait {
    return new Wait(WaitKind.Sleep, w);
  }

  /** Busy-wait with the CPU held: `yield t.spinOn(x)`. */
  spinOn(w: Waitable): Wait {
    return new Wait(WaitKind.Spin, w);
  }

  /** Sleep for a span of simulated time: `yield t.sleepFor(cycles)`. */
  sleepFor(cycles: number): Wait {
    const c = new Completion(this.engine, 1);
    this.engine.at(this.now + cycles, (time) => c.complete(time));
    return new Wait(WaitKind.Sleep, c);
  }
}

export const CAT_USER = intern('user');
