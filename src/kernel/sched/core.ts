/**
 * The scheduler's memory-management side, after context_switch() in
 * kernel/sched/core.c: what a switch costs and what it does to the TLB.
 *
 * - To a task with an mm: switch_mm_irqs_off (a CR3 write; a flush when the
 *   ASID slot is new or went stale, always without PCIDs), then the borrowed
 *   lazy mm, if any, is dropped (mmdrop_lazy_tlb).
 * - To a kernel thread, and into idle: enter_lazy_tlb. The CPU keeps the
 *   previous mm loaded and borrows a reference to it; switching back to that
 *   mm needs no CR3 write unless its tlb_gen moved on meanwhile.
 *
 * Every switch costs cfg.kernel.cost.context_switch plus what switch_mm returns.
 * Tasks spawned on the engine without a task_struct run as kernel contexts.
 */
import type { Task } from '../../sim/task.js';
import type { Kernel } from '../kernel.js';
import { mmdrop, mmgrab } from '../mm/fork.js';
import { cpuTlbState, enter_lazy_tlb, switch_mm_irqs_off } from '../mm/tlbflush.js';
import { TaskStruct } from './task_struct.js';

/** The mm a task runs on (null: a kernel context). */
function userMm(task: Task): TaskStruct['mm'] {
  const ts = task.data;
  return ts instanceof TaskStruct ? ts.mm : null;
}

/** A kernel context starts on `cpu`: it borrows whatever mm is loaded (lazy TLB). */
function enterLazy(k: Kernel, cpu: number): void {
  const st = cpuTlbState(k, cpu);
  enter_lazy_tlb(k, cpu);
  if (st.loadedMm && !st.lazyRef) {
    st.lazyRef = st.loadedMm;
    mmgrab(st.loadedMm);
  }
}

/** context_switch(): returns the cycles of switching `cpu` from prev to next. */
export function context_switch(k: Kernel, cpu: number, next: Task): number {
  let cycles = k.cfg.kernel.cost.context_switch;
  const mm = userMm(next);
  const st = cpuTlbState(k, cpu);
  if (mm) {
    cycles += switch_mm_irqs_off(k, cpu, mm);
    const ts = next.data as TaskStruct;
    ts.activeMm = mm;
    if (st.lazyRef) {
      const borrowed = st.lazyRef;
      st.lazyRef = null;
      mmdrop(k, borrowed);
    }
  } else {
    enterLazy(k, cpu);
    if (next.data instanceof TaskStruct) next.data.activeMm = st.loadedMm;
  }
  return cycles;
}

/** sched_init(): the scheduler hooks (context switch, idle entry) on the engine. */
export function sched_init(k: Kernel): void {
  k.engine.addHooks({
    contextSwitch: (cpu, _prev, next) => context_switch(k, cpu, next),
    idleEnter: (cpu) => enterLazy(k, cpu),
  });
}
