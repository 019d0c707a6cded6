/**
 * The simulated kernel: binds the machine (src/hw) and the engine (src/sim)
 * and holds each subsystem's state in a typed field, as Linux holds it in
 * its subsystems' globals. bootKernel's init functions set the fields in
 * start_kernel's order; kernel code reaches them through the running task
 * (`t.k`). Processes are made, forked, exec'd and ended here, calling each
 * subsystem's part in the kernel's order (fork.ts, exit.ts, fs/exec.ts).
 */
import type { SmpCallState } from './smp.js';
import { copy_rlimits } from './sys.js';
import type { MachineConfig } from '../config/machine.js';
import { STORE_L1, STORE_L2 } from '../hw/cache.js';
import { Machine } from '../hw/machine.js';
import { SwapDevice } from '../hw/swapdev.js';
import { Engine, type SpawnOptions } from '../sim/engine.js';
import type { Blocking, Task, TaskBody } from '../sim/task.js';
import { do_exit } from './exit.js';
import { copy_process_parts, init_process_parts } from './fork.js';
import { begin_new_exec } from './fs/exec.js';
import type { Mount, Path } from './fs/dcache.js';
import type { SuperBlock } from './fs/inode.js';
import type { DirfdResolver, OpenFlagsCheck, OpenHandler } from './fs/fd_syscalls.js';
import type { FilesState } from './fs/fdtable.js';
import type { FileTableState } from './fs/file_table.js';
import type { FileLocksState } from './fs/locks.js';
import type { VfsState } from './fs/namespace.js';
import type { InotifyUcounts } from './fs/notify/inotify_user.js';
import type { ProcRegistry } from './fs/proc/generic.js';
import type { LockClass } from './locking/lockstat.js';
import type { MmCore } from './mm/core.js';
import type { Hstate } from './mm/hugetlb.js';
import type { KsmState } from './mm/ksm.js';
import type { KswapdState } from './mm/kswapd.js';
import type { OomState } from './mm/oom_kill.js';
import { Slab } from './mm/slab.js';
import type { Lruvec } from './mm/swap.js';
import type { SwapCache } from './mm/swap_state.js';
import type { SwapInfo } from './mm/swapfile.js';
import type { Pgdat } from './mm/vmscan.js';
import type { KvfreeRcu } from './rcu/kvfree_rcu.js';
import type { Rcu } from './rcu/tree.js';
import type { RcuExp } from './rcu/tree_exp.js';
import { type Cred, TaskStruct } from './sched/task_struct.js';
import { copy_signal_state, copy_thread_sigmask } from './signal.js';
import { MemMap } from './mm/page_alloc.js';

/** The span cost.zero_page is declared for (clear_page of one 4 KiB page). */
const PAGE_STREAM_BYTES = 4096;

export interface ProcessOptions extends SpawnOptions {
  cred?: Partial<Cred>;
}

/** The kernel's fields of a new task (see sched/task_struct.ts), all set so that every task has one shape. */
export function initKernelTask(k: Kernel, t: Task): void { // kernel-convention: exempt (this is what sets t.k)
  (t as { k: Kernel }).k = k;
  t.rcuNesting = 0;
  t.rcuIdx = -1;
  t.rcuBlocksGp = 0;
  t.ctKernelDepth = 0;
  t.stimeCycles = 0;
  t.ctEnteredAt = 0;
}

export class Kernel {
  readonly cfg: MachineConfig;
  readonly machine: Machine;
  /** mem_map: every frame's struct page, and the free lists frames come from. */
  readonly mem_map: MemMap;
  readonly engine: Engine;
  readonly swap: SwapDevice;
  readonly slab = new Slab();

  // Subsystem state, set by the subsystems' init functions (bootKernel runs them all).
  /** RCU (rcu_init). */
  rcu!: Rcu;
  /** kfree_rcu's per-CPU batches, made at the first kfree_rcu. */
  kvfreeRcu?: KvfreeRcu;
  /** Expedited grace periods, made at the first synchronize_rcu_expedited. */
  rcuExp?: RcuExp;
  /** Memory management's core: zero page, address spaces, per-CPU TLB state, reclaim hooks (mm_init). */
  mm!: MmCore;
  /** The hugetlb pool (hugetlb_init; made at first use when vm.nr_hugepages is 0). */
  hugetlb?: Hstate;
  /** swap_info[0] (reclaim_init). */
  swapInfo!: SwapInfo;
  /** The swap cache (reclaim_init). */
  swapCache!: SwapCache;
  /** The node's LRU lists (reclaim_init). */
  lruvec!: Lruvec;
  /** The node's reclaim state (reclaim_init). */
  pgdat!: Pgdat;
  /** kswapd (reclaim_init). */
  kswapd!: KswapdState;
  /** KSM (ksm_init). */
  ksm!: KsmState;
  /** The mount namespace's root and the boot-time directories (vfs_init). */
  vfs!: VfsState;
  /** The OOM killer's log and reaped address spaces, made at its first use. */
  oom?: OomState;
  /** Deferred fd-table frees per CPU, made when the first fd table is freed (it takes kernel memory). */
  files?: FilesState;
  /** /proc's entries, made when /proc is first reached (it takes kernel memory and inode numbers). */
  procRegistry?: ProcRegistry;
  /** The anonymous inode anon_inode files share, made when /proc/PID/fd first follows one (it takes kernel memory). */
  anonInodeFs?: { path: Path };
  /** pipefs (its super block and internal mount), made when a pipe is first reopened through /proc/PID/fd. */
  pipeFs?: { sb: SuperBlock; mnt: Mount };
  /** Cross-CPU calls' call_single_queue and csd lines (smp.ts), made at the first call. */
  smpCall?: SmpCallState;
  /** Record locks' blocked requests and blocked_lock_lock (fs/locks.ts), made at the first lock that waits or wakes. */
  fileLocks?: FileLocksState;
  /** fs.lease-break-time in seconds once written through /proc/sys (locks_lease.ts: kernel.lease_break_time until then). */
  leaseBreakTime?: number;
  /** fs.leases-enable once written through /proc/sys (locks_lease.ts: kernel.leases_enable until then). */
  leasesEnable?: number;
  /** Frames mem= took away from the allocator (memblock). */
  memblockReserved = 0;
  /** File systems' open handlers, asked in registration order. */
  readonly openHandlers: OpenHandler[] = [];
  /** The VFS's path_init for a dirfd (openat), set by register_vfs_open. */
  dirfdResolver?: DirfdResolver;
  /** The VFS's build_open_flags as a check open makes before taking an fd. */
  openFlagsCheck?: OpenFlagsCheck;
  /** Struct file ids and the number open. */
  readonly fileTable: FileTableState = { nextId: 1, live: 0 };
  /** inotify's per-user instance and watch counts. */
  readonly inotifyUcounts = new Map<number, InotifyUcounts>();
  /** fsnotify's rename cookie (one counter for the whole kernel). */
  fsnotifyCookie = 0;
  /** Lock classes by name (lockdep's), so counter names are built once. */
  readonly lockClasses = new Map<string, LockClass>();

  private nextPid = 1;
  private readonly byPid = new Map<number, TaskStruct>();

  constructor(cfg: MachineConfig) {
    this.cfg = cfg;
    this.machine = new Machine(cfg);
    this.machine.mmu.setSampling(cfg.sim.sample, cfg.sim.sample_unit, cfg.sim.sample_warmup);
    this.mem_map = new MemMap(this.machine.mem);
    this.machine.pt.frames = this.mem_map;
    this.engine = new Engine(cfg);
    this.machine.membw?.attachClock(this.engine.clock);
    this.swap = new SwapDevice(cfg);
    // Every task on this kernel's engine, with a task_struct or without, reaches the kernel as t.k.
    this.engine.addHooks({ taskInit: (t) => initKernelTask(this, t) });
  }

  defaultCred(): Cred {
    return { uid: 1000, capSysAdmin: this.cfg.kernel.cap_sys_admin };
  }

  private newTaskStruct(comm: string, kernelThread: boolean, cred: Cred, group?: TaskStruct[], leader?: TaskStruct): TaskStruct {
    const pid = this.nextPid++;
    const tgid = leader ? leader.tgid : pid;
    const limit = leader ? leader.rlimitNofile : { cur: this.cfg.kernel.nofile_soft, max: this.cfg.kernel.nofile_hard };
    const ts = new TaskStruct(pid, tgid, comm, kernelThread, cred, limit, group);
    this.byPid.set(pid, ts);
    return ts;
  }

  findTask(pid: number): TaskStruct | undefined {
    return this.byPid.get(pid);
  }

  /** Tasks in pid order (for /proc and reports). */
  tasks(): TaskStruct[] {
    return [...this.byPid.values()];
  }

  private start(ts: TaskStruct, body: (t: Task) => TaskBody, opts: SpawnOptions): TaskStruct {
    ts.task = this.engine.spawn(ts.comm, body, { ...opts, data: ts, kernelThread: ts.kernelThread });
    ts.startTime = opts.at ?? this.engine.clock[ts.task.cpu]!;
    return ts;
  }

  /** A new process (thread group leader) with a fresh mm and fd table, running `body`. */
  spawnProcess(comm: string, body: (t: Task) => TaskBody, opts: ProcessOptions = {}): TaskStruct {
    const cred = { ...this.defaultCred(), ...opts.cred };
    const ts = this.newTaskStruct(comm, false, cred);
    ts.pgid = ts.sid = ts.pid;
    init_process_parts(this, ts);
    return this.start(ts, body, opts);
  }

  /** Another thread of `leader`'s process: shares its mm and fd table (CLONE_VM | CLONE_FILES). */
  spawnThread(leader: TaskStruct, comm: string, body: (t: Task) => TaskBody, opts: SpawnOptions = {}): TaskStruct {
    const ts = this.newTaskStruct(comm, false, leader.cred, leader.group, leader);
    // CLONE_THREAD: the process's parent, group and session.
    ts.parent = leader.parent;
    ts.pgid = leader.pgid;
    ts.sid = leader.sid;
    ts.forkNoExec = leader.forkNoExec;
    ts.mm = leader.mm;
    ts.activeMm = leader.mm;
    ts.files = leader.files;
    ts.rlimitNofile = leader.rlimitNofile;
    copy_thread_sigmask(leader, ts);
    return this.start(ts, body, opts);
  }

  /** A kernel thread (kswapd, ksmd, an RCU worker): no mm of its own; it borrows the last one (lazy TLB). */
  spawnKernelThread(comm: string, body: (t: Task) => TaskBody, opts: SpawnOptions = {}): TaskStruct {
    const ts = this.newTaskStruct(comm, true, { uid: 0, capSysAdmin: true });
    return this.start(ts, body, opts);
  }

  /**
   * fork(): a child process copying the parent's parts in copy_process's
   * order (copy-on-write mm, duplicated fd table, its own fs_struct). Returns
   * the child, or a negative errno if a copy failed (the partial child is released).
   */
  *fork(t: Task, parent: TaskStruct, body: (t: Task) => TaskBody, opts: SpawnOptions = {}): Blocking<TaskStruct | number> {
    const child = this.newTaskStruct(parent.comm, false, { ...parent.cred }, undefined);
    // copy_signal: the resource limits.
    child.rlimitNofile = { ...parent.rlimitNofile };
    copy_rlimits(this, parent, child);
    if (parent.rlimitMemlock) child.rlimitMemlock = { ...parent.rlimitMemlock };
    child.umask = parent.umask;
    copy_signal_state(parent, child);
    // copy_process(): the parent is the forking process, group and session are inherited, PF_FORKNOEXEC set.
    child.parent = parent.group[0] ?? parent;
    child.pgid = parent.pgid;
    child.sid = parent.sid;
    child.forkNoExec = true;
    const r = yield* copy_process_parts(t, parent, child);
    if (r < 0) {
      this.byPid.delete(child.pid);
      return r;
    }
    return this.start(child, body, { cpu: opts.cpu ?? t.cpu, ...opts });
  }

  /** do_exit(): release what a task holds when it ends (called by the task itself, at its end). */
  *exit(t: Task, ts: TaskStruct): Blocking<void> {
    yield* do_exit(t, ts);
  }

  /** execve's begin_new_exec: a fresh mm, close-on-exec fds closed, the name from `filename`'s last component. */
  *exec(t: Task, ts: TaskStruct, filename?: string): Blocking<void> {
    yield* begin_new_exec(t, ts, filename);
  }

  /** A kernel access to a kernel object's memory, timed by the caches and charged to the task. */
  touch(t: Task, kaddr: number, write: boolean): void {
    t.charge(this.machine.caches.access(t.cpu, kaddr, write));
  }

  /** Kernel accesses to every cache line of [kaddr, kaddr + bytes): a memcpy or a table scan. */
  touchRange(t: Task, kaddr: number, bytes: number, write: boolean): void {
    const line = this.machine.caches.lineBytes;
    const caches = this.machine.caches;
    let cycles = 0;
    for (let a = kaddr - (kaddr % line); a < kaddr + bytes; a += line) cycles += caches.access(t.cpu, a, write);
    t.charge(cycles);
  }

  /**
   * A memcpy/memset half over [kaddr, kaddr + bytes): every line goes
   * through the caches (their state changes as for touchRange), but a
   * string copy streams: after the first line's latency the hardware
   * prefetcher and write-combining overlap the misses, so the rest move at
   * the streaming rate clear_page is measured at (cost.zero_page per 4 KiB,
   * each way; copy_page is the same rate read plus written). Charged: the
   * cheaper of that and the lines one at a time (a copy of cached lines
   * costs what its hits cost), plus the wait at the DRAM channels for the
   * bytes its misses bring when all CPUs' traffic fills them (membw.ts).
   */
  streamRange(t: Task, kaddr: number, bytes: number, write: boolean): void {
    if (bytes <= 0) return;
    const caches = this.machine.caches;
    const line = caches.lineBytes;
    let serial = 0;
    let first = -1;
    let lines = 0;
    // The lines' fills from DRAM are gathered and queued as one transfer (membw.ts).
    this.machine.membw?.beginStream(t.cpu);
    for (let a = kaddr - (kaddr % line); a < kaddr + bytes; a += line) {
      const c = caches.access(t.cpu, a, write);
      if (first < 0) first = c;
      serial += c;
      lines++;
    }
    const streamed = first + Math.ceil(((lines - 1) * line * this.cfg.cost.zero_page) / PAGE_STREAM_BYTES);
    const cycles = Math.min(serial, streamed);
    const bw = this.machine.membw;
    t.charge(bw === null ? cycles : cycles + bw.transfer(t.now, bw.endStream(t.cpu), cycles));
  }

  /**
   * The cycles t's CPU takes to clear [paddr, paddr + bytes) with string
   * stores (clear_page: clear_page_erms's rep stosb, or rep stosq), leaving
   * every line Modified in its L1 (the stores allocate: a page just cleared
   * is in cache for the touch that follows) and other CPUs' copies dropped.
   * Each line costs what the level that held it delivers: cost.store_l1_line
   * from L1D, cost.store_l2_line from L2 (store throughput, not load-to-use
   * latency: a string store does not wait for one line before the next); a
   * line from the LLC, another CPU's cache or DRAM at the streaming rate
   * clear_page is measured at (cost.zero_page a 4 KiB), so a page no cache
   * holds costs cost.zero_page as before, plus the wait at the DRAM
   * channels for the bytes of its lines that came from DRAM (membw.ts).
   * The page allocator's per-CPU lists hand back the page freed last
   * (LIFO), whose lines the freeing CPU often still holds.
   */
  clearRange(t: Task, paddr: number, bytes: number): number {
    if (bytes <= 0) return 0;
    const caches = this.machine.caches;
    const line = caches.lineBytes;
    const cost = this.cfg.cost;
    const cpu = t.cpu;
    const bw = this.machine.membw;
    bw?.beginStream(cpu);
    let l1 = 0;
    let l2 = 0;
    let far = 0;
    const first = Math.floor(paddr / line);
    const end = Math.ceil((paddr + bytes) / line);
    for (let ln = first; ln < end; ln++) {
      const at = caches.storeLine(cpu, ln);
      if (at === STORE_L1) l1++;
      else if (at === STORE_L2) l2++;
      else far++;
    }
    const cycles = l1 * cost.store_l1_line + l2 * cost.store_l2_line + Math.ceil((far * line * cost.zero_page) / PAGE_STREAM_BYTES);
    return bw === null ? cycles : cycles + bw.transfer(t.now, bw.endStream(cpu), cycles);
  }

  /**
   * `bytes` moved to or from DRAM by t's CPU in a copy or clear that takes
   * `cycles` alone (clear_page, copy_page): the extra cycles it waits for
   * the DRAM channels when all CPUs' traffic exceeds them (membw.ts); 0
   * without a bandwidth limit.
   */
  dramStream(t: Task, bytes: number, cycles: number): number {
    const bw = this.machine.membw;
    return bw === null ? 0 : bw.transfer(t.now, bytes, cycles);
  }

  run(until?: number): number {
    return this.engine.run(until);
  }
}
