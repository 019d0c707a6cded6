/**
 * struct mutex after kernel/locking/mutex.c: an uncontended lock and unlock
 * are one atomic each on the owner word; a contended locker sleeps (its CPU
 * runs something else or idles) and unlock hands the mutex to the longest
 * waiter (FIFO, as with the kernel's MUTEX_FLAG_HANDOFF). Optimistic spinning
 * on a running owner is not modelled: a contended locker always sleeps.
 */
import { intern } from '../../sim/attribution.js';
import type { Kernel } from '../kernel.js';
import { HandoffLock, type HandoffKind } from './handoff.js';

const MUTEX: HandoffKind = {
  lockName: 'mutex_lock',
  unlockName: 'mutex_unlock',
  lockCat: intern('mutex_lock'),
  unlockCat: intern('mutex_unlock'),
  spin: false,
};

export class Mutex extends HandoffLock {
  constructor(k: Kernel, className: string, addr?: number) {
    super(k, className, addr, MUTEX);
  }
}
