/**
 * The exclusive lock both spinlock_t and struct mutex are here: one owner
 * word whose cache line carries the cost, waiters served in arrival order,
 * and unlock handing the lock straight to the first waiter. The two differ
 * only in how a waiter waits (a spinner keeps its CPU busy, a sleeper lets it
 * run something else or idle) and in what unlock costs (a spinlock's release
 * is a plain store; a mutex's is an atomic, plus a wake-up when someone
 * sleeps on it).
 */
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { LockBase } from './lockstat.js';

export interface HandoffKind {
  /** Function names for messages and attribution: spin_lock / spin_unlock, mutex_lock / mutex_unlock. */
  lockName: string;
  unlockName: string;
  lockCat: number;
  unlockCat: number;
  /** Waiters busy-wait (spinlock) rather than sleep (mutex). */
  spin: boolean;
}

export class HandoffLock extends LockBase {
  owner: Task | null = null;
  /** When the owner disabled interrupts to take the lock (irqsOff locks only). */
  private irqsOffFrom = 0;

  /**
   * @param irqsOff the lock is taken with interrupts disabled
   *   (spin_lock_irq/spin_lock_irqsave): from the attempt, through the spin
   *   and the hold, to the unlock, the CPU takes no interrupt, so an IPI
   *   arriving then is handled after the unlock (Engine.irqsOffDuring).
   */
  constructor(
    k: Kernel,
    className: string,
    addr: number | undefined,
    private readonly kind: HandoffKind,
    private readonly irqsOff = false,
  ) {
    super(k, className, addr);
  }

  get locked(): boolean {
    return this.owner !== null;
  }

  /** Returns holding the lock. */
  *lock(t: Task): Blocking<void> {
    const kind = this.kind;
    const from = t.now;
    t.enter(kind.lockCat);
    t.charge(this.rmw(t));
    if (this.owner === null) {
      this.waitForRelease(t, this.freeAt);
      this.owner = t;
      this.irqsOffFrom = from;
      this.noteAcquired();
      t.leave();
      return;
    }
    if (this.owner === t) throw new Error(`${kind.lockName} ${this.cls.name}: recursive acquisition by ${t.name} (deadlock)`);
    this.noteContended();
    const start = t.now;
    this.waiters.push(t, 0);
    yield kind.spin ? t.spinOn(this.waiters) : t.sleepOn(this.waiters);
    // The unlocker handed the lock over; the waiter's RMW pulls the line from the unlocker's CPU.
    t.charge(this.rmw(t));
    this.irqsOffFrom = from;
    this.noteWait(t, t.now - start);
    this.noteAcquired();
    t.leave();
  }

  /** True if taken; an attempt from a clock before the last release fails (see LockBase.freeAt). */
  trylock(t: Task): boolean {
    t.chargeAs(this.kind.lockCat, this.rmw(t));
    if (this.owner !== null || t.now < this.freeAt) return false;
    this.owner = t;
    this.irqsOffFrom = t.now;
    this.noteAcquired();
    return true;
  }

  /** The first waiter, if any, owns the lock from this moment. */
  unlock(t: Task): void {
    const kind = this.kind;
    if (this.owner !== t) throw new Error(`${kind.unlockName} ${this.cls.name}: ${t.name} does not hold it`);
    let cycles = kind.spin ? this.store(t) : this.rmw(t);
    if (!kind.spin && this.waiters.length > 0) cycles += this.k.cfg.kernel.cost.lock_wakeup;
    t.chargeAs(kind.unlockCat, cycles);
    this.freeAt = t.now;
    if (this.irqsOff) this.k.engine.irqsOffDuring(t.cpu, this.irqsOffFrom, t.now);
    if (this.waiters.length === 0) {
      this.owner = null;
      return;
    }
    const next = this.waiters.shift();
    this.owner = next;
    this.k.engine.wakeTask(next, t.now);
  }
}
