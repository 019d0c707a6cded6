/**
 * The syscall-script interpreter: runs a ParsedScript (spec/syscall-script.md)
 * on a freshly booted simulated kernel, one op at a time in one simulated
 * process, and returns the result lines. A `fork` op runs its nested ops in
 * a child process (with a copy of the parent's names and mmap hint) and
 * waits for it to exit.
 *
 * System-call op handlers come from the tables in ./ops/ (merged below); an
 * op with no handler answers ENOSYS. The experiment ops of docs/scripts.md
 * Part 2 (repeat, thread, join, spin, pin) are the interpreter's own, since
 * they run op lists. With `sim: true` each line gets a `sim` field: the op's
 * cycles on its CPU, its cycles by kernel function and every counter that
 * changed during it. With cfg.sim.checks on, checkInvariants runs after
 * every op.
 */
import type { MachineConfig } from '../../config/machine.js';
import { applyProfile } from '../../config/profile.js';
import { bootKernel } from '../../kernel/boot.js';
import { errnoName } from '../../kernel/errno.js';
import { syscall } from '../../kernel/syscalls.js';
import type { Kernel } from '../../kernel/kernel.js';
import { checkInvariants } from '../../kernel/mm/invariants.js';
import { fatal_signal_pending } from '../../kernel/mm/oom_kill.js';
import { current, type TaskStruct } from '../../kernel/sched/task_struct.js';
import { do_signal, RESTART, signal_pending } from '../../kernel/signal.js';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS } from '../../kernel/errno.js';
import { CAT_USER, TaskState, type Blocking, type Task } from '../../sim/task.js';
import { CookieNames, formatLine, type ResultLine } from './format.js';
import { fdOps, type OpHandler, type OpOutcome } from './ops/fd.js';
import { fsOps } from './ops/fs.js';
import { schedOps } from './ops/sched.js';
import { MAP_HINT_BASE, mmOps, type MmOpEnv, type MmOpState } from './ops/mm.js';
import { do_execve } from '../../kernel/fs/exec.js';
import { wait_task_zombie } from '../../kernel/exit.js';
import { vfsOf } from '../../kernel/fs/namespace.js';
import type { ControlOp, ExecveOp, ForkOp, JoinOp, Op, ParsedScript, PinOp, Ref, RepeatOp, ThreadOp } from './types.js';
import { callOps } from './calls/index.js';

export interface ScriptRun {
  /** The result lines, formatted (one JSON object each). */
  lines: string[];
  /** The same, as objects. */
  results: ResultLine[];
  kernel: Kernel;
  /** The script's process reached its end (false: it was still blocked or running when the engine stopped). */
  finished: boolean;
}

export interface RunOptions {
  /** Add each line's simulated figures (`sim`). */
  sim?: boolean;
  /** Stop the engine at this simulated cycle (default: run until nothing is left to do); see ScriptRun.finished. */
  maxCycles?: number;
}

/** Every system-call op's simulator handler (the replay of strace logs runs calls through the same table). */
export const handlers: Readonly<Record<string, OpHandler>> = { ...fdOps, ...mmOps, ...fsOps, ...schedOps, ...callOps };

/** A thread started by a `thread` op: its task, whether its join has started (ending a spin), its lines. */
interface ScriptThread {
  task: Task;
  stop: boolean;
  lines: ResultLine[];
}

/**
 * What one simulated thread of the script knows: its names, the process's
 * mmap hint (shared by the threads of a process, copied into a fork child),
 * and, in a thread started by a `thread` op, that thread's record.
 */
interface Proc {
  names: Map<string, number>;
  hint: MmOpState;
  /** The tgid of the process that forked this one (none for the script's first process). */
  ppid?: number;
  self?: ScriptThread;
  /** The op handlers' environment for the thread running these ops (made at its first op). */
  env?: MmOpEnv;
}

const NO_LINES: ResultLine[] = Object.freeze([]) as unknown as ResultLine[];

/** Least cycles a spinning thread runs before it yields to the engine (the window can be empty when quantum is 0). */
const SPIN_MIN_CYCLES = 64;

function resolve(p: Proc, r: Ref): number {
  if ('value' in r) return r.value;
  const v = p.names.get(r.name);
  if (v === undefined) throw new Error(`script: $${r.name} is not bound in this process`);
  return v + r.offset;
}

/** Every counter the kernel and hardware keep, flattened (for the per-op `sim` deltas). */
function counterSnapshot(k: Kernel): Record<string, number> {
  return { ...k.engine.counters.snapshot(), ...k.machine.tlb.counters(), ...k.engine.ipi.counters() };
}

interface SimBefore {
  counters: Record<string, number>;
  attribution: Float64Array;
}

function simBefore(k: Kernel): SimBefore {
  return { counters: counterSnapshot(k), attribution: k.engine.attribution.snapshot() };
}

function simFigures(k: Kernel, before: SimBefore, cycles: number): Record<string, unknown> {
  const after = counterSnapshot(k);
  const out: Record<string, unknown> = { cycles, functions: k.engine.attribution.topDelta(before.attribution) };
  for (const key of Object.keys(after).sort()) {
    const d = after[key]! - (before.counters[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

const OK: OpOutcome = { ret: 0, errno: null };

/** A call's -ERESTART* result, by the name errnoName gives it: never printed, the return to user mode decides. */
const RESTART_CODES: Readonly<Record<string, number>> = {
  ERESTARTSYS: -ERESTARTSYS, ERESTARTNOINTR: -ERESTARTNOINTR, ERESTARTNOHAND: -ERESTARTNOHAND, ERESTART_RESTARTBLOCK: -ERESTART_RESTARTBLOCK,
};

class Interpreter {
  private readonly threads: ScriptThread[] = [];
  /** One cookie numbering per run. */
  private readonly cookies = new CookieNames();

  constructor(
    readonly k: Kernel,
    readonly sim: boolean,
    readonly checks: boolean,
  ) {}

  /**
   * Runs `ops` in the thread of task `t`; returns their result lines. With
   * `timed` (the script's timing switch, outside any repeat) each line gets
   * time_ns; with `record` false (a repeat's iterations before the last) no
   * line is built.
   */
  *runOps(t: Task, p: Proc, ops: Op[], timed: boolean, record = true): Blocking<ResultLine[]> {
    // A repeat's iterations before the last build no lines: they share one empty list.
    const lines: ResultLine[] = record ? [] : NO_LINES;
    const env = p.env?.t === t ? p.env : (p.env = this.opEnv(t, p));
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const start = t.now;
      const before = record && this.sim ? simBefore(this.k) : undefined;
      let out: OpOutcome;
      // A signal that came while the thread ran in user mode is delivered before its next call.
      if (signal_pending(current(t))) yield* do_signal(t, 0);
      for (;;) {
        if (current(t).exitSignal) {
          out = { ret: 0, errno: null, ended: true };
          break;
        }
        if (op.op === 'fork') out = yield* this.fork(t, p, op, timed);
        else if (op.op === 'execve') out = yield* this.execve(t, p, op, timed);
        else if (isControl(op)) out = yield* this.control(t, p, op, timed);
        else {
          const h = handlers[op.op];
          out = h ? yield* h(env, op) : { ret: -1, errno: 'ENOSYS' };
        }
        // The return to user mode: pending signals are delivered, and a call a signal interrupted is restarted or EINTR.
        const code = RESTART_CODES[out.errno ?? ''] ?? 0;
        if (code === 0 && !signal_pending(current(t))) break;
        const r = yield* do_signal(t, code);
        if (r === RESTART) continue;
        if (code !== 0) out = { ret: -1, errno: errnoName(-r) };
        break;
      }
      if (this.checks) checkInvariants(this.k);
      // The return to user mode delivers a pending SIGKILL (the OOM killer's): the process dies before it can print the op's line.
      if (fatal_signal_pending(current(t)) && !current(t).exitSignal) current(t).exitSignal = 'SIGKILL';
      // An execve that succeeded printed its new image's lines, however that image ended; the old image's list ends here.
      const execed = out.image !== undefined;
      // An op that ended the process (exit, a fatal kill, SIGPIPE from a write) prints nothing: the host's process never returns from it.
      if (!execed && (out['ended'] === true || (current(t).exitSignal && (out.signal === undefined || out.signal === 'SIGKILL')))) break;
      if (record) {
        const line: ResultLine = { i, op: op.op, ...out };
        // execve never returns to be timed: the new image's lines carry their own times.
        if (timed && !execed) line.time_ns = Math.round((t.now - start) / this.k.cfg.clock_ghz);
        if (before) line.sim = simFigures(this.k, before, t.now - start);
        lines.push(line);
      }
      if (execed || current(t).exitSignal) break;
      // Let the other CPUs catch up (a thread started, an IPI due) between ops, as between any two steps of a workload.
      if (t.shouldYield()) yield;
    }
    return lines;
  }

  /** The handlers' view of thread `t` of process `p`, made once per thread (a repeat's iterations reuse it). */
  private opEnv(t: Task, p: Proc): MmOpEnv {
    return {
      k: this.k,
      t,
      ref: (r) => resolve(p, r),
      bind: (name, v) => {
        if (name !== undefined) p.names.set(name, v);
      },
      cookies: this.cookies,
      mm: p.hint,
      ppid: p.ppid,
    };
  }

  private *control(t: Task, p: Proc, op: ControlOp, timed: boolean): Blocking<OpOutcome> {
    switch (op.op) {
      case 'repeat':
        return yield* this.repeat(t, p, op);
      case 'thread':
        return yield* this.thread(t, p, op, timed);
      case 'join':
        return yield* this.join(t, p, op);
      case 'spin':
        return yield* this.spin(t, p);
      case 'pin':
        return yield* this.pin(t, op);
    }
  }

  /** repeat: the body `count` times; only the final iteration's lines are kept. */
  private *repeat(t: Task, p: Proc, op: RepeatOp): Blocking<OpOutcome> {
    let last: ResultLine[] = [];
    for (let it = 0; it < op.count; it++) {
      const final = it === op.count - 1;
      const lines = yield* this.runOps(t, p, op.ops, false, final);
      if (final) last = lines;
      if (current(t).exitSignal) break;
    }
    return { ...OK, last };
  }

  /** thread: clone(CLONE_VM | CLONE_FILES | CLONE_THREAD ...) running the nested ops; pinned from its start when `cpu` is given. */
  private *thread(t: Task, p: Proc, op: ThreadOp, timed: boolean): Blocking<OpOutcome> {
    const k = this.k;
    if (op.cpu !== undefined && op.cpu >= k.cfg.cpus) {
      p.names.set(op.as, -1);
      return { ret: -1, errno: 'EINVAL' };
    }
    const id = this.threads.length;
    const rec: ScriptThread = { task: t, stop: false, lines: [] };
    this.threads.push(rec);
    const tp: Proc = { names: new Map(p.names), hint: p.hint, self: rec, ppid: p.ppid };
    const self = this;
    const placement = op.cpu !== undefined ? { cpu: op.cpu, pinned: true } : {};
    const ts = k.spawnThread(
      current(t),
      `script/${id + 1}`,
      function* (ct: Task) {
        rec.lines = yield* self.runOps(ct, tp, op.ops, timed);
        yield* k.exit(ct, current(ct));
      },
      { ...placement, at: t.now },
    );
    rec.task = ts.task;
    // A new thread starts with its creator's name (copy_process copies comm).
    ts.comm = current(t).comm;
    p.names.set(op.as, id);
    // The creator's window was set while the new thread's CPU was idle: end it, so the engine interleaves the two from here.
    yield;
    return OK;
  }

  /** join: ends the thread's spin, waits for it to exit, and prints its lines. */
  private *join(t: Task, p: Proc, op: JoinOp): Blocking<OpOutcome> {
    const rec = this.threads[resolve(p, op.thread)];
    if (!rec) return { ret: -1, errno: 'ESRCH' };
    rec.stop = true;
    if (rec.task.state !== TaskState.Done) yield t.sleepOn(rec.task.exited);
    return { ...OK, child: rec.lines };
  }

  /** spin: user-mode work on the thread's CPU until its join starts (no system calls, no faults). */
  private *spin(t: Task, p: Proc): Blocking<OpOutcome> {
    const rec = p.self!;
    // A SIGKILL (an execve's de_thread in another thread) ends the spin: the thread exits after this op.
    while (!rec.stop && !fatal_signal_pending(current(t))) {
      t.chargeAs(CAT_USER, Math.max(t.budget(), SPIN_MIN_CYCLES));
      yield;
    }
    return OK;
  }

  /** pin: sched_setaffinity to one CPU; the task moves there at once. */
  private *pin(t: Task, op: PinOp): Blocking<OpOutcome> {
    if (op.cpu >= this.k.cfg.cpus) return { ret: -1, errno: 'EINVAL' };
    t.affinity = op.cpu;
    if (t.cpu !== op.cpu) yield t.sleepFor(0);
    return OK;
  }

  /**
   * execve: with a path, the call (which fails: the simulated machine has no
   * program to run); with ops, the running program executes itself again:
   * other threads killed, a fresh mm, close-on-exec fds closed, and the new
   * image runs ops with the old names (numbers: addresses in them now point
   * at nothing) and a fresh mmap hint, as the host runner's new image starts.
   */
  private *execve(t: Task, p: Proc, op: ExecveOp, timed: boolean): Blocking<OpOutcome> {
    if (op.ops === undefined) {
      const r = yield* syscall(t, 'execve', do_execve(t, op.path!));
      if (r >= 0) throw new Error(`execve ${op.path}: the simulated kernel has no program to run`);
      return { ret: -1, errno: errnoName(-r) };
    }
    yield* syscall(t, 'execve', do_execve(t, null));
    const image: Proc = { names: new Map(p.names), hint: { nextHint: MAP_HINT_BASE } };
    const lines = yield* this.runOps(t, image, op.ops, timed);
    return { ret: 0, errno: null, image: lines };
  }

  /** fork: the child runs the nested ops and exits; the parent waits for it. */
  private *fork(t: Task, p: Proc, op: ForkOp, timed: boolean): Blocking<OpOutcome> {
    const k = this.k;
    const parent = current(t);
    let childLines: ResultLine[] = [];
    const childProc: Proc = { names: new Map(p.names), hint: { nextHint: p.hint.nextHint }, ppid: parent.tgid };
    const self = this;
    // The host runner's fork op is three system calls: fork() (clone), the child's _exit() (exit_group) and the
    // parent's waitpid() (wait4); each pays the entry and exit the null-syscall cost measures.
    const child = yield* syscall(t, 'clone', k.fork(t, parent, function* (ct: Task) {
      childLines = yield* self.runOps(ct, childProc, op.ops, timed);
      yield* syscall(ct, 'exit_group', k.exit(ct, current(ct)));
    }));
    if (typeof child === 'number') return { ret: -1, errno: errnoName(-child) };
    yield* syscall(t, 'wait4', waitExited(t, (child as TaskStruct).task));
    wait_task_zombie(parent, child as TaskStruct);
    const sig = (child as TaskStruct).exitSignal;
    return { ret: 0, errno: null, child: childLines, exit: sig ?? (child as TaskStruct).exitCode };
  }
}

/** The wait for a child's exit inside wait4. */
function* waitExited(t: Task, child: Task): Blocking<void> {
  yield t.sleepOn(child.exited);
}

const CONTROL_OPS: ReadonlySet<string> = new Set(['repeat', 'thread', 'join', 'spin', 'pin']);

function isControl(op: Op): op is ControlOp {
  return CONTROL_OPS.has(op.op);
}

function scriptSetsThp(machine: unknown): boolean {
  if (typeof machine !== 'object' || machine === null) return false;
  const kernel = (machine as { kernel?: unknown }).kernel;
  return typeof kernel === 'object' && kernel !== null && (kernel as { thp?: unknown }).thp !== undefined;
}

/**
 * Runs a script on a kernel booted from `cfg` (with the script's `machine`
 * block, if any, applied on top) and returns its result lines.
 */
export function runScript(script: ParsedScript, cfg: MachineConfig, opts: RunOptions = {}): ScriptRun {
  // A script's machine block gets every check a profile gets (field values and the cross-field geometry).
  const c = script.machine !== undefined ? applyProfile(cfg, script.machine, `${script.name}: machine`) : cfg;
  const k = bootKernel(c);
  const interp = new Interpreter(k, opts.sim ?? false, c.sim.checks);
  let results: ResultLine[] = [];
  let finished = false;
  // The host runner's layout: the script's working directory in a run directory of root's, mode 0700 (docs/scripts.md).
  vfsOf(k).workdirInRunDir = true;
  k.spawnProcess(
    'script',
    function* (t) {
      const p: Proc = { names: new Map(), hint: { nextHint: MAP_HINT_BASE } };
      // The host runner sets PR_SET_THP_DISABLE; a script whose machine block names kernel.thp runs with THP as configured.
      current(t).mm!.thpDisabled = !scriptSetsThp(script.machine);
      results = yield* interp.runOps(t, p, script.ops, script.timing === true);
      finished = true;
      yield* k.exit(t, current(t));
    },
    { cpu: 0 },
  );
  k.run(opts.maxCycles);
  if (c.sim.checks) checkInvariants(k);
  return { lines: results.map(formatLine), results, kernel: k, finished };
}
