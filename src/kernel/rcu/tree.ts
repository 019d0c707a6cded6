/**
 * RCU after kernel/rcu/tree.c, reduced to one level of the tree (every CPU
 * reports straight to the grace-period state) but keeping what it costs and
 * when things happen:
 *
 * - Grace periods are run by the grace-period kthread (rcu_gp_kthread, a
 *   kernel thread on the engine, so it takes a CPU, pays its context
 *   switches and keeps that CPU out of idle while it runs). A grace period
 *   is asked for when someone waits for one (call_rcu, kfree_rcu's batches,
 *   synchronize_rcu): call_rcu only queues the callback, and the CPU's next
 *   scheduler tick runs rcu_core, which starts the grace period
 *   (rcu_accelerate_cbs -> rcu_start_this_gp) and wakes the kthread (an idle
 *   CPU with callbacks keeps its tick: rcu_needs_cpu). A callback queued
 *   while a grace period runs waits for the next one, which the kthread
 *   starts as soon as it has cleaned up the current one (rcu_gp_cleanup).
 * - The kthread (rcu_gp_fqs_loop) sleeps jiffies_till_first_fqs jiffies after
 *   rcu_gp_init, then scans for quiescent states (rcu_gp_fqs) every
 *   jiffies_till_next_fqs jiffies, waking early when the last CPU or reader
 *   reports. Its timeouts expire on tick boundaries (schedule_timeout counts
 *   jiffies), and it wakes, switches in and scans from there, so grace
 *   periods are not whole numbers of jiffies. Both intervals default to what
 *   rcu_init_geometry computes: RCU_JIFFIES_TILL_FORCE_QS (1 + (HZ > 250) +
 *   (HZ > 500)) + nr_cpu_ids / RCU_JIFFIES_FQS_DIV (256); a value given in
 *   the config is clamped as the boot-parameter setters clamp it.
 * - Quiescent states: a scheduler tick that interrupts user mode
 *   (rcu_sched_clock_irq -> rcu_qs), a context switch (noted by the switch
 *   and reported at the CPU's next tick, as rcu_core reports it), and idle
 *   (an extended quiescent state). The first scan (dyntick_save_progress_
 *   counter) reports the CPUs idle at that moment and snapshots the others;
 *   later scans (rcu_watching_snap_recheck) also report a CPU that has been
 *   idle at any time since its snapshot. The kthread's own CPU is busy at
 *   its first scan, so on an idle machine a grace period takes two scans.
 *   Idle CPUs take no ticks, so a grace period on an idle machine costs a
 *   few events, not one per CPU per tick.
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
 *   (wait_rcu_gp / wakeme_after_rcu), so it pays the same path. Expedited
 *   grace periods are tree_exp.ts's; kfree_rcu's batching kvfree_rcu.ts's.
 *
 * Costs: the kthread's context switches through the scheduler hooks, and
 * cost.kernel_op per CPU examined by rcu_gp_init, each scan and
 * rcu_gp_cleanup (the per-CPU bit tests and rcu_node updates; no published
 * per-CPU figure). Not modelled: the rcu_node tree's levels, lazy
 * callbacks, callback-overload acceleration of the scans (cbovld), and the
 * resched IPIs sent to CPUs that hold a grace period up past
 * jiffies_till_sched_qs.
 *
 * Figures: samples rcu_gp_length (start to end), rcu_callback_wait (call_rcu
 * to invocation), synchronize_rcu (latency); counters rcu_grace_periods,
 * rcu_callbacks_queued, rcu_callbacks_invoked, rcu_fqs_scans,
 * rcu_peak_callbacks_pending, rcu_peak_bytes_pending.
 */
import { intern } from '../../sim/attribution.js';
import type { MachineConfig } from '../../config/machine.js';
import type { Blocking, Task, TaskBody } from '../../sim/task.js';
import { Completion, WaitQueue } from '../../sim/wait.js';
import type { Kernel } from '../kernel.js';
import { in_user_mode } from './context_tracking.js';
import { CbList, type RcuCallbackFn, type RcuHead } from './rcu_segcblist.js';
// A cycle (tree_exp.ts reads the Rcu state): used at call time only, as tree.c calls into tree_exp.h.
import { synchronize_rcu_expedited } from './tree_exp.js';

export type { RcuCallbackFn } from './rcu_segcblist.js';


/** A task inside a read-side critical section (its rcu* fields are declared with the kernel's task fields, sched/task_struct.ts). */
type RcuTask = Task;

const CAT_SOFTIRQ = intern('softirq');
const CAT_RCU_CORE = intern('rcu_core');
const CAT_DO_BATCH = intern('rcu_do_batch');
const CAT_CALL_RCU = intern('call_rcu');
const CAT_GP_INIT = intern('rcu_gp_init');
const CAT_GP_FQS = intern('rcu_gp_fqs');
const CAT_GP_CLEANUP = intern('rcu_gp_cleanup');

/** kernel/rcu/tree.h: jiffies between force-quiescent-state scans at this HZ, before the CPU-count term. */
export function RCU_JIFFIES_TILL_FORCE_QS(hz: number): number {
  return 1 + (hz > 250 ? 1 : 0) + (hz > 500 ? 1 : 0);
}
/** kernel/rcu/tree.h: one more jiffy per this many possible CPUs. */
export const RCU_JIFFIES_FQS_DIV = 256;

/**
 * jiffies_till_first_fqs and jiffies_till_next_fqs as the kernel ends up with
 * them: rcu_init_geometry's default when the config leaves them at -1, else
 * the given value clamped as param_set_first_fqs_jiffies (at most HZ) and
 * param_set_next_fqs_jiffies (1 to HZ) clamp it.
 */
export function rcuFqsJiffies(cfg: MachineConfig): { first: number; next: number } {
  const hz = cfg.kernel.hz;
  const d = RCU_JIFFIES_TILL_FORCE_QS(hz) + Math.floor(cfg.cpus / RCU_JIFFIES_FQS_DIV);
  const f = cfg.kernel.rcu_jiffies_till_first_fqs;
  const n = cfg.kernel.rcu_jiffies_till_next_fqs;
  return { first: f < 0 ? d : Math.min(f, hz), next: n < 0 ? d : Math.min(Math.max(n, 1), hz) };
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
  /** Highest grace period some waiter needs, and the latest time such a need was registered. */
  private needGp = 0;
  private needGpAt = 0;
  private readonly pending: Uint8Array;
  private pendingCount = 0;
  /** Readers holding up the running grace period. */
  private gpReaders = 0;
  /** Tasks inside a read-side critical section. */
  private readonly readers: RcuTask[] = [];
  /** rcu_core has been asked (at a CPU's next tick) to start the grace period someone needs. */
  private startPending = false;
  /** RCU_GP_FLAG_INIT: the kthread is to start a grace period. */
  private gpFlagInit = false;
  /** The kthread, created on first use; its wait queue (rcu_state.gp_wq) and its current timed wait. */
  private gpKthread: Task | null = null;
  private readonly gpWq: WaitQueue;
  private gpWake: Completion | null = null;
  /** Per CPU: when the first scan of this grace period found it busy (its dynticks snapshot), or -1. */
  private readonly snapAt: Float64Array;
  readonly fqs: { first: number; next: number };

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
    this.gpWq = new WaitQueue(e);
    this.snapAt = new Float64Array(n).fill(-1);
    this.fqs = rcuFqsJiffies(k.cfg);
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

  /** The tasks inside a read-side critical section now (for expedited grace periods). */
  currentReaders(): readonly Task[] {
    return this.readers;
  }

  /** Whether CPU c is idle (in an extended quiescent state) now. */
  cpuIdle(c: number): boolean {
    return this.idle[c] === 1;
  }

  /** Called when a task leaves its outermost read-side critical section (tree_exp.ts counts its readers). */
  onReaderExit: ((r: Task, time: number) => void) | null = null;
  /** Called when a task enters one (tree_exp.ts catches a reader whose clock lags behind an expedited start). */
  onReaderEnter: ((r: Task) => void) | null = null;

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

  /**
   * The grace period a waiter registering now needs (rcu_accelerate_cbs): the
   * next one to start. When none runs and none is asked for yet, rcu_core at
   * the CPU's next tick asks for it (rcu_start_this_gp); a running one's
   * kthread starts the next at its cleanup.
   */
  private requestGp(time: number): number {
    const need = this.gpNum + 1;
    if (need > this.needGp) this.needGp = need;
    if (time > this.needGpAt) this.needGpAt = time;
    if (!this.gpInProgress && !this.startPending && !this.gpFlagInit) {
      this.startPending = true;
      this.k.engine.at((Math.floor(time / this.tick) + 1) * this.tick, (t) => this.rcu_start_this_gp(t));
    }
    return need;
  }

  /** rcu_start_this_gp (from rcu_core): set RCU_GP_FLAG_INIT and wake the grace-period kthread. */
  private rcu_start_this_gp(time: number): void {
    this.startPending = false;
    if (this.gpInProgress || this.needGp <= this.gpNum) return;
    this.gpFlagInit = true;
    if (!this.gpKthread) {
      const self = this;
      this.gpKthread = this.k.engine.spawn('rcu_preempt', (t) => self.rcu_gp_kthread(t), { kernelThread: true, at: time });
    } else this.gpWq.wakeOne(time);
  }

  /** rcu_gp_kthread: wait for RCU_GP_FLAG_INIT, then run one grace period after another while they are needed. */
  private *rcu_gp_kthread(t: Task): TaskBody {
    const e = this.k.engine;
    const perCpu = this.k.cfg.kernel.cost.kernel_op * e.ncpus;
    for (;;) {
      while (!this.gpFlagInit) yield t.sleepOn(this.gpWq);
      this.gpFlagInit = false;
      t.chargeAs(CAT_GP_INIT, perCpu);
      this.startGp(t.now);
      // rcu_gp_fqs_loop
      let j = this.fqs.first;
      let first = true;
      for (;;) {
        if (this.gpDone()) break;
        const due = (Math.floor(t.now / this.tick) + j) * this.tick;
        if (t.now < due) {
          const w = (this.gpWake = new Completion(e, 1));
          e.at(due, (time) => w.complete(time));
          yield t.sleepOn(w);
          this.gpWake = null;
          if (this.gpDone()) break;
        }
        t.chargeAs(CAT_GP_FQS, perCpu);
        this.rcu_gp_fqs(t.now, first, t.cpu);
        first = false;
        j = this.fqs.next;
      }
      t.chargeAs(CAT_GP_CLEANUP, perCpu);
      this.endGp(t.now);
      if (e.tracing) e.traceSpan('rcu_gp', `grace period ${this.completed}`, t.cpu, this.gpStart, t.now - this.gpStart);
      if (this.needGp > this.completed) this.gpFlagInit = true;
    }
  }

  /** rcu_gp_init: a new grace period; every CPU and every reader now inside must report. */
  private startGp(time: number): void {
    const g = ++this.gpNum;
    // A waiter on a CPU that runs ahead in simulated time may have registered later than `time`: start after it.
    const start = Math.max(time, this.needGpAt);
    this.gpStart = start;
    this.gpStarts[g] = start;
    this.gpEnds[g] = Infinity;
    this.pending.fill(1);
    this.pendingCount = this.pending.length;
    this.snapAt.fill(-1);
    this.gpReaders = 0;
    for (const r of this.readers) {
      r.rcuBlocksGp = g;
      this.gpReaders++;
    }
    this.k.engine.counters.add('rcu_gp_started');
  }

  private gpDone(): boolean {
    return this.pendingCount === 0 && this.gpReaders === 0;
  }

  /**
   * rcu_gp_fqs: the first scan reports CPUs idle now and snapshots the rest
   * (dyntick_save_progress_counter); later scans also report a CPU that has
   * been idle since its snapshot (rcu_watching_snap_recheck). `self` is the
   * kthread's CPU, busy running this scan.
   */
  private rcu_gp_fqs(time: number, first: boolean, self: number): void {
    this.k.engine.counters.add('rcu_fqs_scans');
    for (let c = 0; c < this.pending.length; c++) {
      if (!this.pending[c]) continue;
      const idleNow = this.idle[c] === 1 && c !== self;
      const snap = this.snapAt[c]!;
      if (idleNow || (!first && snap >= 0 && this.idleEnterAt[c]! >= snap)) this.reportQs(c, time);
      else if (snap < 0) this.snapAt[c] = time;
    }
  }

  private reportQs(cpu: number, time: number): void {
    if (!this.pending[cpu]) return;
    this.pending[cpu] = 0;
    this.pendingCount--;
    this.checkGpEnd(time);
  }

  /** rcu_report_qs_rsp: the last report wakes the kthread to clean up (its timed wait ends early). */
  private checkGpEnd(time: number): void {
    if (this.gpInProgress && this.gpDone()) this.gpWake?.complete(time);
  }

  /** rcu_gp_cleanup: the grace period is over; CPUs notice at their next tick. */
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
  }

  // --- scheduler hooks -------------------------------------------------

  private onTick(cpu: number, task: Task | null, time: number): void {
    if (this.gpInProgress && this.pending[cpu]) {
      const inReader = task !== null && task.rcuNesting > 0;
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
    const kcost = this.k.cfg.kernel.cost;
    const caches = this.k.machine.caches;
    const node = this.batchNode;
    const limit = list.length > kc.rcu_qhimark ? Infinity : kc.rcu_blimit;
    let invoked = 0;
    const runs = ksoftirqd ? Infinity : kc.rcu_softirq_restarts;
    const batchStart = e.clock[cpu]!;
    for (let run = 0; run < runs && this.ready(list.peek(), tickTime); run++) {
      e.charge(cpu, kcost.rcu_softirq, node);
      for (let n = 0; n < limit && this.ready(list.peek(), tickTime); n++) {
        const cb = list.shift();
        const now = e.clock[cpu]!;
        if (!(this.gpStarts[cb.gp]! >= cb.queuedAt && this.gpEnds[cb.gp]! <= now)) {
          this.violations.push({ what: 'callback', queuedAt: cb.queuedAt, gp: cb.gp, gpStart: this.gpStarts[cb.gp]!, gpEnd: this.gpEnds[cb.gp]!, invokedAt: now });
        }
        e.samples.record('rcu_callback_wait', now - cb.queuedAt);
        e.charge(cpu, kcost.rcu_callback + (cb.addr >= 0 ? caches.access(cpu, cb.addr, true) : 0), node);
        this.callbacksPending--;
        this.bytesPending -= cb.bytes;
        invoked++;
        const extra = cb.fn(cpu, e.clock[cpu]!);
        if (extra > 0) e.charge(cpu, extra, node);
      }
    }
    e.counters.add('rcu_callbacks_invoked', invoked);
    if (e.tracing) e.traceSpan('rcu_cb', `rcu_do_batch (${invoked} callbacks)`, cpu, batchStart, e.clock[cpu]! - batchStart);
    if (this.idle[cpu] && this.ready(list.peek(), Infinity)) this.scheduleIdleInvoke(cpu, e.clock[cpu]!);
  }

  /** call_rcu(): queue `fn` to run after a grace period; `bytes` are held until then. */
  call_rcu(t: Task, bytes: number, fn: RcuCallbackFn, addr = -1): void {
    let cycles = this.k.cfg.kernel.cost.call_rcu;
    if (addr >= 0) cycles += this.k.machine.caches.access(t.cpu, addr, true);
    t.chargeAs(CAT_CALL_RCU, cycles);
    this.enqueueCallback(t.cpu, t.now, bytes, fn, addr);
  }

  /** Queue a callback on `cpu` at `time` (call_rcu's work once its cost is charged; kvfree_rcu's monitor calls it from a work item). */
  enqueueCallback(cpu: number, time: number, bytes: number, fn: RcuCallbackFn, addr = -1): void {
    const gp = this.requestGp(time);
    this.cbs[cpu]!.items.push({ fn, bytes, addr, gp, queuedAt: time });
    this.callbacksPending++;
    this.bytesPending += bytes;
    const c = this.k.engine.counters;
    c.add('rcu_callbacks_queued');
    c.max('rcu_peak_callbacks_pending', this.callbacksPending);
    c.max('rcu_peak_bytes_pending', this.bytesPending);
  }

  /** get_state_synchronize_rcu: the grace period whose end makes an object retired now safe to free. */
  get_state_synchronize_rcu(): number {
    return this.gpNum + 1;
  }

  /** poll_state_synchronize_rcu: has that grace period ended? */
  poll_state_synchronize_rcu(need: number): boolean {
    return this.completed >= need;
  }

  // --- readers ---------------------------------------------------------

  /** Outermost rcu_read_lock of a task. */
  enterReader(r: RcuTask): void {
    this.onReaderEnter?.(r);
    r.rcuIdx = this.readers.length;
    this.readers.push(r);
    if (this.gpInProgress && r.now < this.gpStart) {
      r.rcuBlocksGp = this.gpNum;
      this.gpReaders++;
    } else r.rcuBlocksGp = 0;
  }

  /** Outermost rcu_read_unlock of a task. */
  exitReader(r: RcuTask): void {
    this.onReaderExit?.(r, r.now);
    const i = r.rcuIdx;
    const last = this.readers.pop()!;
    if (last !== r) {
      this.readers[i] = last;
      last.rcuIdx = i;
    }
    if (r.rcuBlocksGp !== 0 && r.rcuBlocksGp === this.gpNum && this.gpInProgress) {
      r.rcuBlocksGp = 0;
      this.gpReaders--;
      this.checkGpEnd(r.now);
    }
  }
}

/** Set up RCU for a kernel (rcu_init): registers its scheduler hooks. */
export function rcu_init(k: Kernel): Rcu {
  const r = new Rcu(k);
  k.rcu = r;
  return r;
}

export function rcuOf(k: Kernel): Rcu {
  return k.rcu;
}

/** rcu_read_lock(): enter a read-side critical section (nests). Free: non-preemptible RCU compiles it to nothing. */
export function rcu_read_lock(t: Task): void {
  const n = t.rcuNesting;
  t.rcuNesting = n + 1;
  if (n === 0) t.k.rcu.enterReader(t);
}

/** rcu_read_unlock(). */
export function rcu_read_unlock(t: Task): void {
  const n = t.rcuNesting;
  if (n <= 0) throw new Error(`rcu_read_unlock: ${t.name} is not in a read-side critical section`);
  t.rcuNesting = n - 1;
  if (n === 1) t.k.rcu.exitReader(t);
}

/** rcu_read_lock_held(). */
export function rcu_read_lock_held(t: Task): boolean {
  return t.rcuNesting > 0;
}

/** call_rcu(head, func): run `fn` on this CPU after a grace period; `bytes` count as memory held meanwhile. */
export function call_rcu(t: Task, bytes: number, fn: RcuCallbackFn, addr = -1): void {
  t.k.rcu.call_rcu(t, bytes, fn, addr);
}

/** synchronize_rcu(): block until a grace period that starts after the call has ended and its callbacks ran. */
export function* synchronize_rcu(t: Task): Blocking<void> {
  if (rcu_read_lock_held(t)) throw new Error(`synchronize_rcu: ${t.name} is inside a read-side critical section (deadlock)`);
  const rcu = t.k.rcu;
  const start = t.now;
  // rcu_gp_is_expedited(): with rcu_expedited set, synchronize_rcu() is synchronize_rcu_expedited().
  if (rcu.k.cfg.kernel.rcu_expedited) yield* synchronize_rcu_expedited(t);
  else {
    const done = new Completion(t.engine, 1);
    rcu.call_rcu(t, 0, (_cpu, time) => {
      done.complete(time);
      return 0;
    });
    yield t.sleepOn(done);
  }
  t.engine.samples.record('synchronize_rcu', t.now - start);
}
