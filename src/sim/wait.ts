/**
 * What a blocked task waits on. Kernel code that can block is written as
 * generator functions that yield a Wait; the engine parks the task and, for a
 * sleep, runs another task on the CPU or idles it; for a spin, keeps the CPU
 * busy (as csd_lock_wait spins for IPI acknowledgements).
 */
import type { Task } from './task.js';

export interface Waker {
  wakeTask(task: Task, time: number): void;
}

/** Something a task can wait for. */
export interface Waitable {
  /** Registers the task; returns the time it is already satisfied at, or -1 if the task must wait. */
  addWaiter(task: Task): number;
}

export const enum WaitKind {
  Sleep = 0,
  Spin = 1,
}

export class Wait {
  constructor(
    readonly kind: WaitKind,
    readonly on: Waitable,
  ) {}
}

/**
 * A one-shot event with a count of outstanding parts (the kernel's
 * `struct completion`, also used for "all IPI acknowledgements are in").
 */
export class Completion implements Waitable {
  private waiters: Task[] = [];
  doneAt = -1;

  constructor(
    private readonly waker: Waker,
    public pending = 1,
  ) {
    if (pending <= 0) this.doneAt = 0;
  }

  get done(): boolean {
    return this.doneAt >= 0;
  }

  addWaiter(task: Task): number {
    if (this.doneAt >= 0) return this.doneAt;
    this.waiters.push(task);
    return -1;
  }

  /** One part finished at `time`; when none is left, every waiter wakes at `time`. */
  complete(time: number): void {
    if (this.doneAt >= 0) return;
    if (--this.pending > 0) return;
    this.doneAt = time;
    const w = this.waiters;
    this.waiters = [];
    for (const t of w) this.waker.wakeTask(t, time);
  }
}

/** A wait queue: tasks sleep on it until someone wakes them (wake_up). */
export class WaitQueue implements Waitable {
  private waiters: Task[] = [];

  constructor(private readonly waker: Waker) {}

  get length(): number {
    return this.waiters.length;
  }

  addWaiter(task: Task): number {
    this.waiters.push(task);
    return -1;
  }

  /** Take a task off the queue without waking it (a sleep that a signal or a timeout ended); whether it was there. */
  remove(task: Task): boolean {
    const i = this.waiters.indexOf(task);
    if (i < 0) return false;
    this.waiters.splice(i, 1);
    return true;
  }

  wakeOne(time: number): boolean {
    const t = this.waiters.shift();
    if (!t) return false;
    this.waker.wakeTask(t, time);
    return true;
  }

  wakeAll(time: number): number {
    const w = this.waiters;
    this.waiters = [];
    for (const t of w) this.waker.wakeTask(t, time);
    return w.length;
  }
}
