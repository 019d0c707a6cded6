/**
 * Cross-CPU function calls after kernel/smp.c (smp_call_function_many_cond,
 * flush_smp_call_function_queue, csd_lock/csd_unlock), for what their cache
 * lines cost. The engine delivers the IPI and times the acknowledgement
 * (Engine.sendIpi); this module charges the memory the kernel's protocol
 * touches around it, through the cache model, so a line that another CPU
 * wrote last costs a cache-to-cache transfer:
 *
 * - each sender CPU has a call_single_data (csd) per target CPU in its
 *   per-CPU cfd_data. csd_lock() waits until the csd's flags say its last
 *   call is done and sets them: a write to a line the target wrote at its
 *   csd_unlock() of the last call;
 * - each CPU has a call_single_queue, an llist head: the sender's
 *   llist_add() is a cmpxchg on the target's per-CPU line, which the
 *   target's llist_del_all() and the other senders wrote last;
 * - the IPI itself (the x2APIC ICR write) is cost.ipi_send in the engine;
 * - the target's handler takes its queue with llist_del_all() (an xchg on
 *   its own line, which the senders wrote), reads each csd (func and info:
 *   the sender's line), runs the function, and csd_unlock()s it (a release
 *   store to the csd line, which the sender holds shared: an invalidation);
 * - the waiting sender's csd_lock_wait() sees each csd's flags clear: that
 *   transfer of the line back is the acknowledgement (cost.ipi_ack, one
 *   cache-to-cache transfer), so it is not charged again here; the sender's
 *   next csd_lock() writes the line the target's unlock wrote.
 *
 * With 31 targets a sender's call moves ~3 lines per target, and each
 * target ~3 per call it handles; on a machine whose lines cross chiplets at
 * 115 ns (milan: cost.c2c_transfer) that is what a many-CPU shootdown costs
 * beyond its interrupts.
 */
import type { IpiHandler } from '../sim/engine.js';
import type { Task } from '../sim/task.js';
import type { Completion } from '../sim/wait.js';
import type { Kernel } from './kernel.js';

/** The kernel addresses of the call_single_queue heads and the csds, made at the first cross-CPU call. */
export class SmpCallState {
  /** Per CPU: its call_single_queue's line. */
  readonly queue: number[];
  /** csd[from * ncpus + to]: the line of CPU from's csd for calls to CPU to (0: not made yet). */
  readonly csd: Float64Array;

  constructor(
    private readonly k: Kernel,
    readonly ncpus: number,
  ) {
    this.queue = Array.from({ length: ncpus }, () => k.slab.kmalloc(k.machine.caches.lineBytes));
    this.csd = new Float64Array(ncpus * ncpus);
  }

  csdOf(from: number, to: number): number {
    const i = from * this.ncpus + to;
    let a = this.csd[i]!;
    if (a === 0) a = this.csd[i] = this.k.slab.kmalloc(this.k.machine.caches.lineBytes);
    return a;
  }
}

function smpState(k: Kernel): SmpCallState {
  return (k.smpCall ??= new SmpCallState(k, k.cfg.cpus));
}

/**
 * smp_call_function_many_cond() without the wait: for each target, csd_lock
 * and llist_add onto its queue, then the IPIs (Engine.sendIpi); each
 * target's handler takes its queue, reads the csd, runs `fn` and unlocks the
 * csd. `info` is the kernel address of what the csd's info points to (0:
 * none): each target reads its line before calling `fn`. Returns the completion of every target's acknowledgement; the caller
 * runs its local part, then `yield t.spinOn(done)` (csd_lock_wait).
 */
export function smp_call_function_many(t: Task, targets: readonly number[], handlerName: number, fn: IpiHandler, info = 0, handlerCost?: number): Completion {
  const k = t.k;
  const s = smpState(k);
  const caches = k.machine.caches;
  const atomic = k.cfg.cost.atomic_rmw;
  const from = t.cpu;
  let cycles = 0;
  for (const to of targets) {
    // csd_lock(): the flags of this csd, last written by the target's csd_unlock.
    cycles += caches.access(from, s.csdOf(from, to), true);
    // __smp_call_single_queue(): llist_add onto the target's queue, a cmpxchg on its line.
    cycles += caches.access(from, s.queue[to]!, true) + atomic;
  }
  t.charge(cycles);
  return k.engine.sendIpi(
    t,
    targets,
    handlerName,
    (cpu, time) => {
      // flush_smp_call_function_queue(): llist_del_all (xchg), the csd's func and info, the call, csd_unlock.
      const csd = s.csdOf(from, cpu);
      let c = caches.access(cpu, s.queue[cpu]!, true) + atomic;
      c += caches.access(cpu, csd, false);
      if (info !== 0) c += caches.access(cpu, info, false);
      c += fn(cpu, time);
      c += caches.access(cpu, csd, true);
      return c;
    },
    handlerCost,
  );
}
