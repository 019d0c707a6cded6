/** Shared set-up for the mm tests: a booted kernel and a process running a test body. */
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import type { TaskStruct } from '../../../src/kernel/sched/task_struct.js';
import { runProcess as runProcessOn } from '../../../src/validate/process.js';
import type { Blocking, Task } from '../../../src/sim/task.js';

export const PAGE = 4096;
export const PROT_R = 1;
export const PROT_RW = 3;
export const PRIVATE_ANON = 0x22;
export const SHARED_ANON = 0x21;

export function testConfig(over: (c: MachineConfig) => void = () => {}): MachineConfig {
  const c = defaultConfig();
  c.cpus = 2;
  over(c);
  return c;
}

/**
 * Boots a kernel and runs `body` as a process on CPU 0; the process exits
 * afterwards. Returns the kernel once the engine has run to the end.
 */
export function runProcess(body: (t: Task, ts: TaskStruct) => Blocking<void>, cfg: MachineConfig = testConfig()): Kernel {
  return runProcessOn(cfg, body, 'test');
}
