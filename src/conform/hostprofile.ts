/**
 * The host kernel's settings that change what a syscall script sees, read
 * from where Linux exposes them, so the simulator can be configured like the
 * kernel the conformance outputs were recorded on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { KernelConfig } from '../config/machine.js';

/** Settings read from the host: `machineSchema.kernel` field names, plus swap and the CPU count. */
export type KernelSettings = Pick<
  KernelConfig,
  'thp' | 'zero_page' | 'memory_failure' | 'inotify_max_queued_events' | 'inotify_max_user_instances' | 'inotify_max_user_watches' | 'nr_open' | 'nr_hugepages' | 'lease_break_time' | 'leases_enable'
> & {
  swap: { enabled: boolean };
  cpus: number;
};

/** Where each setting is read; tests point `root` at a fake tree. */
export interface HostPaths {
  root: string;
}

function read(root: string, path: string): string | undefined {
  try {
    return readFileSync(root + path, 'utf8');
  } catch {
    return undefined;
  }
}

function readInt(root: string, path: string): number | undefined {
  const s = read(root, path)?.trim();
  if (s === undefined || !/^-?\d+$/.test(s)) return undefined;
  return Number(s);
}

/**
 * Reads what the host exposes; a setting that cannot be read is left out, so
 * the result can be merged over a profile without overriding its defaults
 * with guesses.
 */
export function readHostKernelSettings(paths: HostPaths = { root: '' }): Partial<KernelSettings> {
  const { root } = paths;
  const out: Partial<KernelSettings> = {};

  // "always [madvise] never": the bracketed word is the active mode.
  const thp = /\[(always|madvise|never)\]/.exec(read(root, '/sys/kernel/mm/transparent_hugepage/enabled') ?? '');
  if (thp) out.thp = thp[1] as KernelSettings['thp'];

  // A boot option of some virtualised kernels keeps anonymous read faults off the zero page.
  const cmdline = read(root, '/proc/cmdline');
  if (cmdline !== undefined) out.zero_page = !/(^|\s)pvm_no_zero_page=(1|y|Y|on)(\s|$)/.test(cmdline);

  // /proc/swaps is a header line plus one line per active swap area.
  const swaps = read(root, '/proc/swaps');
  if (swaps !== undefined) out.swap = { enabled: swaps.split('\n').slice(1).some((l) => l.trim() !== '') };

  // The sysctl exists only in kernels built with CONFIG_MEMORY_FAILURE.
  if (existsSync(root + '/proc/sys/vm')) out.memory_failure = existsSync(root + '/proc/sys/vm/memory_failure_recovery');

  const ints: [keyof KernelSettings, string][] = [
    ['inotify_max_queued_events', '/proc/sys/fs/inotify/max_queued_events'],
    ['inotify_max_user_instances', '/proc/sys/fs/inotify/max_user_instances'],
    ['inotify_max_user_watches', '/proc/sys/fs/inotify/max_user_watches'],
    ['nr_open', '/proc/sys/fs/nr_open'],
    // The hugetlb pool: the simulator sets aside as many 2 MiB pages (MAP_HUGETLB's reservations and faults).
    ['nr_hugepages', '/proc/sys/vm/nr_hugepages'],
    // Leases: how long a holder has after a break, and whether new leases are granted at all.
    ['lease_break_time', '/proc/sys/fs/lease-break-time'],
    ['leases_enable', '/proc/sys/fs/leases-enable'],
  ];
  for (const [key, path] of ints) {
    const n = readInt(root, path);
    if (n !== undefined) (out as Record<string, unknown>)[key] = n;
  }

  out.cpus = root === '' ? availableParallelism() : countCpus(read(root, '/proc/cpuinfo'));
  if (out.cpus === undefined) delete out.cpus;
  return out;
}

function countCpus(cpuinfo: string | undefined): number | undefined {
  if (cpuinfo === undefined) return undefined;
  const n = cpuinfo.split('\n').filter((l) => /^processor\s*:/.test(l)).length;
  return n > 0 ? n : undefined;
}

/** A MachineConfig-shaped overlay of the settings (cpus, kernel.swapon, kernel.*), for merging over a profile. */
export function hostSettingsOverlay(s: Partial<KernelSettings>): {
  cpus?: number;
  kernel: Partial<KernelConfig>;
} {
  const { swap, cpus, ...rest } = s;
  const kernel: Partial<KernelConfig> = { ...rest };
  if (swap !== undefined) kernel.swapon = swap.enabled;
  const out: { cpus?: number; kernel: Partial<KernelConfig> } = { kernel };
  if (cpus !== undefined) out.cpus = cpus;
  return out;
}
