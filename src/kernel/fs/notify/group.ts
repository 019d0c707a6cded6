/**
 * fsnotify groups and their event queues, after fs/notify/group.c and
 * fs/notify/notification.c (today's kernel).
 *
 * A group is one listener (an inotify instance). Its queue is a list of
 * events under notification_lock; adding an event first checks for
 * overflow (at max_events queued, the group's one preallocated overflow
 * event is queued instead, unless it already is), then asks the backend
 * whether the event merges into the last one queued, then links it and
 * wakes readers. The overflow event is counted in q_len, so a full queue
 * holds max_events events plus the overflow event.
 */
import { intern } from '../../../sim/attribution.js';
import type { Blocking, Task } from '../../../sim/task.js';
import { WaitQueue } from '../../../sim/wait.js';
import type { Kernel } from '../../kernel.js';
import { Mutex } from '../../locking/mutex.js';
import { SpinLock } from '../../locking/spinlock.js';
import type { Inode } from '../inode.js';
import type { FsnotifyMark } from './mark.js';

const CAT_ADD_EVENT = intern('fsnotify_add_event');
const CAT_WAKE_UP = intern('__wake_up');

/** A queued event; the backend's event type extends it. */
export interface FsnotifyEvent {
  /** Kernel address of the event object (its first line holds the list links and the mask). */
  addr: number;
  /** Slab bytes of the object. */
  bytes: number;
}

/** struct fsnotify_ops: what a backend does with events for its marks. */
export interface FsnotifyOps {
  /** An event on a mark of this group: build and queue the backend's event (->handle_inode_event). */
  handle_inode_event(t: Task, mark: FsnotifyMark, mask: number, inode: Inode | null, dir: Inode | null, name: string | null, cookie: number): Blocking<void>;
  /** A mark is being detached (inotify queues IN_IGNORED and forgets the wd). */
  freeing_mark(t: Task, mark: FsnotifyMark, group: FsnotifyGroup): Blocking<void>;
  /** Give an event's memory back. */
  free_event(t: Task, event: FsnotifyEvent): void;
}

/** Merge callback: true when `event` duplicates what is queued last (the event is then dropped). */
export type MergeFn = (t: Task, group: FsnotifyGroup, event: FsnotifyEvent) => boolean;

/** sizeof(struct fsnotify_group). */
export const GROUP_BYTES = 512;

export class FsnotifyGroup {
  /** notification_list: events from `head` on are queued, oldest first. */
  private list: FsnotifyEvent[] = [];
  private head = 0;
  /** Events queued, the overflow event included. */
  q_len = 0;
  readonly max_events: number;
  readonly overflow_event: FsnotifyEvent;
  overflowQueued = false;
  /** Set once the group is being torn down: no more events. */
  shutdown = false;
  readonly notification_waitq: WaitQueue;
  readonly notification_lock: SpinLock;
  readonly mark_mutex: Mutex;
  /** Marks of this group (its marks_list). */
  readonly marks: FsnotifyMark[] = [];
  /** The backend's own state (group->inotify_data). */
  data: unknown = null;
  readonly addr: number;

  constructor(
    k: Kernel,
    readonly ops: FsnotifyOps,
    maxEvents: number,
    overflowEvent: FsnotifyEvent,
    className: string,
  ) {
    this.max_events = maxEvents;
    this.overflow_event = overflowEvent;
    this.addr = k.slab.kmalloc(GROUP_BYTES);
    this.notification_waitq = new WaitQueue(k.engine);
    this.notification_lock = new SpinLock(k, `${className}.notification_lock`, this.addr + 64);
    this.mark_mutex = new Mutex(k, `${className}.mark_mutex`, this.addr + 128);
  }

  /** Queued events in order (for FIONREAD's walk, tests and reports). */
  queued(): readonly FsnotifyEvent[] {
    return this.list.slice(this.head);
  }

  get empty(): boolean {
    return this.head === this.list.length;
  }

  /** fsnotify_peek_first_event(). */
  first(): FsnotifyEvent | null {
    return this.head < this.list.length ? this.list[this.head]! : null;
  }

  /** The event queued last (the merge candidate), or null. */
  last(): FsnotifyEvent | null {
    return this.head < this.list.length ? this.list[this.list.length - 1]! : null;
  }

  /** list_add_tail. */
  push(e: FsnotifyEvent): void {
    this.list.push(e);
    this.q_len++;
    if (e === this.overflow_event) this.overflowQueued = true;
  }

  /** fsnotify_remove_first_event(): unlink the oldest event. */
  shift(): FsnotifyEvent {
    const e = this.list[this.head]!;
    this.list[this.head] = undefined as unknown as FsnotifyEvent;
    this.head++;
    if (this.head === this.list.length) {
      this.list = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.list.length) {
      this.list = this.list.slice(this.head);
      this.head = 0;
    }
    this.q_len--;
    if (e === this.overflow_event) this.overflowQueued = false;
    return e;
  }
}

/**
 * fsnotify_add_event() (fsnotify_insert_event): queue `event` on `group`,
 * or the overflow event when the queue is full, or nothing when it merges.
 * Returns 0 when queued, 1 when merged, 2 on overflow or shutdown (the
 * caller then frees `event`).
 */
export function* fsnotify_add_event(t: Task, group: FsnotifyGroup, event: FsnotifyEvent, merge: MergeFn | null): Blocking<number> {
  const k = t.k;
  t.enter(CAT_ADD_EVENT);
  yield* group.notification_lock.lock(t);
  k.touch(t, group.addr, false);
  let ret = 0;
  if (group.shutdown) {
    group.notification_lock.unlock(t);
    t.leave();
    return 2;
  }
  if (event === group.overflow_event || group.q_len >= group.max_events) {
    ret = 2;
    if (group.overflowQueued) {
      group.notification_lock.unlock(t);
      t.leave();
      return ret;
    }
    event = group.overflow_event;
    k.engine.counters.add('inotify_queue_overflow');
  } else if (!group.empty && merge && merge(t, group, event)) {
    group.notification_lock.unlock(t);
    t.leave();
    return 1;
  }
  // list_add_tail: the old tail's links and the group's list head.
  const tail = group.last();
  if (tail) k.touch(t, tail.addr, true);
  k.touch(t, event.addr, true);
  k.touch(t, group.addr, true);
  group.push(event);
  group.notification_lock.unlock(t);
  wake_up(t, group.notification_waitq, group.addr + 192);
  t.leave();
  return ret;
}

/** wake_up(): read the wait queue head; wake every sleeper (inotify readers wait non-exclusively). */
export function wake_up(t: Task, wq: WaitQueue, wqAddr: number): void {
  const k = t.k;
  k.touch(t, wqAddr, false);
  if (wq.length === 0) return;
  t.enter(CAT_WAKE_UP);
  k.touch(t, wqAddr, true);
  const n = wq.wakeAll(t.now);
  t.charge(n * k.cfg.kernel.cost.lock_wakeup);
  t.leave();
}

/**
 * fsnotify_flush_notify(): drop every queued event (the group is going
 * away). The caller holds no lock.
 */
export function* fsnotify_flush_notify(t: Task, group: FsnotifyGroup): Blocking<void> {
  const k = t.k;
  yield* group.notification_lock.lock(t);
  while (!group.empty) {
    const e = group.shift();
    k.touch(t, e.addr, false);
    if (e !== group.overflow_event) group.ops.free_event(t, e);
  }
  group.notification_lock.unlock(t);
}
