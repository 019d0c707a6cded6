/** Helpers for experiments that run a process body on a booted kernel and time parts of it. */
import type { MachineConfig } from '../config/machine.js';
import { bootKernel } from '../kernel/boot.js';
import type { Kernel } from '../kernel/kernel.js';
import { current, type TaskStruct } from '../kernel/sched/task_struct.js';
import type { Blocking, Task } from '../sim/task.js';

/**
 * Boots `cfg`, runs `body` as a process (named `comm`) pinned to CPU 0 until
 * it and everything it started end; returns the kernel. The mm tests use it too.
 */
export function runProcess(cfg: MachineConfig, body: (t: Task, ts: TaskStruct) => Blocking<void>, comm = 'validate'): Kernel {
  const k = bootKernel(cfg);
  k.spawnProcess(
    comm,
    function* (t) {
      const ts = current(t);
      yield* body(t, ts);
      yield* k.exit(t, ts);
    },
    { cpu: 0, pinned: true },
  );
  k.run();
  return k;
}

/** Cycles `body` took on t's clock. */
export function* timed(t: Task, body: Blocking<unknown>): Blocking<number> {
  const t0 = t.now;
  yield* body;
  return t.now - t0;
}
