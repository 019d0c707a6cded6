/**
 * The one place the CLI calls the syscall-script interpreter: runs a parsed
 * script on a freshly booted simulated kernel (the script's own `machine`
 * block applied over `cfg`) and returns its result lines.
 */
import type { MachineConfig } from '../config/machine.js';
import { runScript } from '../workloads/script/interp.js';
import type { ParsedScript } from '../workloads/script/types.js';

export function simulateScript(script: ParsedScript, cfg: MachineConfig, withSim: boolean): string[] {
  return runScript(script, cfg, { sim: withSim }).lines;
}
