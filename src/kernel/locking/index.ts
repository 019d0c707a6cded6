/** Kernel locking primitives: spinlock_t, struct mutex, struct rw_semaphore. */
export { SpinLock } from './spinlock.js';
export { Mutex } from './mutex.js';
export { RwSemaphore } from './rwsem.js';
export { LockBase, LockClass } from './lockstat.js';
