/**
 * struct rw_semaphore after kernel/locking/rwsem.c (the mmap_lock's type).
 *
 * Readers share the lock; every down_read and up_read is an atomic on the
 * count word, so readers on different CPUs bounce its cache line (the
 * mmap_lock scalability problem). A task that cannot take the lock sleeps in
 * a FIFO queue. A new reader queues whenever anyone is queued, so a waiting
 * writer is never starved by a stream of readers.
 *
 * Wake-ups follow rwsem_mark_wake(): when the lock becomes free and the
 * first waiter is a writer, that writer gets it; when the first waiter is a
 * reader, every queued reader gets it at once (the kernel grants up to
 * MAX_READERS_WAKEUP readers from anywhere in the queue, writers keep their
 * places). The lock is handed over: the woken tasks own it on waking.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { LockBase } from './lockstat.js';

const CAT_DOWN_READ = intern('down_read');
const CAT_DOWN_WRITE = intern('down_write');
const CAT_UP_READ = intern('up_read');
const CAT_UP_WRITE = intern('up_write');
const CAT_DOWNGRADE = intern('downgrade_write');

const READER = 0;
const WRITER = 1;
/** kernel/locking/rwsem.c MAX_READERS_WAKEUP. */
const MAX_READERS_WAKEUP = 0x100;

export class RwSemaphore extends LockBase {
  /** Tasks holding the lock for reading. */
  readers = 0;
  /** The task holding it for writing, or null. */
  writer: Task | null = null;
  /** Simulated time the last reader let go (a writer's hold may not overlap it; see LockBase.freeAt, which is the writers'). */
  private readersFreeAt = 0;

  constructor(k: Kernel, className: string, addr?: number) {
    super(k, className, addr);
  }

  /** Queued waiters wanting write access (for tests). */
  get writersWaiting(): number {
    let n = 0;
    for (let i = 0; i < this.waiters.length; i++) if (this.waiters.kindAt(i) === WRITER) n++;
    return n;
  }

  /** down_read(): may sleep. */
  *downRead(t: Task): Blocking<void> {
    t.enter(CAT_DOWN_READ);
    t.charge(this.rmw(t));
    if (this.writer === null && this.waiters.length === 0) {
      this.waitForRelease(t, this.freeAt);
      this.readers++;
      this.noteAcquired();
      t.leave();
      return;
    }
    if (this.writer === t) throw new Error(`down_read ${this.cls.name}: ${t.name} holds it for writing (deadlock)`);
    yield* this.slowpath(t, READER);
    t.leave();
  }

  /** down_read_trylock(): fails when a writer holds the lock or anyone waits, or from a clock before the last writer's release. */
  downReadTrylock(t: Task): boolean {
    t.chargeAs(CAT_DOWN_READ, this.rmw(t));
    if (this.writer !== null || this.waiters.length > 0 || t.now < this.freeAt) return false;
    this.readers++;
    this.noteAcquired();
    return true;
  }

  /** up_read(): the last reader out wakes a waiting writer. */
  upRead(t: Task): void {
    if (this.readers <= 0) throw new Error(`up_read ${this.cls.name}: not held for reading (${t.name})`);
    let cycles = this.rmw(t);
    this.readers--;
    if (t.now + cycles > this.readersFreeAt) this.readersFreeAt = t.now + cycles;
    if (this.readers === 0 && this.waiters.length > 0) cycles += this.wake(t);
    t.chargeAs(CAT_UP_READ, cycles);
  }

  /** down_write(): may sleep. */
  *downWrite(t: Task): Blocking<void> {
    t.enter(CAT_DOWN_WRITE);
    t.charge(this.rmw(t));
    if (this.writer === null && this.readers === 0 && this.waiters.length === 0) {
      this.waitForRelease(t, this.freeAt);
      this.waitForRelease(t, this.readersFreeAt);
      this.writer = t;
      this.noteAcquired();
      t.leave();
      return;
    }
    if (this.writer === t) throw new Error(`down_write ${this.cls.name}: recursive acquisition by ${t.name} (deadlock)`);
    yield* this.slowpath(t, WRITER);
    t.leave();
  }

  /** down_write_trylock(): fails while held, or from a clock before the last release (writer's or reader's). */
  downWriteTrylock(t: Task): boolean {
    t.chargeAs(CAT_DOWN_WRITE, this.rmw(t));
    if (this.writer !== null || this.readers > 0) return false;
    if (t.now < this.freeAt || t.now < this.readersFreeAt) return false;
    this.writer = t;
    this.noteAcquired();
    return true;
  }

  /** up_write(): the first waiter gets the lock (a writer, or every queued reader). */
  upWrite(t: Task): void {
    if (this.writer !== t) throw new Error(`up_write ${this.cls.name}: ${t.name} does not hold it`);
    let cycles = this.rmw(t);
    this.writer = null;
    this.freeAt = t.now + cycles;
    if (this.waiters.length > 0) cycles += this.wake(t);
    t.chargeAs(CAT_UP_WRITE, cycles);
  }

  /** downgrade_write(): keep the lock for reading and let queued readers in. */
  downgradeWrite(t: Task): void {
    if (this.writer !== t) throw new Error(`downgrade_write ${this.cls.name}: ${t.name} does not hold it`);
    let cycles = this.rmw(t);
    this.writer = null;
    this.freeAt = t.now + cycles;
    this.readers = 1;
    if (this.waiters.length > 0 && this.waiters.kindAt(0) === READER) cycles += this.wake(t);
    t.chargeAs(CAT_DOWNGRADE, cycles);
  }

  private *slowpath(t: Task, kind: number): Blocking<void> {
    this.noteContended();
    const start = t.now;
    this.waiters.push(t, kind);
    yield t.sleepOn(this.waiters);
    // The waker granted the lock; this task's RMW on the count pulls the line over.
    t.charge(this.rmw(t));
    this.noteWait(t, t.now - start);
    this.noteAcquired();
  }

  /** rwsem_wake()/rwsem_mark_wake(): grant the lock to waiters and wake them; returns the waker's cycles. */
  private wake(t: Task): number {
    const e = this.k.engine;
    const now = t.now;
    const q = this.waiters;
    if (q.kindAt(0) === WRITER) {
      if (this.readers > 0 || this.writer !== null) return 0;
      const w = q.shift();
      this.writer = w;
      e.wakeTask(w, now);
      return this.k.cfg.kernel.cost.lock_wakeup;
    }
    let woken = 0;
    for (let i = 0; i < q.length && woken < MAX_READERS_WAKEUP; ) {
      if (q.kindAt(i) !== READER) {
        i++;
        continue;
      }
      const r = q.removeAt(i);
      this.readers++;
      woken++;
      e.wakeTask(r, now);
    }
    return woken * this.k.cfg.kernel.cost.lock_wakeup;
  }
}
