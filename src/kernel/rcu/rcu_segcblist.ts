/**
 * The per-CPU callback list (kernel/rcu/rcu_segcblist.c): callbacks queued
 * by call_rcu in order, each tagged with the grace period it waits for, so
 * the list's segments (done, waiting, next) follow from the tags rather than
 * from segment pointers.
 */

/** A callback's work when invoked on `cpu` at `time`; returns extra cycles it took. */
export type RcuCallbackFn = (cpu: number, time: number) => number;

export interface RcuHead {
  fn: RcuCallbackFn;
  bytes: number;
  /** Kernel address of the object's rcu_head (its line is touched on queueing and invocation), or -1. */
  addr: number;
  /** The grace period (number) that must end before the callback runs. */
  gp: number;
  queuedAt: number;
}

/** Per-CPU FIFO of callbacks (the rcu_segcblist, whose segments follow from each callback's gp number). */
export class CbList {
  items: RcuHead[] = [];
  head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): RcuHead | undefined {
    return this.items[this.head];
  }

  shift(): RcuHead {
    const cb = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as RcuHead;
    this.head++;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return cb;
  }
}
