/**
 * kill(2) of the calling process, after kernel/signal.c: signal 0 checks
 * only; a number past _NSIG is EINVAL; otherwise the signal's default
 * action (sig_kernel_ignore, sig_kernel_stop, or termination) applies, as
 * the process installs no handlers. A terminating signal ends the process
 * when the call returns: the caller sees `ended` and stops.
 */
import type { Blocking, Task } from '../sim/task.js';
import { EINVAL } from './errno.js';
import { current } from './sched/task_struct.js';
import { syscall } from './syscalls.js';

const NSIG = 64;
const SIGCHLD = 17;
const SIGCONT = 18;
const SIGSTOP = 19;
const SIGTSTP = 20;
const SIGTTIN = 21;
const SIGTTOU = 22;
const SIGURG = 23;
const SIGWINCH = 28;

/** x86-64 signal names, as the host's sigabbrev_np prints them with "SIG". */
const NAMES = [
  '', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1', 'SIGSEGV', 'SIGUSR2',
  'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG',
  'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS',
];

export function signal_name(sig: number): string {
  return NAMES[sig] ?? `SIG${sig}`;
}

/** What kill did to the caller: nothing more, or its end by `sig`. */
export interface KillResult {
  ended: boolean;
}

function* kill_self(t: Task, sig: number, out: KillResult): Blocking<number> {
  if (sig < 0 || sig > NSIG) return -EINVAL;
  if (sig === 0) return 0;
  if (sig === SIGCHLD || sig === SIGCONT || sig === SIGURG || sig === SIGWINCH) return 0;
  if (sig === SIGSTOP || sig === SIGTSTP || sig === SIGTTIN || sig === SIGTTOU) {
    throw new Error(`kill: signal ${sig} would stop the process forever; scripts may not send it`);
  }
  current(t).exitSignal = signal_name(sig);
  out.ended = true;
  return 0;
}

/** kill(getpid(), sig). */
export function sys_kill_self(t: Task, sig: number, out: KillResult): Blocking<number> {
  return syscall(t, 'kill', kill_self(t, sig, out));
}
