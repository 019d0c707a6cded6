/**
 * Boot: build a kernel for a machine config and initialise its subsystems in
 * dependency order (as start_kernel does). Each subsystem exports one init
 * function taking the kernel; add it here, in order.
 */
import type { MachineConfig } from '../config/machine.js';
import { Kernel } from './kernel.js';
import { vfs_init } from './fs/init.js';
import { hugetlb_init } from './mm/hugetlb.js';
import { ksm_init } from './mm/ksm.js';
import { reclaim_init } from './mm/kswapd.js';
import { mm_init } from './mm/mm_init.js';
import { rcu_init } from './rcu/tree.js';

export function bootKernel(cfg: MachineConfig): Kernel {
  const k = new Kernel(cfg);
  rcu_init(k);
  mm_init(k);
  reclaim_init(k);
  ksm_init(k);
  hugetlb_init(k);
  vfs_init(k);
  return k;
}
