/**
 * The memory of fd tables, after fs/file.c: struct fdtable, its allocation
 * in the seed's size steps (alloc_fdtable, alloc_fdmem choosing kmalloc or
 * vmalloc), copying on growth, and freeing: directly when nobody can see
 * the table, after a grace period when it was replaced (free_fdtable_rcu),
 * and through the per-CPU deferral list and a worker when it was vmalloc'ed
 * (free_fdtable_work), since vfree cannot run in softirq context.
 *
 * Every freed table is checked: it must not be freed before a grace period
 * that began after it was unpublished has ended (FilesState.violations).
 */
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { SpinLock } from '../locking/spinlock.js';
import { rcuOf } from '../rcu/tree.js';
import type { File } from './file_table.js';
import { PAGE_SIZE } from '../../hw/types.js';

/** BITS_PER_LONG: fds embedded in files_struct. */
export const NR_OPEN_DEFAULT = 64;
export const PTR_BYTES = 8;
export const FDTABLE_STRUCT_BYTES = 64;
/** PAGE_SIZE << PAGE_ALLOC_COSTLY_ORDER: larger fd arrays come from vmalloc. */
const KMALLOC_MAX_FDMEM = PAGE_SIZE << 3;

const CAT_ALLOC_FDTABLE = intern('alloc_fdtable');
const CAT_COPY_FDTABLE = intern('copy_fdtable');
const CAT_FREE_FDTABLE = intern('__free_fdtable');
const CAT_FDTABLE_WORK = intern('free_fdtable_work');

/** struct fdtable. */
export class FdTable {
  /** fd -> file; null for a free slot or one being installed. */
  readonly fd: (File | null)[];
  readonly open_fds: Uint8Array;
  readonly close_on_exec: Uint8Array;
  /** Set when the table was replaced (rcu_assign_pointer of a successor): the time it stopped being reachable for new readers. */
  unpublishedAt = -1;
  freed = false;

  constructor(
    readonly max_fds: number,
    /** Address of the struct (max_fds, fd pointer); for the embedded table, files_struct's first line. */
    readonly structAddr: number,
    readonly fdAddr: number,
    readonly openAddr: number,
    readonly cloexecAddr: number,
    readonly embedded: boolean,
    readonly vmalloced: boolean,
  ) {
    this.fd = new Array<File | null>(max_fds).fill(null);
    this.open_fds = new Uint8Array(max_fds);
    this.close_on_exec = new Uint8Array(max_fds);
  }

  /** Bytes the table holds (what waits for RCU when it is replaced). */
  get bytes(): number {
    return this.embedded ? 0 : FDTABLE_STRUCT_BYTES + this.max_fds * PTR_BYTES + Math.max((2 * this.max_fds) / 8, 64);
  }
}

export interface FdtableViolation {
  maxFds: number;
  unpublishedAt: number;
  freedAt: number;
}

/** Per-kernel state of the fd-table code. */
export class FilesState {
  nextId = 1;
  /** Tables freed before a grace period that began after they were unpublished had ended (must stay empty). */
  readonly violations: FdtableViolation[] = [];
  /** Per-CPU fdtable_defer: vmalloc'ed tables waiting for the worker, and whether its work is queued. */
  readonly deferLists: FdTable[][];
  readonly deferLocks: SpinLock[];
  readonly workPending: Uint8Array;

  constructor(readonly k: Kernel) {
    const n = k.engine.ncpus;
    this.deferLists = Array.from({ length: n }, () => []);
    this.deferLocks = Array.from({ length: n }, () => new SpinLock(k, 'fdtable_defer.lock'));
    this.workPending = new Uint8Array(n);
  }
}

export function filesState(k: Kernel): FilesState {
  // Made on first use: its per-CPU locks take kernel memory when the first fd table is freed.
  return (k.files ??= new FilesState(k));
}

// --- allocation and freeing of tables ----------------------------------------

function roundupPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** alloc_fdmem(): kmalloc up to 32 KiB, vmalloc above; returns [address, vmalloced]. */
function alloc_fdmem(t: Task, bytes: number): [number, boolean] {
  const k = t.k;
  const kcost = k.cfg.kernel.cost;
  if (bytes <= KMALLOC_MAX_FDMEM) {
    t.charge(kcost.kmalloc);
    return [k.slab.kmalloc(bytes), false];
  }
  t.charge(kcost.kmalloc + Math.ceil(bytes / PAGE_SIZE) * kcost.vmalloc_page);
  return [k.slab.kmalloc(bytes), true];
}

/** alloc_fdtable(): a table for at least nr + 1 fds, in the seed's steps, capped by nr_open. */
export function fdtableSize(nr: number, nrOpen: number): number {
  const perKiB = 1024 / PTR_BYTES;
  let n = Math.floor(nr / perKiB);
  n = roundupPow2(n + 1);
  n *= perKiB;
  if (n > nrOpen) n = ((nrOpen - 1) | 63) + 1;
  return n;
}

export function alloc_fdtable(t: Task, nr: number): FdTable {
  const k = t.k;
  t.enter(CAT_ALLOC_FDTABLE);
  const n = fdtableSize(nr, k.cfg.kernel.nr_open);
  t.charge(k.cfg.kernel.cost.kmalloc);
  const structAddr = k.slab.kmalloc(FDTABLE_STRUCT_BYTES);
  const [fdAddr, v1] = alloc_fdmem(t, n * PTR_BYTES);
  const [bitsAddr, v2] = alloc_fdmem(t, Math.max((2 * n) / 8, 64));
  t.leave();
  return new FdTable(n, structAddr, fdAddr, bitsAddr, bitsAddr + n / 8, false, v1 || v2);
}

/** __free_fdtable(): give a table's memory back (charged to `t`, or returned as cycles when t is null: softirq). */
export function __free_fdtable(k: Kernel, t: Task | null, fdt: FdTable, cpu: number, now: number): number {
  if (fdt.embedded) throw new Error('__free_fdtable: the embedded table is part of files_struct');
  if (fdt.freed) throw new Error('__free_fdtable: double free');
  const s = filesState(k);
  if (fdt.unpublishedAt >= 0 && !rcuOf(k).fullGracePeriodBetween(fdt.unpublishedAt, now)) {
    s.violations.push({ maxFds: fdt.max_fds, unpublishedAt: fdt.unpublishedAt, freedAt: now });
  }
  fdt.freed = true;
  const kcost = k.cfg.kernel.cost;
  const fdBytes = fdt.max_fds * PTR_BYTES;
  const bitBytes = Math.max((2 * fdt.max_fds) / 8, 64);
  let cycles = 3 * kcost.kmalloc;
  if (fdBytes > KMALLOC_MAX_FDMEM) cycles += Math.ceil(fdBytes / PAGE_SIZE) * kcost.vmalloc_page;
  if (bitBytes > KMALLOC_MAX_FDMEM) cycles += Math.ceil(bitBytes / PAGE_SIZE) * kcost.vmalloc_page;
  k.slab.kfree(fdt.fdAddr, fdBytes);
  k.slab.kfree(fdt.openAddr, bitBytes);
  k.slab.kfree(fdt.structAddr, FDTABLE_STRUCT_BYTES);
  k.engine.counters.add('fdtable_freed');
  void cpu;
  if (t) {
    t.chargeAs(CAT_FREE_FDTABLE, cycles);
    return 0;
  }
  return cycles;
}

/**
 * free_fdtable_rcu(): the RCU callback for a replaced table, in softirq on
 * `cpu`. A kmalloc'ed table is freed here; a vmalloc'ed one cannot be
 * (vfree may sleep), so it goes on the CPU's deferral list for the worker.
 */
export function free_fdtable_rcu(k: Kernel, fdt: FdTable, cpu: number, time: number): number {
  if (!fdt.vmalloced) return __free_fdtable(k, null, fdt, cpu, time) - k.cfg.kernel.cost.kmalloc; // rcu_callback covers one kfree
  const s = filesState(k);
  const lock = s.deferLocks[cpu]!;
  if (lock.locked) throw new Error('free_fdtable_rcu: defer lock held across a softirq');
  const caches = k.machine.caches;
  // spin_lock / spin_unlock of the per-CPU list, and the list insert.
  let cycles = 2 * caches.access(cpu, lock.addr, true) + k.cfg.cost.atomic_rmw + k.cfg.kernel.cost.kernel_op;
  s.deferLists[cpu]!.push(fdt);
  k.engine.counters.add('fdtable_free_deferred');
  if (!s.workPending[cpu]) {
    s.workPending[cpu] = 1;
    cycles += k.cfg.kernel.cost.kernel_op; // schedule_work
    k.spawnKernelThread(`kworker/${cpu}`, (t) => free_fdtable_work(t, cpu), { cpu, pinned: true, at: time + cycles });
  }
  return cycles;
}

/** free_fdtable_work(): the worker that frees the CPU's deferred tables. */
function* free_fdtable_work(t: Task, cpu: number): Blocking<void> {
  const k = t.k;
  const s = filesState(k);
  t.enter(CAT_FDTABLE_WORK);
  s.workPending[cpu] = 0;
  const lock = s.deferLocks[cpu]!;
  yield* lock.lock(t);
  const list = s.deferLists[cpu]!;
  s.deferLists[cpu] = [];
  lock.unlock(t);
  for (const fdt of list) {
    __free_fdtable(k, t, fdt, t.cpu, t.now);
    if (t.shouldYield()) yield;
  }
  t.leave();
}

/** copy_fdtable(): copy the old table into the larger new one (memcpy + memset through the caches, at the streaming rate). */
export function copy_fdtable(t: Task, nfdt: FdTable, ofdt: FdTable): void {
  const k = t.k;
  t.enter(CAT_COPY_FDTABLE);
  const o = ofdt.max_fds;
  const n = nfdt.max_fds;
  // memcpy of the old fd array and memset of the rest, then copy_fd_bitmaps: string copies that stream.
  k.streamRange(t, ofdt.fdAddr, o * PTR_BYTES, false);
  k.streamRange(t, nfdt.fdAddr, n * PTR_BYTES, true);
  k.streamRange(t, ofdt.openAddr, o / 8, false);
  k.streamRange(t, ofdt.cloexecAddr, o / 8, false);
  k.streamRange(t, nfdt.openAddr, (2 * n) / 8, true);
  for (let i = 0; i < o; i++) {
    nfdt.fd[i] = ofdt.fd[i]!;
    nfdt.open_fds[i] = ofdt.open_fds[i]!;
    nfdt.close_on_exec[i] = ofdt.close_on_exec[i]!;
  }
  t.leave();
}

