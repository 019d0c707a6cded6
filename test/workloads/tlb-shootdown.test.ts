import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { runWorkload } from '../../src/workloads/run.js';
import { tlbShootdown } from '../../src/workloads/tlb-shootdown.js';

function run(cpus: number) {
  const cfg = defaultConfig();
  cfg.cpus = cpus;
  return runWorkload(tlbShootdown, { rounds: 10 }, cfg);
}

describe('tlb-shootdown', () => {
  const runs = [1, 4, 16].map((c) => ({ cpus: c, r: run(c) }));

  it('passes its own checks and sends one IPI per other running CPU per call', () => {
    for (const { cpus, r } of runs) {
      expect(r.checks.failures).toEqual([]);
      expect(r.figures['ipis_per_call']).toBe(cpus - 1);
    }
  });

  it('the shootdown share of the madvise cost grows with the CPUs running the process', () => {
    const share = runs.map(({ r }) => r.figures['shootdown_share_pct']!);
    expect(share[0]!).toBeLessThan(share[1]!);
    expect(share[1]!).toBeLessThan(share[2]!);
    const perCall = runs.map(({ r }) => r.figures['madvise_cycles_per_call']!);
    expect(perCall[0]!).toBeLessThan(perCall[1]!);
    expect(perCall[1]!).toBeLessThan(perCall[2]!);
  });
});
