/**
 * struct mutex after kernel/locking/mutex.c: an uncontended lock and unlock
 * are one atomic each on the owner word; a contended locker sleeps (its CPU
 * runs something else or idles) and unlock hands the mutex to the longest
 * waiter (FIFO, as with the kernel's MUTEX_FLAG_HANDOFF). Optimistic spinning
 * on a running owner is not modelled: a contended locker always sleeps.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { LockBase } from './lockstat.js';

const CAT_MUTEX_LOCK = intern('mutex_lock');
const CAT_MUTEX_UNLOCK = intern('mutex_unlock');

export class Mutex extends LockBase {
  owner: Task | null = null;

  constructor(k: Kernel, className: string, addr?: number) {
    super(k, className, addr);
  }

  get locked(): boolean {
    return this.owner !== null;
  }

  /** mutex_lock(): may sleep. */
  *lock(t: Task): Blocking<void> {
    t.enter(CAT_MUTEX_LOCK);
    t.charge(this.rmw(t));
    if (this.owner === null) {
      this.waitForRelease(t, this.heldFrom, this.freeAt);
      this.owner = t;
      this.heldFrom = t.now;
      this.noteAcquired();
      t.leave();
      return;
    }
    if (this.owner === t) throw new Error(`mutex_lock ${this.cls.name}: recursive acquisition by ${t.name} (deadlock)`);
    this.noteContended();
    const start = t.now;
    this.waiters.push(t, 0);
    yield t.sleepOn(this.waiters);
    t.charge(this.rmw(t));
    this.noteWait(t.now - start);
    this.noteAcquired();
    this.heldFrom = t.now;
    t.leave();
  }

  /** mutex_trylock(): true if taken. */
  trylock(t: Task): boolean {
    t.chargeAs(CAT_MUTEX_LOCK, this.rmw(t));
    if (this.owner !== null || (t.now >= this.heldFrom && t.now < this.freeAt)) return false;
    this.owner = t;
    this.heldFrom = t.now;
    this.noteAcquired();
    return true;
  }

  /** mutex_unlock(): wakes and hands over to the first waiter. */
  unlock(t: Task): void {
    if (this.owner !== t) throw new Error(`mutex_unlock ${this.cls.name}: ${t.name} does not hold it`);
    let cycles = this.rmw(t);
    if (this.waiters.length === 0) {
      this.owner = null;
      t.chargeAs(CAT_MUTEX_UNLOCK, cycles);
      this.freeAt = t.now;
      return;
    }
    cycles += this.k.cfg.cost.lock_wakeup;
    t.chargeAs(CAT_MUTEX_UNLOCK, cycles);
    this.freeAt = t.now;
    const next = this.waiters.shift();
    this.owner = next;
    this.k.engine.wakeTask(next, t.now);
  }
}
