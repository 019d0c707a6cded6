import { describe, expect, it } from 'vitest';
import { loadMachineConfig } from '../../src/cli/machine.js';
import { tlbFlush2Loops } from '../../src/validate/experiments/vanriel2025-tlb-flush2.js';

describe('tlb_flush2_threads (vanriel2025 experiments)', () => {
  it('with INVLPGB and 4 threads starts at a jiffy consider_global_asid looks at, so the flushes are broadcasts', () => {
    // pid & 0x1f must equal jiffies & 0x1f for the mm to get a global ASID (once every 32 jiffies): a run started
    // anywhere else would measure IPIs for up to 32 jiffies, longer than the run.
    const ipi = tlbFlush2Loops(loadMachineConfig('milan', { cpus: 4, tlb: { invlpgb: false } }), 4);
    const bc = tlbFlush2Loops(loadMachineConfig('milan', { cpus: 4, tlb: { invlpgb: true } }), 4);
    expect(bc).toBeGreaterThan(ipi);
  });

  it('below 4 threads INVLPGB changes nothing (the mm is on at most 3 CPUs)', () => {
    const a = tlbFlush2Loops(loadMachineConfig('milan', { cpus: 2, tlb: { invlpgb: false } }), 2);
    const b = tlbFlush2Loops(loadMachineConfig('milan', { cpus: 2, tlb: { invlpgb: true } }), 2);
    expect(b).toBe(a);
  });
});
