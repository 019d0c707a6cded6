/**
 * Signals, after kernel/signal.c and arch/x86/kernel/signal.c: a process's
 * handlers (sighand_struct) and shared pending set (signal_struct), each
 * thread's blocked mask and private pending set; generation
 * (send_signal_locked: prepare_signal drops an ignored signal, a standard
 * signal already pending is not queued twice, complete_signal picks the
 * thread that takes it and wakes it, a fatal one kills the whole group at
 * once), and delivery at the return to user mode (get_signal, then
 * handle_signal's decision on the interrupted call: -ERESTARTSYS restarts
 * under SA_RESTART and is EINTR otherwise, -ERESTARTNOHAND and
 * -ERESTART_RESTARTBLOCK are EINTR when a handler runs, -ERESTARTNOINTR
 * always restarts; with no handler every one restarts).
 *
 * A sleeping kernel path that a signal may end sleeps through
 * sleep_interruptible (wait_event_interruptible's schedule): signal_wake_up
 * takes it off its wait queue and wakes it, and the path returns
 * -ERESTARTSYS (or its own code) once it sees signal_pending.
 *
 * Handlers: the script format's one user handler counts its runs per
 * signal (SignalState.caught, the user memory the host runner's handler
 * increments: copied by fork, zero in a new image). What the handler costs:
 * the rt_sigreturn system call that ends it; the signal frame's copy to the
 * user stack (setup_rt_frame, with the xsave area) is not modelled.
 * Timers: ITIMER_REAL (setitimer) is an engine event at the expiry that
 * sends SIGALRM to the process (it_real_fn); the hrtimer interrupt's own
 * cost is not modelled.
 */
import { intern } from '../sim/attribution.js';
import { TaskState, type Blocking, type Task } from '../sim/task.js';
import { WaitQueue } from '../sim/wait.js';
import { EINTR, EINVAL, ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS } from './errno.js';
import { current, type TaskStruct } from './sched/task_struct.js';
import { syscall } from './syscalls.js';

const NSIG = 64;
export const SIGKILL = 9;
export const SIGPIPE = 13;
export const SIGALRM = 14;
export const SIGCHLD = 17;
export const SIGCONT = 18;
export const SIGSTOP = 19;
const SIGTSTP = 20;
const SIGTTIN = 21;
const SIGTTOU = 22;
const SIGURG = 23;
const SIGWINCH = 28;
export const SIGIO = 29;

/** sa_flags (asm/signal.h, x86-64). */
export const SA_SIGINFO = 0x4;
export const SA_RESTART = 0x10000000;
export const SA_NODEFER = 0x40000000;
export const SA_RESETHAND = 0x80000000;

/** The three dispositions a script can install: default, ignore, or the runner's counting handler. */
export const SIG_DFL = 0;
export const SIG_IGN = 1;
export const SIG_HANDLER = 2;

/** rt_sigprocmask's how. */
export const SIG_BLOCK = 0;
export const SIG_UNBLOCK = 1;
export const SIG_SETMASK = 2;

const CAT_SIGRETURN = 'rt_sigreturn';
const CAT_SIGNAL_DELIVER = intern('handle_signal');

/** x86-64 signal names, as the host's sigabbrev_np prints them with "SIG". */
const NAMES = [
  '', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1', 'SIGSEGV', 'SIGUSR2',
  'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG',
  'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGPOLL', 'SIGPWR', 'SIGSYS',
];

export function signal_name(sig: number): string {
  return NAMES[sig] ?? `SIG${sig}`;
}

export function sigbit(sig: number): bigint {
  return 1n << BigInt(sig - 1);
}

/** Every signal 1.._NSIG. */
const ALL = (1n << BigInt(NSIG)) - 1n;
const UNBLOCKABLE = sigbit(SIGKILL) | sigbit(SIGSTOP);

interface KSigaction {
  handler: number;
  flags: number;
  mask: bigint;
}

/** sighand_struct and the parts of signal_struct signals use: shared by a process's threads. */
export class SignalState {
  readonly action: KSigaction[] = Array.from({ length: NSIG + 1 }, () => ({ handler: SIG_DFL, flags: 0, mask: 0n }));
  /** shared_pending. */
  shared = 0n;
  /** How many times the user handler ran, per signal (user memory). */
  caught: number[] = new Array<number>(NSIG + 1).fill(0);
  /** ITIMER_REAL: the armed expiry's generation (re-arming or disarming makes an armed event stale). */
  realTimerGen = 0;
  realTimerArmed = false;
}

/** The process's signal state (its leader's). */
export function signalOf(ts: TaskStruct): SignalState {
  const leader = ts.group[0] ?? ts;
  return (leader.signal ??= new SignalState());
}

/** copy_sighand / copy_signal at fork: the handlers and the handler's counters (user memory) copied, nothing pending. */
export function copy_signal_state(parent: TaskStruct, child: TaskStruct): void {
  child.sigBlocked = parent.sigBlocked;
  const from = parent.group[0]?.signal ?? parent.signal;
  if (!from) return;
  const s = signalOf(child);
  for (let i = 0; i <= NSIG; i++) s.action[i] = { ...from.action[i]! };
  s.caught = [...from.caught];
}

/** A new thread (clone with CLONE_THREAD) starts with its creator's blocked mask. */
export function copy_thread_sigmask(creator: TaskStruct, ts: TaskStruct): void {
  ts.sigBlocked = creator.sigBlocked;
}

/** flush_signal_handlers at execve: handled signals go back to their default (ignored ones stay ignored); the new image's counters start at 0. */
export function flush_signal_handlers(ts: TaskStruct): void {
  const s = signalOf(ts);
  for (let i = 1; i <= NSIG; i++) {
    const a = s.action[i]!;
    if (a.handler !== SIG_IGN) a.handler = SIG_DFL;
    a.flags = 0;
    a.mask = 0n;
  }
  s.caught.fill(0);
}

function sig_kernel_ignore(sig: number): boolean {
  return sig === SIGCHLD || sig === SIGCONT || sig === SIGURG || sig === SIGWINCH;
}

function sig_kernel_stop(sig: number): boolean {
  return sig === SIGSTOP || sig === SIGTSTP || sig === SIGTTIN || sig === SIGTTOU;
}

function sig_handler_ignored(s: SignalState, sig: number): boolean {
  const h = s.action[sig]!.handler;
  return h === SIG_IGN || (h === SIG_DFL && sig_kernel_ignore(sig));
}

/** sig_fatal(): the default action ends the process. */
function sig_fatal(s: SignalState, sig: number): boolean {
  return s.action[sig]!.handler === SIG_DFL && !sig_kernel_ignore(sig) && !sig_kernel_stop(sig);
}

/** signal_pending(): a signal (or a fatal SIGKILL) waits to be delivered to the thread. */
export function signal_pending(ts: TaskStruct): boolean {
  return ts.sigFlag || ts.sigkillPending;
}

/** recalc_sigpending(): the flag from what is pending and not blocked. */
export function recalc_sigpending(ts: TaskStruct): void {
  const s = signalOf(ts);
  ts.sigFlag = ((ts.sigPending | s.shared) & ~ts.sigBlocked) !== 0n;
}

// --- sleeping interruptibly ---------------------------------------------------------

/** An interruptible sleep in progress: what a signal or the timeout takes the thread off. */
export class SigSleep {
  interrupted = false;
  timedOut = false;
  constructor(
    readonly wq: WaitQueue,
    /** TASK_KILLABLE: only a fatal signal ends it. */
    readonly killable: boolean,
  ) {}
}

/** What a sleep ended by. */
export const WOKEN = 0;
export const INTERRUPTED = 1;
export const TIMED_OUT = 2;

/**
 * One schedule() of an interruptible sleep on `wq` (a private queue when
 * null: a pure timed sleep), until woken, a signal, or simulated time
 * `deadline` (-1: none). The caller re-checks its condition first and
 * signal_pending second, as ___wait_event does.
 */
export function* sleep_interruptible(t: Task, wq: WaitQueue | null, deadline = -1, killable = false): Blocking<number> {
  const ts = current(t);
  const s = new SigSleep(wq ?? new WaitQueue(t.k.engine), killable);
  if (killable ? ts.sigkillPending : signal_pending(ts)) return INTERRUPTED;
  ts.sigSleep = s;
  if (deadline >= 0) {
    const e = t.k.engine;
    e.at(Math.max(deadline, t.now), (time) => {
      if (ts.sigSleep !== s) return;
      s.wq.remove(t);
      s.timedOut = true;
      ts.sigSleep = null;
      e.wakeTask(t, time);
    });
  }
  yield t.sleepOn(s.wq);
  if (ts.sigSleep === s) ts.sigSleep = null;
  return s.interrupted ? INTERRUPTED : s.timedOut ? TIMED_OUT : WOKEN;
}

/** wait_event_interruptible(): sleeps on `wq` until `cond` holds (0) or a signal is pending (-ERESTARTSYS). */
export function* wait_event_interruptible(t: Task, wq: WaitQueue, cond: () => boolean): Blocking<number> {
  const ts = current(t);
  while (!cond()) {
    if (signal_pending(ts)) return -ERESTARTSYS;
    yield* sleep_interruptible(t, wq);
  }
  return 0;
}

/** signal_wake_up(): the thread has a signal to take; a sleep it may leave ends. */
function signal_wake_up(ts: TaskStruct, fatal: boolean, time: number): void {
  ts.sigFlag = true;
  const s = ts.sigSleep;
  if (!s || (s.killable && !fatal)) return;
  const task = ts.task;
  s.wq.remove(task);
  s.interrupted = true;
  ts.sigSleep = null;
  task.engine.wakeTask(task, Math.max(time, 0));
}

/** zap_other_threads()'s part for one thread: SIGKILL pending, and woken from an interruptible or killable sleep. */
export function zap_thread(th: TaskStruct, time: number): void {
  th.sigkillPending = true;
  signal_wake_up(th, true, time);
}

/** exit_itimers() at the group's last exit: an armed ITIMER_REAL never fires. */
export function exit_itimers(ts: TaskStruct): void {
  const leader = ts.group[0] ?? ts;
  if (!leader.signal) return;
  if (ts.group.some((th) => th !== ts && threadAlive(th))) return;
  leader.signal.realTimerGen++;
  leader.signal.realTimerArmed = false;
}

// --- generation ---------------------------------------------------------------------

function threadAlive(ts: TaskStruct): boolean {
  return ts.task !== undefined && ts.task.state !== TaskState.Done && ts.exitSignal === null;
}

/** wants_signal(): not blocked, alive, and (running, or with nothing pending yet). */
function wants_signal(sig: number, ts: TaskStruct): boolean {
  if (ts.sigBlocked & sigbit(sig)) return false;
  if (!threadAlive(ts)) return false;
  if (sig === SIGKILL) return true;
  return ts.task.state === TaskState.Running || !ts.sigFlag;
}

/**
 * send_signal_locked(): `sig` to thread `ts` (group false) or to its
 * process (group true), at simulated time `time`.
 */
export function send_signal(ts: TaskStruct, sig: number, group: boolean, time: number): void {
  const s = signalOf(ts);
  // prepare_signal(): an ignored signal is dropped at once (a blocked one stays: the handler may change before it is unblocked).
  if (!(ts.sigBlocked & sigbit(sig)) && sig_handler_ignored(s, sig)) return;
  const bit = sigbit(sig);
  // legacy_queue(): a standard signal already pending is not queued again.
  if (group) {
    if (s.shared & bit) return;
    s.shared |= bit;
  } else {
    if (ts.sigPending & bit) return;
    ts.sigPending |= bit;
  }
  complete_signal(ts, sig, group, time);
}

/** complete_signal(): the thread that takes the signal; a fatal one ends the group at once. */
function complete_signal(p: TaskStruct, sig: number, group: boolean, time: number): void {
  let t: TaskStruct | null = null;
  if (wants_signal(sig, p)) t = p;
  else if (!group || p.group.length <= 1) return;
  else {
    for (const th of p.group) {
      if (th !== p && wants_signal(sig, th)) {
        t = th;
        break;
      }
    }
    if (!t) return;
  }
  const s = signalOf(p);
  if (sig_fatal(s, sig) && !(t.sigBlocked & sigbit(sig))) {
    // The whole group dies: SIGKILL to every thread (the exit status keeps `sig`).
    const name = signal_name(sig);
    for (const th of p.group) {
      if (th.exitSignal === null) th.exitSignal = name;
      th.sigkillPending = true;
      signal_wake_up(th, true, time);
    }
    return;
  }
  signal_wake_up(t, sig === SIGKILL, time);
}

/** A process-directed signal to the process `ts` belongs to (kill_pid_info with PIDTYPE_TGID). */
export function send_group_signal(ts: TaskStruct, sig: number, time: number): void {
  send_signal(ts.group[0] ?? ts, sig, true, time);
}

// --- delivery -----------------------------------------------------------------------

/** next_signal(): the lowest pending signal not blocked (synchronous ones are not generated here). */
function next_signal(pending: bigint, blocked: bigint): number {
  const x = pending & ~blocked;
  if (x === 0n) return 0;
  for (let sig = 1; sig <= NSIG; sig++) if (x & sigbit(sig)) return sig;
  return 0;
}

/** dequeue_signal(): the thread's private signals first, then the process's. */
function dequeue_signal(ts: TaskStruct): number {
  const s = signalOf(ts);
  let sig = next_signal(ts.sigPending, ts.sigBlocked);
  if (sig) ts.sigPending &= ~sigbit(sig);
  else {
    sig = next_signal(s.shared, ts.sigBlocked);
    if (sig) s.shared &= ~sigbit(sig);
  }
  recalc_sigpending(ts);
  return sig;
}

/** A handler to run, or none; `ended` when a signal's default action ended the process. */
interface Ksignal {
  sig: number;
  ended: boolean;
}

/** get_signal(): dequeue until a signal with a handler (ignored ones are dropped, a fatal default ends the group). */
function get_signal(t: Task, out: Ksignal): boolean {
  const ts = current(t);
  const s = signalOf(ts);
  out.sig = 0;
  out.ended = false;
  if (ts.sigkillPending) {
    out.ended = true;
    if (ts.exitSignal === null) ts.exitSignal = 'SIGKILL';
    return false;
  }
  for (;;) {
    const sig = dequeue_signal(ts);
    if (!sig) return false;
    const a = s.action[sig]!;
    if (a.handler === SIG_IGN) continue;
    if (a.handler === SIG_HANDLER) {
      out.sig = sig;
      return true;
    }
    if (sig_kernel_ignore(sig)) continue;
    if (sig_kernel_stop(sig)) throw new Error(`signal ${signal_name(sig)} would stop the process forever; scripts may not send it`);
    // do_group_exit(sig).
    const name = signal_name(sig);
    for (const th of ts.group) {
      if (th.exitSignal === null) th.exitSignal = name;
      if (th !== ts) {
        th.sigkillPending = true;
        signal_wake_up(th, true, t.now);
      }
    }
    out.ended = true;
    return false;
  }
}

/** The interrupted call's result when the return to user mode restarts it. */
export const RESTART = Symbol('restart');

export function is_restart_code(r: number): boolean {
  return r === -ERESTARTSYS || r === -ERESTARTNOINTR || r === -ERESTARTNOHAND || r === -ERESTART_RESTARTBLOCK;
}

/** The handler's run: it counts, and returns through rt_sigreturn (which restores the mask handle_signal widened). */
function* run_handler(t: Task, sig: number): Blocking<number> {
  const ts = current(t);
  const s = signalOf(ts);
  const a = s.action[sig]!;
  s.caught[sig]!++;
  if (a.flags & SA_RESETHAND) {
    a.handler = SIG_DFL;
    a.flags &= ~SA_SIGINFO;
  }
  yield* [];
  return 0;
}

/**
 * arch_do_signal_or_restart() at the return to user mode: delivers every
 * pending signal the thread takes (handlers run one after the other, as
 * exit_to_user_mode_loop comes back for each), and decides what becomes of
 * the call's result `ret` (a -ERESTART* code). Returns the result user
 * space sees, or RESTART.
 */
export function* do_signal(t: Task, ret: number): Blocking<number | typeof RESTART> {
  const ts = current(t);
  let result: number | typeof RESTART = ret;
  let decided = !is_restart_code(ret);
  const k: Ksignal = { sig: 0, ended: false };
  while (signal_pending(ts)) {
    if (!get_signal(t, k)) break;
    if (!decided) {
      decided = true;
      // handle_signal(): the call's restart, given that a handler runs.
      if (ret === -ERESTART_RESTARTBLOCK || ret === -ERESTARTNOHAND) result = -EINTR;
      else if (ret === -ERESTARTSYS) result = signalOf(ts).action[k.sig]!.flags & SA_RESTART ? RESTART : -EINTR;
      else result = RESTART;
    }
    t.enter(CAT_SIGNAL_DELIVER);
    yield* syscall(t, CAT_SIGRETURN, run_handler(t, k.sig));
    t.leave();
  }
  if (k.ended) return -EINTR;
  // No handler ran: every restart code restarts the call (ERESTART_RESTARTBLOCK through restart_syscall).
  if (!decided) result = RESTART;
  return result;
}

// --- the system calls ---------------------------------------------------------------

/** What kill did to the caller: nothing more, or its end by a signal. */
export interface KillResult {
  ended: boolean;
}

function* kill_self(t: Task, sig: number): Blocking<number> {
  if (sig < 0 || sig > NSIG) return -EINVAL;
  if (sig === 0) return 0;
  const ts = current(t);
  if (sig_kernel_stop(sig) && signalOf(ts).action[sig]!.handler === SIG_DFL && !(ts.sigBlocked & sigbit(sig))) {
    throw new Error(`kill: signal ${sig} would stop the process forever; scripts may not send it`);
  }
  yield* [];
  send_group_signal(ts, sig, t.now);
  return 0;
}

/** kill(getpid(), sig); a signal the process takes is delivered as the call returns (do_signal). */
export function* sys_kill_self(t: Task, sig: number, out: KillResult): Blocking<number> {
  const r = yield* syscall(t, 'kill', kill_self(t, sig));
  out.ended = current(t).exitSignal !== null;
  return r;
}

/**
 * rt_sigaction(sig, {handler, flags}, NULL) (do_sigaction): numbers outside
 * 1.._NSIG are EINVAL, and so are SIGKILL and SIGSTOP when there is an
 * action to set; a negative `handler` stands for a NULL act (a query:
 * nothing changes, 0).
 */
function* rt_sigaction(t: Task, sig: number, handler: number, flags: number): Blocking<number> {
  if (sig < 1 || sig > NSIG) return -EINVAL;
  if (handler < 0) {
    yield* [];
    return 0;
  }
  if (sig === SIGKILL || sig === SIGSTOP) return -EINVAL;
  const ts = current(t);
  const s = signalOf(ts);
  s.action[sig] = { handler, flags: flags >>> 0, mask: 0n };
  // do_sigaction(): a signal now ignored is flushed from every pending set of the process.
  if (sig_handler_ignored(s, sig)) {
    const bit = sigbit(sig);
    s.shared &= ~bit;
    for (const th of ts.group) {
      th.sigPending &= ~bit;
      recalc_sigpending(th);
    }
  }
  yield* [];
  return 0;
}

export function sys_rt_sigaction(t: Task, sig: number, handler: number, flags: number): Blocking<number> {
  return syscall(t, 'rt_sigaction', rt_sigaction(t, sig, handler, flags));
}

/** sigprocmask(): SIGKILL and SIGSTOP are never blocked; what it unblocks may be delivered as the call returns. */
export function set_blocked(ts: TaskStruct, how: number, set: bigint): number {
  let m: bigint;
  switch (how) {
    case SIG_BLOCK:
      m = ts.sigBlocked | set;
      break;
    case SIG_UNBLOCK:
      m = ts.sigBlocked & ~set;
      break;
    case SIG_SETMASK:
      m = set;
      break;
    default:
      return -EINVAL;
  }
  ts.sigBlocked = m & ~UNBLOCKABLE & ALL;
  recalc_sigpending(ts);
  return 0;
}

function* rt_sigprocmask(t: Task, how: number, set: bigint): Blocking<number> {
  yield* [];
  return set_blocked(current(t), how, set);
}

export function sys_rt_sigprocmask(t: Task, how: number, set: bigint): Blocking<number> {
  return syscall(t, 'rt_sigprocmask', rt_sigprocmask(t, how, set));
}

/** setitimer(ITIMER_REAL, {0, usec}): SIGALRM to the process at the expiry (0 disarms); a negative or too large value is EINVAL. */
function* setitimer_real(t: Task, usec: number): Blocking<number> {
  if (usec < 0 || !Number.isSafeInteger(usec)) return -EINVAL;
  const ts = current(t);
  const s = signalOf(ts);
  const gen = ++s.realTimerGen;
  s.realTimerArmed = usec > 0;
  if (usec > 0) {
    const k = t.k;
    const leader = ts.group[0] ?? ts;
    k.engine.at(t.now + usec * 1000 * k.cfg.clock_ghz, (time) => {
      if (s.realTimerGen !== gen || !leader.group.some(threadAlive)) return;
      s.realTimerArmed = false;
      send_group_signal(leader, SIGALRM, time);
    });
  }
  yield* [];
  return 0;
}

export function sys_setitimer_real(t: Task, usec: number): Blocking<number> {
  return syscall(t, 'setitimer', setitimer_real(t, usec));
}

/** hrtimer_nanosleep(): sleeps `ns`; a signal ends it with -ERESTART_RESTARTBLOCK (EINTR when a handler runs). */
function* nanosleep(t: Task, ns: number): Blocking<number> {
  if (ns < 0) return -EINVAL;
  const deadline = t.now + ns * t.k.cfg.clock_ghz;
  const ts = current(t);
  while (t.now < deadline) {
    if (signal_pending(ts)) return -ERESTART_RESTARTBLOCK;
    yield* sleep_interruptible(t, null, deadline);
  }
  return 0;
}

export function sys_nanosleep(t: Task, ns: number): Blocking<number> {
  return syscall(t, 'nanosleep', nanosleep(t, ns));
}

/** rt_sigsuspend()'s sleep: with `mask` as the blocked set until a signal is pending. */
function* sigsuspend_sleep(t: Task): Blocking<number> {
  const ts = current(t);
  while (!signal_pending(ts)) yield* sleep_interruptible(t, null);
  return -ERESTARTNOHAND;
}

/**
 * The script's await_signal: until the handler of `sig` has run `count`
 * times, as the host runner does it: block `sig` (rt_sigprocmask), then
 * rt_sigsuspend with the old mask less `sig` (the handler runs as it
 * returns, the old mask back after), then restore the old mask.
 */
export function* await_signal(t: Task, sig: number, count: number): Blocking<number> {
  if (sig < 1 || sig > NSIG) return -EINVAL;
  const ts = current(t);
  const s = signalOf(ts);
  const old = ts.sigBlocked;
  yield* sys_rt_sigprocmask(t, SIG_BLOCK, sigbit(sig));
  while (s.caught[sig]! < count && ts.exitSignal === null) {
    ts.sigBlocked = old & ~sigbit(sig) & ~UNBLOCKABLE;
    recalc_sigpending(ts);
    const r = yield* syscall(t, 'rt_sigsuspend', sigsuspend_sleep(t));
    yield* do_signal(t, r);
    // restore_saved_sigmask(): the mask sigsuspend replaced, after the handlers ran.
    ts.sigBlocked = old | sigbit(sig);
    recalc_sigpending(ts);
  }
  yield* sys_rt_sigprocmask(t, SIG_SETMASK, old);
  return 0;
}

/** The handler's count of `sig` (user memory: no system call). */
export function caught_count(ts: TaskStruct, sig: number): number {
  return signalOf(ts).caught[sig] ?? 0;
}
