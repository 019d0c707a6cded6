/**
 * inotify-churn: its checks pass on small runs with and without queue
 * overflow, every event is accounted for, and the figures say what
 * happened (merges from consecutive writes, one overflow event read per
 * overflow queued, events lost only when an overflow was reported).
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/machine.js';
import { inotifyChurn } from '../../src/workloads/inotify-churn.js';
import { runWorkload } from '../../src/workloads/run.js';

const SMALL = { writers: 2, rounds: 60, files: 4, event_cycles: 2000 };

describe('inotify-churn', () => {
  it('a watcher that keeps up reads every event, with consecutive writes merged', () => {
    const r = runWorkload(inotifyChurn, SMALL, defaultConfig());
    expect(r.checks).toEqual({ passed: true, failures: [] });
    expect(r.figures.overflow_events).toBe(0);
    expect(r.figures.events_dropped).toBe(0);
    expect(r.figures.events_merged).toBeGreaterThan(0);
    expect(r.figures.events_read).toBe(r.counters.inotify_events_queued);
    expect(r.figures.events_per_sec).toBeGreaterThan(0);
  });

  it('a small queue overflows: IN_Q_OVERFLOW is read once per overflow and the lost events are counted', () => {
    const cfg = defaultConfig();
    cfg.kernel.inotify_max_queued_events = 32;
    const r = runWorkload(inotifyChurn, { ...SMALL, event_cycles: 40000 }, cfg);
    expect(r.checks).toEqual({ passed: true, failures: [] });
    expect(r.figures.overflow_events).toBeGreaterThan(0);
    expect(r.figures.overflow_events).toBe(r.counters.inotify_queue_overflow);
    expect(r.figures.events_dropped).toBeGreaterThan(0);
  });

  it('is deterministic', () => {
    const a = runWorkload(inotifyChurn, SMALL, defaultConfig());
    const b = runWorkload(inotifyChurn, SMALL, defaultConfig());
    expect(b.simulated_cycles).toBe(a.simulated_cycles);
    expect(b.figures).toEqual(a.figures);
  });
});
