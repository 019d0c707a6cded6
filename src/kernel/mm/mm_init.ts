/**
 * mm_init: memory management joins the kernel (the part of start_kernel
 * that sets up mm and the scheduler's TLB handling). It creates the per-kernel
 * state with the zero page, hooks the scheduler's context switch, and
 * attaches to process creation (an empty mm), fork (dup_mm), exit (exit_mm)
 * and exec (a fresh mm).
 */
import type { Kernel } from '../kernel.js';
import { sched_init } from '../sched/core.js';
import { installMmCore, type MmCore } from './core.js';
import { dup_mm, exit_mm, mm_alloc, mm_release_user } from './fork.js';
import { switch_mm_irqs_off } from './tlbflush.js';
import { init_zero_page } from './page_alloc.js';

export function mm_init(k: Kernel): MmCore {
  const core = installMmCore(k);
  core.zeroPfn = init_zero_page(k);
  sched_init(k);

  k.processInit.push((kern, leader) => {
    const mm = mm_alloc(kern);
    if (!mm) throw new Error(`mm_init: no memory for ${leader.comm}'s address space`);
    leader.mm = mm;
    leader.activeMm = mm;
  });

  k.forkHooks.push(function* (t, parent, child) {
    const old = parent.mm;
    if (!old) return 0;
    const mm = yield* dup_mm(t, old);
    if (typeof mm === 'number') return mm;
    child.mm = mm;
    child.activeMm = mm;
    if (parent.rlimitMemlock) child.rlimitMemlock = { ...parent.rlimitMemlock };
    return 0;
  });

  k.exitHooks.push((t, ts) => exit_mm(t, ts));

  k.execHooks.push(function* (t, ts) {
    // exec_mmap(): the new program gets an empty address space; the old one is released.
    const old = ts.mm;
    const mm = mm_alloc(k);
    if (!mm) throw new Error(`exec: no memory for ${ts.comm}'s address space`);
    ts.mm = mm;
    ts.activeMm = mm;
    t.charge(switch_mm_irqs_off(k, t.cpu, mm));
    if (old) yield* mm_release_user(t, ts, old);
  });
  return core;
}
