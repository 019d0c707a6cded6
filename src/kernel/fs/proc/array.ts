/**
 * /proc/PID/stat, /proc/PID/task/TID/stat and /proc/PID/statm, after
 * fs/proc/array.c (do_task_stat, proc_pid_statm) and task_mmu.c (task_statm).
 *
 * stat is one line of 52 fields. What the model has it prints from its own
 * state: the pid, comm, state (R while running or runnable, S asleep), the
 * parent's tgid, process group and session, PF_FORKNOEXEC (and PF_KTHREAD),
 * the fault counts mm_account_fault keeps per thread (the process's line adds
 * every thread's, and cmin_flt/cmaj_flt what reaped children had), utime and
 * stime from the simulated cycles each thread was charged in user and in
 * kernel mode (context tracking), in clock ticks (USER_HZ 100), the children's
 * times, priority 20 and nice 0 (SCHED_OTHER), the live threads, the start
 * time in ticks since boot, vsize (total_vm pages in bytes), rss (file, anon
 * and shmem pages), RLIMIT_RSS, the wchan flag (1 when the task is not
 * running), exit_signal (SIGCHLD for a process, -1 for a thread), the CPU,
 * the thread's pending and blocked signals and the process's ignored and
 * caught ones (the first 31), and start_brk. Zero where the model has
 * nothing to show: tty and the program image's
 * addresses (no ELF image is loaded: start_code, end_code, start_stack,
 * start_data, end_data and the argument and environment bounds are 0).
 *
 * statm: total_vm, resident (anon + file + shmem), shared (file + shmem),
 * text (end_code - start_code: 0 here), 0, data (data_vm + stack_vm), 0.
 */
import type { Task } from '../../../sim/task.js';
import { TaskState } from '../../../sim/task.js';
import { ESRCH } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, PAGE_SIZE, type MmStruct } from '../../mm/mm_types.js';
import { current, TASK_COMM_LEN, type TaskStruct } from '../../sched/task_struct.js';
import { RLIMIT_RSS, task_rlimits } from '../../sys.js';
import { SIG_DFL, SIG_IGN } from '../../signal.js';
import type { SeqBuf, ShowFn } from '../seq_file.js';

/** PF_FORKNOEXEC, PF_KTHREAD (include/linux/sched.h). */
export const PF_FORKNOEXEC = 0x00000040;
export const PF_KTHREAD = 0x00200000;
/** SIGCHLD: a process's exit_signal. */
const SIGCHLD = 17;
/** USER_HZ: the unit of clock_t in /proc. */
export const USER_HZ = 100;
/** RLIM_INFINITY as an unsigned long. */
const RLIM_INFINITY = '18446744073709551615';

/** The task behind a /proc/PID file while it has not been reaped (get_pid_task), else null. */
export function proc_task(k: Kernel, pid: number): TaskStruct | null {
  const ts = k.findTask(pid);
  if (!ts || (ts.task && ts.task.state === TaskState.Done)) return null;
  return ts;
}

/** proc_task_name(): comm as the task holds it (at most TASK_COMM_LEN - 1 bytes). */
export function task_comm(ts: TaskStruct): string {
  return ts.comm.slice(0, TASK_COMM_LEN - 1);
}

/** nsec_to_clock_t() of a span of simulated cycles. */
export function cycles_to_clock_t(k: Kernel, cycles: number): number {
  const ns = cycles / k.cfg.clock_ghz;
  return Math.floor(ns / (1e9 / USER_HZ));
}

/** A thread's user and system cycles: cpuTime split at its kernel entries; a kernel thread's are all system. */
export function task_cputime(ts: TaskStruct): { utime: number; stime: number } {
  const t = ts.task;
  if (!t) return { utime: 0, stime: 0 };
  if (ts.kernelThread) return { utime: 0, stime: t.cpuTime };
  // A span in the kernel not yet ended counts as system time so far.
  const open = t.ctKernelDepth > 0 ? t.cpuTime - t.ctEnteredAt : 0;
  const stime = t.stimeCycles + open;
  return { utime: t.cpuTime - stime, stime };
}

/** The process's totals over every thread it has had (live threads and the exited ones signal_struct kept). */
export function group_totals(ts: TaskStruct): { minFlt: number; majFlt: number; utime: number; stime: number } {
  const r = { minFlt: 0, majFlt: 0, utime: 0, stime: 0 };
  for (const th of ts.group.length > 0 ? ts.group : [ts]) {
    r.minFlt += th.minFlt;
    r.majFlt += th.majFlt;
    const c = task_cputime(th);
    r.utime += c.utime;
    r.stime += c.stime;
  }
  return r;
}

/** get_task_state(): R running or runnable, S sleeping (interruptibly: a wait here ends on an event). */
export function task_state_char(ts: TaskStruct): string {
  const s = ts.task?.state;
  return s === TaskState.Sleeping ? 'S' : 'R';
}

/** get_nr_threads(): the process's live threads. */
export function nr_threads(ts: TaskStruct): number {
  const g = ts.group.length > 0 ? ts.group : [ts];
  return g.filter((x) => !x.task || x.task.state !== TaskState.Done).length;
}

/** task->flags as stat prints them: PF_KTHREAD for a kernel thread, PF_FORKNOEXEC until the process execs. */
function task_flags(ts: TaskStruct): number {
  return (ts.kernelThread ? PF_KTHREAD : 0) | (ts.forkNoExec ? PF_FORKNOEXEC : 0);
}

/** get_mm_rss(). */
export function get_mm_rss(mm: MmStruct): number {
  return mm.rss[MM_ANONPAGES]! + mm.rss[MM_FILEPAGES]! + mm.rss[MM_SHMEMPAGES]!;
}

function rlim_cur(k: Kernel, ts: TaskStruct, resource: number): string {
  const cur = task_rlimits(k, ts)[resource]!.cur;
  return cur === Infinity ? RLIM_INFINITY : String(cur);
}

/** do_task_stat(): `whole` for /proc/PID/stat (the process's totals), not for a thread's own. */
export function stat_show(pid: number, whole: boolean): ShowFn {
  return (t: Task, m: SeqBuf) => {
    const k = t.k;
    const ts = proc_task(k, pid);
    if (!ts) return -ESRCH;
    const leader = ts.group[0] ?? ts;
    const mm = ts.mm;
    if (mm) k.touch(t, mm.kaddr, false);
    const threads = nr_threads(ts);
    let minFlt: number, majFlt: number, utime: number, stime: number;
    if (whole) {
      const g = group_totals(ts);
      ({ minFlt, majFlt, utime, stime } = g);
      t.charge(threads * k.cfg.kernel.cost.kernel_op);
    } else {
      const c = task_cputime(ts);
      ({ utime, stime } = c);
      minFlt = ts.minFlt;
      majFlt = ts.majFlt;
    }
    const running = ts.task ? ts.task.state !== TaskState.Sleeping : true;
    const wchan = !whole || threads < 2 ? (running ? 0 : 1) : 0;
    const vsize = mm ? mm.totalVm * PAGE_SIZE : 0;
    const rss = mm ? get_mm_rss(mm) : 0;
    const startTicks = cycles_to_clock_t(k, ts.startTime);
    const sigs = collect_sigign_sigcatch(ts);
    const f: (string | number)[] = [
      task_state_char(ts),
      ts.parent ? ts.parent.tgid : 0,
      ts.pgid,
      ts.sid,
      0, // tty_nr
      -1, // tpgid
      task_flags(ts),
      minFlt,
      leader.cMinFlt,
      majFlt,
      leader.cMajFlt,
      cycles_to_clock_t(k, utime),
      cycles_to_clock_t(k, stime),
      cycles_to_clock_t(k, leader.cUtime),
      cycles_to_clock_t(k, leader.cStime),
      20, // priority: task_prio() of SCHED_OTHER at nice 0
      0, // nice
      threads,
      0, // itrealvalue
      startTicks,
      vsize,
      rss,
      rlim_cur(k, ts, RLIMIT_RSS),
      0, // start_code
      0, // end_code
      0, // start_stack
      0, // kstkesp
      0, // kstkeip
      sigword(ts.sigPending),
      sigword(ts.sigBlocked),
      sigword(sigs.ign),
      sigword(sigs.catch_),
      wchan,
      0,
      0,
      ts.isGroupLeader ? SIGCHLD : -1,
      ts.task ? ts.task.cpu : 0,
      0, // rt_priority
      0, // policy
      0, // delayacct_blkio_ticks
      0, // guest_time
      0, // cguest_time
      0, // start_data
      0, // end_data
      mm ? mm.startBrk : 0,
      0, // arg_start
      0, // arg_end
      0, // env_start
      0, // env_end
      ts.exitCode,
    ];
    m.latin1 = true;
    m.line(`${ts.pid} (${task_comm(ts)}) ${f.join(' ')}`);
    return undefined;
  };
}

/** collect_sigign_sigcatch(): the signals the process ignores and those it has handlers for (bit sig - 1). */
function collect_sigign_sigcatch(ts: TaskStruct): { ign: bigint; catch_: bigint } {
  const r = { ign: 0n, catch_: 0n };
  const sig = (ts.group[0] ?? ts).signal;
  if (!sig) return r;
  for (let s = 1; s < sig.action.length; s++) {
    const h = sig.action[s]!.handler;
    if (h === SIG_IGN) r.ign |= 1n << BigInt(s - 1);
    else if (h !== SIG_DFL) r.catch_ |= 1n << BigInt(s - 1);
  }
  return r;
}

/** The obsolete signal fields: sig[0] & 0x7fffffff. */
function sigword(set: bigint): number {
  return Number(set & 0x7fffffffn);
}

/** task_statm(): total_vm, and through the out-parameters shared, text, data and resident pages. */
export function task_statm(mm: MmStruct): { size: number; resident: number; shared: number; text: number; data: number } {
  const shared = mm.rss[MM_FILEPAGES]! + mm.rss[MM_SHMEMPAGES]!;
  return { size: mm.totalVm, resident: shared + mm.rss[MM_ANONPAGES]!, shared, text: 0, data: mm.dataVm + mm.stackVm };
}

/** proc_pid_statm(). */
export function statm_show(pid: number): ShowFn {
  return (t: Task, m: SeqBuf) => {
    const k = t.k;
    const ts = proc_task(k, pid);
    if (!ts) return -ESRCH;
    const mm = ts.mm;
    if (!mm) {
      m.line('0 0 0 0 0 0 0');
      return undefined;
    }
    k.touch(t, mm.kaddr, false);
    const s = task_statm(mm);
    m.line(`${s.size} ${s.resident} ${s.shared} ${s.text} 0 ${s.data} 0`);
    return undefined;
  };
}

/** The caller's own thread group: whether `ts` is of it (same_thread_group). */
export function same_thread_group(t: Task, ts: TaskStruct): boolean {
  return current(t).tgid === ts.tgid;
}
