/**
 * The engine: simulated time, tasks on CPUs, and the order things happen in.
 *
 * Each CPU has its own clock in cycles. The engine always advances the
 * running CPU whose clock is lowest and lets it run until its clock passes
 * the next-lowest running clock (or the next timed event) by `quantum`
 * cycles; quantum 0 gives exact ordering of operations. Timed events (timer
 * expiries, I/O completions, IPI deliveries, acknowledgements) fire once every
 * running CPU has reached their time, in time order, ties by insertion order.
 *
 * A CPU is running (its task makes progress), spinning (its task busy-waits:
 * the clock stands still until the wake-up, and the gap is charged as busy
 * time), or idle (no task: its clock jumps to its next event and the gap is
 * idle time). Idle CPUs take no scheduler ticks, as with NO_HZ.
 *
 * The engine knows nothing of Linux: the kernel plugs in through SchedHooks
 * (context-switch cost, ticks, idle entry and exit) and through IPI handlers.
 */
import { defaultConfig, type MachineConfig } from '../config/machine.js';
import { IpiFabric } from '../hw/ipi.js';
import { Attribution, intern } from './attribution.js';
import { EventQueue } from './eventqueue.js';
import { IrqWindows } from './irq_windows.js';
import { StealSchedule } from './steal.js';
import { LowestClockPicker } from './cpu_pick.js';
import { Rng } from './random.js';
import { Counters, SampleSets } from './stats.js';
import { STEP_DONE, StepBody, Task, TaskState, type TaskBody, type Yield } from './task.js';
import { Completion, WaitKind, type Waker, Wait } from './wait.js';
import type { IpiHandler, SchedHooks, SpawnOptions, TraceFlow, TraceSlice } from './engine_types.js';

export type { IpiHandler, SchedHooks, SpawnOptions, TraceFlow, TraceSlice } from './engine_types.js';

/** Kernel spans kept for a trace; past this the trace says it was truncated. */
const MAX_TRACE_SPANS = 400_000;

const CAT_IRQ = intern('irq');
const CAT_IPI_HANDLER = intern('ipi_handler');
const CAT_SCHED = intern('schedule');
const CAT_CONTEXT_SWITCH = intern('context_switch');
const CAT_SPIN = intern('spin_wait');

const enum CpuState {
  Idle = 0,
  Running = 1,
  Spinning = 2,
}

export class Engine implements Waker {
  readonly cfg: MachineConfig;
  readonly ncpus: number;
  readonly clock: Float64Array;
  /** Where the current window of each CPU ends; tasks yield once past it. */
  readonly windowEnd: Float64Array;
  readonly busy: Float64Array;
  readonly idle: Float64Array;
  readonly attribution = new Attribution();
  readonly counters = new Counters();
  readonly samples = new SampleSets();
  readonly rng: Rng;
  readonly ipi: IpiFabric;
  readonly quantum: number;
  readonly tickPeriod: number;
  /** Cycles each vCPU spent preempted by the host (steal time; 0 on bare metal). */
  readonly steal: Float64Array;
  /** When each vCPU is preempted by the host (steal time). */
  private readonly stealing: StealSchedule;
  /** Per-CPU trace slices and IPI flows, recorded only when `tracing` is on. */
  tracing = false;
  readonly traceSlices: TraceSlice[] = [];
  readonly traceFlows: TraceFlow[] = [];
  /** Set when spans were dropped at MAX_TRACE_SPANS. */
  traceTruncated = false;
  /** The CPU whose task is being stepped (-1 outside steps and in event callbacks): a wake-up's source, and a spawned task's parent. */
  private steppingCpu = -1;
  /** Tasks woken and not yet run again: where and when the wake-up came from. */
  private readonly pendingWakes = new Map<Task, { cpu: number; ts: number }>();
  /** When each CPU can take a hard interrupt (one handler at a time, none with interrupts off). */
  private readonly irqs: IrqWindows;

  private readonly events = new EventQueue();
  private readonly state: Uint8Array;
  private readonly current: (Task | null)[];
  private readonly runqueue: Task[][];
  private readonly nextTick: Float64Array;
  private readonly needResched: Uint8Array;
  private readonly hooks: SchedHooks[] = [];
  private readonly tasks: Task[] = [];
  private nextId = 1;
  /** The running CPU with the lowest clock, for each step (a ring sorted by clock: src/sim/cpu_pick.ts). */
  private readonly picker: LowestClockPicker;

  constructor(cfg: MachineConfig = defaultConfig()) {
    this.cfg = cfg;
    const n = (this.ncpus = cfg.cpus);
    this.clock = new Float64Array(n);
    this.windowEnd = new Float64Array(n);
    this.busy = new Float64Array(n);
    this.idle = new Float64Array(n);
    this.state = new Uint8Array(n);
    this.current = new Array<Task | null>(n).fill(null);
    this.runqueue = Array.from({ length: n }, () => []);
    this.nextTick = new Float64Array(n).fill(Infinity);
    this.needResched = new Uint8Array(n);
    this.irqs = new IrqWindows(n);
    this.rng = new Rng(cfg.sim.seed);
    this.ipi = new IpiFabric(cfg);
    this.quantum = cfg.sim.quantum;
    this.tickPeriod = Math.round((cfg.clock_ghz * 1e9) / cfg.kernel.hz);
    this.steal = new Float64Array(n);
    this.stealing = new StealSchedule(cfg, n);
    this.picker = new LowestClockPicker(this.clock, this.state, CpuState.Running);
  }

  /**
   * The end of the host's steal slice vCPU `cpu` is in at `time`, or -1 when
   * it runs then (always -1 on bare metal or without steal time).
   */
  preemptedUntil(cpu: number, time: number): number {
    return this.stealing.preemptedUntil(cpu, time);
  }

  /** A running vCPU whose clock is inside a steal slice jumps to its end; the gap is steal time, neither busy nor idle. Returns whether it moved. */
  private skipSteal(c: number): boolean {
    const end = this.preemptedUntil(c, this.clock[c]!);
    if (end < 0) return false;
    const gap = end - this.clock[c]!;
    this.clock[c] = end;
    this.steal[c]! += gap;
    this.counters.add('steal_cycles', gap);
    return true;
  }

  addHooks(h: SchedHooks): void {
    this.hooks.push(h);
  }

  /** Every task ever spawned, in spawn order. */
  allTasks(): readonly Task[] {
    return this.tasks;
  }

  /**
   * Tasks blocked when the run ended with nothing left to do (a deadlock, or
   * waiting on nothing). Kernel threads are left out: a daemon asleep until
   * it has work (the RCU grace-period kthread) is how it should end.
   */
  blockedTasks(): Task[] {
    return this.tasks.filter((t) => !t.kernelThread && (t.state === TaskState.Sleeping || t.state === TaskState.Spinning));
  }

  maxClock(): number {
    let m = 0;
    for (let c = 0; c < this.ncpus; c++) if (this.clock[c]! > m) m = this.clock[c]!;
    return m;
  }

  charge(cpu: number, cycles: number, node: number): void {
    this.picker.touch(cpu);
    this.clock[cpu]! += cycles;
    this.busy[cpu]! += cycles;
    this.attribution.charge(node, cycles);
  }

  /** Run `fn` at simulated time `time`. */
  at(time: number, fn: (time: number) => void): void {
    this.events.push(time, fn);
    this.endWindowBy(time);
  }

  /**
   * Something that must be ordered before the stepping task's later work
   * appeared at `time` during its step (a CPU started running there, or an
   * event was queued for then): the step's window ends `quantum` past it, as
   * it would have had it been known when the window was set. Without this a
   * task that woke an idle CPU ran on to the end of its window (the next
   * tick, when no other CPU was running: up to 4 ms) before the woken task
   * ran its first cycle, and every lock it released meanwhile was seen by
   * the woken task as held until then (LockBase.freeAt).
   */
  private endWindowBy(time: number): void {
    const s = this.steppingCpu;
    if (s < 0) return;
    const end = time + this.quantum;
    if (end < this.windowEnd[s]!) this.windowEnd[s] = end;
  }

  spawn(name: string, body: (t: Task) => TaskBody, opts: SpawnOptions = {}): Task {
    const cpu = opts.cpu ?? this.leastLoaded();
    if (cpu < 0 || cpu >= this.ncpus) throw new RangeError(`spawn ${name}: cpu ${cpu} out of range 0..${this.ncpus - 1}`);
    const t = new Task(this, this.nextId++, name, cpu, opts.pinned ? cpu : -1, opts.kernelThread ?? false);
    t.data = opts.data;
    for (const h of this.hooks) h.taskInit?.(t);
    t.body = body(t);
    this.tasks.push(t);
    t.state = TaskState.Sleeping;
    // wake_up_new_task runs at the parent's time: a task spawned from a running
    // task starts no earlier than its parent's clock, even on a CPU whose clock
    // lags (an idle one), or it would run in the parent's past.
    const parentNow = this.steppingCpu >= 0 ? this.clock[this.steppingCpu]! : 0;
    const start = opts.at ?? Math.max(this.clock[cpu]!, parentNow);
    if (opts.at !== undefined && opts.at > this.clock[cpu]!) this.at(start, (time) => this.wakeTask(t, time));
    else this.wakeTask(t, start);
    return t;
  }

  private leastLoaded(): number {
    let best = 0;
    let bestLoad = Infinity;
    for (let c = 0; c < this.ncpus; c++) {
      const load = this.runqueue[c]!.length + (this.current[c] ? 1 : 0);
      if (load < bestLoad) {
        best = c;
        bestLoad = load;
      }
    }
    return best;
  }

  /**
   * A span of kernel work for the trace (`--trace` only; it costs nothing):
   * [ts, ts + dur) on `cpu`. A span whose end is read on another CPU's clock
   * after a migration can come out negative; it is dropped.
   */
  traceSpan(cat: string, name: string, cpu: number, ts: number, dur: number): void {
    if (!this.tracing || dur < 0) return;
    if (this.traceSlices.length < MAX_TRACE_SPANS) this.traceSlices.push({ cpu, ts, dur, name, cat });
    else this.traceTruncated = true;
  }

  /** Tracing: `t` runs on `c` from `time`; a wake-up pending for it becomes a flow, and wake-ups it makes come from `c`. */
  private traceStep(c: number, t: Task, time: number): void {
    this.steppingCpu = c;
    const w = this.pendingWakes.get(t);
    if (!w) return;
    this.pendingWakes.delete(t);
    if (time >= w.ts) this.traceFlows.push({ fromCpu: w.cpu, fromTs: w.ts, toCpu: c, toTs: time, name: 'wakeup' });
  }

  /** Make a blocked task runnable at `time` (wake_up_process). */
  wakeTask(t: Task, time: number): void {
    if (t.state === TaskState.Spinning) {
      const c = t.cpu;
      if (this.clock[c]! < time) {
        const gap = time - this.clock[c]!;
        this.charge(c, gap, this.attribution.child(t.cat, CAT_SPIN));
        t.cpuTime += gap;
      }
      t.state = TaskState.Running;
      this.state[c] = CpuState.Running;
      this.picker.touch(c);
      if (c !== this.steppingCpu) this.endWindowBy(this.clock[c]!);
      return;
    }
    if (t.state !== TaskState.Sleeping) return;
    t.state = TaskState.Runnable;
    if (this.tracing && this.steppingCpu >= 0) this.pendingWakes.set(t, { cpu: this.steppingCpu, ts: time });
    let c = t.affinity >= 0 ? t.affinity : t.cpu;
    if (t.affinity < 0 && this.state[c] !== CpuState.Idle) {
      // select_idle_sibling in spirit: prefer an idle CPU over queueing behind a busy one.
      const i = this.idleCpu();
      if (i >= 0) c = i;
    }
    t.wakeAt = time;
    this.enqueue(t, c, time);
  }

  /** Put runnable task `t` on CPU c's run queue at `time`, waking the CPU if it idles. */
  private enqueue(t: Task, c: number, time: number): void {
    t.cpu = c;
    this.picker.touch(c);
    this.runqueue[c]!.push(t);
    if (this.state[c] === CpuState.Idle) {
      if (this.clock[c]! < time) {
        this.idle[c]! += time - this.clock[c]!;
        this.clock[c] = time;
      }
      for (const h of this.hooks) h.idleExit?.(c, this.clock[c]!);
      this.scheduleNext(c);
      if (c !== this.steppingCpu) this.endWindowBy(this.clock[c]!);
    }
  }

  /** The lowest-numbered idle CPU with an empty run queue, or -1. */
  private idleCpu(): number {
    for (let i = 0; i < this.ncpus; i++) {
      if (this.state[i] === CpuState.Idle && this.runqueue[i]!.length === 0 && !this.current[i]) return i;
    }
    return -1;
  }

  /**
   * Take a waiting task that may run elsewhere off the longest other run
   * queue, as Linux's newidle_balance pulls from the busiest CPU when one is
   * about to idle; the one waiting longest goes. With wake-ups placed on an
   * idle CPU when there is one, a queue only forms while no CPU idles, so
   * this pull is all the balancing needed for no CPU to run two tasks in turn
   * while another idles (the periodic and nohz balancers have nothing left
   * to move). Migration costs nothing here beyond what follows from it: the
   * task's lines are in the other CPU's caches, and the cache model charges
   * the misses.
   */
  private detachTask(except: number): Task | undefined {
    let best = -1;
    let bestLen = 0;
    for (let i = 0; i < this.ncpus; i++) {
      const q = this.runqueue[i]!;
      if (i === except || q.length <= bestLen) continue;
      if (q.some((t) => t.affinity < 0)) {
        best = i;
        bestLen = q.length;
      }
    }
    if (best < 0) return undefined;
    const q = this.runqueue[best]!;
    const at = q.findIndex((t) => t.affinity < 0);
    const [t] = q.splice(at, 1);
    this.counters.add('sched_migrations');
    return t;
  }

  /** Pick the next task for CPU c (whose current task has stopped running), or idle it. */
  private scheduleNext(c: number): void {
    this.picker.touch(c);
    const prev = this.current[c] ?? null;
    // newidle_balance: about to idle, pull a task waiting behind another CPU's.
    const next = this.runqueue[c]!.shift() ?? this.detachTask(c);
    if (!next) {
      this.current[c] = null;
      if (this.state[c] !== CpuState.Idle) {
        this.state[c] = CpuState.Idle;
        this.nextTick[c] = Infinity;
        for (const h of this.hooks) h.idleEnter?.(c, this.clock[c]!);
      }
      return;
    }
    const wakeAt = next.wakeAt;
    if (this.clock[c]! < wakeAt) {
      // The CPU was busy with something that ended before the wake-up time: it waits.
      this.idle[c]! += wakeAt - this.clock[c]!;
      this.clock[c] = wakeAt;
    }
    next.runDelay += this.clock[c]! - wakeAt;
    const wasIdle = this.state[c] === CpuState.Idle;
    this.current[c] = next;
    next.cpu = c;
    next.state = TaskState.Running;
    this.state[c] = CpuState.Running;
    if (wasIdle || this.nextTick[c] === Infinity) {
      this.nextTick[c] = (Math.floor(this.clock[c]! / this.tickPeriod) + 1) * this.tickPeriod;
    }
    if (prev !== next) {
      // Every subsystem sees the switch (the MM loads the address space, RCU notes a quiescent state); costs add up.
      let cost = 0;
      for (const h of this.hooks) if (h.contextSwitch) cost += h.contextSwitch(c, prev, next);
      if (cost > 0) {
        const node = this.attribution.child(this.attribution.child(this.attribution.root, CAT_SCHED), CAT_CONTEXT_SWITCH);
        this.charge(c, cost, node);
      }
    }
    this.counters.add('context_switches');
  }

  /**
   * Run until nothing is left to do or every clock has passed `until`.
   * Returns the largest CPU clock.
   */
  run(until = Infinity): number {
    // Clocks may have been set from outside since the last run (tests, an idle CPU's clock moved by a work item): replay every path once.
    this.picker.touchAll();
    // The loop's fields in locals: each step calls into a task, after which the compiled loop would load them again.
    const picker = this.picker;
    const clock = this.clock;
    const events = this.events;
    const windowEnd = this.windowEnd;
    const nextTick = this.nextTick;
    const quantum = this.quantum;
    const steal = this.stealing.len > 0;
    for (;;) {
      const c = picker.pick();
      const tc = c >= 0 ? clock[c]! : Infinity;
      const te = events.peekTime();
      if (te <= tc && te !== Infinity) {
        if (te > until) break;
        events.pop()!.fn(te);
        continue;
      }
      if (c < 0 || tc > until) break;
      if (steal && this.skipSteal(c)) {
        picker.touch(c);
        continue;
      }
      const second = picker.secondClock(c);
      // A tick due on this CPU also ends its window, so ticks arrive on time.
      let end = Math.min(Math.min(second, te) + quantum, nextTick[c]!);
      // A steal slice also ends the window, so the vCPU stops where the host takes it off.
      if (steal) end = Math.min(end, this.stealing.nextStart(c, tc));
      windowEnd[c] = end;
      this.step(c);
    }
    return this.maxClock();
  }

  /** Run CPU c's task until it stops (its window ended, it blocks or it finishes); then its due ticks and a preemption. */
  private step(c: number): void {
    const t = this.current[c]!;
    const clock = this.clock;
    const before = clock[c]!;
    this.steppingCpu = c;
    if (this.tracing) this.traceStep(c, t, before);
    const picker = this.picker;
    picker.beginStep(c);
    // A step function is called directly (one call, no iterator result); a generator is resumed.
    const b = t.body;
    let v: Yield | typeof STEP_DONE;
    if (b instanceof StepBody) v = b.fn(t);
    else {
      const r = b.next();
      v = r.done ? STEP_DONE : r.value;
    }
    picker.endStep(c);
    this.steppingCpu = -1;
    if (v !== undefined) this.stopped(c, t, v);
    const now = clock[c]!;
    if (now < before) throw new Error('engine: a CPU clock went backwards');
    // The rare paths are methods of their own, so this one stays small.
    if (now >= this.nextTick[c]! && this.state[c] !== CpuState.Idle) this.ticks(c);
    if (this.needResched[c] && this.state[c] === CpuState.Running) this.preempt(c);
  }

  /** Task t on CPU c stopped: it finished, or it blocks on a Wait. */
  private stopped(c: number, t: Task, v: Wait | typeof STEP_DONE): void {
    if (v === STEP_DONE) {
      t.state = TaskState.Done;
      t.exited.complete(this.clock[c]!);
      this.scheduleNext(c);
    } else if (v instanceof Wait) {
      this.block(c, t, v);
    }
  }

  /** The scheduler ticks CPU c's clock has reached. */
  private ticks(c: number): void {
    while (this.state[c] !== CpuState.Idle && this.clock[c]! >= this.nextTick[c]!) {
      const time = this.nextTick[c]!;
      this.nextTick[c] = time + this.tickPeriod;
      this.counters.add('sched_ticks');
      const cur = this.current[c] ?? null;
      for (const h of this.hooks) h.tick?.(c, cur, time);
      if (this.runqueue[c]!.length > 0 && cur && cur.state === TaskState.Running) this.needResched[c] = 1;
    }
  }

  /** A tick found a task waiting for CPU c: its current task goes to the back of the queue. */
  private preempt(c: number): void {
    this.needResched[c] = 0;
    const cur = this.current[c]!;
    cur.state = TaskState.Runnable;
    cur.wakeAt = this.clock[c]!;
    this.runqueue[c]!.push(cur);
    this.scheduleNext(c);
  }

  private block(c: number, t: Task, w: Wait): void {
    const readyAt = w.on.addWaiter(t);
    if (w.kind === WaitKind.Spin) {
      t.state = TaskState.Spinning;
      this.state[c] = CpuState.Spinning;
      this.picker.touch(c);
      if (readyAt >= 0) this.wakeTask(t, readyAt);
      return;
    }
    t.state = TaskState.Sleeping;
    this.scheduleNext(c);
    if (readyAt >= 0) this.wakeTask(t, Math.max(readyAt, this.clock[c]!));
  }

  /**
   * Send an IPI from the task's CPU to each target. The sender pays the send
   * cost per target; target k is delivered at (send time of k) + latency and
   * runs the fabric's handler cost plus whatever `handler` returns, charged
   * under irq > ipi_handler > `handlerName`. A target whose clock is already
   * past the delivery time takes it retroactively: the cycles are charged to
   * it now and its acknowledgement leaves at delivery + handler time. Returns
   * a completion that finishes when every acknowledgement has reached the
   * sender; the caller waits with `yield t.spinOn(done)` (csd_lock_wait).
   * `handlerCost` replaces the fabric's interrupt entry and exit for actions
   * a target carries out without software (Intel RAR).
   */
  sendIpi(sender: Task, targets: readonly number[], handlerName: number, handler: IpiHandler, handlerCost?: number): Completion {
    const done = new Completion(this, targets.length);
    const from = sender.cpu;
    const fab = this.ipi;
    if (fab.exitPerSend > 0 && targets.length > 0) {
      // A guest's PV IPI: one hypercall (one VM exit) names every destination.
      sender.charge(fab.exitPerSend);
      fab.vmExits++;
    }
    for (const d of targets) {
      sender.charge(fab.sendCost + fab.exitPerTarget);
      if (fab.exitPerTarget > 0) fab.vmExits++;
      fab.sent[from]! += 1;
      const sentAt = this.clock[from]!;
      const deliverAt = sentAt + fab.latency;
      const soft = handlerCost === undefined;
      this.at(deliverAt, (time) => this.deliverIpi(d, time, handlerName, handler, done, from, sentAt, handlerCost ?? fab.handlerCost, soft));
    }
    return done;
  }

  /**
   * CPU `cpu` ran with interrupts disabled over [from, to) of simulated time
   * (a spinlock taken with spin_lock_irq/irqsave, spinning and holding): an
   * interrupt arriving then waits for `to`. Sections are recorded when they
   * end, within the step that ran them (they never span a yield), so by the
   * time a delivery event at a time they cover fires, they are known.
   */
  irqsOffDuring(cpu: number, from: number, to: number): void {
    this.irqs.offDuring(cpu, from, to, this.events.peekTime());
  }

  private deliverIpi(d: number, time: number, handlerName: number, handler: IpiHandler, done: Completion, from: number, sentAt: number, handlerCost: number, soft: boolean): void {
    const fab = this.ipi;
    const preempted = this.preemptedUntil(d, time);
    if (preempted >= 0) {
      // A preempted vCPU takes the interrupt when the host runs it again.
      this.at(preempted, (t) => this.deliverIpi(d, t, handlerName, handler, done, from, sentAt, handlerCost, soft));
      return;
    }
    if (soft) {
      // A CPU runs one hard interrupt handler at a time, and none while its interrupts are off: the handler starts when both are over.
      const start = this.irqs.start(d, time);
      if (start > time) {
        this.counters.add('ipi_delayed');
        this.counters.add('ipi_delay_cycles', start - time);
        this.at(start, (t) => this.deliverIpi(d, t, handlerName, handler, done, from, sentAt, handlerCost, soft));
        return;
      }
    }
    fab.received[d]! += 1;
    this.picker.touch(d);
    const st = this.state[d];
    if (st === CpuState.Idle && this.clock[d]! < time) {
      this.idle[d]! += time - this.clock[d]!;
      this.clock[d] = time;
    } else if (st === CpuState.Spinning && this.clock[d]! < time) {
      const t = this.current[d]!;
      const gap = time - this.clock[d]!;
      this.charge(d, gap, this.attribution.child(t.cat, CAT_SPIN));
      t.cpuTime += gap;
    }
    const node = this.attribution.child(this.attribution.child(this.attribution.child(this.attribution.root, CAT_IRQ), CAT_IPI_HANDLER), handlerName);
    // In a guest without posted interrupts the target is kicked out of guest mode and the interrupt injected at re-entry.
    if (fab.exitOnDelivery > 0) fab.vmExits++;
    const work = handlerCost + fab.exitOnDelivery + handler(d, time);
    this.charge(d, work, node);
    if (soft) this.irqs.handlerUntil(d, time + work);
    // Retroactive or not, the handler's work started at the delivery time.
    const ackAt = time + work + fab.ackCost;
    if (this.tracing) {
      this.traceSlices.push({ cpu: d, ts: time, dur: work, name: 'ipi' });
      this.traceFlows.push({ fromCpu: from, fromTs: sentAt, toCpu: d, toTs: time, name: 'ipi' });
    }
    this.at(ackAt, (t) => done.complete(t));
  }

  /**
   * Run `work` on CPU `cpu` at `time` as interrupt-context work that needs no
   * IPI (KVM's flush on a preempted vCPU's next entry): charged to the CPU
   * under irq > `name` like an IPI's handler, without the fabric's costs.
   */
  runOnCpuAt(cpu: number, time: number, name: number, work: IpiHandler): void {
    this.at(time, (now) => {
      this.picker.touch(cpu);
      const st = this.state[cpu];
      if (st === CpuState.Idle && this.clock[cpu]! < now) {
        this.idle[cpu]! += now - this.clock[cpu]!;
        this.clock[cpu] = now;
      }
      const node = this.attribution.child(this.attribution.child(this.attribution.root, CAT_IRQ), name);
      this.charge(cpu, work(cpu, now), node);
    });
  }

  /** Per-CPU summary for reports: busy and idle cycles up to the end of the run. */
  cpuSummary(): { cpu: number; busy: number; idle: number }[] {
    const end = this.maxClock();
    const out = [];
    for (let c = 0; c < this.ncpus; c++) {
      out.push({ cpu: c, busy: this.busy[c]!, idle: this.idle[c]! + (end - this.clock[c]!) });
    }
    return out;
  }
}
