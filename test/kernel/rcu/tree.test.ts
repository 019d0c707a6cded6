import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MachineConfig } from '../../../src/config/machine.js';
import { ct_user_enter, ct_user_exit } from '../../../src/kernel/rcu/context_tracking.js';
import { kfree_rcu } from '../../../src/kernel/rcu/kvfree_rcu.js';
import { call_rcu, rcu_init, rcu_read_lock, rcu_read_unlock, rcuFqsJiffies, synchronize_rcu } from '../../../src/kernel/rcu/tree.js';
import type { Task, TaskBody } from '../../../src/sim/task.js';
import { fakeKernel, testConfig } from '../locking/fakekernel.js';

function setup(cfg: MachineConfig = testConfig(4, 0)) {
  const k = fakeKernel(cfg);
  const rcu = rcu_init(k);
  return { k, rcu, tick: k.engine.tickPeriod, cost: cfg.kernel.cost };
}

/** User-mode work of `total` cycles in steps, yielding at window ends. */
function* userWork(t: Task, total: number, step = 1000): Generator<undefined, void, void> {
  for (let done = 0; done < total; done += step) {
    t.charge(step);
    if (t.shouldYield()) yield;
  }
}

describe('RCU force-quiescent-state intervals (rcu_init_geometry)', () => {
  const fqs = (hz: number, cpus: number, first = -1, next = -1) => {
    const c = testConfig(cpus, 0);
    c.kernel = { ...c.kernel, hz, rcu_jiffies_till_first_fqs: first, rcu_jiffies_till_next_fqs: next };
    return rcuFqsJiffies(c);
  };
  it('default to 1 + (HZ > 250) + (HZ > 500) + nr_cpu_ids / 256 jiffies', () => {
    expect(fqs(100, 4)).toEqual({ first: 1, next: 1 });
    expect(fqs(250, 255)).toEqual({ first: 1, next: 1 });
    expect(fqs(250, 256)).toEqual({ first: 2, next: 2 });
    expect(fqs(300, 4)).toEqual({ first: 2, next: 2 });
    expect(fqs(1000, 32)).toEqual({ first: 3, next: 3 });
    expect(fqs(1000, 256)).toEqual({ first: 4, next: 4 });
  });
  it('take a given value, capped at HZ; the next interval is at least 1 (param_set_*_fqs_jiffies)', () => {
    expect(fqs(1000, 4, 0, 0)).toEqual({ first: 0, next: 1 });
    expect(fqs(100, 4, 500, 500)).toEqual({ first: 100, next: 100 });
    expect(fqs(250, 4, 7, 2)).toEqual({ first: 7, next: 2 });
  });
});

describe('RCU grace periods', () => {
  it('on an idle machine: the kthread starts it at the caller\'s next tick, two scans end it (its own CPU is busy at the first), the callback runs at the next tick', () => {
    const { k, rcu, tick, cost } = setup();
    const ncpus = k.engine.ncpus;
    // HZ=250, 4 CPUs: both scan intervals are 1 + 4 / 256 = 1 jiffy.
    expect(rcu.fqs).toEqual({ first: 1, next: 1 });
    let back = 0;
    k.engine.spawn('sync', function* (t: Task): TaskBody {
      t.charge(1000);
      yield* synchronize_rcu(t);
      back = t.now;
    }, { cpu: 0, pinned: true });
    k.engine.run();
    const scan = ncpus * cost.kernel_op;
    expect(rcu.completed).toBe(1);
    // rcu_core at the tick after call_rcu wakes the kthread (on idle CPU 0), which runs rcu_gp_init.
    expect(rcu.gpStarts[1]).toBe(tick + scan);
    // First scan at tick 2 reports CPUs 1-3 and snapshots the kthread's CPU; the second, at tick 3, finds it
    // has been idle since; then rcu_gp_cleanup.
    expect(rcu.gpEnds[1]).toBe(3 * tick + 2 * scan);
    expect(k.engine.counters.get('rcu_fqs_scans')).toBe(2);
    expect(back).toBe(4 * tick + cost.rcu_softirq + cost.rcu_callback);
    expect(k.engine.samples.of('rcu_gp_length').min).toBe(2 * tick + scan);
    expect(k.engine.samples.of('synchronize_rcu').min).toBe(back - 1000);
    const init = k.engine.attribution.pathNode(['rcu_gp_init']);
    expect(k.engine.attribution.exclusiveOf(init)).toBe(scan);
    expect(rcu.violations).toEqual([]);
  });

  it('at HZ=1000 the scans are 3 jiffies apart, so an idle 32-CPU machine ends a grace period in 6 jiffies plus the kthread\'s work', () => {
    const cfg = testConfig(32, 0);
    cfg.kernel = { ...cfg.kernel, hz: 1000 };
    const { k, rcu, tick, cost } = setup(cfg);
    expect(rcu.fqs).toEqual({ first: 3, next: 3 });
    let back = 0;
    k.engine.spawn('sync', function* (t: Task): TaskBody {
      t.charge(tick / 4);
      yield* synchronize_rcu(t);
      back = t.now;
    }, { cpu: 5, pinned: true });
    k.engine.run();
    const scan = 32 * cost.kernel_op;
    expect(rcu.gpStarts[1]).toBe(tick + scan);
    expect(rcu.gpEnds[1]).toBe(7 * tick + 2 * scan);
    expect(back).toBe(8 * tick + cost.rcu_softirq + cost.rcu_callback);
  });

  it('a CPU running user code reports at its next tick; one in the kernel holds the grace period up', () => {
    const { k, rcu, tick, cost } = setup();
    // CPU 1 in user mode throughout; CPU 2 inside a syscall for 3.5 ticks, then user mode.
    k.engine.spawn('user', function* (t: Task): TaskBody {
      yield* userWork(t, 6 * tick);
    }, { cpu: 1, pinned: true });
    k.engine.spawn('kern', function* (t: Task): TaskBody {
      ct_user_exit(t);
      yield* userWork(t, 3.5 * tick);
      ct_user_enter(t);
      yield* userWork(t, 2.5 * tick);
    }, { cpu: 2, pinned: true });
    k.engine.spawn('caller', function* (t: Task): TaskBody {
      t.charge(100);
      call_rcu(t, 64, () => 0);
    }, { cpu: 0, pinned: true });
    k.engine.run();
    // The grace period starts at tick 1. CPU 1 reports at tick 2 (user mode), CPU 3 at the first scan (idle),
    // the kthread's CPU 0 at the second; CPU 2 at its first user-mode tick, tick 4, which wakes the kthread to clean up.
    expect(rcu.gpEnds[1]).toBe(4 * tick + 4 * cost.kernel_op);
    expect(k.engine.counters.get('rcu_callbacks_invoked')).toBe(1);
    expect(rcu.violations).toEqual([]);
  });

  it('a reader inside its critical section holds the grace period up; synchronize_rcu returns after it leaves', () => {
    const { k, tick } = setup();
    let readerOut = 0;
    let syncBack = 0;
    k.engine.spawn('reader', function* (t: Task): TaskBody {
      ct_user_exit(t);
      rcu_read_lock(t);
      yield* userWork(t, 5 * tick + 123);
      readerOut = t.now;
      rcu_read_unlock(t);
      ct_user_enter(t);
      yield* userWork(t, 2 * tick);
    }, { cpu: 1, pinned: true });
    k.engine.spawn('sync', function* (t: Task): TaskBody {
      t.charge(5000);
      yield* synchronize_rcu(t);
      syncBack = t.now;
    }, { cpu: 0, pinned: true });
    k.engine.run();
    expect(readerOut).toBeGreaterThan(5 * tick);
    expect(syncBack).toBeGreaterThan(readerOut);
  });

  it('invokes callbacks in batches of blimit, at most softirq_restarts batches a tick, charging softirq > rcu_core > rcu_do_batch', () => {
    const cfg = testConfig(2, 0);
    cfg.kernel = { ...cfg.kernel, rcu_softirq_restarts: 2 };
    const { k, rcu, tick, cost } = setup(cfg);
    const ranAt: number[] = [];
    k.engine.spawn('user', function* (t: Task): TaskBody {
      ct_user_exit(t);
      for (let i = 0; i < 25; i++) call_rcu(t, 100, (_c, time) => (ranAt.push(time), 0));
      ct_user_enter(t);
      yield* userWork(t, 5 * tick);
    }, { cpu: 0, pinned: true });
    k.engine.run();
    expect(k.engine.counters.get('rcu_peak_callbacks_pending')).toBe(25);
    expect(k.engine.counters.get('rcu_peak_bytes_pending')).toBe(2500);
    expect(rcu.callbacksPending).toBe(0);
    expect(rcu.bytesPending).toBe(0);
    // All 25 wait for grace period 1, which rcu_core asks for at tick 1 (the kthread takes idle CPU 1). CPU 0
    // reports at its user-mode tick 2; the kthread's first scan (tick 2) snapshots its own CPU, the second (tick 3)
    // reports it. The callbacks run from tick 4: 20 (2 runs of 10), then 5 at tick 5.
    expect(rcu.gpEnds[1]).toBe(3 * tick + 4 * cost.kernel_op);
    expect(rcu.completed).toBe(1);
    const perTick = ranAt.map((x) => Math.floor(x / tick));
    expect([4, 5].map((n) => perTick.filter((x) => x === n).length)).toEqual([20, 5]);
    const batch = k.engine.attribution.pathNode(['softirq', 'rcu_core', 'rcu_do_batch']);
    expect(k.engine.attribution.exclusiveOf(batch)).toBe(3 * cost.rcu_softirq + 25 * cost.rcu_callback);
  });

  it('kfree_rcu returns the object to the slab only after the grace period', () => {
    const { k, rcu } = setup();
    let inUseAfterCall = 0;
    k.engine.spawn('a', function* (t: Task): TaskBody {
      const obj = k.slab.kmalloc(512);
      kfree_rcu(t, obj, 512);
      inUseAfterCall = k.slab.bytesInUse;
    }, { cpu: 0 });
    k.engine.run();
    expect(inUseAfterCall).toBe(512);
    expect(k.slab.bytesInUse).toBe(0);
    expect(rcu.violations).toEqual([]);
  });
});

describe('RCU properties', () => {
  interface Act {
    cpu: number;
    delay: number;
    kind: 'reader' | 'sync' | 'free' | 'user';
    len: number;
  }
  const act = fc.record({
    cpu: fc.nat(3),
    delay: fc.nat(40_000_000),
    kind: fc.constantFrom<'reader' | 'sync' | 'free' | 'user'>('reader', 'sync', 'free', 'user'),
    len: fc.integer({ min: 1, max: 30_000_000 }),
  });

  it('synchronize_rcu never returns while a reader that started before it is inside; nothing is freed before a grace period that began after it was unpublished', () => {
    fc.assert(
      fc.property(fc.array(act, { minLength: 1, maxLength: 14 }), fc.constantFrom(0, 1000, 20_000), fc.constantFrom(2, 4), (acts: Act[], quantum: number, cpus: number) => {
        // Several tasks per CPU, so readers get switched out inside their sections.
        const { k, rcu } = setup(testConfig(cpus, quantum));
        const readers: [number, number][] = [];
        const syncs: [number, number][] = [];
        const frees: [number, number][] = [];
        acts.forEach((a, i) => {
          k.engine.spawn(`t${i}`, function* (t: Task): TaskBody {
            yield t.sleepFor(a.delay);
            ct_user_exit(t);
            if (a.kind === 'reader') {
              rcu_read_lock(t);
              const s = t.now;
              yield* userWork(t, a.len, 50_000);
              readers.push([s, t.now]);
              rcu_read_unlock(t);
            } else if (a.kind === 'sync') {
              const s = t.now;
              yield* synchronize_rcu(t);
              syncs.push([s, t.now]);
            } else if (a.kind === 'free') {
              const unpublished = t.now;
              call_rcu(t, 64, (_c, time) => (frees.push([unpublished, time]), 0));
            }
            ct_user_enter(t);
            if (a.kind === 'user') yield* userWork(t, a.len, 50_000);
          }, { cpu: a.cpu % cpus });
        });
        k.engine.run();
        for (const [ss, se] of syncs) for (const [rs, re] of readers) expect(rs < ss && re > se).toBe(false);
        for (const [u, f] of frees) expect(rcu.fullGracePeriodBetween(u, f)).toBe(true);
        expect(rcu.violations).toEqual([]);
        expect(rcu.callbacksPending).toBe(0);
        expect(k.engine.blockedTasks()).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
