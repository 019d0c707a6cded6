import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { rcuFlood } from '../../src/workloads/rcu-flood.js';
import { runWorkload } from '../../src/workloads/run.js';

const small = { writers: 2, readers: 2, updates: 300, reads: 600, table_bytes: 4096, think: 3000, sync: false };

describe('rcu-flood', () => {
  it('defers every old table through RCU, holds memory while grace periods run, and frees it all', () => {
    // Updates spread over several ticks (a grace period is asked for at the tick after the first call_rcu).
    const r = runWorkload(rcuFlood as never, { ...small, think: 200_000 }, defaultConfig());
    expect(r.checks).toEqual({ passed: true, failures: [] });
    const c = r.counters;
    expect(c['syscall_ioctl']).toBe(2 * 300 + 2 * 600);
    // One kfree_rcu per update, all invoked by the end.
    expect(c['rcu_callbacks_invoked']).toBe(600);
    expect(c['rcu_grace_periods']).toBeGreaterThan(1);
    expect(c['rcu_peak_callbacks_pending']).toBeLessThan(600);
    // Tables wait in batches: many pending at the peak, each 4096 bytes.
    expect(c['rcu_peak_callbacks_pending']).toBeGreaterThan(10);
    expect(c['rcu_peak_bytes_pending']).toBe(c['rcu_peak_callbacks_pending']! * 4096);
  });

  it('with --sync holds nothing pending but each update waits a grace period', () => {
    const d = runWorkload(rcuFlood as never, { ...small, updates: 20, reads: 40 }, defaultConfig());
    const s = runWorkload(rcuFlood as never, { ...small, updates: 20, reads: 40, sync: true }, defaultConfig());
    expect(s.checks.passed).toBe(true);
    expect(s.counters['rcu_peak_bytes_pending']).toBe(0);
    expect(s.latency['ioctl']!.count).toBe(2 * 20 + 2 * 40);
    // A synchronous update waits for the next grace period: at least one scheduler tick, against ~600 cycles for a read.
    const tick = (defaultConfig().clock_ghz * 1e9) / defaultConfig().kernel.hz;
    expect(s.latency['ioctl']!.max).toBeGreaterThan(tick);
    expect(s.latency['ioctl']!.p50).toBeLessThan(1000);
    expect(s.simulated_cycles).toBeGreaterThan(10 * d.simulated_cycles);
  });

  it('is deterministic', () => {
    const a = runWorkload(rcuFlood as never, small, defaultConfig());
    const b = runWorkload(rcuFlood as never, small, defaultConfig());
    expect(a.counters).toEqual(b.counters);
    expect(a.simulated_cycles).toBe(b.simulated_cycles);
  });
});
