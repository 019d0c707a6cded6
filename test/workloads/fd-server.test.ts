import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { fdServer } from '../../src/workloads/fd-server.js';
import { runWorkload } from '../../src/workloads/run.js';

const small = { acceptors: 2, lookers: 2, connections: 400, hold: 300, lookups: 400, think: 20_000 };

describe('fd-server', () => {
  it('grows the shared fd table, frees old tables after grace periods and passes its checks', () => {
    const r = runWorkload(fdServer as never, small, defaultConfig());
    expect(r.checks).toEqual({ passed: true, failures: [] });
    const c = r.counters;
    // 600 fds at the peak: 64 embedded, then 128, 256, 512, 1024.
    expect(c['fdtable_expand']).toBe(4);
    expect(c['fdtable_max_fds']).toBe(1024);
    expect(c['fdtable_freed']).toBe(3);
    expect(c['syscall_open']).toBe(800);
    expect(c['syscall_close']).toBe(800);
    expect(c['rcu_callbacks_invoked']).toBe(c['rcu_callbacks_queued']);
    expect(c['rcu_grace_periods']).toBeGreaterThan(1);
    expect(c['rcu_peak_bytes_pending']).toBeGreaterThan(0);
    expect(c['lock_acquired:files_struct.file_lock']).toBeGreaterThan(1600);
  });

  it('is deterministic', () => {
    const a = runWorkload(fdServer as never, small, defaultConfig());
    const b = runWorkload(fdServer as never, small, defaultConfig());
    expect(a.counters).toEqual(b.counters);
    expect(a.simulated_cycles).toBe(b.simulated_cycles);
  });
});
