/**
 * The one place the CLI calls the syscall-script interpreter: runs a parsed
 * script on a freshly booted simulated kernel and returns its result lines.
 */
import type { MachineConfig } from '../hw/config.js';
import type { ParsedScript } from '../workloads/script/types.js';
import { UsageError } from './errors.js';

export function simulateScript(script: ParsedScript, cfg: MachineConfig, withSim: boolean): string[] {
  void script;
  void cfg;
  void withSim;
  throw new UsageError('script: the syscall-script interpreter is not built in yet');
}
