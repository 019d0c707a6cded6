/**
 * spinlock_t after kernel/locking/qspinlock.c: a waiter busy-waits with its
 * CPU held (charged as busy time under spin_wait) and waiters are served in
 * arrival order, as the MCS queue of a qspinlock serves them.
 *
 * Holding a spinlock disables preemption in Linux; here the engine can only
 * switch a task at a yield, so code holding a spinlock must not yield (no
 * cond_resched, no sleeping) until it unlocks.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { LockBase } from './lockstat.js';

const CAT_SPIN_LOCK = intern('_raw_spin_lock');
const CAT_SPIN_UNLOCK = intern('_raw_spin_unlock');

export class SpinLock extends LockBase {
  owner: Task | null = null;

  constructor(k: Kernel, className: string, addr?: number) {
    super(k, className, addr);
  }

  get locked(): boolean {
    return this.owner !== null;
  }

  /** spin_lock(): returns holding the lock. */
  *lock(t: Task): Blocking<void> {
    t.enter(CAT_SPIN_LOCK);
    t.charge(this.rmw(t));
    if (this.owner === null) {
      this.waitForRelease(t, this.heldFrom, this.freeAt);
      this.owner = t;
      this.heldFrom = t.now;
      this.noteAcquired();
      t.leave();
      return;
    }
    if (this.owner === t) throw new Error(`spin_lock ${this.cls.name}: recursive acquisition by ${t.name} (deadlock)`);
    this.noteContended();
    const start = t.now;
    this.waiters.push(t, 0);
    yield t.spinOn(this.waiters);
    // The unlocker handed the lock over; the waiter's RMW pulls the line from the unlocker's CPU.
    t.charge(this.rmw(t));
    this.noteWait(t.now - start);
    this.noteAcquired();
    this.heldFrom = t.now;
    t.leave();
  }

  /** spin_trylock(): true if taken. */
  trylock(t: Task): boolean {
    t.chargeAs(CAT_SPIN_LOCK, this.rmw(t));
    if (this.owner !== null || (t.now >= this.heldFrom && t.now < this.freeAt)) return false;
    this.owner = t;
    this.heldFrom = t.now;
    this.noteAcquired();
    return true;
  }

  /** spin_unlock(): the next waiter, if any, owns the lock from this moment. */
  unlock(t: Task): void {
    if (this.owner !== t) throw new Error(`spin_unlock ${this.cls.name}: ${t.name} does not hold it`);
    t.chargeAs(CAT_SPIN_UNLOCK, this.store(t));
    this.freeAt = t.now;
    if (this.waiters.length === 0) {
      this.owner = null;
      return;
    }
    const next = this.waiters.shift();
    this.owner = next;
    this.k.engine.wakeTask(next, t.now);
  }
}
