/**
 * task_struct: what the kernel knows of a simulated thread. A process is a
 * thread group sharing one mm_struct and one files_struct; each thread is a
 * sim Task whose `data` is its TaskStruct.
 */
import type { Task } from '../../sim/task.js';
import type { FilesStruct } from '../fs/file.js';
import type { FsStruct } from '../fs/fs_struct.js';
import type { Kernel } from '../kernel.js';
import type { MmStruct } from '../mm/mm_types.js';

/**
 * What the kernel keeps on each simulated thread itself: the kernel it runs
 * in (kernel code reaches its subsystems through `t.k`, as Linux's code
 * reaches its globals and `current` without passing them) and the per-thread
 * counters that the hot paths read on every entry (Linux keeps them in
 * task_struct and thread_info). Kernel.taskInit sets every field when the
 * engine creates a task, so all tasks share one shape.
 */
declare module '../../sim/task.js' {
  interface Task {
    readonly k: Kernel;
    /** rcu_read_lock_nesting. */
    rcuNesting: number;
    /** The reader's slot in the RCU's list of readers (while rcuNesting > 0). */
    rcuIdx: number;
    /** The grace period this reader holds up, or 0. */
    rcuBlocksGp: number;
    /** context_tracking: kernel entries (syscalls, exceptions) not yet returned from; 0 in user mode. */
    ctKernelDepth: number;
    /** Cycles of cpuTime charged in kernel mode (between ct_user_exit and ct_user_enter): stime; the rest of a user task's cpuTime is utime. */
    stimeCycles: number;
    /** cpuTime when the task last left user mode. */
    ctEnteredAt: number;
  }
}

export interface Cred {
  uid: number;
  /** CAP_SYS_ADMIN in the effective set (MADV_HWPOISON, MADV_SOFT_OFFLINE need it). */
  capSysAdmin: boolean;
  /** CAP_IPC_LOCK: mlock beyond RLIMIT_MEMLOCK (default: as capSysAdmin, root holding both). */
  capIpcLock?: boolean;
  /** CAP_SYS_RAWIO: map below vm.mmap_min_addr (default: as capSysAdmin). */
  capSysRawio?: boolean;
  /** CAP_SYS_NICE: process_madvise on another process (default: as capSysAdmin). */
  capSysNice?: boolean;
}

/** TASK_COMM_LEN: a task's name holds 15 bytes and its NUL. */
export const TASK_COMM_LEN = 16;

export interface Rlimit {
  cur: number;
  max: number;
}

export class TaskStruct {
  /** The mm whose page tables are loaded when this task runs; null for kernel threads. */
  mm: MmStruct | null = null;
  /** For a kernel thread, the mm it borrowed (lazy TLB); for a user task, equal to mm. */
  activeMm: MmStruct | null = null;
  files: FilesStruct | null = null;
  /** Root and working directory; a thread's is null and it uses its leader's (fs_of). */
  fs: FsStruct | null = null;
  cred: Cred;
  rlimitNofile: Rlimit;
  /** RLIMIT_MEMLOCK in bytes (process-wide: threads read their leader's); unset means the config's default. */
  rlimitMemlock?: Rlimit;
  umask = 0o022;
  /** Signal that ended the task, if any ('SIGSEGV', 'SIGBUS'). */
  exitSignal: string | null = null;
  exitCode = 0;
  /** The sim task running this thread (set once spawned). */
  task!: Task;
  /** Other threads of the same process, leader first. */
  group: TaskStruct[];
  /** signal->rlim, every resource's limits (sys.ts: task_rlimits), made at first use; threads read their leader's. */
  rlim?: Rlimit[];
  /** A SIGKILL is pending (fatal_signal_pending): set on every thread of a process the OOM killer picked. */
  sigkillPending = false;
  /** The process's signal handlers, shared pending set and timer (signal.ts: signalOf reads the leader's). */
  signal: import('../signal.js').SignalState | null = null;
  /** This thread's blocked mask (bit sig - 1) and private pending set. */
  sigBlocked = 0n;
  sigPending = 0n;
  /** TIF_SIGPENDING: a signal may be deliverable to this thread (set by signal_wake_up, recomputed by recalc_sigpending). */
  sigFlag = false;
  /** The interruptible (or killable) sleep a signal would end, while the thread is in one. */
  sigSleep: import('../signal.js').SigSleep | null = null;
  /** min_flt, maj_flt: faults this thread resolved (mm_account_fault; GUP's included). */
  minFlt = 0;
  majFlt = 0;
  /** start_boottime: the simulated cycle the task was started at. */
  startTime = 0;
  /** real_parent: the process that forked this one (a thread's is its leader's); null for a process the machine started. */
  parent: TaskStruct | null = null;
  /** Process group and session ids (a process the machine started leads its own; fork copies its parent's). */
  pgid = 0;
  sid = 0;
  /** PF_FORKNOEXEC: made by fork and not yet execve'd. */
  forkNoExec = false;
  /**
   * signal_struct's totals of reaped children (wait_task_zombie): cmin_flt,
   * cmaj_flt and cutime/cstime in cycles; kept on the thread group leader.
   */
  cMinFlt = 0;
  cMajFlt = 0;
  cUtime = 0;
  cStime = 0;

  constructor(
    readonly pid: number,
    readonly tgid: number,
    public comm: string,
    readonly kernelThread: boolean,
    cred: Cred,
    rlimitNofile: Rlimit,
    group?: TaskStruct[],
  ) {
    this.cred = cred;
    this.rlimitNofile = rlimitNofile;
    this.group = group ?? [];
    this.group.push(this);
  }

  get isGroupLeader(): boolean {
    return this.pid === this.tgid;
  }
}

/** The TaskStruct of the running sim task (the kernel's `current`). */
export function current(t: Task): TaskStruct {
  return t.data as TaskStruct;
}
