/**
 * proc-unload: remove_proc_entry waits for the reads in flight and returns
 * with none running; held files are released by the remover; readers see
 * EIO and ENOENT afterwards; the checks pass with exact ordering too.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { procUnload } from '../../src/workloads/proc-unload.js';
import { runWorkload } from '../../src/workloads/run.js';

describe('proc-unload', () => {
  it('removal waits for the calls in flight and releases the files still open', () => {
    const r = runWorkload(procUnload, {}, defaultConfig());
    expect(r.checks).toEqual({ passed: true, failures: [] });
    expect(r.figures.calls_in_flight_at_removal).toBeGreaterThan(0);
    expect(r.figures.remove_wait_cycles).toBeGreaterThan(0);
    expect(r.figures.pde_openers_released_by_remove).toBeGreaterThanOrEqual(1);
    expect(r.figures.reads_eio).toBeGreaterThanOrEqual(1);
    expect(r.figures.opens_enoent).toBeGreaterThanOrEqual(1);
    expect(r.samples.remove_proc_entry_wait?.count).toBe(1);
  });

  it('passes with many readers per CPU and with exact ordering (quantum 0)', () => {
    const cfg = defaultConfig();
    cfg.sim.quantum = 0;
    const r = runWorkload(procUnload, { readers: 9, holders: 3, read_cycles: 20000, think: 1000 }, cfg);
    expect(r.checks).toEqual({ passed: true, failures: [] });
    expect(r.figures.pde_openers_released_by_remove).toBeGreaterThanOrEqual(1);
  });
});
