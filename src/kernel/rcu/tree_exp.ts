/**
 * Expedited grace periods, after kernel/rcu/tree_exp.h.
 *
 * synchronize_rcu_expedited() hands the work to the expedited kworker
 * (rcu_exp_gp_kworker, a kthread_worker since 2022) and sleeps until an
 * expedited grace period that started after the call has ended
 * (rcu_exp_gp_seq_snap / sync_exp_work_done: concurrent callers share one).
 * The kworker, for each CPU (sync_rcu_exp_select_node_cpus): an idle CPU
 * is in an extended quiescent state and needs nothing; its own CPU is
 * running it, outside any reader; every other CPU gets an IPI
 * (smp_call_function_single, not waited for) whose handler,
 * rcu_exp_handler, reports the CPU's quiescent state. A task inside a
 * read-side critical section when the grace period starts (running or
 * preempted: the blocked-tasks list) holds it up until its
 * rcu_read_unlock. Then rcu_exp_wait_wake wakes the callers.
 *
 * Costs: the kworker's and the callers' context switches, the IPIs (send,
 * latency, handler: the machine's ipi costs), and cost.kernel_op per CPU
 * examined and per step of bookkeeping (no published per-CPU figure).
 *
 * Figures: samples synchronize_rcu_expedited (latency), rcu_exp_gp_length;
 * counter rcu_exp_grace_periods.
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task, TaskBody } from '../../sim/task.js';
import { Completion, WaitQueue } from '../../sim/wait.js';
import type { Kernel } from '../kernel.js';
import { rcu_read_lock_held, rcuOf, type Rcu } from './tree.js';

const CAT_EXP_SELECT = intern('sync_rcu_exp_select_cpus');
const CAT_EXP_HANDLER = intern('rcu_exp_handler');
const CAT_EXP_WAKE = intern('rcu_exp_wait_wake');

interface ExpTask extends Task {
  /** The expedited grace period this reader holds up, or 0. */
  rcuBlocksExp?: number;
}

export class RcuExp {
  /** Expedited grace periods started and ended (numbers count from 1). */
  started = 0;
  completed = 0;
  private running = false;
  private startedAt = 0;
  private needed = 0;
  private pending: Completion | null = null;
  private worker: Task | null = null;
  private readonly workerWq: WaitQueue;
  /** Callers waiting, each for the grace period it needs. */
  private readonly waiters: { need: number; done: Completion }[] = [];

  constructor(
    readonly k: Kernel,
    readonly rcu: Rcu,
  ) {
    this.workerWq = new WaitQueue(k.engine);
    rcu.onReaderExit = (r, time) => {
      const x = r as ExpTask;
      if (x.rcuBlocksExp && x.rcuBlocksExp === this.started && this.running) {
        x.rcuBlocksExp = 0;
        this.pending?.complete(time);
      }
    };
    rcu.onReaderEnter = (r) => {
      // A reader on a CPU lagging behind in simulated time that enters before the start is one the start must wait for.
      const x = r as ExpTask;
      if (this.running && r.now < this.startedAt && this.pending) {
        x.rcuBlocksExp = this.started;
        this.pending.pending++;
      } else x.rcuBlocksExp = 0;
    };
  }

  /** Registers a caller at `time`; returns what it waits on. */
  request(t: Task): Completion {
    const done = new Completion(this.k.engine, 1);
    const need = this.started + 1;
    if (need > this.needed) this.needed = need;
    this.waiters.push({ need, done });
    t.charge(this.k.cfg.kernel.cost.kernel_op);
    if (!this.worker) {
      const self = this;
      this.worker = this.k.engine.spawn('rcu_exp_gp_kthr', (w) => self.kworker(w), { kernelThread: true, at: t.now });
    } else this.workerWq.wakeOne(t.now);
    return done;
  }

  private *kworker(w: Task): TaskBody {
    const e = this.k.engine;
    const op = this.k.cfg.kernel.cost.kernel_op;
    for (;;) {
      while (this.needed <= this.completed) yield w.sleepOn(this.workerWq);
      const g = ++this.started;
      this.running = true;
      this.startedAt = w.now;
      // sync_rcu_exp_select_cpus: idle CPUs and this one need nothing; the others get rcu_exp_handler.
      w.chargeAs(CAT_EXP_SELECT, op * e.ncpus);
      const targets: number[] = [];
      for (let c = 0; c < e.ncpus; c++) if (c !== w.cpu && !this.rcu.cpuIdle(c)) targets.push(c);
      let blockers = 0;
      for (const r of this.rcu.currentReaders()) {
        (r as ExpTask).rcuBlocksExp = g;
        blockers++;
      }
      const pending = (this.pending = new Completion(e, targets.length + blockers));
      if (targets.length > 0) {
        e.sendIpi(w, targets, CAT_EXP_HANDLER, (_cpu, time) => {
          pending.complete(time);
          return op;
        });
      }
      yield w.sleepOn(pending);
      this.running = false;
      this.pending = null;
      this.completed = g;
      e.counters.add('rcu_exp_grace_periods');
      e.samples.record('rcu_exp_gp_length', w.now - this.startedAt);
      if (e.tracing) e.traceSpan('rcu_exp_gp', `expedited grace period ${g}`, w.cpu, this.startedAt, w.now - this.startedAt);
      // rcu_exp_wait_wake: wake every caller this grace period satisfies.
      w.chargeAs(CAT_EXP_WAKE, op);
      for (let i = 0; i < this.waiters.length; ) {
        const x = this.waiters[i]!;
        if (x.need <= g) {
          x.done.complete(w.now);
          this.waiters.splice(i, 1);
        } else i++;
      }
    }
  }
}

function expOf(k: Kernel): RcuExp {
  return (k.rcuExp ??= new RcuExp(k, rcuOf(k)));
}

/** synchronize_rcu_expedited(): block until an expedited grace period that started after the call has ended. */
export function* synchronize_rcu_expedited(t: Task): Blocking<void> {
  const k = t.k;
  if (rcu_read_lock_held(t)) throw new Error(`synchronize_rcu_expedited: ${t.name} is inside a read-side critical section (deadlock)`);
  const start = t.now;
  const done = expOf(k).request(t);
  yield t.sleepOn(done);
  t.engine.samples.record('synchronize_rcu_expedited', t.now - start);
}
