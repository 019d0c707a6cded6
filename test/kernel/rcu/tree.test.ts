import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MachineConfig } from '../../../src/hw/config.js';
import { ct_user_enter, ct_user_exit } from '../../../src/kernel/rcu/context_tracking.js';
import { call_rcu, kfree_rcu, rcu_init, rcu_read_lock, rcu_read_unlock, synchronize_rcu } from '../../../src/kernel/rcu/tree.js';
import type { Task, TaskBody } from '../../../src/sim/task.js';
import { fakeKernel, testConfig } from '../locking/fakekernel.js';

function setup(cfg: MachineConfig = testConfig(4, 0)) {
  const k = fakeKernel(cfg);
  const rcu = rcu_init(k);
  return { k, rcu, tick: k.engine.tickPeriod, cost: cfg.cost };
}

/** User-mode work of `total` cycles in steps, yielding at window ends. */
function* userWork(t: Task, total: number, step = 1000): Generator<undefined, void, void> {
  for (let done = 0; done < total; done += step) {
    t.charge(step);
    if (t.shouldYield()) yield;
  }
}

describe('RCU grace periods', () => {
  it('on an idle machine: the first force-quiescent-state scan ends it, the callback runs at the next tick', () => {
    const { k, rcu, tick, cost } = setup();
    let back = 0;
    k.engine.spawn('sync', function* (t: Task): TaskBody {
      t.charge(1000);
      yield* synchronize_rcu(t);
      back = t.now;
    }, { cpu: 0, pinned: true });
    k.engine.run();
    expect(rcu.completed).toBe(1);
    expect(rcu.gpStarts[1]).toBe(1000 + cost.call_rcu);
    expect(rcu.gpEnds[1]).toBe(tick);
    expect(back).toBe(2 * tick + cost.rcu_softirq + cost.rcu_callback);
    expect(k.engine.samples.of('rcu_gp_length').values()[0]).toBe(tick - 1000 - cost.call_rcu);
    expect(k.engine.counters.get('rcu_fqs_scans')).toBe(1);
    expect(rcu.violations).toEqual([]);
  });

  it('a CPU running user code reports at its next tick; one in the kernel holds the grace period up', () => {
    const { k, rcu, tick } = setup();
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
    // CPU 0 and 3 go idle (FQS at tick 1), CPU 1 reports at tick 1, CPU 2 at its first user-mode tick, tick 4.
    expect(rcu.gpEnds[1]).toBe(4 * tick);
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
    // The first callback started grace period 1; the other 24, queued while it ran, wait for grace period 2,
    // which starts when 1 ends. Each ends at CPU 0's user-mode tick (CPU 1 idle, noted by the scan at the same
    // tick) and its callbacks run from the next tick: 1 at tick 2; 20 (2 runs of 10) at tick 3; 4 at tick 4.
    expect([rcu.gpEnds[1], rcu.gpEnds[2]]).toEqual([tick, 2 * tick]);
    const perTick = ranAt.map((x) => Math.floor(x / tick));
    expect([2, 3, 4].map((n) => perTick.filter((x) => x === n).length)).toEqual([1, 20, 4]);
    const batch = k.engine.attribution.pathNode(['softirq', 'rcu_core', 'rcu_do_batch']);
    expect(k.engine.attribution.exclusiveOf(batch)).toBe(4 * cost.rcu_softirq + 25 * cost.rcu_callback);
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
