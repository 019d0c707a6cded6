/**
 * RCU after kernel/rcu/tree.c, reduced to one level of the tree (every CPU
 * reports straight to the grace-period state) but keeping what it costs and
 * when things happen:
 *
 * - Grace periods start when someone waits for one (call_rcu, kfree_rcu,
 *   synchronize_rcu) and none is running; a callback queued while a grace
 *   period runs waits for the next one, which starts as soon as the current
 *   one ends (rcu_gp_cleanup -> rcu_start_this_gp).
 * - A grace period ends when every CPU has passed a quiescent state since it
 *   started. Quiescent states: a scheduler tick that interrupts user mode
 *   (rcu_sched_clock_irq -> rcu_qs), a context switch (noted by the switch
 *   and reported at the CPU's next tick, as rcu_core reports it), and idle
 *   (an extended quiescent state: a CPU idle at the start, or idle at any
 *   time since, is reported by the grace-period kthread's force-quiescent-
 *   state scan, the first rcu_jiffies_till_first_fqs jiffies after the
 *   start, then every rcu_jiffies_till_next_fqs). Idle CPUs take no ticks,
 *   so a grace period on an idle machine costs one event per scan.
 * - Readers are tracked per task as well (the blocked-tasks list of
 *   preemptible RCU): a grace period also waits for every task that entered
 *   its read-side critical section before the grace period started, even
 *   one switched out inside it, and a reader whose CPU lags behind in
 *   simulated time and enters before the start is caught on entry. Safety
 *   therefore holds whatever the quantum; the per-CPU states give the timing.
 * - Callbacks sit on the queuing CPU's list in order and are invoked in
 *   RCU_SOFTIRQ on that CPU at its first tick after their grace period has
 *   ended (an idle CPU with callbacks keeps its tick, rcu_needs_cpu), in
 *   batches of rcu_blimit (unlimited above rcu_qhimark queued), at most
 *   rcu_softirq_restarts batches per tick; the rest are ksoftirqd's, which
 *   on a busy CPU gets the next tick's budget again and on an idle CPU runs
 *   at once and drains them all.
 * - synchronize_rcu queues a callback that wakes the caller
 *   (wait_rcu_gp / wakeme_after_rcu), so it pays the same path.
 *
 * Not modelled: the grace-period kthread's own CPU time, expedited grace
 * periods, lazy callbacks and kfree_rcu's page-sized batching
 * (kvfree_rcu_bulk); kfree_rcu is call_rcu with a kfree callback.
 *
 * Figures: samples rcu_gp_length (start to end), rcu_callback_wait (call_rcu
 * to invocation), synchronize_rcu (latency); counters rcu_grace_periods,
 * rcu_callbacks_queued, rcu_callbacks_invoked, rcu_fqs_scans,
 * rcu_peak_callbacks_pending, rcu_peak_bytes_pending.
 */
import { intern } from '../../sim/attribution.js';
import type { Engine } from '../../sim/engine.js';
import type { Blocking, Task } from '../../sim/task.js';
import { Completion } from '../../sim/wait.js';
import type { Kernel } from '../kernel.js';
import { in_user_mode } from './context_tracking.js';

/** A callback's work when invoked on `cpu` at `time`; returns extra cycles it took. */
export type RcuCallbackFn = (cpu: number, time: number) => number;

interface RcuHead {
  fn: RcuCallbackFn;
  bytes: number;
  /** Kernel address of the object's rcu_head (its line is touched on queueing and invocation), or -1. */
  addr: number;
  /** The grace period (number) that must end before the callback runs. */
  gp: number;
  queuedAt: number;
}

interface RcuTask extends Task {
  rcuNesting?: number;
  rcuIdx?: number;
  rcuStart?: number;
  /** The grace period this reader holds up, or 0. */
  rcuBlocksGp?: number;
}

const CAT_SOFTIRQ = intern('softirq');
const CAT_RCU_CORE = intern('rcu_core');
const CAT_DO_BATCH = intern('rcu_do_batch');
const CAT_CALL_RCU = intern('call_rcu');

const byEngine = new WeakMap<Engine, Rcu>();

/** Per-CPU FIFO of callbacks (the rcu_segcblist, whose segments follow from each callback's gp number). */
class CbList {
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

export interface RcuViolation {
  what: string;
  queuedAt: number;
  gp: number;
  gpStart: number;
  gpEnd: number;
  invokedAt: number;
}

export class Rcu {
  /** The last grace period that ended (numbers count from 1). */
  completed = 0;
  /** The grace period running, or the last one started (== completed when none runs). */
  gpNum = 0;
  gpStart = 0;
  /** Latest time anything reported for the running grace period: its end time when the last report comes in. */
  private gpLastReport = 0;
  /** Highest grace period some waiter needs, and the latest time such a need was registered. */
  private needGp = 0;
  private needGpAt = 0;
  private readonly pending: Uint8Array;
  private pendingCount = 0;
  /** Readers holding up the running grace period. */
  private gpReaders = 0;
  /** Tasks inside a read-side critical section. */
  private readonly readers: RcuTask[] = [];

  private readonly idle: Uint8Array;
  private readonly idleEnterAt: Float64Array;
  private readonly lastTask: (Task | null)[];
  private readonly lastTick: Float64Array;
  private readonly invokeScheduled: Uint8Array;
  private readonly cbs: CbList[];
  private readonly tick: number;
  private readonly batchNode: number;

  /** Start and end time of each grace period, indexed by its number. */
  readonly gpStarts: number[] = [0];
  readonly gpEnds: number[] = [0];
  callbacksPending = 0;
  bytesPending = 0;
  /** Callbacks that ran before a grace period that began after they were queued had ended (must stay empty). */
  readonly violations: RcuViolation[] = [];

  constructor(readonly k: Kernel) {
    const e = k.engine;
    const n = e.ncpus;
    this.pending = new Uint8Array(n);
    this.idle = new Uint8Array(n).fill(1);
    this.idleEnterAt = new Float64Array(n);
    this.lastTask = new Array<Task | null>(n).fill(null);
    this.lastTick = new Float64Array(n);
    this.invokeScheduled = new Uint8Array(n);
    this.cbs = Array.from({ length: n }, () => new CbList());
    this.tick = e.tickPeriod;
    const a = e.attribution;
    this.batchNode = a.child(a.child(a.child(a.root, CAT_SOFTIRQ), CAT_RCU_CORE), CAT_DO_BATCH);
    e.addHooks({
      tick: (cpu, task, time) => this.onTick(cpu, task, time),
      idleEnter: (cpu, time) => this.onIdleEnter(cpu, time),
      idleExit: (cpu) => {
        this.idle[cpu] = 0;
      },
    });
  }

  get gpInProgress(): boolean {
    return this.gpNum > this.completed;
  }

  /** Tasks inside a read-side critical section now. */
  get readerCount(): number {
    return this.readers.length;
  }

  /** Callbacks queued on one CPU and not yet invoked. */
  callbacksOn(cpu: number): number {
    return this.cbs[cpu]!.length;
  }

  /**
   * True if some grace period started at or after `since` and ended at or
   * before `until`: what must hold between unpublishing an object and
   * freeing it. For tests and invariant checks.
   */
  fullGracePeriodBetween(since: number, until: number): boolean {
    for (let g = this.completed; g >= 1; g--) {
      if (this.gpStarts[g]! < since) return false;
      if (this.gpEnds[g]! <= until) return true;
    }
    return false;
  }

  // --- grace periods ---------------------------------------------------

  /** The grace period a waiter registering now needs, starting one if none runs (rcu_accelerate_cbs + rcu_start_this_gp). */
  private requestGp(time: number): number {
    const need = this.gpNum + 1;
    if (need > this.needGp) this.needGp = need;
    if (time > this.needGpAt) this.needGpAt = time;
    if (!this.gpInProgress) this.startGp(time);
    return need;
  }

  private startGp(time: number): void {
    const g = ++this.gpNum;
    const start = Math.max(time, this.needGpAt);
    this.gpStart = start;
    this.gpLastReport = start;
    this.gpStarts[g] = start;
    this.gpEnds[g] = Infinity;
    this.pending.fill(1);
    this.pendingCount = this.pending.length;
    this.gpReaders = 0;
    for (const r of this.readers) {
      r.rcuBlocksGp = g;
      this.gpReaders++;
    }
    const e = this.k.engine;
    e.counters.add('rcu_gp_started');
    const first = this.k.cfg.kernel.rcu_jiffies_till_first_fqs;
    const fqsAt = first === 0 ? start : (Math.floor(start / this.tick) + first) * this.tick;
    e.at(fqsAt, (t) => this.forceQuiescentState(g, t));
  }

  /** rcu_gp_fqs: note CPUs that are idle, or were idle at some point since the start. */
  private forceQuiescentState(g: number, time: number): void {
    if (g !== this.gpNum || !this.gpInProgress) return;
    this.k.engine.counters.add('rcu_fqs_scans');
    for (let c = 0; c < this.pending.length; c++) {
      if (!this.pending[c]) continue;
      if (this.idle[c] || this.idleEnterAt[c] >= this.gpStart) {
        this.reportQs(c, time);
        if (g !== this.gpNum || !this.gpInProgress) return;
      }
    }
    if (this.pendingCount > 0) {
      this.k.engine.at(time + this.k.cfg.kernel.rcu_jiffies_till_next_fqs * this.tick, (t) => this.forceQuiescentState(g, t));
    }
  }

  private reportQs(cpu: number, time: number): void {
    if (!this.pending[cpu]) return;
    this.pending[cpu] = 0;
    this.pendingCount--;
    if (time > this.gpLastReport) this.gpLastReport = time;
    this.checkGpEnd();
  }

  private checkGpEnd(): void {
    if (this.gpInProgress && this.pendingCount === 0 && this.gpReaders === 0) this.endGp(this.gpLastReport);
  }

  private endGp(time: number): void {
    const g = (this.completed = this.gpNum);
    this.gpEnds[g] = time;
    const e = this.k.engine;
    e.counters.add('rcu_grace_periods');
    e.samples.record('rcu_gp_length', time - this.gpStarts[g]!);
    // Idle CPUs with callbacks now ready keep their tick (rcu_needs_cpu): run them at the next one.
    for (let c = 0; c < this.cbs.length; c++) {
      const head = this.cbs[c]!.peek();
      if (head && head.gp <= g && this.idle[c]) this.scheduleIdleInvoke(c, time);
    }
    if (this.needGp > g) this.startGp(time);
  }

  // --- scheduler hooks -------------------------------------------------

  private onTick(cpu: number, task: Task | null, time: number): void {
    if (this.gpInProgress && this.pending[cpu]) {
      const inReader = task !== null && ((task as RcuTask).rcuNesting ?? 0) > 0;
      if (time >= this.gpStart && !inReader && (task === null || in_user_mode(task))) this.reportQs(cpu, time);
      else if (task !== this.lastTask[cpu] && this.lastTick[cpu]! >= this.gpStart) this.reportQs(cpu, time);
    }
    this.lastTask[cpu] = task;
    this.lastTick[cpu] = time;
    if (this.cbs[cpu]!.length > 0) this.invokeCallbacks(cpu, time);
  }

  private onIdleEnter(cpu: number, time: number): void {
    this.idle[cpu] = 1;
    this.idleEnterAt[cpu] = time;
    // Callbacks this CPU already found ready but had no budget for wait in ksoftirqd, which runs now that the CPU is free;
    // ones whose grace period has only just ended are noticed at the next tick.
    const head = this.cbs[cpu]!.peek();
    if (this.ready(head, time)) this.scheduleIdleInvoke(cpu, time, true);
    else if (head && head.gp <= this.completed) this.scheduleIdleInvoke(cpu, time);
  }

  /**
   * Invoke an idle CPU's ready callbacks: at the next tick boundary (an idle
   * CPU with callbacks keeps its tick, and notices the grace period's end
   * there), or at once when ksoftirqd already has them. On an idle CPU
   * ksoftirqd drains everything ready, batch after batch.
   */
  private scheduleIdleInvoke(cpu: number, time: number, now = false): void {
    if (this.invokeScheduled[cpu]) return;
    this.invokeScheduled[cpu] = 1;
    const at = now ? time : (Math.floor(time / this.tick) + 1) * this.tick;
    this.k.engine.at(at, (t) => {
      this.invokeScheduled[cpu] = 0;
      if (!this.idle[cpu]) return; // it woke: its own ticks take over
      const e = this.k.engine;
      if (e.clock[cpu]! < t) {
        e.idle[cpu]! += t - e.clock[cpu]!;
        e.clock[cpu] = t;
      }
      this.invokeCallbacks(cpu, t, true);
    });
  }

  // --- callbacks -------------------------------------------------------

  /** A callback may run once its grace period ended before `since` (the tick, or softirq, that notices). */
  private ready(cb: RcuHead | undefined, since: number): boolean {
    return cb !== undefined && cb.gp <= this.completed && this.gpEnds[cb.gp]! < since;
  }

  /**
   * RCU_SOFTIRQ on `cpu` at the tick at `tickTime`: rcu_do_batch until the
   * batch budget of this tick is spent. Charges go on as they happen, so a
   * callback that wakes a task sees the CPU's clock at its own time.
   */
  private invokeCallbacks(cpu: number, tickTime: number, ksoftirqd = false): void {
    const e = this.k.engine;
    const list = this.cbs[cpu]!;
    if (!this.ready(list.peek(), tickTime)) return;
    const kc = this.k.cfg.kernel;
    const cost = this.k.cfg.cost;
    const caches = this.k.machine.caches;
    const node = this.batchNode;
    const limit = list.length > kc.rcu_qhimark ? Infinity : kc.rcu_blimit;
    let invoked = 0;
    const runs = ksoftirqd ? Infinity : kc.rcu_softirq_restarts;
    for (let run = 0; run < runs && this.ready(list.peek(), tickTime); run++) {
      e.charge(cpu, cost.rcu_softirq, node);
      for (let n = 0; n < limit && this.ready(list.peek(), tickTime); n++) {
        const cb = list.shift();
        const now = e.clock[cpu]!;
        if (!(this.gpStarts[cb.gp]! >= cb.queuedAt && this.gpEnds[cb.gp]! <= now)) {
          this.violations.push({ what: 'callback', queuedAt: cb.queuedAt, gp: cb.gp, gpStart: this.gpStarts[cb.gp]!, gpEnd: this.gpEnds[cb.gp]!, invokedAt: now });
        }
        e.samples.record('rcu_callback_wait', now - cb.queuedAt);
        e.charge(cpu, cost.rcu_callback + (cb.addr >= 0 ? caches.access(cpu, cb.addr, true) : 0), node);
        this.callbacksPending--;
        this.bytesPending -= cb.bytes;
        invoked++;
        const extra = cb.fn(cpu, e.clock[cpu]!);
        if (extra > 0) e.charge(cpu, extra, node);
      }
    }
    e.counters.add('rcu_callbacks_invoked', invoked);
    if (this.idle[cpu] && this.ready(list.peek(), Infinity)) this.scheduleIdleInvoke(cpu, e.clock[cpu]!);
  }

  /** call_rcu(): queue `fn` to run after a grace period; `bytes` are held until then. */
  call_rcu(t: Task, bytes: number, fn: RcuCallbackFn, addr = -1): void {
    let cycles = this.k.cfg.cost.call_rcu;
    if (addr >= 0) cycles += this.k.machine.caches.access(t.cpu, addr, true);
    t.chargeAs(CAT_CALL_RCU, cycles);
    const gp = this.requestGp(t.now);
    this.cbs[t.cpu]!.items.push({ fn, bytes, addr, gp, queuedAt: t.now });
    this.callbacksPending++;
    this.bytesPending += bytes;
    const c = this.k.engine.counters;
    c.add('rcu_callbacks_queued');
    c.max('rcu_peak_callbacks_pending', this.callbacksPending);
    c.max('rcu_peak_bytes_pending', this.bytesPending);
  }

  // --- readers ---------------------------------------------------------

  /** Outermost rcu_read_lock of a task. */
  enterReader(r: RcuTask): void {
    r.rcuStart = r.now;
    r.rcuIdx = this.readers.length;
    this.readers.push(r);
    if (this.gpInProgress && r.now < this.gpStart) {
      r.rcuBlocksGp = this.gpNum;
      this.gpReaders++;
    } else r.rcuBlocksGp = 0;
  }

  /** Outermost rcu_read_unlock of a task. */
  exitReader(r: RcuTask): void {
    const i = r.rcuIdx!;
    const last = this.readers.pop()!;
    if (last !== r) {
      this.readers[i] = last;
      last.rcuIdx = i;
    }
    if (r.rcuBlocksGp !== 0 && r.rcuBlocksGp === this.gpNum && this.gpInProgress) {
      r.rcuBlocksGp = 0;
      this.gpReaders--;
      if (r.now > this.gpLastReport) this.gpLastReport = r.now;
      this.checkGpEnd();
    }
  }
}

/** Set up RCU for a kernel (rcu_init): registers its scheduler hooks. */
export function rcu_init(k: Kernel): Rcu {
  const r = new Rcu(k);
  k.sub['rcu'] = r;
  byEngine.set(k.engine, r);
  return r;
}

export function rcuOf(k: Kernel): Rcu {
  const r = k.sub['rcu'] as Rcu | undefined;
  if (!r) throw new Error('rcu: rcu_init was not called for this kernel');
  return r;
}

/** rcu_read_lock(): enter a read-side critical section (nests). Free: non-preemptible RCU compiles it to nothing. */
export function rcu_read_lock(t: Task): void {
  const r = t as RcuTask;
  const n = r.rcuNesting ?? 0;
  r.rcuNesting = n + 1;
  if (n === 0) byEngine.get(t.engine)?.enterReader(r);
}

/** rcu_read_unlock(). */
export function rcu_read_unlock(t: Task): void {
  const r = t as RcuTask;
  const n = r.rcuNesting ?? 0;
  if (n <= 0) throw new Error(`rcu_read_unlock: ${t.name} is not in a read-side critical section`);
  r.rcuNesting = n - 1;
  if (n === 1) byEngine.get(t.engine)?.exitReader(r);
}

/** rcu_read_lock_held(). */
export function rcu_read_lock_held(t: Task): boolean {
  return ((t as RcuTask).rcuNesting ?? 0) > 0;
}

/** call_rcu(head, func): run `fn` on this CPU after a grace period; `bytes` count as memory held meanwhile. */
export function call_rcu(t: Task, bytes: number, fn: RcuCallbackFn, addr = -1): void {
  byEngineOrThrow(t.engine).call_rcu(t, bytes, fn, addr);
}

/** kfree_rcu(): free a slab object after a grace period. */
export function kfree_rcu(t: Task, addr: number, bytes: number): void {
  const rcu = byEngineOrThrow(t.engine);
  const slab = rcu.k.slab;
  rcu.call_rcu(t, bytes, () => {
    slab.kfree(addr, bytes);
    return 0;
  }, addr);
}

/** synchronize_rcu(): block until a grace period that starts after the call has ended and its callbacks ran. */
export function* synchronize_rcu(t: Task): Blocking<void> {
  if (rcu_read_lock_held(t)) throw new Error(`synchronize_rcu: ${t.name} is inside a read-side critical section (deadlock)`);
  const rcu = byEngineOrThrow(t.engine);
  const start = t.now;
  const done = new Completion(t.engine, 1);
  rcu.call_rcu(t, 0, (_cpu, time) => {
    done.complete(time);
    return 0;
  });
  yield t.sleepOn(done);
  t.engine.samples.record('synchronize_rcu', t.now - start);
}

function byEngineOrThrow(e: Engine): Rcu {
  const r = byEngine.get(e);
  if (!r) throw new Error('rcu: rcu_init was not called for this kernel');
  return r;
}
