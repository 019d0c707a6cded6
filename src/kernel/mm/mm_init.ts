/**
 * mm_init: memory management joins the kernel (the part of start_kernel
 * that sets up mm and the scheduler's TLB handling). It creates the per-kernel
 * state with the zero page and hooks the scheduler's context switch. Fork,
 * exit and exec call the mm's parts directly (kernel/fork.ts, kernel/exit.ts,
 * fs/exec.ts).
 */
import type { Kernel } from '../kernel.js';
import { sched_init } from '../sched/core.js';
import { installMmCore, type MmCore } from './core.js';
import { init_zero_page } from './page_alloc.js';

export function mm_init(k: Kernel): MmCore {
  const core = installMmCore(k);
  core.zeroPfn = init_zero_page(k);
  sched_init(k);
  return core;
}
