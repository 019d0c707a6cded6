import { describe, expect, it } from 'vitest';
import { loadMachineConfig } from '../../src/cli/machine.js';
import { defaultConfig } from '../../src/config/machine.js';

/**
 * The nanoseconds behind each cost whose source is in nanoseconds (the
 * defaults' sources, kernsim list --params). A profile at another clock than
 * the defaults' 3.0 GHz states each of them in cycles at its own clock.
 */
const NS: Record<string, number> = {
  dram: 65, c2c_transfer: 47.5, syscall: 192, pti_syscall_extra: 141, zero_page: 4096 / 14.55,
  ipi_send: 100, context_switch: 1000, rcu_callback: 50, call_rcu: 20, kmalloc: 20, page_alloc: 94, page_free: 94, rcu_softirq: 100,
  swap_io: 1000, ksm_checksum_page: 4096 / 19.4,
};
/** Declared in cycles (Torvalds 2014, Haswell): every bare-metal profile takes them at its own clock unchanged. */
const CYCLES: Record<string, number> = { page_fault_trap: 1050, fault_handler: 65 };
/** What a profile states from its own part's measurements instead (7-cpu DRAM latencies, Arora's Ice Lake-X clearing rate, a 64-core Milan's core-to-core latency). */
const OWN: Record<string, Record<string, number>> = {
  'ivybridge-laptop': { dram: 53 },
  'haswell-desktop': { dram: 57 },
  'icelake-x': { zero_page: 4096 / 9.19 },
  milan: { c2c_transfer: 115 },
};
const cycles = (ns: number, ghz: number): number => Math.floor(ns * ghz + 1e-9);

describe('profiles at their own clocks', () => {
  it('the defaults are the nanoseconds at 3.0 GHz', () => {
    const d = defaultConfig();
    for (const [f, ns] of Object.entries(NS)) expect(({ ...d.cost, ...d.kernel.cost } as Record<string, number>)[f], f).toBe(cycles(ns, d.clock_ghz));
    // A copy moves twice the bytes of a clear (copy_page, and ksm's memcmp of two pages, are declared as twice zero_page).
    expect(d.cost.copy_page).toBe(2 * d.cost.zero_page);
  });

  for (const name of ['ivybridge-laptop', 'haswell-desktop', 'skylake-sp', 'milan', 'icelake-x']) {
    it(`${name} states every nanosecond cost in cycles at its clock`, () => {
      const c = loadMachineConfig(name);
      expect(c.clock_ghz).not.toBe(3.0);
      for (const [f, ns] of Object.entries({ ...NS, ...OWN[name] })) expect(({ ...c.cost, ...c.kernel.cost } as Record<string, number>)[f], `${name} ${f}`).toBe(cycles(ns, c.clock_ghz));
      for (const [f, cyc] of Object.entries(CYCLES)) expect(({ ...c.cost, ...c.kernel.cost } as Record<string, number>)[f], `${name} ${f}`).toBe(cyc);
      expect(c.cost.copy_page).toBe(2 * c.cost.zero_page);
      expect(c.kernel.cost.ksm_memcmp_page).toBe(c.cost.copy_page);
    });
  }
});
