/**
 * The machine config: a profile's name, the hardware's section
 * (src/hw/config.ts: CPUs, memory, TLBs, caches, swap device, hardware
 * costs), the kernel's section (src/kernel/config.ts: settings and software
 * costs) and the simulator's own knobs. Each section has its own schema; the
 * hardware sees only its own (HardwareConfig), so no kernel setting or
 * software cost can reach src/hw.
 *
 * The hardware fields stay at the top level of a profile (`cpus`, `cache.*`,
 * `cost.*`), as profiles have always written them; the kernel's are under
 * `kernel` (`kernel.hz`, `kernel.cost.fault_handler`).
 */
import { hardwareSchema } from '../hw/config.js';
import { kernelSchema } from '../kernel/config.js';
import { bool, defaultsOf, int, num, str, type Schema, type ValuesOf } from '../params/schema.js';

export const simSchema = {
  quantum: int(1000, 'cycles a CPU may run ahead of the slowest busy CPU (0 = exact ordering); it moves timing, never a protocol: docs/quantum.md', { unit: 'cycles', source: 'bound-weave style simulators use ~1000 cycles', min: 0 }),
  seed: int(1, 'seed of the one random generator', { min: 0 }),
  checks: bool(false, 'walk TLBs, page tables and frame metadata after every step (slow; for tests)'),
  sample: num(1, 'sampled mode of user memory traffic (SMARTS-style): the fraction of user accesses simulated in detail, in units of sim.sample_unit accesses; the rest are translated functionally (same faults, same A/D bits) and charged the last unit\'s mean cycles; the run reports the estimate\'s 95% error (result.sampling). 1 = exact: every access in detail', { source: 'Wunderlich et al., SMARTS, ISCA 2003 (systematic sampling, confidence from the per-unit variance)', min: 0.0001, max: 1 }),
  sample_warmup: int(131072, 'with sim.sample < 1: user accesses each CPU does in detail, unmeasured, before sampling starts, so that the caches have left the state the run began in (the default is the default LLC\'s line count)', { unit: 'accesses', min: 0 }),
  sample_unit: int(1000, 'with sim.sample < 1: user accesses per detailed unit of a CPU, the first half warming the TLBs and caches, the second half measured', { unit: 'accesses', min: 2 }),
} as const satisfies Schema;

export const machineSchema = {
  name: str('default', 'profile name, shown in reports'),
  description: str('Skylake-SP-class x86-64 server core at 3.0 GHz, 4 CPUs, 4 GiB', 'one line describing the machine'),
  ...hardwareSchema,
  kernel: kernelSchema,
  sim: simSchema,
} as const satisfies Schema;

export type MachineConfig = ValuesOf<typeof machineSchema>;
export type { HardwareConfig, HardwareCosts } from '../hw/config.js';
export type { KernelConfig, KernelCosts } from '../kernel/config.js';
export { hardwareSchema, nsToCycles } from '../hw/config.js';
export { kernelSchema } from '../kernel/config.js';

export interface ConfigSection {
  readonly title: string;
  /** Where the section's schema is declared. */
  readonly file: string;
  readonly schema: Schema;
  /** Dotted prefix of the section's fields in a profile ('' for the top level). */
  readonly prefix: string;
}

/** The sections of the machine config, in the order `kernsim list --params` and the README show them. */
export function configSections(): ConfigSection[] {
  const { name, description } = machineSchema;
  return [
    { title: 'Profile', file: 'src/config/machine.ts', schema: { name, description }, prefix: '' },
    { title: 'Hardware', file: 'src/hw/config.ts', schema: hardwareSchema, prefix: '' },
    { title: 'Kernel: settings and software costs', file: 'src/kernel/config.ts', schema: kernelSchema, prefix: 'kernel' },
    { title: 'Simulator', file: 'src/config/machine.ts', schema: simSchema, prefix: 'sim' },
  ];
}

export function defaultConfig(): MachineConfig {
  return defaultsOf(machineSchema);
}

/**
 * Software costs were once under `cost.` with the hardware's; a dotted path
 * or a profile that still says `cost.fault_handler` means
 * `kernel.cost.fault_handler`. Whether swap is on was once the hardware's
 * `swap.enabled`: it means `kernel.swapon`.
 */
export function canonicalPath(path: string): string {
  if (path === 'swap.enabled') return 'kernel.swapon';
  if (path.startsWith('cost.') && Object.hasOwn(kernelSchema.cost, path.slice(5))) return `kernel.${path}`;
  return path;
}
