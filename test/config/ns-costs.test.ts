/**
 * Costs whose source is in nanoseconds (nsCost) keep their time when a
 * profile or --set changes clock_ghz; costs declared in cycles keep their
 * cycles. A layer that sets a cost itself is taken as given.
 */
import { describe, expect, it } from 'vitest';
import { loadMachineConfig } from '../../src/cli/machine.js';
import { defaultConfig, hardwareSchema, kernelSchema } from '../../src/config/machine.js';
import { nsCycles, REFERENCE_CLOCK_GHZ } from '../../src/params/schema.js';

const hwNs = (f: keyof typeof hardwareSchema.cost): number => hardwareSchema.cost[f].ns!;

describe('costs declared in nanoseconds', () => {
  it('default to their nanoseconds at the reference clock', () => {
    const c = defaultConfig();
    expect(c.clock_ghz).toBe(REFERENCE_CLOCK_GHZ);
    expect(hwNs('dram')).toBe(65);
    expect(c.cost.dram).toBe(nsCycles(65, 3.0));
    expect(c.cost.syscall).toBe(576);
    expect(c.kernel.cost.page_alloc).toBe(nsCycles(kernelSchema.cost.page_alloc.ns!, 3.0));
  });

  it('keep their time when a profile or --set changes the clock; costs declared in cycles keep their cycles', () => {
    const d = defaultConfig();
    const c = loadMachineConfig(undefined, { clock_ghz: 3.7 });
    // 65 ns at 3.7 GHz: 240.5, whole cycles 240 (was 195 at 3.0 GHz).
    expect(c.cost.dram).toBe(Math.floor((d.cost.dram / 3.0) * 3.7));
    expect(c.cost.dram).toBe(240);
    expect(c.cost.syscall).toBe(nsCycles(192, 3.7));
    expect(c.kernel.cost.context_switch).toBe(nsCycles(1000, 3.7));
    // Declared in cycles: unchanged.
    expect(c.cost.l2_hit).toBe(d.cost.l2_hit);
    expect(c.cost.invlpg).toBe(d.cost.invlpg);
    expect(c.kernel.cost.kernel_op).toBe(d.kernel.cost.kernel_op);
  });

  it('a value the same layer sets is taken as given; a later clock change keeps its time', () => {
    const c = loadMachineConfig(undefined, { clock_ghz: 2.0, cost: { dram: 500 } });
    expect(c.cost.dram).toBe(500);
    // The Ivy Bridge profile states its DRAM latency in cycles at its own clock (53 ns x 2.6 GHz).
    const ivb = loadMachineConfig('ivybridge-laptop');
    expect(ivb.clock_ghz).toBe(2.6);
    expect(ivb.cost.dram).toBe(nsCycles(53, 2.6));
    expect(ivb.cost.syscall).toBe(nsCycles(192, 2.6));
    const faster = loadMachineConfig('ivybridge-laptop', { clock_ghz: 5.2 });
    expect(faster.cost.dram).toBe(nsCycles(ivb.cost.dram / 2.6, 5.2));
    expect(faster.cost.dram).toBeGreaterThan(2 * ivb.cost.dram - 2);
    // A cost not declared in nanoseconds keeps its cycles at the new clock.
    expect(faster.cost.invlpg).toBe(ivb.cost.invlpg);
  });

  it('a calibrated profile at 2.1 GHz keeps what it measured and rescales the nanosecond costs it did not set', () => {
    const c = loadMachineConfig(undefined, { clock_ghz: 2.1, cost: { syscall: 2016 } });
    expect(c.cost.syscall).toBe(2016);
    expect(c.cost.dram).toBe(nsCycles(65, 2.1));
    expect(c.kernel.cost.page_alloc).toBe(nsCycles(94, 2.1));
  });

  it('do not modify the config they start from', () => {
    const before = JSON.stringify(defaultConfig());
    loadMachineConfig(undefined, { clock_ghz: 1.5 });
    expect(JSON.stringify(defaultConfig())).toBe(before);
  });
});
