/**
 * The one place the CLI calls the syscall-script interpreter: runs a parsed
 * script on a freshly booted simulated kernel (the script's own `machine`
 * block applied over `cfg`) and returns its result lines.
 */
import type { MachineConfig } from '../config/machine.js';
import { runScript } from '../workloads/script/interp.js';
import type { ParsedScript } from '../workloads/script/types.js';
import { CheckFailed } from './errors.js';

export function simulateScript(script: ParsedScript, cfg: MachineConfig, withSim: boolean): string[] {
  const run = runScript(script, cfg, { sim: withSim });
  // Every task asleep with nothing left to wake it (an F_SETLKW nobody releases): the host's runner would wait
  // until its timeout; the simulator says so instead of printing a partial run as if it had ended.
  if (!run.finished) throw new CheckFailed(`${script.name}: the script's process never finished: every simulated task waits for something nothing will end`);
  return run.lines;
}
