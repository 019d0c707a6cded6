/** Helpers for experiments that measure a system call with a syscall script. */
import type { MachineConfig } from '../config/machine.js';
import { runScript } from '../workloads/script/interp.js';
import type { Op } from '../workloads/script/types.js';

/** Runs `ops` as one script on `cfg` and returns each op's simulated cycles (the `sim.cycles` of its result line). */
export function opCycles(cfg: MachineConfig, name: string, ops: Op[]): number[] {
  const run = runScript({ name, ops }, cfg, { sim: true });
  return run.results.map((r) => {
    const sim = r.sim as { cycles?: number } | undefined;
    if (sim?.cycles === undefined) throw new Error(`validate: script ${name}: op ${r.op} has no simulated cycles`);
    return sim.cycles;
  });
}

/** Mean of the values after the first `skip` (warm-up: first touches of the code's lines and the fd table). */
export function meanAfter(values: readonly number[], skip: number): number {
  const rest = values.slice(skip);
  return rest.reduce((a, b) => a + b, 0) / rest.length;
}
