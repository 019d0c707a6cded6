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
import type { Kernel } from '../kernel.js';
import { HandoffLock, type HandoffKind } from './handoff.js';

const SPIN: HandoffKind = {
  lockName: 'spin_lock',
  unlockName: 'spin_unlock',
  lockCat: intern('_raw_spin_lock'),
  unlockCat: intern('_raw_spin_unlock'),
  spin: true,
};

export class SpinLock extends HandoffLock {
  /** @param irqsOff taken with spin_lock_irq/spin_lock_irqsave: no interrupt is taken from the attempt to the unlock. */
  constructor(k: Kernel, className: string, addr?: number, irqsOff = false) {
    super(k, className, addr, SPIN, irqsOff);
  }
}
