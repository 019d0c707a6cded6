/**
 * The simulated kernel: binds the machine (src/hw) and the engine (src/sim)
 * and holds the subsystems. Subsystems attach through the hook lists below
 * (process creation, fork, exit, exec), so each keeps its own state in its
 * own module, the way the kernel's subsystems hang off task_struct.
 */
import { copy_rlimits } from './sys.js';
import type { MachineConfig } from '../config/machine.js';
import { Machine } from '../hw/machine.js';
import { SwapDevice } from '../hw/swapdev.js';
import { Engine, type SpawnOptions } from '../sim/engine.js';
import type { Blocking, Task, TaskBody } from '../sim/task.js';
import { Slab } from './mm/slab.js';
import { type Cred, TaskStruct } from './sched/task_struct.js';
import { MemMap } from './mm/page_alloc.js';

/** Sets up a subsystem's part of a brand-new process (an empty mm, an fd table with 0-2 open). */
export type ProcessInitHook = (k: Kernel, leader: TaskStruct) => void;
/** Copies a subsystem's part of `parent` into `child` during fork (copy_mm, dup_fd); returns 0 or -errno. */
export type ForkHook = (t: Task, parent: TaskStruct, child: TaskStruct) => Blocking<number>;
/** Releases a subsystem's part of an exiting task (exit_mm, exit_files). */
export type ExitHook = (t: Task, ts: TaskStruct) => Blocking<void>;
/** Applies execve's effect (close-on-exec, a fresh mm). */
export type ExecHook = (t: Task, ts: TaskStruct) => Blocking<void>;

export interface ProcessOptions extends SpawnOptions {
  cred?: Partial<Cred>;
}

export class Kernel {
  readonly cfg: MachineConfig;
  readonly machine: Machine;
  /** mem_map: every frame's struct page, and the free lists frames come from. */
  readonly mem_map: MemMap;
  readonly engine: Engine;
  readonly swap: SwapDevice;
  readonly slab = new Slab();
  readonly processInit: ProcessInitHook[] = [];
  readonly forkHooks: ForkHook[] = [];
  readonly exitHooks: ExitHook[] = [];
  readonly execHooks: ExecHook[] = [];
  /** Subsystem state by name (kernel.sub['rcu'], ...), for modules that need a per-kernel singleton. */
  readonly sub: Record<string, unknown> = {};
  private nextPid = 1;
  private readonly byPid = new Map<number, TaskStruct>();

  constructor(cfg: MachineConfig) {
    this.cfg = cfg;
    this.machine = new Machine(cfg);
    this.mem_map = new MemMap(this.machine.mem);
    this.machine.pt.frames = this.mem_map;
    this.engine = new Engine(cfg);
    this.swap = new SwapDevice(cfg);
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
    return ts;
  }

  /** A new process (thread group leader) with a fresh mm and fd table, running `body`. */
  spawnProcess(comm: string, body: (t: Task) => TaskBody, opts: ProcessOptions = {}): TaskStruct {
    const cred = { ...this.defaultCred(), ...opts.cred };
    const ts = this.newTaskStruct(comm, false, cred);
    for (const h of this.processInit) h(this, ts);
    return this.start(ts, body, opts);
  }

  /** Another thread of `leader`'s process: shares its mm and fd table (CLONE_VM | CLONE_FILES). */
  spawnThread(leader: TaskStruct, comm: string, body: (t: Task) => TaskBody, opts: SpawnOptions = {}): TaskStruct {
    const ts = this.newTaskStruct(comm, false, leader.cred, leader.group, leader);
    ts.mm = leader.mm;
    ts.activeMm = leader.mm;
    ts.files = leader.files;
    ts.rlimitNofile = leader.rlimitNofile;
    return this.start(ts, body, opts);
  }

  /** A kernel thread (kswapd, ksmd, an RCU worker): no mm of its own; it borrows the last one (lazy TLB). */
  spawnKernelThread(comm: string, body: (t: Task) => TaskBody, opts: SpawnOptions = {}): TaskStruct {
    const ts = this.newTaskStruct(comm, true, { uid: 0, capSysAdmin: true });
    return this.start(ts, body, opts);
  }

  /**
   * fork(): a child process copying the parent's subsystems through the fork
   * hooks (copy-on-write mm, duplicated fd table). Returns the child, or a
   * negative errno if a hook failed (the partial child is released).
   */
  *fork(t: Task, parent: TaskStruct, body: (t: Task) => TaskBody, opts: SpawnOptions = {}): Blocking<TaskStruct | number> {
    const child = this.newTaskStruct(parent.comm, false, { ...parent.cred }, undefined);
    child.rlimitNofile = { ...parent.rlimitNofile };
    copy_rlimits(this, parent, child);
    child.umask = parent.umask;
    for (const h of this.forkHooks) {
      const r = yield* h(t, parent, child);
      if (r < 0) {
        this.byPid.delete(child.pid);
        return r;
      }
    }
    return this.start(child, body, { cpu: opts.cpu ?? t.cpu, ...opts });
  }

  /** Release what a task holds when it ends (called by the task itself, at its end). */
  *exit(t: Task, ts: TaskStruct): Blocking<void> {
    for (let i = this.exitHooks.length - 1; i >= 0; i--) yield* this.exitHooks[i]!(t, ts);
  }

  *exec(t: Task, ts: TaskStruct): Blocking<void> {
    for (const h of this.execHooks) yield* h(t, ts);
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

  run(until?: number): number {
    return this.engine.run(until);
  }
}
